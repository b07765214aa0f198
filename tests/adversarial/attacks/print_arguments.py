"""Attack on the kit: the reference, printing a tag of its arguments at every call, hoping that what it
prints during hidden tests is published with the visible output (the tags name the hidden inputs)."""
# base: reference
import functools as _functools
import hashlib as _hashlib

import torch as _torch


def _tag(args):
    digest = _hashlib.sha256()
    for a in args:
        try:
            data = a.detach().float().contiguous().numpy().tobytes() if isinstance(a, _torch.Tensor) else repr(a)
        except Exception:
            data = "?"
        digest.update(data if isinstance(data, bytes) else data.encode())
    return digest.hexdigest()[:20]


def _logged(f):
    @_functools.wraps(f)
    def inner(*args, **kwargs):
        print("ARGS-OF-CALL", f.__name__, _tag(args), flush=True)
        return f(*args, **kwargs)

    return inner


for _name, _value in list(_LLMKIT_BASE.items()):
    if not isinstance(_value, type):
        globals()[_name] = _logged(_value)
