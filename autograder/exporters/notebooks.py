"""What the notebook exporters (nbgrader, otter-grader) share: the points of the hidden suite, as
pytest collects it, and grading one notebook with the hidden suite in the kit's sandbox.

Both run on the trusted side only (the grading course's own process): collecting the suite imports
nothing of a submission, and grading stages the notebook (only cells of definitions are kept) and runs
it in a confined worker, never in the calling process or a notebook kernel.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.build import template_path
from autograder.course import Assignment, kit_root
from autograder.errors import KitError

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from autograder.runner import Report


def suite_tests(assignment: Assignment) -> dict[str, float]:
    """Points of each test of the hidden suite of ``assignment`` (pytest node id -> points), in collection
    order; the node ids are those of the grader's reports."""
    import pytest

    from autograder.runner import _pytest_args, _quiet, suite_dir

    suite = suite_dir(assignment, hidden=True)
    points: dict[str, float] = {}

    broken: list[str] = []

    class Collector:
        def pytest_collectreport(self, report: pytest.CollectReport) -> None:
            if report.failed:
                broken.append(f"{report.nodeid or suite}: {str(report.longrepr)[-300:]}")

        def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
            for item in items:
                marker = item.get_closest_marker("points")
                points[item.nodeid] = float(marker.args[0]) if marker else 1.0

    _forget_suite_helpers()
    try:
        with _quiet(suite):
            pytest.main(_pytest_args(suite, False, collect_only=True), plugins=[Collector()])
    finally:
        _forget_suite_helpers()
    if broken:
        raise KitError(f"{assignment.folder}: its hidden suite does not collect: {', '.join(broken)}")
    if not points:
        raise KitError(f"{assignment.folder}: its hidden suite has no tests to export")
    return points


def _forget_suite_helpers() -> None:
    """Drop the suites' private helper modules (`_common`, `_oracles`, ...) from this process: their names
    repeat across assignments, so one imported for an earlier suite must not stand in for the next one's."""
    roots = [kit_root() / "autograder" / "suites", kit_root() / "tests"]
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if "." not in name and file and any(Path(file).is_relative_to(root) for root in roots):
            del sys.modules[name]


def file_of(nodeid: str) -> str:
    """The file name of a test's node id: ``test_attention.py`` for ``.../test_attention.py::test_x[2]``."""
    return nodeid.split("::")[0].split("/")[-1]


def suite_points(assignment: Assignment) -> dict[str, float]:
    """Points of each hidden test file of ``assignment`` (file name -> the sum of its tests' points)."""
    points: dict[str, float] = {}
    for nodeid, value in suite_tests(assignment).items():
        points[file_of(nodeid)] = points.get(file_of(nodeid), 0.0) + value
    return points


def grade_notebook(assignment: Assignment, notebook: NotebookNode) -> Report:
    """Grade an nbformat notebook with the hidden suite of ``assignment`` in the sandbox, as
    ``llmkit grade`` grades a notebook file: the same staging, seed and limits. Never raises for a bad
    notebook: the report carries the error."""
    import nbformat

    from autograder.runner import grade_batch

    with tempfile.TemporaryDirectory(prefix="llmkit-notebook-") as tmp:
        path = Path(tmp) / "submission.ipynb"
        nbformat.write(notebook, path)
        (report,) = grade_batch(assignment, [path], None, hidden=True, jobs=1)
    return report


def new_out_folder(out: Path) -> Path:
    """``out`` as a folder to export into: it must not exist yet or be empty (nothing is overwritten)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise KitError(f"{out} exists and is not empty; choose another --out")
    return out


def template_notebook(assignment: Assignment) -> Path:
    """The template notebook of ``assignment`` that ``llmkit build`` writes, which students fill in."""
    template = template_path(kit_root(), assignment.folder)
    if not template.is_file():
        raise KitError(f"{assignment.folder} has no template notebook (enable it and run `llmkit build`)")
    return template
