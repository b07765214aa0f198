"""An assignment's declared data (course.yml `data:`): the worker reads it beside the submission's modules,
read-only, in place of anything the submission sent under those names, and nothing else of the kit."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from autograder.client import CallFailed, Limits, Submission, Zygote
from autograder.course import kit_root, load_course
from autograder.errors import CourseError
from autograder.runner import _add_data
from autograder.staging import stage

READER = """
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent

def read(relative):
    return (HERE / relative).read_text()

def read_abs(path):
    return Path(path).read_text()

def overwrite(relative):
    with open(HERE / relative, "w") as handle:
        handle.write("replaced by the submission")
    return True

def remove(relative):
    os.unlink(HERE / relative)
    return True
"""


@pytest.fixture(scope="module")
def graded_data():
    """A staged submission of a made-up assignment whose data are `notes/` and `vocab.py`."""
    source = Path(tempfile.mkdtemp(prefix="llmkit-test-assignment-"))
    (source / "notes").mkdir()
    (source / "notes" / "a.txt").write_text("the kit's data\n")
    (source / "vocab.py").write_text("WORDS = ['kit']\n")
    (source / "secret.txt").write_text("not declared\n")
    workspace = Path(tempfile.mkdtemp(prefix="llmkit-test-workspace-"))
    (workspace / "reader.py").write_text(READER)
    (workspace / "vocab.py").write_text("WORDS = ['forged by the student']\n")
    assignment = dataclasses.replace(
        load_course().resolve("a3"), modules=("reader.py",), data=("notes", "vocab.py")
    )
    stage_root = Path(tempfile.mkdtemp(prefix="llmkit-stage-"))
    os.chmod(stage_root, 0o711)
    try:
        staged = stage(workspace, assignment, stage_root / "student")
        copies = {"notes/a.txt": source / "notes" / "a.txt", "vocab.py": source / "vocab.py"}
        original_root = kit_root() / "assignments" / assignment.folder
        # _add_data copies from the kit's assignments/<folder>/: point it at the made-up one
        os.environ["LLMKIT_ROOT"] = str(source.parent / "kit")
        (source.parent / "kit" / "assignments").mkdir(parents=True)
        (source.parent / "kit" / "assignments" / assignment.folder).symlink_to(source)
        try:
            _add_data(assignment, stage_root, [staged])
        finally:
            os.environ.pop("LLMKIT_ROOT")
        hidden = [kit_root(), source, original_root]
        with Zygote(hidden=hidden, limits=Limits(call_timeout=10, cpu_seconds=60, memory_mb=1024)) as zygote:
            sub = Submission(zygote, staged.path, Limits(call_timeout=10), modules=("reader.py",))
            yield sub, source, copies
            sub.close()
    finally:
        for folder in (source, workspace, stage_root, source.parent / "kit"):
            shutil.rmtree(folder, ignore_errors=True)


def test_declared_data_is_readable_beside_the_modules(graded_data):
    sub, _, _ = graded_data
    assert sub.call("reader.read", "notes/a.txt") == "the kit's data\n"
    assert sub.call("reader.read", "vocab.py") == "WORDS = ['kit']\n"  # the student's vocab.py was replaced


def test_the_data_cannot_be_replaced(graded_data):
    sub, source, copies = graded_data
    for relative in ("notes/a.txt", "vocab.py"):
        with pytest.raises(CallFailed, match="PermissionError|OSError|Read-only"):
            sub.call("reader.overwrite", relative)
        with pytest.raises(CallFailed, match="PermissionError|OSError|Read-only"):
            sub.call("reader.remove", relative)
    assert sub.call("reader.read", "notes/a.txt") == "the kit's data\n"
    assert (source / "notes" / "a.txt").read_text() == "the kit's data\n"
    assert copies["vocab.py"].read_text() == "WORDS = ['kit']\n"


def test_nothing_else_of_the_assignment_or_the_kit_is_readable(graded_data):
    sub, source, _ = graded_data
    sub.call("reader.read", "notes/a.txt")  # start the worker, so that its layers are known
    if "landlock" not in sub.layers:
        pytest.skip("without landlock the kit is protected by file permissions only (see the README)")
    for secret in (source / "secret.txt", kit_root() / "course.yml", kit_root() / "solutions" / "a3_attention"
                   / "attention.py"):  # fmt: skip
        with pytest.raises(CallFailed, match="PermissionError"):
            sub.call("reader.read_abs", str(secret))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[../solutions]", "expected a path inside the assignment's folder"),
        ("[/etc]", "expected a path inside the assignment's folder"),
        ("[.secret]", "expected a path inside the assignment's folder"),
        ("[models, models]", "models is listed twice"),
        ("[attention.py]", "attention.py is a submitted module"),
        ("models", "expected a list of paths"),
    ],
)
def test_data_paths_are_checked(tmp_path: Path, value: str, message: str) -> None:
    text = (kit_root() / "course.yml").read_text()
    marker = "    modules: [attention.py, model.py, sampling.py]\n"
    assert marker in text
    path = tmp_path / "course.yml"
    path.write_text(text.replace(marker, marker + f"    data: {value}\n", 1))
    with pytest.raises(CourseError, match=message):
        load_course(path)


def test_data_paths_load(tmp_path: Path) -> None:
    text = (kit_root() / "course.yml").read_text()
    marker = "    modules: [attention.py, model.py, sampling.py]\n"
    path = tmp_path / "course.yml"
    path.write_text(text.replace(marker, marker + "    data: [models, vocab/merges.txt]\n", 1))
    assert load_course(path).resolve("a3").data == ("models", "vocab/merges.txt")
