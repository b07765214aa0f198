"""Attack: end the process with a success code before any check can fail."""
# base: starter
import os
import sys


def attack(*args, **kwargs):
    sys.stdout.flush()
    os._exit(0)


def __getattr__(name):
    return attack
