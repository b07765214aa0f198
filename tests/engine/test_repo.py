"""Repository-wide promises: starter and reference agree, the code is lint-clean, suites add up."""

from __future__ import annotations

import subprocess
import sys

import pytest

from autograder.build import build, public_api
from autograder.course import kit_root, load_course

ROOT = kit_root()
BUILT = [a.folder for a in load_course().assignments.values() if (ROOT / "solutions" / a.folder).is_dir()]


def test_starter_is_in_sync_with_the_reference():
    assert build(ROOT, check=True) == []


@pytest.mark.parametrize("folder", BUILT)
def test_starter_and_reference_expose_the_same_api(folder):
    for module in sorted((ROOT / "solutions" / folder).glob("*.py")):
        starter = ROOT / "starter" / folder / module.name
        assert public_api(starter) == public_api(module), f"{folder}/{module.name}: APIs differ"


def test_ruff_clean():
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
