"""Helpers shared by the kit's own tests.

Grading forks processes and starts a sandboxed fork server, so tests drive it through the command line in a
subprocess rather than inside the pytest process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from autograder.course import kit_root
from autograder.staging import submission_name


def run_llmkit(*args: str, cwd: Path | None = None, timeout: float = 1200) -> subprocess.CompletedProcess:
    """`llmkit ARGS...` (as `python -m autograder`), run in the kit's root unless `cwd` is given."""
    return subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True,
                          cwd=cwd or kit_root(), timeout=timeout)  # fmt: skip


def grade_cli(assignment: str, submissions: list[Path], out: Path, *options: str) -> dict[str, dict]:
    """Grade a batch with `llmkit grade`; {submission file or folder name: its results.json}. Every
    submission must have results (the batch completes whatever a submission does), in the output folder the
    kit names after it (`x.ipynb` and `x.zip` in `x/`)."""
    proc = run_llmkit("grade", assignment, *map(str, submissions), "--out", str(out), *options)
    assert proc.returncode == 0, (
        f"grading failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )
    results = {}
    for path in submissions:
        report = out / submission_name(path) / "results.json"
        assert report.is_file(), f"no results for {path.name}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        results[path.name] = json.loads(report.read_text())
    return results


@pytest.fixture(scope="session")
def llmkit() -> Callable[..., subprocess.CompletedProcess]:
    return run_llmkit


@pytest.fixture(scope="session")
def grade() -> Callable[..., dict[str, dict]]:
    return grade_cli
