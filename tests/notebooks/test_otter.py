"""`llmkit export otter` with the real otter-grader. Every enabled assignment of course.yml is exported and
checked structurally (otter's own parser reads its tests, one case per hidden test, worth the hidden
suite's points; the zip carries this assignment's suite and no solutions). The full round trip (`otter
run` on a filled-in notebook that also looks for the hidden tests' files, and on an `__eq__`-forging one)
runs on one assignment per CI run, the first enabled one in course.yml order, as test_nbgrader.py does, to
keep CI short: otter's score must equal `llmkit grade`'s, the look must find nothing (the notebook keeps
full marks only then), and the forging notebook must score 0 with none of its code run in otter's kernel."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.build import NOTEBOOK_KEY
from autograder.course import kit_root, load_course
from autograder.exporters.notebooks import suite_points, template_notebook
from autograder.exporters.otter import PLUGIN, export_otter
from tests.conftest import run_llmkit
from tests.notebooks.test_nbgrader import FORGE, _env
from tests.notebooks.test_templates import filled_template

pytest.importorskip("otter", reason="install the extra .[notebooks]")
ASSIGNMENTS = [a for a in load_course().assignments.values() if a.enabled]

# Where the hidden tests' files are while `otter run` grades (its temporary copy of /autograder, and
# Gradescope's own), and where the kit keeps its suites and solutions. The filled-in notebook reads every
# file these patterns match; in the sandbox it must match none.
PRY = """
import glob as _glob


def _pry(roots, kit, folder):
    patterns = ["tests/*.py", "../tests/*.py", "../source/tests/*.py", "../source/**/suites/**/*.py"]
    for root in roots:
        for place in ("source/tests", "submission/tests", "source/llmkit/autograder/suites/*"):
            patterns += [f"{root}/autograder/{place}/*.py", f"{root}/*/autograder/{place}/*.py"]
    patterns += [f"{kit}/autograder/suites/{folder}/*.py", f"{kit}/solutions/{folder}/*.py"]
    found = {}
    for pattern in patterns:
        for path in _glob.glob(pattern, recursive=True):
            try:
                with open(path, encoding="utf-8") as handle:
                    found[path] = handle.read(100)
            except OSError:
                pass
    return found
"""


def _otter_score(results: Path) -> float:
    data = json.loads(results.read_text())
    if "score" in data:
        return float(data["score"])
    return sum(t["score"] for t in data["tests"] if "score" in t)


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.folder)
def test_the_export_is_an_otter_autograder_worth_the_suite(assignment, tmp_path):
    from otter.nbmeta_config import NBMetadataConfig
    from otter.test_files import create_test_file

    zipped = export_otter(assignment, tmp_path / "out")
    student = tmp_path / "out" / "student" / f"{assignment.folder}.ipynb"
    assert student.read_bytes() == template_notebook(assignment).read_bytes()
    with zipfile.ZipFile(zipped) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "source")
    config = json.loads((tmp_path / "source" / "otter_config.json").read_text())
    assert config["plugins"] == [{PLUGIN: {"assignment": assignment.id}}]
    assert {"setup.sh", "run_autograder"} <= names
    assert any(n.startswith(f"llmkit/autograder/suites/{assignment.folder}/test_") for n in names)
    assert not any(n.startswith("llmkit/solutions/") for n in names)
    assert {n.split("/")[3] for n in names if n.startswith("llmkit/autograder/suites/")} <= {
        assignment.folder,
        "__init__.py",
    }
    files = sorted((tmp_path / "source" / "tests").glob("*.py"))
    parsed = [create_test_file(str(path), NBMetadataConfig()) for path in files]  # as otter's Checker
    assert all("def test_" not in path.read_text() for path in files)  # no hidden test in otter's tests/
    cases = [case for test in parsed for case in test.test_cases]
    assert sum(case.points for case in cases) == pytest.approx(sum(suite_points(assignment).values()))
    assert sum(suite_points(assignment).values()) == assignment.points  # every hidden test file collected
    assert len({case.body for case in cases}) == len(cases)  # one case per hidden test


def _notebook(assignment, kind: str, marker: Path) -> nbformat.NotebookNode:
    """The template filled in with the reference after a look for the hidden tests' files that fails
    every test if it finds one (``alice``), or with objects equal to anything (``mallory``, whose cells
    would also leave ``marker`` behind if they ran in otter's kernel)."""
    notebook = filled_template(assignment.folder)
    leave_marker = f"open({str(marker)!r}, 'w').write('ran')\n"
    pried = False
    for cell in notebook.cells:
        tag = cell.metadata.get(NOTEBOOK_KEY, {})
        if tag.get("role") != "task":
            continue
        if kind == "mallory":
            cell.source = leave_marker + FORGE + f"\n\ndef {tag['name']}(*a, **k):\n    return _Forge()\n"
        elif not pried:
            roots = sorted({"/tmp", tempfile.gettempdir(), "/"})
            call = f"_FOUND = _pry({roots!r}, {str(kit_root())!r}, {assignment.folder!r})\n"
            refuse = "if _FOUND:\n    raise RuntimeError(f'read the hidden tests: {sorted(_FOUND)}')\n"
            cell.source = PRY + "\n\n" + call + refuse + "\n\n" + cell.source
            pried = True
    if kind == "mallory":
        notebook.cells.append(nbformat.v4.new_code_cell(leave_marker))
    return notebook


@pytest.fixture(scope="module")
def otter_round(tmp_path_factory):
    """`otter run` on alice and mallory (one export of the first enabled assignment), and `llmkit grade`
    on alice: {name: otter's score}, llmkit's score of alice, and the kernel marker."""
    assignment = ASSIGNMENTS[0]
    tmp = tmp_path_factory.mktemp("otter")
    zipped = export_otter(assignment, tmp / "export")
    marker = tmp / "kernel-ran"
    scores, outputs = {}, {}
    for name in ("alice", "mallory"):
        path = tmp / f"{name}.ipynb"
        nbformat.write(_notebook(assignment, name, marker), path)
        out = tmp / f"out-{name}"
        out.mkdir()
        command = [sys.executable, "-m", "otter", "run", "-a", str(zipped), "-o", str(out), "--no-logo"]
        proc = subprocess.run(
            [*command, str(path)], cwd=tmp, env=_env(), capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        scores[name] = _otter_score(out / "results.json")
        outputs[name] = json.loads((out / "results.json").read_text())
    proc = run_llmkit("grade", assignment.id, str(tmp / "alice.ipynb"), "--out", str(tmp / "llmkit"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    graded = json.loads((tmp / "llmkit" / "alice" / "results.json").read_text())
    return {"assignment": assignment, "scores": scores, "outputs": outputs, "llmkit": graded["score"],
            "max_score": graded["max_score"], "marker": marker, "tmp": tmp}  # fmt: skip


def test_otter_run_scores_like_llmkit_grade(otter_round):
    scores, expected = otter_round["scores"], otter_round["llmkit"]
    assert expected > 0
    assert scores["alice"] == pytest.approx(expected)


def test_a_forging_notebook_scores_0_and_never_runs_in_otters_kernel(otter_round):
    assert otter_round["scores"]["mallory"] == 0
    assert not otter_round["marker"].exists()


def test_a_notebook_finds_none_of_the_hidden_tests_files(otter_round):
    """Full marks for alice, in otter and in `llmkit grade`, mean its look found nothing in the sandbox;
    the same look run here, outside it, on otter's layout and the kit, finds the files: a real look."""
    full = otter_round["max_score"]
    assert otter_round["scores"]["alice"] == otter_round["llmkit"] == full, otter_round["outputs"]["alice"]
    assignment, tmp = otter_round["assignment"], otter_round["tmp"]
    with zipfile.ZipFile(tmp / "export" / "autograder.zip") as archive:
        archive.extractall(tmp / "layout" / "run" / "autograder" / "source")
    namespace: dict = {}
    exec(PRY, namespace)  # the look itself, unconfined: it must find what the sandbox hid
    found = namespace["_pry"]([str(tmp / "layout")], str(kit_root()), assignment.folder)
    assert any("/autograder/source/tests/" in p for p in found)
    assert any(f"/autograder/suites/{assignment.folder}/" in p for p in found)
    assert any(f"/solutions/{assignment.folder}/" in p for p in found)
