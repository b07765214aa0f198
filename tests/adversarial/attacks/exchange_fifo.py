"""Attack on the file exchange: a fifo in the collected folder (opening it for reading would block the collection).

Every call that is handed a folder of the worker's outbox runs the reference's code, then plants this in
the folder; grading must refuse the collection with a clear message, never crash or read what it should not.
Assignments whose suites collect nothing are unaffected (the reference's code runs as it is)."""
# base: reference
# refused: pipe.safetensors
import functools
import os
import pickle
import sys

import torch


def _plant(folder):
    os.mkfifo(os.path.join(folder, "pipe.safetensors"))  # a name of its own: the reference's files stay


def _wrap(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        out = fn(*args, **kwargs)
        for value in [*args, *kwargs.values()]:
            if isinstance(value, str) and "/outbox/" in value:
                try:
                    os.makedirs(value, exist_ok=True)
                    _plant(value)
                except OSError:
                    pass
        return out

    return wrapper


for _name, _fn in list(_LLMKIT_BASE.items()):
    if not isinstance(_fn, type):
        globals()[_name] = _wrap(_fn)
