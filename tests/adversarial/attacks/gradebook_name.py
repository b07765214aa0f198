"""Attack: a submission whose file name is the kit's own output, so that `OUT/gradebook.csv` would become its
folder (the harness packages it as a zip of that name)."""
# base: starter
# packaged: gradebook.csv.zip
import torch


def attack(*args, **kwargs):
    return torch.zeros(1)


def __getattr__(name):
    return attack
