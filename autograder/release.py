"""`llmkit release`: the bundle students get. Handouts, starters, public tests and the engine; never the
reference solutions or the hidden suites."""

from __future__ import annotations

from pathlib import Path

from autograder.bundle import copy_parts
from autograder.errors import KitError

RELEASED = [
    "README.md",
    "course.yml",
    "pyproject.toml",
    "assignments",
    "starter",
    "tests/public",
    "autograder",
]
WITHHELD = ["autograder/suites", "solutions"]


def make_release(out: Path) -> Path:
    if out.exists() and any(out.iterdir()):
        raise KitError(f"{out} exists and is not empty; choose a new folder")
    out.mkdir(parents=True, exist_ok=True)
    copy_parts(out, RELEASED, exclude=WITHHELD)
    leaked = [p for p in WITHHELD if (out / p).exists()]
    if leaked:
        raise KitError(f"release would contain {leaked}; refusing")
    return out
