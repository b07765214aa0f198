"""Attack: make every comparison in this interpreter say "equal", then return garbage."""
# base: starter
import numpy
import torch
import torch.testing

torch.testing.assert_close = lambda *a, **k: None
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.Tensor.__eq__ = lambda self, other: torch.ones((), dtype=torch.bool)
numpy.testing.assert_allclose = lambda *a, **k: None
numpy.allclose = lambda *a, **k: True


def attack(*args, **kwargs):
    return torch.zeros(1)


def __getattr__(name):
    return attack
