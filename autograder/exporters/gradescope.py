"""`llmkit export gradescope A --out FILE.zip`: an autograder bundle in Gradescope's format.

Gradescope unpacks the zip into /autograder/source, runs ``setup.sh`` once, as root, when it builds the image,
then ``run_autograder`` for each submission, with the student's files in /autograder/submission, and reads
/autograder/results/results.json. Our ``run_autograder`` grades with the same engine as ``llmkit grade``,
so the sandbox (the student's code runs as an unprivileged user of its own), the seeds and the messages are
the same as on a TA's machine. Tests marked ``after_due_date`` keep that visibility in results.json, so
students see them once the due date has passed.

``setup.sh`` installs one virtual environment from the kit's pinned ``constraints.txt``, with PyTorch's
CPU-only build (``constraints-cpu.txt`` pins the ``+cpu`` wheel: the resolve fails rather than pull a CUDA
build), the extras the assignment declares in course.yml (``extras``) and the packages that pyproject.toml's
``[tool.llmkit.no-deps]`` installs without their dependencies. Both scripts read their paths from the
environment with Gradescope's as defaults, so that the kit's tests run them in a temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import tomllib
from pathlib import Path

from autograder.bundle import copy_parts, zip_folder
from autograder.course import Assignment, kit_root
from autograder.errors import KitError

CPU_CONSTRAINTS = "constraints-cpu.txt"

SETUP_SH = """#!/usr/bin/env bash
# Runs once, as root, when Gradescope builds the autograder image: a virtual environment with the kit's
# pinned versions, PyTorch's CPU-only build and what {assignment}'s hidden suite imports when it grades.
#   AUTOGRADER_ROOT      the autograder folder (default /autograder; the kit lies in its source/)
#   LLMKIT_VENV          the virtual environment to create (default /opt/llmkit)
#   LLMKIT_PYTHON        the Python 3.11 to create it with (installed with apt-get when missing)
#   LLMKIT_TORCH_INDEX   where PyTorch's CPU-only wheels are (default PyTorch's own CPU index)
#   LLMKIT_VENV_OPTIONS  options of `python -m venv`, such as --system-site-packages
#   LLMKIT_PIP_REPORTS   a folder: resolve only (pip --dry-run), writing each step's report there
set -euo pipefail
SOURCE="${{AUTOGRADER_ROOT:-/autograder}}/source{source}"
VENV="${{LLMKIT_VENV:-/opt/llmkit}}"
PYTHON="${{LLMKIT_PYTHON:-python3.11}}"
TORCH_INDEX="${{LLMKIT_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}}"
if ! command -v "$PYTHON" > /dev/null; then
    # Gradescope's Ubuntu 22.04 image ships Python 3.10 as python3
    apt-get update -qq && apt-get install -y -qq python3.11 python3.11-venv > /dev/null
fi
# shellcheck disable=SC2086  # the options are words
"$PYTHON" -m venv ${{LLMKIT_VENV_OPTIONS:-}} "$VENV"
pip_install() {{  # pip_install STEP ARGS...: one install step, or its dry-run report
    local step=$1
    shift
    if [ -n "${{LLMKIT_PIP_REPORTS:-}}" ]; then
        set -- --dry-run --ignore-installed --report "$LLMKIT_PIP_REPORTS/$step.json" "$@"
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
}}
# the kit with the extras the suite needs, editable: one copy of the engine and its suite, in the source
# folder, which the sandbox hides from the student's code; torch comes from the CPU index ({torch})
pip_install kit -c "$SOURCE/constraints.txt" -c "$SOURCE/{cpu}" --extra-index-url "$TORCH_INDEX" \\
    -e "$SOURCE{extras}"
{no_deps}"""

NO_DEPS_STEP = """# pyproject.toml's [tool.llmkit.no-deps]: installed without their own dependencies
pip_install no-deps --no-deps -c "$SOURCE/constraints.txt" {packages}
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Runs for every submission. The engine writes results.json whatever the submission does; the student's
# code runs in the sandbox, as an unprivileged user of its own when this script runs as root.
#   AUTOGRADER_ROOT  the autograder folder (default /autograder): submission/ in, results/results.json out
#   LLMKIT_VENV      the virtual environment setup.sh made (default /opt/llmkit)
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
VENV="${{LLMKIT_VENV:-/opt/llmkit}}"
export LLMKIT_ROOT="$ROOT/source"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p "$ROOT/results"
cd "$LLMKIT_ROOT" || exit 1
"$VENV/bin/python" -m autograder grade {assignment} "$ROOT/submission" --out "$out/grades" --jobs 1
shopt -s nullglob
graded=("$out"/grades/*/results.json)
if [ ${{#graded[@]}} -eq 1 ]; then
    cp "${{graded[0]}}" "$ROOT/results/results.json"
else
    echo '{{"score": 0, "output": "This submission could not be graded; contact the course staff."}}' \\
        > "$ROOT/results/results.json"
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


def _pyproject() -> dict:
    with (kit_root() / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def grading_packages(assignment: Assignment) -> tuple[list[str], list[str]]:
    """(the extras of pyproject.toml that `assignment`'s suite needs, the packages of those extras that
    are installed with --no-deps), from course.yml's ``extras`` and pyproject's ``[tool.llmkit.no-deps]``."""
    project = _pyproject()
    known = project["project"].get("optional-dependencies", {})
    unknown = [e for e in assignment.extras if e not in known]
    if unknown:
        raise KitError(f"{assignment.id} needs the extra {unknown[0]!r}; pyproject.toml does not define it")
    table = project.get("tool", {}).get("llmkit", {}).get("no-deps", {})
    no_deps = [p for extra in assignment.extras for p in table.get(extra, [])]
    return list(assignment.extras), no_deps


def cpu_torch_pin(constraints: str) -> str:
    """The CPU-only build of the torch that `constraints` (the text of constraints.txt) pins."""
    match = re.search(r"^torch==([0-9][0-9.]*)\s*$", constraints, re.MULTILINE)
    if not match:
        raise KitError("constraints.txt pins no torch version (a line torch==X.Y.Z)")
    return f"torch=={match[1]}+cpu"


def setup_script(
    assignment: Assignment, kit: Path, source: str = "", more_extras: tuple[str, ...] = ()
) -> str:
    """The text of setup.sh for `assignment`, whose kit was copied to `kit` (``source`` is that folder's
    path below /autograder/source, empty when the kit is the source itself); also writes the kit's
    CPU-only torch pin (``constraints-cpu.txt``) there. ``more_extras`` are extras the exporter itself needs
    beside the assignment's (otter's autograder needs ``notebooks``)."""
    torch_pin = cpu_torch_pin((kit / "constraints.txt").read_text())
    (kit / CPU_CONSTRAINTS).write_text(
        "# PyTorch's CPU-only build: the resolve fails rather than pull a CUDA build\n" + torch_pin + "\n"
    )
    extras, no_deps = grading_packages(assignment)
    extras = [*more_extras, *(e for e in extras if e not in more_extras)]
    return SETUP_SH.format(
        assignment=assignment.id,
        source=f"/{source}" if source else "",
        torch=torch_pin,
        cpu=CPU_CONSTRAINTS,
        extras=f"[{','.join(extras)}]" if extras else "",
        no_deps=NO_DEPS_STEP.format(packages=" ".join(no_deps)) if no_deps else "",
    )


def export_gradescope(assignment: Assignment, out: Path) -> Path:
    """Write the autograder bundle of `assignment` to the zip `out` (which must not exist)."""
    if out.suffix != ".zip":
        raise KitError(f"{out}: the Gradescope bundle must be a .zip file")
    if out.exists():
        raise KitError(f"{out} exists; choose another name or remove it first")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        copy_kit(assignment, folder)
        (folder / "setup.sh").write_text(setup_script(assignment, folder))
        (folder / "run_autograder").write_text(RUN_AUTOGRADER.format(assignment=assignment.id))
        for script in ("setup.sh", "run_autograder"):
            os.chmod(folder / script, 0o755)
        out.parent.mkdir(parents=True, exist_ok=True)
        return zip_folder(folder, out)
