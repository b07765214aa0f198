"""Each assignment's notebook runs top to bottom on the reference solution, as a student would run it in the
workspace that `llmkit start` makes (the modules beside the notebook and its data)."""

from __future__ import annotations

import shutil
import time

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.course import kit_root, load_course

ROOT = kit_root()
NOTEBOOKS = [
    a.folder
    for a in load_course().assignments.values()
    if (ROOT / "assignments" / a.folder / "explore.ipynb").exists()
]


@pytest.mark.parametrize("folder", NOTEBOOKS)
def test_notebook_runs_on_the_reference(folder, tmp_path):
    workspace = tmp_path / folder
    shutil.copytree(ROOT / "assignments" / folder, workspace, ignore=shutil.ignore_patterns("__pycache__"))
    for module in (ROOT / "solutions" / folder).glob("*.py"):
        shutil.copy2(module, workspace / module.name)
    notebook = nbformat.read(workspace / "explore.ipynb", as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
        "the shipped notebook should have no outputs"
    )
    start = time.monotonic()
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workspace)}}
    ).execute()
    elapsed = time.monotonic() - start
    images = [
        out
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    ]
    assert images, "the notebook should draw at least one plot"
    assert elapsed < 300, f"the notebook took {elapsed:.0f} s"
