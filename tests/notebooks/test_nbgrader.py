"""`llmkit export nbgrader` with the real nbgrader. Every enabled assignment of course.yml is exported and
checked structurally (solution regions, locked test cells whose points add up to the hidden suite's). The
full round trip (`nbgrader generate_assignment`, then `nbgrader autograde` on a filled-in notebook and an
`__eq__`-forging one) runs on one assignment per CI run, the first enabled one in course.yml order, to keep
CI short; its nbgrader score must equal `llmkit grade`'s and the forging notebook must score 0. On the way,
`nbgrader validate` (the student's Validate button) passes the filled-in notebook and fails the forging one:
its test cells self-check the saved notebook in the sandbox, not with tests in the student's kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.build import NOTEBOOK_KEY
from autograder.course import load_course
from autograder.exporters.nbgrader import GRADE_PREFIX, export_nbgrader, suite_points
from tests.conftest import run_llmkit
from tests.notebooks.test_templates import _reference_definitions

pytest.importorskip("nbgrader", reason="install the extra .[notebooks]")
ASSIGNMENTS = [a for a in load_course().assignments.values() if a.enabled]
FORGE = (
    "class _Forge:\n    def __eq__(self, other):\n        return True\n\n    def __getattr__(self, name):\n"
    "        return lambda *a, **k: _Forge()\n"
)


NBGRADER = [sys.executable, "-m", "nbgrader"]  # this interpreter's, whatever `nbgrader` is first on PATH


def _env() -> dict[str, str]:
    # nbgrader runs its migration tool (alembic), and a kernel spec its `python`, from PATH: this Python's
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.folder)
def test_the_export_has_solutions_and_test_cells_worth_the_suite(assignment, tmp_path):
    source = export_nbgrader(assignment, tmp_path / "course")
    notebook = nbformat.read(source, as_version=4)
    tasks = [c for c in notebook.cells if c.metadata.get(NOTEBOOK_KEY, {}).get("role") == "task"]
    assert tasks and all(c.metadata.nbgrader["solution"] for c in tasks)
    for cell in tasks:
        assert cell.source.count("### BEGIN SOLUTION") == cell.source.count("### END SOLUTION") >= 1
    tests = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert all(c.metadata.nbgrader["grade_id"].startswith(GRADE_PREFIX) for c in tests)
    assert all(c.metadata.nbgrader["locked"] for c in tests)
    assert sum(c.metadata.nbgrader["points"] for c in tests) == sum(suite_points(assignment).values())
    assert sum(suite_points(assignment).values()) == assignment.points  # every hidden test file collected


def _fill(release: Path, dest: Path, folder: str, forge: bool) -> None:
    notebook = nbformat.read(release, as_version=4)
    for cell in notebook.cells:
        tag = cell.metadata.get(NOTEBOOK_KEY, {})
        if tag.get("role") == "task":
            code = _reference_definitions(folder, tag["module"])[tag["name"]]
            if forge:
                code = FORGE + f"\n\ndef {tag['name']}(*a, **k):\n    return _Forge()\n"
            cell.source = code
        if cell.metadata.get("nbgrader", {}).get("grade"):  # a forged output: cleared by nbgrader
            cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "1000"})]
    dest.parent.mkdir(parents=True)
    nbformat.write(notebook, dest)


def test_nbgrader_round_trip_scores_like_llmkit_grade(tmp_path):
    from nbgrader.api import Gradebook

    assignment = ASSIGNMENTS[0]
    folder, course = assignment.folder, tmp_path / "course"
    export_nbgrader(assignment, course)
    run = {"cwd": course, "env": _env(), "capture_output": True, "text": True, "timeout": 600}
    proc = subprocess.run([*NBGRADER, "generate_assignment", folder, "--force"], **run)
    assert proc.returncode == 0, proc.stderr[-3000:]
    release = course / "release" / folder / f"{folder}.ipynb"
    text = release.read_text()
    assert "### BEGIN SOLUTION" not in text and "def test_" not in text
    for student, forge in (("alice", False), ("mallory", True)):
        _fill(release, course / "submitted" / student / folder / f"{folder}.ipynb", folder, forge)
    # the student's Validate: the test cells self-check the saved notebook in the sandbox (public tests),
    # so objects equal to anything pass no test there, though they run in the student's own kernel
    validated = {}
    for student in ("alice", "mallory"):
        notebook = course / "submitted" / student / folder / f"{folder}.ipynb"
        proc = subprocess.run(
            [*NBGRADER, "validate", str(notebook), "--Execute.timeout=600"], **{**run, "cwd": notebook.parent}
        )
        validated[student] = proc.stdout + proc.stderr
    assert "Success! Your notebook passes all the tests." in validated["alice"], validated["alice"][-3000:]
    assert "VALIDATION FAILED" in validated["mallory"] and "public tests of" in validated["mallory"]
    proc = subprocess.run([*NBGRADER, "autograde", folder, "--force"], **run)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s: gradebook.find_submission(folder, s).score for s in ("alice", "mallory")}
    out = tmp_path / "out"
    alice = course / "submitted" / "alice" / folder / f"{folder}.ipynb"
    proc = run_llmkit("grade", assignment.id, str(alice), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    expected = json.loads((out / folder / "results.json").read_text())["score"]
    assert scores["alice"] == pytest.approx(expected) and expected > 0
    assert scores["mallory"] == 0
