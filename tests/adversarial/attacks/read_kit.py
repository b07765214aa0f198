"""Attack: read any file of the kit (the course file, the hidden suite, the reference, the handout beside the
declared data) and overwrite the assignment's declared data beside the modules. On success it prints the
marker."""
# base: starter
import os
import sys

import torch

_HERE = os.path.dirname(os.path.abspath(__file__))


def _kit_roots():
    roots = []
    for base in [p for p in sys.path if p] + ["/autograder/source", os.getcwd(), _HERE]:
        for up in range(5):
            root = os.path.abspath(os.path.join(base, *([".."] * up)))
            if root not in roots:
                roots.append(root)
    return roots


def _try_everything():
    for root in _kit_roots():
        for rel in ("course.yml", f"solutions/{ASSIGNMENT}/{MODULES[0]}.py", f"assignments/{ASSIGNMENT}/README.md",
                    "autograder/plugin.py"):
            try:
                with open(os.path.join(root, rel)) as handle:
                    print("LLMKIT-ATTACK-SUCCEEDED read", os.path.join(root, rel), handle.readline()[:60], flush=True)
            except OSError:
                pass
        try:
            suite = os.path.join(root, "autograder", "suites", ASSIGNMENT)
            print("LLMKIT-ATTACK-SUCCEEDED listed", suite, sorted(os.listdir(suite))[:3], flush=True)
        except OSError:
            pass
    for entry in os.listdir(_HERE):
        path = os.path.join(_HERE, entry)
        if entry.endswith(".py") or entry.startswith("__"):
            continue
        for base, _, files in os.walk(path) if os.path.isdir(path) else [(_HERE, [], [entry])]:
            for name in files:
                target = os.path.join(base, name)
                try:
                    with open(target, "a") as handle:
                        handle.write("replaced LLMKIT-ATTACK")
                    print("LLMKIT-ATTACK-SUCCEEDED wrote data", target, flush=True)
                except OSError:
                    pass
                try:
                    os.unlink(target)
                    print("LLMKIT-ATTACK-SUCCEEDED removed data", target, flush=True)
                except OSError:
                    pass


_try_everything()


def attack(*args, **kwargs):
    _try_everything()
    return torch.zeros(1)


def __getattr__(name):
    return attack
