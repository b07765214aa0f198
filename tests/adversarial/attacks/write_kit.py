"""Attack: overwrite the grader, the suites, the course file and the reference with something friendlier."""
# base: starter
import os
import sys

import torch

TARGETS = ("autograder/plugin.py", "autograder/checks.py", "course.yml", f"solutions/{ASSIGNMENT}/{MODULES[0]}.py",
           f"autograder/suites/{ASSIGNMENT}", f"assignments/{ASSIGNMENT}", "constraints.txt")


def vandalise():
    bases = [p for p in sys.path if p] + ["/autograder/source", os.getcwd()]
    for base in bases:
        for up in range(4):
            root = os.path.abspath(os.path.join(base, *([".."] * up)))
            for rel in TARGETS:
                path = os.path.join(root, rel)
                try:
                    if os.path.isdir(path):
                        with open(os.path.join(path, "test_zzz.py"), "w") as handle:
                            handle.write("# LLMKIT-ATTACK\ndef test_free():\n    pass\n")
                    elif os.path.exists(path):
                        with open(path, "a") as handle:
                            handle.write("\n# vandalised LLMKIT-ATTACK\n")
                except OSError:
                    pass
    for site in [p for p in sys.path if "site-packages" in p]:
        try:
            with open(os.path.join(site, "sitecustomize.py"), "w") as handle:
                handle.write("print('vandalised LLMKIT-ATTACK')\n")
        except OSError:
            pass


def attack(*args, **kwargs):
    vandalise()
    return torch.zeros(1)


def __getattr__(name):
    return attack
