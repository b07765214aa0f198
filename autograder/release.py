"""`llmkit release`: the bundle students get. Handouts, starters, public tests, the engine and the pinned
versions, with a README of its own; never the reference solutions or the hidden suites."""

from __future__ import annotations

from pathlib import Path

from autograder.bundle import copy_parts
from autograder.course import Course, load_course
from autograder.errors import KitError

RELEASED = [
    "course.yml",
    "pyproject.toml",
    "constraints.txt",
    "assignments",
    "starter",
    "tests/public",
    "autograder",
]
WITHHELD = ["autograder/suites", "solutions"]
README_TEMPLATE = Path(__file__).with_name("templates") / "release-README.md"


def release_readme(course: Course) -> str:
    """The bundle's README: how a student installs the kit and works, with the term's open assignments."""
    open_ = [
        a for a in course.assignments.values() if a.enabled and (course.root / "starter" / a.folder).is_dir()
    ]
    if not open_:
        raise KitError("course.yml enables no assignment with a starter; nothing to release")
    rows = [
        f"| {a.id} | [{a.title}](assignments/{a.folder}/README.md) | {a.section} | {a.due:%Y-%m-%d %H:%M%z} |"
        for a in open_
    ]
    first = open_[0]
    return README_TEMPLATE.read_text(encoding="utf-8").format(
        term=course.term, table="\n".join(rows), first=first.id, first_folder=first.folder
    )


def make_release(out: Path) -> Path:
    if out.exists() and any(out.iterdir()):
        raise KitError(f"{out} exists and is not empty; choose a new folder")
    course = load_course()
    readme = release_readme(course)
    out.mkdir(parents=True, exist_ok=True)
    copy_parts(out, RELEASED, exclude=WITHHELD)
    (out / "README.md").write_text(readme, encoding="utf-8")
    leaked = [p for p in WITHHELD if (out / p).exists()]
    if leaked:
        raise KitError(f"release would contain {leaked}; refusing")
    return out
