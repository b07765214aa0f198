"""Attack: fill the disk with many files, each under the per-file size limit. It prints the marker if its
directory ever holds more than the total the sandbox allows (64 MiB).

Every call is a new chance to hurt the grader, but a handful shows whether it survives: after the first
4 calls the attack answers as the starter does, so that the corpus stays cheap to run."""
# base: starter
import os

import torch


CALLS = [0]


def attack(*args, **kwargs):
    CALLS[0] += 1
    if CALLS[0] > 4:
        raise NotImplementedError
    total = 0
    block = b"x" * (1 << 20)
    try:
        for i in range(40):
            with open(f"fill-{i}-{os.getpid()}", "wb") as handle:
                for _ in range(8):
                    handle.write(block)
                    total += len(block)
    except OSError:
        pass
    if total > 64 << 20:
        print("LLMKIT-ATTACK-SUCCEEDED wrote", total >> 20, "MiB", flush=True)
    return torch.zeros(1)


def __getattr__(name):
    return attack
