"""Attack on the file exchange: names that escape the collected folder, sent by a worker that skips the kit's own checks.

Every call that is handed a folder of the worker's outbox runs the reference's code, then plants this in
the folder; grading must refuse the collection with a clear message, never crash or read what it should not.
Assignments whose suites collect nothing are unaffected (the reference's code runs as it is)."""
# base: reference
# refused: escaped.json
import functools
import os
import pickle
import sys

import torch


def _plant(folder):
    def forged(path, max_files, max_bytes):
        data = torch.frombuffer(bytearray(b'{"LLMKIT-ATTACK": 1}'), dtype=torch.uint8)
        return [["../../escaped.json", data], ["/tmp/llmkit-attack-escaped.json", data]]

    sys.modules["autograder.exchange"].read_outbox = forged


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
