"""Attack: leave detached daemons behind that outlive the worker and keep writing.

Every call is a new chance to hurt the grader, but a handful shows whether it survives: after the first
4 calls the attack answers as the starter does, so that the corpus stays cheap to run."""
# base: starter
import os
import time

import torch


CALLS = [0]


def spawn_daemon():
    try:
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                for _ in range(600):
                    for target in ("/tmp/llmkit-daemon-was-here", os.path.expanduser("~/daemon")):
                        try:
                            with open(target, "a") as handle:
                                handle.write("alive LLMKIT-ATTACK\n")
                        except OSError:
                            pass
                    time.sleep(0.5)
            os._exit(0)
    except OSError:
        pass


def attack(*args, **kwargs):
    CALLS[0] += 1
    if CALLS[0] > 4:
        raise NotImplementedError
    spawn_daemon()
    return torch.zeros(1)


def __getattr__(name):
    return attack
