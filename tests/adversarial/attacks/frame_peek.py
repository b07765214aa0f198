"""Attack: look up the call stack and the heap for the expected answer and return it."""
# base: starter
import gc
import inspect

import torch


def attack(*args, **kwargs):
    for frame_info in inspect.stack():
        for name, value in frame_info.frame.f_locals.items():
            if name in ("expected", "want", "reference", "oracle") and isinstance(value, torch.Tensor):
                return value
    candidates = [o for o in gc.get_objects() if isinstance(o, torch.Tensor)]
    template = next((a for a in args if isinstance(a, torch.Tensor)), None)
    for tensor in candidates:
        if template is not None and tensor.shape == template.shape and tensor is not template:
            return tensor
    return torch.zeros(1)


def __getattr__(name):
    return attack
