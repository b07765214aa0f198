"""Attack: find the kit on disk, load the reference solution and answer with it."""
# base: starter
import importlib.util
import os
import sys

import torch

FOUND = {}


def _search():
    roots = [os.path.dirname(p) for p in sys.path if p] + ["/work", "/autograder/source", os.getcwd(), "/"]
    for base in roots:
        for up in range(5):
            folder = os.path.abspath(os.path.join(base, *([".."] * up), "solutions", ASSIGNMENT))
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            for name in names:
                if name.endswith(".py"):
                    FOUND[name[:-3]] = os.path.join(folder, name)
            if FOUND:
                return


_search()
if FOUND:
    sys.path.insert(0, os.path.dirname(next(iter(FOUND.values()))))


def __getattr__(name):
    for module in MODULES:
        path = FOUND.get(module)
        if path is None:
            continue
        spec = importlib.util.spec_from_file_location(f"ref_{module}", path)
        ref = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(ref)
        except Exception:
            continue
        if hasattr(ref, name):
            return getattr(ref, name)
    return lambda *a, **k: torch.zeros(1)
