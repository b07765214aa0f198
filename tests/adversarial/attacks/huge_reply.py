"""Attack: answer with replies too large or too deep for the grader to hold.

Every call is a new chance to hurt the grader, but a handful shows whether it survives: after the first
4 calls the attack answers as the starter does, so that the corpus stays cheap to run."""
# base: starter
import torch

CALLS = [0]


def attack(*args, **kwargs):
    CALLS[0] += 1
    if CALLS[0] > 4:
        raise NotImplementedError
    if CALLS[0] % 2:
        nested = []
        for _ in range(10000):
            nested = [nested]
        return nested
    # 320 MB: under the wire's own 1 GiB frame limit, far over what any test expects
    return torch.zeros(80_000_000, dtype=torch.float32)


def __getattr__(name):
    return attack
