"""`llmkit export gradescope A --out FILE.zip`: an autograder bundle in Gradescope's format.

Gradescope unpacks the zip into /autograder/source, runs ``setup.sh`` once when the image is built, then
``run_autograder`` for each submission, with the student's files in /autograder/submission, and reads
/autograder/results/results.json. Our ``run_autograder`` grades with the same engine as ``llmkit grade``,
so the sandbox, the seeds and the messages are the same as on a TA's machine.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from autograder.bundle import copy_parts, zip_folder
from autograder.course import Assignment, kit_root
from autograder.errors import KitError

TORCH_PIN = "torch==2.13.0"

SETUP_SH = """#!/usr/bin/env bash
# Runs once when Gradescope builds the autograder image.
set -euo pipefail
# the kit needs Python 3.11 (Gradescope's Ubuntu 22.04 image ships 3.10 as python3)
apt-get update -qq && apt-get install -y -qq python3.11 python3.11-venv > /dev/null
python3.11 -m venv /opt/llmkit
/opt/llmkit/bin/pip install --quiet --upgrade pip
/opt/llmkit/bin/pip install --quiet -c {root}/constraints.txt {torch}
# editable: one copy of the engine and its suite, in {root}, hidden from the sandbox
/opt/llmkit/bin/pip install --quiet -c {root}/constraints.txt -e "{root}{extra}"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Runs for every submission. The engine writes results.json whatever the submission does.
set -uo pipefail
cd /autograder/source
export LLMKIT_ROOT=/autograder/source
rm -rf /tmp/llmkit-out
/opt/llmkit/bin/llmkit grade {assignment} /autograder/submission --out /tmp/llmkit-out --jobs 1
mkdir -p /autograder/results
if [ -f /tmp/llmkit-out/submission/results.json ]; then
    cp /tmp/llmkit-out/submission/results.json /autograder/results/results.json
else
    echo '{{"score": 0, "output": "This submission could not be graded; contact the course staff."}}' \\
        > /autograder/results/results.json
fi
"""

PARTS = ["pyproject.toml", "README.md", "course.yml", "autograder", "constraints.txt"]


def copy_kit(assignment: Assignment, folder: Path) -> None:
    """Copy into ``folder`` what grading ``assignment`` needs of the kit: the engine with this assignment's
    hidden suite only (no other suite, no solutions), course.yml, the pins, the public tests (the hidden
    suite shares helpers with them) and the assignment's declared data (linked beside each submission)."""
    data = [f"assignments/{assignment.folder}/{entry}" for entry in assignment.data]
    missing = [d for d in data if not (kit_root() / d).exists()]
    if missing:
        raise KitError(f"{assignment.id} declares data that does not exist: {missing[0]}")
    copy_parts(folder, [*PARTS, f"tests/public/{assignment.folder}", *data])
    suites = folder / "autograder" / "suites"
    for other in suites.iterdir() if suites.is_dir() else []:
        if other.is_dir() and other.name != assignment.folder:
            shutil.rmtree(other)
    if not (suites / assignment.folder).is_dir():
        raise KitError(f"{assignment.folder} has no hidden suite to export")


def export_gradescope(assignment: Assignment, out: Path) -> Path:
    if out.suffix != ".zip":
        raise KitError(f"{out}: the Gradescope bundle must be a .zip file")
    if out.exists():
        raise KitError(f"{out} exists; choose another name or remove it first")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        copy_kit(assignment, folder)
        (folder / "setup.sh").write_text(
            SETUP_SH.format(torch=TORCH_PIN, root="/autograder/source", extra="")
        )
        (folder / "run_autograder").write_text(RUN_AUTOGRADER.format(assignment=assignment.id))
        for script in ("setup.sh", "run_autograder"):
            os.chmod(folder / script, 0o755)
        out.parent.mkdir(parents=True, exist_ok=True)
        return zip_folder(folder, out)
