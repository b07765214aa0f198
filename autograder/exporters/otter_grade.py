"""The otter-grader plugin that grades a submitted notebook with the kit's sandbox (see
:mod:`autograder.exporters.otter`).

Otter runs plugins in its own (trusted) process. Before otter executes the submission in a kernel,
:meth:`LlmkitOtterPlugin.before_execution` grades the notebook with the hidden suite in a confined worker
(the kit stages it: only cells of definitions are kept) and returns, in place of the notebook, one cell
that holds the trusted results and the function the exported tests call. The kernel therefore runs the
kit's code and otter's, never the student's: an object whose ``__eq__`` says yes, a patched checker or a
read of the test files has nothing to act on there.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
from otter.plugins import AbstractOtterPlugin

from autograder.exporters.otter import CHECK

RESULTS_CELL = '''# The grade of this submission by llmkit's sandbox; the notebook itself is not run here.
import json as _json

_LLMKIT = _json.loads({payload})


def {check}(nodeid):
    """Print "passed" when the kit's grader passed the hidden test ``nodeid``, else why not."""
    result = _LLMKIT["tests"].get(nodeid)
    if _LLMKIT["error"] or result is None:
        print("not graded: " + (_LLMKIT["error"] or "the grader has no result for this test"))
    elif result["passed"]:
        print("passed")
    else:
        print(f"failed ({{result['max_score']:g}} points): {{result['output']}}")
'''
MESSAGE_CAP = 2000


def results_cell(report) -> str:
    """The source of the cell that replaces the notebook: the report's outcome per test, as data."""
    from autograder.results import printable

    tests = {
        t.nodeid: {
            "passed": t.status == "passed" and t.score >= t.max_score,
            "max_score": t.max_score,
            "output": printable((t.output or "failed").strip())[:MESSAGE_CAP],
        }
        for t in report.tests
    }
    payload = json.dumps({"error": printable(report.error), "tests": tests})
    return RESULTS_CELL.format(payload=repr(payload), check=CHECK)


def _clear_submission_folder(submission: Path) -> None:
    """Remove every other file a student uploaded beside the graded one, before otter starts its kernel
    in that folder: the kernel imports from its working directory first, so an uploaded ``otter/`` or
    ``json.py`` would otherwise run there. Otter's copy of the tests stays; it is not the student's."""
    for entry in submission.parent.iterdir():
        if entry.name == "tests" or entry == submission:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


class LlmkitOtterPlugin(AbstractOtterPlugin):
    """Grade in the kit's sandbox; configured in otter_config.json with ``{"assignment": "a3"}``."""

    report = None

    def before_execution(self, submission):
        """Grade the submission (a notebook; otter wraps a script in one) and return the results cell as
        the notebook otter executes."""
        from autograder.course import load_course
        from autograder.exporters.notebooks import grade_notebook

        assignment = load_course().resolve(self.plugin_config["assignment"])
        if isinstance(submission, str):  # a script: otter's own notebooks are nodes already
            submission = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(submission)])
        self.report = grade_notebook(assignment, submission)
        _clear_submission_folder(Path(self.submission_path))
        kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
        return nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(results_cell(self.report))],
            metadata={"kernelspec": kernel, "language_info": {"name": "python"}},
        )

    def after_grading(self, results):
        """Head the results with the kit's summary: the seed that reproduces the grade, errors, problems."""
        from autograder.results import summary_lines

        if self.report is not None:
            lines = summary_lines(self.report)
            lines.append(f"Graded by llmkit's sandbox (seed {self.report.seed}).")
            results.set_output("\n".join(lines))

    def generate_report(self):
        """What otter prints after grading: the kit's score and seed."""
        if self.report is None:
            return "llmkit: not graded"
        return f"llmkit: {self.report.score:g} / {self.report.max_score:g} (seed {self.report.seed})"
