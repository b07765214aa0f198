"""Attack on the file exchange: a pickle named .safetensors (unpickling it would run code on the trusted side).

Every call that is handed a folder of the worker's outbox runs the reference's code, then plants this in
the folder; grading must refuse the collection with a clear message, never crash or read what it should not.
Assignments whose suites collect nothing are unaffected (the reference's code runs as it is)."""
# base: reference
# refused: model.safetensors
import functools
import os
import pickle
import sys

import torch


def _plant(folder):
    class _Run:
        def __reduce__(self):
            return (print, ("LLMKIT-ATTACK-SUCCEEDED: the trusted side unpickled a collected file",))

    with open(os.path.join(folder, "model.safetensors"), "wb") as handle:
        pickle.dump(_Run(), handle)


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
