"""`llmkit export nbgrader A --out COURSE_DIR`: an nbgrader course whose autograder is the kit's sandbox.

The export holds ``nbgrader_config.py`` and ``source/<folder>/<folder>.ipynb``: the assignment's template
notebook with every task cell made an nbgrader solution cell (the reference's body between
``### BEGIN SOLUTION`` and ``### END SOLUTION``), the given cells locked, and one locked autograded test cell
per hidden test file, worth the points of its tests. The test cells hold no tests: the hidden suite stays in
the kit. Run by the student (nbgrader's Validate), a test cell self-checks with
:func:`autograder.selfcheck.check`: the public tests of its file grade the saved notebook in the sandbox,
not in the student's kernel. ``nbgrader autograde`` is configured to run :class:`LlmkitGrade` in place of
nbgrader's own ``Execute`` step, so the submitted notebook never runs in an unconfined kernel: the kit
stages it (only cells of definitions are kept), grades it with the hidden suite in its sandbox, and writes
each test cell's output from the trusted result (the points as a number for partial credit, an error for
none), which nbgrader's ``SaveAutoGrades`` then records.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from autograder.build import NOTEBOOK_KEY
from autograder.course import Assignment, kit_root
from autograder.exporters.notebooks import new_out_folder, suite_points, template_notebook

GRADE_PREFIX = "llmkit-"  # grade_id of a test cell: llmkit-<test file stem>
SCHEMA = 3

CONFIG = '''"""nbgrader configuration of the {id} course exported by llmkit (graded by its sandbox)."""

import os

c = get_config()  # noqa: F821 (given by nbgrader)
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "llmkit-{id}"
# the kit grades the notebook in its sandbox in place of running it in a kernel (nbgrader's Execute)
c.Autograde.autograde_preprocessors = [
    "autograder.exporters.nbgrader_grade.LlmkitGrade",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.LlmkitGrade.assignment = "{id}"
# a test cell's self-check grades the saved notebook with the public tests: more than nbgrader's 30 s a cell
c.Execute.timeout = 300
'''

TEST_CELL = """# {file} ({points:g} points). Run this cell to self-check: the public tests of {file} grade
# this notebook as saved (save it first) in llmkit's sandbox, outside this kernel. When the notebook is
# autograded, the hidden tests of {file} grade it the same way and this cell's output is the grade.
from autograder.selfcheck import check

check("{id}", "{file}", "{notebook}")"""


def reference_definitions(folder: str, module: str) -> dict[str, str]:
    """Top-level functions and classes of a reference module (name -> source, decorators included, and
    the indented comments right after the last statement, where a closing ``# END SOLUTION`` sits)."""
    source = (kit_root() / "solutions" / folder / module).read_text(encoding="utf-8")
    lines = source.splitlines()
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            end = node.end_lineno or start
            while end < len(lines) and lines[end][:1].isspace() and lines[end].lstrip().startswith("#"):
                end += 1
            found[node.name] = "\n".join(lines[start - 1 : end])
    return found


def _nbgrader_fences(source: str) -> str:
    """The kit's ``# BEGIN SOLUTION: hint`` fences as nbgrader's delimiters, the hint kept as a comment."""
    source = re.sub(
        r"^(\s*)# BEGIN SOLUTION(?::\s*(.*))?$",
        lambda m: f"{m[1]}### BEGIN SOLUTION" + (f"\n{m[1]}# hint: {m[2]}" if m[2] else ""),
        source,
        flags=re.M,
    )
    return re.sub(r"^(\s*)# END SOLUTION$", r"\1### END SOLUTION", source, flags=re.M)


def export_nbgrader(assignment: Assignment, out: Path) -> Path:
    """Write the nbgrader course of ``assignment`` into the new (or empty) folder ``out``; returns the
    source notebook."""
    import nbformat

    out = new_out_folder(out)
    notebook = nbformat.read(template_notebook(assignment), as_version=4)
    references: dict[str, dict[str, str]] = {}
    for number, cell in enumerate(notebook.cells, start=1):
        tag = cell.metadata.get(NOTEBOOK_KEY, {})
        meta = {"grade": False, "solution": False, "locked": True, "schema_version": SCHEMA}
        if tag.get("role") == "task":
            module = tag["module"]
            if module not in references:
                references[module] = reference_definitions(assignment.folder, module)
            cell.source = _nbgrader_fences(references[module][tag["name"]])
            meta.update(solution=True, locked=False, grade_id=f"task-{Path(module).stem}-{tag['name']}")
        else:
            meta["grade_id"] = f"given-{number}"
        cell.metadata["nbgrader"] = meta
    for file, points in suite_points(assignment).items():
        source = TEST_CELL.format(
            file=file, points=points, id=assignment.id, notebook=f"{assignment.folder}.ipynb"
        )
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nbgrader"] = {
            "grade": True,
            "solution": False,
            "locked": True,
            "points": points,
            "grade_id": GRADE_PREFIX + Path(file).stem,
            "schema_version": SCHEMA,
        }
        notebook.cells.append(nbformat.v4.new_markdown_cell(f"**Autograded: `{file}`, {points:g} points**"))
        notebook.cells.append(cell)
    for number, cell in enumerate(notebook.cells, start=1):
        cell.id = f"cell-{number}"
    source = out / "source" / assignment.folder / f"{assignment.folder}.ipynb"
    source.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, source)
    (out / "nbgrader_config.py").write_text(CONFIG.format(id=assignment.id), encoding="utf-8")
    return source
