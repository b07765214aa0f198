"""A test of an error path (an input too long, a bad argument) also requires the normal path to work.

Otherwise a submission whose every call raises would earn the points of every "must raise" test. For each
enabled assignment of course.yml, the generated starter with each ``raise NotImplementedError(...)`` turned
into ``raise ValueError(...)`` or ``TypeError(...)`` (the exceptions error-path tests expect) must score 0
on every test of the hidden suite.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autograder.course import load_course

COURSE = load_course()
ENABLED = [a for a in COURSE.assignments.values() if a.enabled]
EXCEPTIONS = ("ValueError", "TypeError")
_NOT_IMPLEMENTED = re.compile(r"raise NotImplementedError\b(\([^)]*\))?")


def _always_raising(assignment, exception: str, dest: Path) -> Path:
    """The assignment's starter whose every unfinished function raises `exception` instead."""
    dest.mkdir(parents=True)
    changed = 0
    for module in assignment.modules:
        source = (COURSE.root / "starter" / assignment.folder / module).read_text()
        source, n = _NOT_IMPLEMENTED.subn(f'raise {exception}("every call raises")', source)
        changed += n
        (dest / module).write_text(source)
    assert changed, f"{assignment.id}: the starter has no `raise NotImplementedError`; run `llmkit build`"
    return dest


@pytest.mark.parametrize("assignment", ENABLED, ids=[a.id for a in ENABLED])
def test_a_submission_that_always_raises_earns_nothing(assignment, grade, tmp_path):
    subs = [_always_raising(assignment, e, tmp_path / "subs" / f"raises_{e}") for e in EXCEPTIONS]
    results = grade(assignment.id, subs, tmp_path / "out", "--jobs", "2")
    for exception in EXCEPTIONS:
        result = results[f"raises_{exception}"]
        assert result["tests"], f"{assignment.id}: no tests ran"
        earned = [f"{t['name']} ({t['score']:g})" for t in result["tests"] if t["score"] > 0]
        assert not earned, (
            f"{assignment.id} hidden suite: a submission whose every call raises {exception} earns points "
            f"from {', '.join(earned)}; an error-path test must also check the normal path"
        )


def test_patterns_match_the_starter():
    """The starter's placeholder is what the pattern replaces (a change of wording would disarm the test)."""
    for assignment in ENABLED:
        for module in assignment.modules:
            source = (COURSE.root / "starter" / assignment.folder / module).read_text()
            assert source.count("NotImplementedError") == len(_NOT_IMPLEMENTED.findall(source)), module
