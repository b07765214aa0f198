"""`llmkit export otter A --out DIR`: an otter-grader autograder whose tests read the kit's sandboxed grade.

The export holds ``DIR/autograder.zip``, in the layout ``otter run`` and Gradescope take (otter 7.0):

- ``otter_config.json``: the plugin :class:`autograder.exporters.otter_grade.LlmkitOtterPlugin`, told the
  assignment. Before otter executes a submission, the plugin grades the notebook with the hidden suite in
  the kit's sandbox (from otter's own, trusted process) and hands otter, in place of the student's notebook,
  one cell that holds the trusted results: none of the student's code runs in otter's kernel.
- ``tests/<test file stem>.py``: one OK-format test per hidden test file, one case per hidden test with its
  points, each asserting that the kit's grader passed that test. The hidden suite itself is not there.
- ``setup.sh`` and ``run_autograder``: Gradescope's entry points; they install the kit below and run otter.
- ``llmkit/``: the kit with this assignment's hidden suite only (as in ``llmkit export gradescope``).

and ``DIR/student/<folder>.ipynb``, the kit's template notebook, for students to fill in and submit.
"""

from __future__ import annotations

import json
import os
import pprint
import shutil
import tempfile
from pathlib import Path

from autograder.bundle import zip_folder
from autograder.course import Assignment
from autograder.exporters.gradescope import copy_kit, setup_script
from autograder.exporters.notebooks import file_of, new_out_folder, suite_tests, template_notebook

KIT = "llmkit"  # the folder of the kit inside the zip
PLUGIN = "autograder.exporters.otter_grade.LlmkitOtterPlugin"
CHECK = "llmkit_check"  # the function of the results cell that each test case calls

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Runs for every submission: otter grades it; its tests read the grade of the kit's sandbox.
set -uo pipefail
cd /autograder/source
# -I: the submission's folder is never on the import path of the grader
/opt/llmkit/bin/python -I -c "import {module}; from otter.run.run_autograder import main; main('/autograder')"
"""


def otter_tests(assignment: Assignment) -> dict[str, dict]:
    """The OK-format test of each hidden test file (file stem -> otter's ``test`` dict): one case per
    hidden test, worth its points, that passes when the kit's grader passed that test."""
    tests: dict[str, dict] = {}
    for nodeid, points in suite_tests(assignment).items():
        stem = Path(file_of(nodeid)).stem
        test = tests.setdefault(stem, {"name": stem, "all_or_nothing": False, "suites": [{"cases": []}]})
        case = {
            "name": nodeid.split("::", 1)[-1],
            "code": f">>> {CHECK}({nodeid!r})\npassed\n",
            "points": points,
            "hidden": False,
        }
        test["suites"][0]["cases"].append(case)
    for test in tests.values():
        test["suites"][0].update(scored=True, setup="", teardown="", type="doctest")
    return tests


def export_otter(assignment: Assignment, out: Path) -> Path:
    """Write the otter-grader autograder and the student notebook of ``assignment`` into the new (or
    empty) folder ``out``; returns the autograder zip."""
    out = new_out_folder(out)
    template = template_notebook(assignment)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        copy_kit(assignment, folder / KIT)
        (folder / "tests").mkdir()
        for stem, test in otter_tests(assignment).items():
            text = f'"""{stem}: graded by llmkit\'s sandbox; each case checks one hidden test."""\n\n'
            (folder / "tests" / f"{stem}.py").write_text(
                text + f"OK_FORMAT = True\n\ntest = {pprint.pformat(test, width=100, sort_dicts=False)}\n"
            )
        config = {"lang": "python", "plugins": [{PLUGIN: {"assignment": assignment.id}}]}
        (folder / "otter_config.json").write_text(json.dumps(config, indent=2) + "\n")
        setup = setup_script(assignment, folder / KIT, source=KIT, more_extras=("notebooks",))
        (folder / "setup.sh").write_text(setup)
        (folder / "run_autograder").write_text(RUN_AUTOGRADER.format(module=PLUGIN.rsplit(".", 1)[0]))
        for script in ("setup.sh", "run_autograder"):
            os.chmod(folder / script, 0o755)
        out.mkdir(parents=True, exist_ok=True)
        zipped = zip_folder(folder, out / "autograder.zip")
    (out / "student").mkdir()
    shutil.copyfile(template, out / "student" / template.name)
    return zipped
