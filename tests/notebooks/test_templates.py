"""The template notebooks that `llmkit build` writes (assignments/<folder>/<folder>.ipynb), for every enabled
assignment of course.yml: they are current, hold one tagged cell per function or class to write, and a
template filled in with the reference grades exactly like the reference's files, exploration cells ignored."""

from __future__ import annotations

import ast
import json
import os
import shutil

import nbformat
import pytest

from autograder.build import NOTEBOOK_KEY, build_notebooks, render_template, template_path
from autograder.course import kit_root, load_course
from autograder.errors import BuildError
from autograder.staging import NOTEBOOK_MODULE, stage
from tests.conftest import run_llmkit

ROOT = kit_root()
ASSIGNMENTS = [a for a in load_course().assignments.values() if a.enabled]

# Cells a student adds while exploring. Each would change the grade if it ran when graded: the last two
# raise or never finish.
EXPLORATION = [
    "print('exploring', 1 + 1)",
    "import matplotlib.pyplot as plt\n\nplt.plot([1, 2, 3])\nplt.show()",
    "history = []\nfor step in range(10**12):\n    history.append(step)",
    "raise RuntimeError('an exploration cell ran while grading')",
]
# The suite the equality is checked with: LLMKIT_NOTEBOOK_SUITE=hidden grades with the hidden suites (several
# minutes for all assignments on 2 cores), the default with the public tests (well under a minute each).
SUITE = () if os.environ.get("LLMKIT_NOTEBOOK_SUITE") == "hidden" else ("--public",)
# A cell of pure definitions that a student adds: graded (kept), so helpers can live in their own cells.
HELPER = "def _my_helper() -> int:\n    return 1\n\n\nHELPER_CONSTANT = 2"


def _reference_definitions(folder: str, module: str) -> dict[str, str]:
    """Top-level function and class definitions of a reference module, with decorators: name -> source."""
    source = (ROOT / "solutions" / folder / module).read_text(encoding="utf-8")
    lines = source.splitlines()
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            found[node.name] = "\n".join(lines[start - 1 : node.end_lineno])
    return found


def filled_template(folder: str, exploration: bool = True) -> nbformat.NotebookNode:
    """The template of ``folder`` with every task cell replaced by the reference's code, exploration cells
    after every task cell, and one helper cell of definitions."""
    notebook = nbformat.read(template_path(ROOT, folder), as_version=4)
    cells = []
    for cell in notebook.cells:
        tag = cell.metadata.get(NOTEBOOK_KEY, {})
        if tag.get("role") == "task":
            cell.source = _reference_definitions(folder, tag["module"])[tag["name"]]
        cells.append(cell)
        if exploration and tag.get("role") == "task":
            cells.extend(nbformat.v4.new_code_cell(text) for text in EXPLORATION)
    cells.append(nbformat.v4.new_code_cell(HELPER))
    notebook.cells = cells
    return notebook


def test_the_templates_are_current():
    stale = build_notebooks(ROOT, check=True)
    assert not stale, f"stale template notebooks (run `llmkit build`): {[str(p) for p in stale]}"


def test_a_name_two_modules_define_differently_stops_the_build():
    """In the notebook's one namespace the second `FAMILIES` would replace the first; the same import in both
    modules, or one module importing the other, is fine."""
    first = "import torch\nfrom torch import nn\n\nFAMILIES = ('llama',)\n"
    second = "import torch.nn as nn\nfrom first import FAMILIES\n\n\ndef f():\n    return nn, FAMILIES\n"
    assert render_template("demo", "a9", {"first.py": first, "second.py": second})
    clash = "import torch\n\nFAMILIES = ('llama2', 'llama3')\n"
    with pytest.raises(BuildError, match="first.py and second.py both define 'FAMILIES'"):
        render_template("demo", "a9", {"first.py": first, "second.py": clash})
    with pytest.raises(BuildError, match="both define 'nn'"):
        render_template("demo", "a9", {"first.py": first, "second.py": "from other import nn\n"})


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.folder)
def test_a_template_has_one_task_cell_per_function_to_write(assignment):
    notebook = nbformat.read(template_path(ROOT, assignment.folder), as_version=4)
    nbformat.validate(notebook)
    assert all(
        not c.get("outputs") and c.get("execution_count") is None
        for c in notebook.cells
        if c.cell_type == "code"
    )
    tasks = [
        c.metadata[NOTEBOOK_KEY]
        for c in notebook.cells
        if c.metadata.get(NOTEBOOK_KEY, {}).get("role") == "task"
    ]
    expected = []
    for module in assignment.modules:
        tree = ast.parse((ROOT / "starter" / assignment.folder / module).read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and "NotImplementedError" in ast.unparse(
                node
            ):
                expected.append((module, node.name))
    assert [(t["module"], t["name"]) for t in tasks] == expected
    for index, cell in enumerate(notebook.cells):
        if cell.metadata.get(NOTEBOOK_KEY, {}).get("role") == "task":
            above = notebook.cells[index - 1]
            name = cell.metadata[NOTEBOOK_KEY]["name"]
            assert above.cell_type == "markdown" and f"`{name}`" in above.source, (
                f"no description above {name}"
            )
            assert "NotImplementedError" in cell.source


def test_exploration_cells_are_staged_as_comments_only(tmp_path):
    folder = ASSIGNMENTS[0].folder
    path = tmp_path / "filled.ipynb"
    nbformat.write(filled_template(folder), path)
    staged = stage(path, ASSIGNMENTS[0], tmp_path / "staged")
    assert staged.problems == []
    module = ast.parse((staged.path / NOTEBOOK_MODULE).read_text())
    code = ast.unparse(module)
    assert "print(" not in code and "plt.plot" not in code and "RuntimeError" not in code
    assert "range(10 ** 12)" not in code
    assert "def _my_helper" in code and "HELPER_CONSTANT = 2" in code


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.folder)
def test_a_filled_template_grades_like_the_same_code_in_files(assignment, tmp_path):
    """The reference as files and as a filled-in template (with exploration cells that would fail or hang if
    they ran) get the same result for every hidden test: full marks."""
    subs = tmp_path / "subs"
    shutil.copytree(
        ROOT / "solutions" / assignment.folder, subs / "files", ignore=shutil.ignore_patterns("__pycache__")
    )
    nbformat.write(filled_template(assignment.folder), subs / "notebook.ipynb")
    out = tmp_path / "out"
    proc = run_llmkit(
        "grade",
        assignment.id,
        str(subs / "files"),
        str(subs / "notebook.ipynb"),
        "--out",
        str(out),
        "--jobs",
        "2",
        *SUITE,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    files, notebook = (
        json.loads((out / name / "results.json").read_text()) for name in ("files", "notebook")
    )
    assert files["score"] == files["max_score"] > 0, "the reference should get full marks"
    by_name = {t["name"]: (t["score"], t["max_score"]) for t in files["tests"]}
    assert {t["name"]: (t["score"], t["max_score"]) for t in notebook["tests"]} == by_name, (
        "the notebook and the files got different results: "
        + "; ".join(
            f"{t['name']}: {t['output'][:300]}" for t in notebook["tests"] if t["score"] < t["max_score"]
        )
    )
    assert notebook["score"] == files["score"]


def test_check_grades_a_filled_template_like_the_files(tmp_path):
    """`llmkit check A NOTEBOOK` (the student's self-check) accepts a filled-in template with exploration
    cells and prints the same score as for the reference's files; the unfilled template scores 0."""
    assignment = ASSIGNMENTS[0]
    path = tmp_path / "mine.ipynb"
    nbformat.write(filled_template(assignment.folder), path)
    scores = []
    for target in (ROOT / "solutions" / assignment.folder, path, template_path(ROOT, assignment.folder)):
        proc = run_llmkit("check", assignment.id, str(target))
        assert proc.returncode == 0, proc.stderr[-2000:]
        line = next(line for line in proc.stdout.splitlines() if line.startswith("Score: "))
        scores.append(line.split("(")[0].strip())  # the seed derives from the submission: not compared
    assert scores[0] == scores[1] and not scores[0].startswith("Score: 0 /"), scores
    assert scores[2].startswith("Score: 0 /"), scores[2]
