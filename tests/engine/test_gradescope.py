"""The Gradescope bundle, run as Gradescope runs it, as far as this machine allows.

`llmkit export gradescope` writes the zip; the test unpacks it into a simulated ``/autograder`` root (a
temporary folder, given to both scripts as ``AUTOGRADER_ROOT``), runs ``setup.sh`` and then
``run_autograder`` on the reference submission, and validates ``results.json`` against the results format of
Gradescope's autograder specification (https://gradescope-autograders.readthedocs.io/en/latest/specs/,
"Output format"), written out below as a JSON schema.

``setup.sh`` runs twice, unchanged, with its environment knobs:

- resolve only (``LLMKIT_PIP_REPORTS``: pip ``--dry-run --ignore-installed --report``), for a7, whose
  course.yml entry declares extras: the reports list every package the real install would put in a fresh
  environment, so they prove that torch is PyTorch's CPU-only build and that no ``nvidia-*`` (CUDA) package
  is pulled, that the declared extras come along, and that ``[tool.llmkit.no-deps]``'s packages are
  installed with ``--no-deps``. PyTorch's CPU index cannot be reached from the kit's test machines, so
  ``LLMKIT_TORCH_INDEX`` points at an empty local index and the CPU wheel comes from the pip configuration's
  own sources; ``constraints-cpu.txt`` makes the resolve fail if only a CUDA build were found.
- for real, for a3, into a fresh virtual environment made with ``--system-site-packages``: installing torch
  (about 200 MB) and the rest from the registry again would take minutes of CI per run, and the dry run
  above already checks the package list; here every pinned package is found installed, and pip still
  checks each against the same constraints (a version outside them would be reinstalled, and the run
  would show it), then installs the kit itself, editable, from the unpacked bundle.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from autograder.cli import main
from autograder.course import kit_root, load_course
from autograder.exporters.gradescope import setup_script

ROOT = kit_root()
COURSE = load_course()

# Gradescope's results.json ("Output format" of the autograder specification)
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
TEST = {
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "max_score": {"type": "number"},
        "status": {"enum": ["passed", "failed"]},
        "name": {"type": "string"},
        "name_format": FORMAT,
        "number": {"type": "string"},
        "output": {"type": "string"},
        "output_format": FORMAT,
        "tags": {"type": "array", "items": {"type": "string"}},
        "visibility": VISIBILITY,
        "extra_data": {"type": "object"},
    },
    "additionalProperties": False,
}
RESULTS_SCHEMA = {
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "max_score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "output_format": FORMAT,
        "test_output_format": FORMAT,
        "test_name_format": FORMAT,
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": TEST},
        "leaderboard": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "value": {}, "order": {"enum": ["asc", "desc"]}},
                "required": ["name", "value"],
            },
        },
    },
    # the score is optional only when every test carries one
    "anyOf": [{"required": ["score"]}, {"required": ["tests"], "properties": {"tests": {"items": {
        "required": ["score"]}}}}],
    "additionalProperties": False,
}  # fmt: skip


def canonical(name: str) -> str:
    """A project name as pip compares them (PEP 503): ``Mistral_Common`` -> ``mistral-common``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def validate_results(data: dict) -> None:
    jsonschema.validate(data, RESULTS_SCHEMA)


def unpack_bundle(assignment: str, tmp: Path) -> Path:
    """`llmkit export gradescope` into a simulated /autograder: the bundle unpacked into source/."""
    bundle = tmp / f"{assignment}.zip"
    assert main(["export", "gradescope", assignment, "--out", str(bundle)]) == 0
    root = tmp / f"autograder-{assignment}"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
    return root


def run_setup(root: Path, venv: Path, **env: str) -> subprocess.CompletedProcess:
    (root / "index").mkdir(exist_ok=True)  # an empty "CPU index": the CPU wheel comes from pip's own sources
    environment = {**os.environ, "AUTOGRADER_ROOT": str(root), "LLMKIT_VENV": str(venv),
                   "LLMKIT_PYTHON": sys.executable, "LLMKIT_VENV_OPTIONS": "--system-site-packages",
                   "LLMKIT_TORCH_INDEX": (root / "index").as_uri(), **env}  # fmt: skip
    return subprocess.run(["bash", str(root / "source" / "setup.sh")], env=environment, capture_output=True,
                          text=True, timeout=900)  # fmt: skip


def test_setup_resolves_cpu_torch_and_the_declared_extras(tmp_path):
    a7 = COURSE.resolve("a7")
    assert a7.extras, "a7 declares the extras its suite needs in course.yml"
    root = unpack_bundle("a7", tmp_path)
    reports = tmp_path / "reports"
    reports.mkdir()
    proc = run_setup(root, tmp_path / "venv-resolve", LLMKIT_PIP_REPORTS=str(reports))
    assert proc.returncode == 0, proc.stderr[-3000:]
    kit = json.loads((reports / "kit.json").read_text())["install"]
    versions = {canonical(item["metadata"]["name"]): item["metadata"]["version"] for item in kit}
    assert versions["torch"].endswith("+cpu"), versions["torch"]
    assert not [name for name in versions if name.startswith("nvidia-")], "a CUDA package would be installed"
    constraints = (ROOT / "constraints.txt").read_text().splitlines()
    pins = {canonical(name): pin for name, pin in (line.split("==") for line in constraints if "==" in line)}
    for name, version in versions.items():
        if name in pins and name != "torch":
            assert version == pins[name], f"{name} {version} is not the pinned {pins[name]}"
    assert "peft" in versions, "the lora extra a7 declares"
    assert not (reports / "no-deps.json").exists(), "a7's extras install nothing without its dependencies"


def test_setup_installs_the_no_deps_packages_of_a_declared_extra(tmp_path):
    """An extra with packages in pyproject's [tool.llmkit.no-deps] (chat-oracles) gets its own --no-deps step,
    after the kit's, and those packages are not in the kit's step."""
    a7 = dataclasses.replace(COURSE.resolve("a7"), extras=("lora", "chat-oracles"))
    kit = tmp_path / "kit"
    kit.mkdir()
    shutil.copyfile(ROOT / "constraints.txt", kit / "constraints.txt")
    script = setup_script(a7, kit)
    kit_step, no_deps_step = script.split("pip_install kit", 1)[1].split("pip_install no-deps", 1)
    assert '-e "$SOURCE[lora,chat-oracles]"' in kit_step
    assert no_deps_step.split("\n")[0].split()[-2:] == ["mistral-common", "fschat"]
    assert "--no-deps" in no_deps_step.split("\n")[0]
    assert (kit / "constraints-cpu.txt").read_text().strip().endswith("+cpu")


def test_run_autograder_grades_a_submission_into_results_json(tmp_path):
    root = unpack_bundle("a3", tmp_path)
    venv = tmp_path / "venv"
    proc = run_setup(root, venv)
    assert proc.returncode == 0, proc.stderr[-3000:]
    where = "import autograder; print(autograder.__file__)"
    located = subprocess.run([str(venv / "bin" / "python"), "-c", where], cwd=tmp_path, capture_output=True,
                             text=True, check=True)  # fmt: skip
    assert Path(located.stdout.strip()).is_relative_to(root / "source"), "the engine of the bundle is used"

    a3 = COURSE.resolve("a3")
    (root / "submission").mkdir()
    for module in a3.modules:
        (root / "submission" / module).write_bytes((ROOT / "solutions" / a3.folder / module).read_bytes())
    environment = {**os.environ, "AUTOGRADER_ROOT": str(root), "LLMKIT_VENV": str(venv)}
    environment.pop("LLMKIT_ROOT", None)
    proc = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=environment, cwd=root,
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((root / "results" / "results.json").read_text())
    validate_results(data)
    assert data["score"] == data["max_score"] == a3.points, data.get("output")
    visibilities = {t["visibility"] for t in data["tests"]}
    assert "after_due_date" in visibilities and "visible" in visibilities, visibilities
    assert data["extra_data"]["assignment"] == a3.folder
    if os.geteuid() == 0:  # as on Gradescope: the student's code ran as an unprivileged user
        assert "uid" in data["extra_data"]["sandbox"], data["extra_data"]["sandbox"]

    # the engine itself broken (here: no environment at all): still a valid results.json, scored 0
    (root / "results" / "results.json").unlink()
    environment["LLMKIT_VENV"] = str(tmp_path / "no-such-venv")
    subprocess.run(["bash", str(root / "source" / "run_autograder")], env=environment, cwd=root,
                   capture_output=True, timeout=60)  # fmt: skip
    data = json.loads((root / "results" / "results.json").read_text())
    validate_results(data)
    assert data["score"] == 0 and "could not be graded" in data["output"]


def test_the_schema_rejects_what_gradescope_rejects():
    """The schema checks are not vacuous: each broken variant of a valid file fails them."""
    good = {"score": 1.0, "tests": [{"name": "t", "score": 1, "max_score": 1, "visibility": "visible"}]}
    validate_results(good)
    bad = [
        {**good, "visibility": "later"},
        {**good, "score": "1"},
        {"tests": [{"name": "t", "max_score": 1}]},  # no score anywhere
        {**good, "tests": [{"name": "t", "score": 1, "status": "ok"}]},
        {**good, "scores": 1},
    ]
    for data in bad:
        with pytest.raises(jsonschema.ValidationError):
            validate_results(data)
