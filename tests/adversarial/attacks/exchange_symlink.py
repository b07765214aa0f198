"""Attack on the file exchange: a link to a file the sandbox hides (the reference solution) in the folder the suite collects.

Every call that is handed a folder of the worker's outbox runs the reference's code, then plants this in
the folder; grading must refuse the collection with a clear message, never crash or read what it should not.
Assignments whose suites collect nothing are unaffected (the reference's code runs as it is)."""
# base: reference
# refused: stolen.json
import functools
import os
import pickle
import sys

import torch


def _plant(folder):
    for base in [p for p in sys.path if p]:
        target = os.path.join(base, "solutions", ASSIGNMENT, MODULES[0] + ".py")
        if os.path.isfile(target):
            break
    else:
        target = "/etc/passwd"
    os.symlink(target, os.path.join(folder, "stolen.json"))


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
