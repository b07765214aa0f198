"""Attack: fill the disk with many files, each under the per-file size limit. It prints the marker if its
directory ever holds more than the total the sandbox allows (64 MiB)."""
# base: starter
import os

import torch


def attack(*args, **kwargs):
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
