"""Staging submissions (folders, zips, notebooks) safely, and making the student's submission zip."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autograder.course import Assignment
from autograder.errors import KitError, SubmissionError
from autograder.staging import (
    MAX_MODULE_BYTES,
    NOTEBOOK_MODULE,
    make_submission_zip,
    stage,
    submission_name,
    unique_name,
)

ASSIGNMENT = Assignment(
    id="a3",
    folder="a3_attention",
    title="Decoder-only architecture",
    section="20.3",
    points=100.0,
    due=datetime(2026, 10, 30, 22, 59, tzinfo=UTC),
    enabled=True,
    time_limit=300.0,
    call_timeout=30.0,
    memory_limit_mb=4096,
    modules=("attention.py", "model.py"),
)

ATTENTION = b"import math\n\n\ndef softmax(x):\n    return x\n"
MODEL = b"from attention import softmax\n\n\ndef forward(x):\n    return softmax(x)\n"
MODULES = {"attention.py": ATTENTION, "model.py": MODEL}


def make_folder(folder: Path, files: dict[str, bytes] | None = None) -> Path:
    folder.mkdir(parents=True)
    for name, data in (MODULES if files is None else files).items():
        (folder / name).write_bytes(data)
    return folder


def make_zip(path: Path, members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def snapshot(path: Path) -> dict[str, tuple[bytes, int]]:
    """Content and mtime of every file at or below ``path``."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in files}


def staged_tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# -- folders -------------------------------------------------------------------------------------------------


def test_a_folder_is_staged_with_only_its_top_level_modules(tmp_path: Path) -> None:
    submission = make_folder(tmp_path / "alice")
    (submission / "notes.txt").write_text("not code")
    (submission / ".secret.py").write_text("hidden = 1\n")
    (submission / "__pycache__").mkdir()
    (submission / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\0")
    (submission / "sub").mkdir()
    (submission / "sub" / "deep.py").write_text("x = 1\n")
    (submission / "helpers.py").write_text("def helper():\n    return 1\n")
    before = snapshot(submission)

    staged = stage(submission, ASSIGNMENT, tmp_path / "stage" / "alice")

    assert staged.name == "alice"
    assert staged.path == tmp_path / "stage" / "alice"
    assert staged_tree(staged.path) == {**MODULES, "helpers.py": b"def helper():\n    return 1\n"}
    assert sorted(staged.files) == ["attention.py", "helpers.py", "model.py"]
    assert len(staged.digest) == 64 and all(len(h) == 64 for h in staged.files.values())
    assert staged.problems == []
    assert snapshot(submission) == before  # the submission is never modified


def test_staged_files_are_world_readable(tmp_path: Path) -> None:
    old_umask = os.umask(0o077)
    try:
        staged = stage(make_folder(tmp_path / "alice"), ASSIGNMENT, tmp_path / "stage")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(staged.path.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in staged.path.iterdir()} == {0o644}


def test_missing_modules_and_syntax_errors_are_reported_with_line_numbers(tmp_path: Path) -> None:
    broken = b"def softmax(x):\n    return x\n\ndef oops(:\n    pass\n"
    submission = make_folder(tmp_path / "bob", {"attention.py": broken, "extra.py": b"x = (\n"})
    staged = stage(submission, ASSIGNMENT, tmp_path / "stage")
    assert staged.problems[0] == "missing model.py"
    assert staged.problems[1].startswith("attention.py:4: SyntaxError: ")
    assert staged.problems[2].startswith("extra.py:1: SyntaxError: ")
    assert len(staged.problems) == 3


def test_indentation_errors_and_non_utf8_files_are_reported(tmp_path: Path) -> None:
    files = {"attention.py": b"def f():\nreturn 1\n", "model.py": b"name = '\xe9t\xe9'\n"}
    staged = stage(make_folder(tmp_path / "carol", files), ASSIGNMENT, tmp_path / "stage")
    assert staged.problems[0].startswith("attention.py:2: IndentationError: ")
    assert staged.problems[1] == "model.py: not UTF-8 text (byte 0xe9 at offset 8)"


def test_staging_never_runs_submitted_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    payload = f"open({str(marker)!r}, 'w').write('x')\nraise SystemExit(3)\n".encode()
    staged = stage(
        make_folder(tmp_path / "eve", {**MODULES, "model.py": payload}), ASSIGNMENT, tmp_path / "s"
    )
    assert staged.problems == []
    assert not marker.exists()


def test_a_symlinked_module_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "reference.py"
    secret.write_bytes(ATTENTION)
    submission = make_folder(tmp_path / "mallory", {"model.py": MODEL})
    (submission / "attention.py").symlink_to(secret)
    with pytest.raises(SubmissionError, match="attention.py is not a regular file"):
        stage(submission, ASSIGNMENT, tmp_path / "stage")
    assert not (tmp_path / "stage").exists()


def test_a_fifo_named_like_a_module_is_refused_without_blocking(tmp_path: Path) -> None:
    submission = make_folder(tmp_path / "fifo", {"model.py": MODEL})
    os.mkfifo(submission / "attention.py")
    with pytest.raises(SubmissionError, match="attention.py is not a regular file"):
        stage(submission, ASSIGNMENT, tmp_path / "stage")


def test_an_oversized_module_is_refused(tmp_path: Path) -> None:
    submission = make_folder(tmp_path / "big", {**MODULES, "model.py": b"#" * (MAX_MODULE_BYTES + 1)})
    with pytest.raises(SubmissionError, match="model.py: larger than 1024 KB"):
        stage(submission, ASSIGNMENT, tmp_path / "stage")


def test_the_destination_must_be_new_and_outside_the_submission(tmp_path: Path) -> None:
    submission = make_folder(tmp_path / "alice")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("keep")
    with pytest.raises(SubmissionError, match="not empty"):
        stage(submission, ASSIGNMENT, busy)
    assert (busy / "keep.txt").read_text() == "keep"
    with pytest.raises(SubmissionError, match="cannot be inside the submission"):
        stage(submission, ASSIGNMENT, submission / "staged")
    assert not (submission / "staged").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert stage(submission, ASSIGNMENT, empty).problems == []


def test_unknown_kinds_and_missing_paths_are_refused(tmp_path: Path) -> None:
    (tmp_path / "work.tar.gz").write_bytes(b"\0")
    with pytest.raises(SubmissionError, match="a folder, a .zip or a .ipynb"):
        stage(tmp_path / "work.tar.gz", ASSIGNMENT, tmp_path / "s1")
    with pytest.raises(SubmissionError, match="no such file or folder"):
        stage(tmp_path / "nothing.zip", ASSIGNMENT, tmp_path / "s2")


def test_a_submission_error_is_a_kit_error() -> None:
    assert issubclass(SubmissionError, KitError)


# -- zips ----------------------------------------------------------------------------------------------------


def test_a_zip_with_modules_at_the_top_level(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "alice.zip", {**MODULES, "README.md": b"hi", "data/x.py": b"y = 1\n"})
    before = snapshot(archive)
    staged = stage(archive, ASSIGNMENT, tmp_path / "stage")
    assert staged.name == "alice"
    assert staged_tree(staged.path) == MODULES
    assert staged.problems == []
    assert snapshot(archive) == before


def test_a_zip_of_a_folder_is_staged_from_inside_that_folder(tmp_path: Path) -> None:
    members = {f"a3_attention/{name}": data for name, data in MODULES.items()}
    members |= {
        "__MACOSX/a3_attention/._attention.py": b"\0\0",
        "a3_attention/.DS_Store": b"\0",
        "a3_attention/__pycache__/model.cpython-311.pyc": b"\0",
    }
    staged = stage(make_zip(tmp_path / "bob.zip", members), ASSIGNMENT, tmp_path / "stage")
    assert staged_tree(staged.path) == MODULES
    assert staged.problems == []


def test_the_digest_depends_on_the_files_not_their_packaging(tmp_path: Path) -> None:
    folder = stage(make_folder(tmp_path / "f"), ASSIGNMENT, tmp_path / "s1")
    flat = stage(make_zip(tmp_path / "z1.zip", MODULES), ASSIGNMENT, tmp_path / "s2")
    nested = stage(
        make_zip(tmp_path / "z2.zip", {f"top/{k}": v for k, v in MODULES.items()}),
        ASSIGNMENT,
        tmp_path / "s3",
    )
    assert folder.digest == flat.digest == nested.digest
    assert folder.files == flat.files == nested.files
    changed = stage(
        make_zip(tmp_path / "z3.zip", {**MODULES, "model.py": MODEL + b"\n"}), ASSIGNMENT, tmp_path / "s4"
    )
    assert changed.digest != folder.digest


def test_a_zip_with_several_top_folders_reports_where_the_modules_should_be(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "two.zip", {"a/attention.py": ATTENTION, "b/model.py": MODEL})
    staged = stage(archive, ASSIGNMENT, tmp_path / "stage")
    assert staged.problems == [
        "two.zip: no .py files at the top level of the zip or in one single top folder",
        "missing attention.py",
        "missing model.py",
    ]


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"../evil.py": b"x = 1\n"}, "unsafe entry '../evil.py'"),
        ({"top/../../evil.py": b"x = 1\n"}, "unsafe entry 'top/../../evil.py'"),
        ({"/tmp/evil.py": b"x = 1\n"}, "unsafe entry '/tmp/evil.py'"),
        ({"..\\evil.py": b"x = 1\n"}, "unsafe entry"),
        ({"C:/evil.py": b"x = 1\n"}, "unsafe entry"),
        ({f"f{i}.txt": b"" for i in range(201)}, "more than 200 entries"),
        ({**MODULES, "big.py": b"#" * (MAX_MODULE_BYTES + 1)}, "big.py is larger than 1024 KB"),
        ({**MODULES, "data.bin": b"\0" * (21 * 1024 * 1024)}, "more than 20 MB once unpacked"),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "backslash", "drive", "members", "big-module", "big-total"],
)
def test_unsafe_or_oversized_zips_are_refused(
    tmp_path: Path, members: dict[str, bytes], message: str
) -> None:
    archive = make_zip(tmp_path / "bad.zip", members)
    with pytest.raises(SubmissionError) as info:
        stage(archive, ASSIGNMENT, tmp_path / "box" / "stage")
    assert message in str(info.value) and str(archive) in str(info.value)
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["bad.zip"]  # nothing was extracted anywhere


def test_an_oversized_zip_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    archive = tmp_path / "huge.zip"
    archive.write_bytes(b"\0" * (22 * 1024 * 1024))
    with pytest.raises(SubmissionError, match="huge.zip: larger than 20 MB"):
        stage(archive, ASSIGNMENT, tmp_path / "stage")


def test_a_symlink_member_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "link.zip", {"model.py": MODEL}, symlinks={"attention.py": "/etc/passwd"})
    with pytest.raises(SubmissionError, match="'attention.py' is a symbolic link"):
        stage(archive, ASSIGNMENT, tmp_path / "stage")


def test_a_corrupt_zip_is_refused_naming_the_file(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(SubmissionError, match=r"garbage.zip: not a valid zip file"):
        stage(garbage, ASSIGNMENT, tmp_path / "s1")

    good = make_zip(tmp_path / "flipped.zip", {"attention.py": ATTENTION * 50, "model.py": MODEL})
    data = bytearray(good.read_bytes())
    data[60:70] = b"\xff" * 10  # damage the compressed bytes of the first member
    good.write_bytes(bytes(data))
    with pytest.raises(SubmissionError, match=r"flipped.zip: not a valid zip file"):
        stage(good, ASSIGNMENT, tmp_path / "s2")


def test_a_member_larger_than_its_header_claims_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as out:
        out.writestr("attention.py", ATTENTION)
        out.writestr("model.py", MODEL)
    data = archive.read_bytes()
    # rewrite the uncompressed size of attention.py in the central directory to 1 byte
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(b"PK\x01\x02"))
    patched = data[: central + 24] + (1).to_bytes(4, "little") + data[central + 28 :]
    archive.write_bytes(patched)
    with pytest.raises(SubmissionError, match="liar.zip"):
        stage(archive, ASSIGNMENT, tmp_path / "stage")


# -- notebooks -----------------------------------------------------------------------------------------------


def notebook(*cells: tuple[str, str | list[str]]) -> bytes:
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [{"cell_type": kind, "metadata": {}, "source": source} for kind, source in cells],
        }
    ).encode()


def test_a_notebook_becomes_one_module_imported_by_every_expected_module(tmp_path: Path) -> None:
    path = tmp_path / "Alice Smith.ipynb"
    path.write_bytes(
        notebook(
            ("markdown", "# Attention\nnot code"),
            ("code", ["%matplotlib inline\n", "import math\n", "!pip install nothing\n"]),
            ("code", "def softmax(x):\n    return x\n\nsoftmax?\n"),
            ("code", "%%bash\necho this is not python\n"),
            ("code", "%%time\nresult = softmax(1)\n"),
        )
    )
    staged = stage(path, ASSIGNMENT, tmp_path / "stage")
    assert staged.name == "Alice_Smith"
    assert staged.problems == []
    assert sorted(staged.files) == [NOTEBOOK_MODULE, "attention.py", "model.py"]
    source = (staged.path / NOTEBOOK_MODULE).read_text()
    assert "import math\n" in source and "def softmax(x):\n    return x\n" in source
    assert "result = softmax(1)\n" in source
    for ipython in (
        "%matplotlib inline",
        "!pip install nothing",
        "softmax?",
        "%%bash",
        "echo this",
        "%%time",
    ):
        assert f"# {ipython}" in source
    assert "not code" not in source
    for module in ASSIGNMENT.modules:
        assert (staged.path / module).read_text().startswith("import _notebook")


def test_every_module_of_a_notebook_has_all_its_public_names_whatever_all_says(tmp_path: Path) -> None:
    """A cell that sets `__all__` (as a module of the reference may) hides no name from the other modules."""
    path = tmp_path / "nb.ipynb"
    path.write_bytes(
        notebook(
            ("code", "__all__ = ['softmax']\n\n\ndef softmax(x):\n    return x\n"),
            ("code", "def forward(x):\n    return softmax(x)\n\n\ndef _helper():\n    return 0\n"),
        )
    )
    staged = stage(path, ASSIGNMENT, tmp_path / "stage")
    assert staged.problems == []
    probe = (
        "import sys; sys.path.insert(0, ''); import attention, model; "
        "print(sorted(n for n in vars(model) if not n.startswith('__')))"
    )
    command = [sys.executable, "-I", "-c", probe]
    proc = subprocess.run(command, cwd=staged.path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["['_notebook',", "'forward',", "'softmax']"]


def test_a_notebook_syntax_error_names_the_cell(tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_bytes(notebook(("code", "x = 1\n"), ("code", "def f(:\n    pass\n")))
    staged = stage(path, ASSIGNMENT, tmp_path / "stage")
    assert len(staged.problems) == 1
    assert staged.problems[0].startswith("_notebook.py:5 (cell 2, line 1): SyntaxError: ")


def test_a_notebook_without_code_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "empty.ipynb"
    path.write_bytes(notebook(("markdown", "nothing here")))
    assert stage(path, ASSIGNMENT, tmp_path / "stage").problems == [
        "empty.ipynb: the notebook has no code cells"
    ]


@pytest.mark.parametrize(
    "content", [b"{not json", b"[1, 2]", b'{"cells": 5}', b'{"cells": [{"cell_type": "code"}]}']
)
def test_an_invalid_notebook_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content)
    if content == b'{"cells": [{"cell_type": "code"}]}':  # a code cell without source is an empty cell
        assert stage(path, ASSIGNMENT, tmp_path / "stage").problems == []
        return
    with pytest.raises(SubmissionError, match="bad.ipynb: not a valid notebook"):
        stage(path, ASSIGNMENT, tmp_path / "stage")


# -- names ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("alice", "alice"),
        ("Jöe Dœ_12/", "Joe_D_12"),
        ("bob.ZIP", "bob"),
        ("carol.v2.ipynb", "carol_v2"),
        ("gradebook.csv.zip", "gradebook_csv"),
        ("-=cmd.zip", "cmd"),
        ("..hidden", "hidden"),
        ("💥.zip", "submission"),
        ("a" * 200, "a" * 80),
    ],
)
def test_submission_names_are_safe(path: str, name: str) -> None:
    assert submission_name(Path(path)) == name


def test_unique_names() -> None:
    taken: set[str] = set()
    assert [unique_name("alice", taken) for _ in range(3)] == ["alice", "alice-2", "alice-3"]
    assert taken == {"alice", "alice-2", "alice-3"}


# -- the student's submission zip ----------------------------------------------------------------------------


def test_make_submission_zip_holds_exactly_the_modules(tmp_path: Path) -> None:
    workspace = make_folder(tmp_path / "work" / "a3_attention")
    (workspace / "scratch.py").write_text("print('experiments')\n")
    (workspace / "notes.md").write_text("notes")
    out = make_submission_zip(workspace, ASSIGNMENT)
    assert out == tmp_path / "work" / "a3_attention-submission.zip"
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["attention.py", "model.py"]
        assert {name: archive.read(name) for name in archive.namelist()} == MODULES
    staged = stage(out, ASSIGNMENT, tmp_path / "stage")
    assert staged.problems == []
    assert staged.digest == stage(make_folder(tmp_path / "copy"), ASSIGNMENT, tmp_path / "stage2").digest


def test_make_submission_zip_into_a_folder_or_a_file(tmp_path: Path) -> None:
    workspace = make_folder(tmp_path / "ws")
    folder = tmp_path / "out"
    folder.mkdir()
    assert make_submission_zip(workspace, ASSIGNMENT, folder) == folder / "a3_attention-submission.zip"
    assert make_submission_zip(workspace, ASSIGNMENT, tmp_path / "mine.zip").is_file()
    with pytest.raises(SubmissionError, match="must end in .zip"):
        make_submission_zip(workspace, ASSIGNMENT, tmp_path / "mine.txt")


def test_make_submission_zip_replaces_only_its_own_zips(tmp_path: Path) -> None:
    workspace = make_folder(tmp_path / "ws")
    target = tmp_path / "a3_attention-submission.zip"
    first = make_submission_zip(workspace, ASSIGNMENT, target)
    (workspace / "model.py").write_bytes(MODEL + b"# changed\n")
    assert make_submission_zip(workspace, ASSIGNMENT, target) == first
    with zipfile.ZipFile(first) as archive:
        assert archive.read("model.py").endswith(b"# changed\n")

    precious = tmp_path / "precious.zip"
    make_zip(precious, {"thesis.tex": b"years of work"})
    with pytest.raises(SubmissionError, match="was not made by `llmkit submit`"):
        make_submission_zip(workspace, ASSIGNMENT, precious)
    other = tmp_path / "notes.zip"
    other.write_text("plain text")
    with pytest.raises(SubmissionError, match="was not made by `llmkit submit`"):
        make_submission_zip(workspace, ASSIGNMENT, other)
    assert other.read_text() == "plain text"
    with zipfile.ZipFile(precious) as archive:
        assert archive.namelist() == ["thesis.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a3_attention-submission.zip",
        "notes.zip",
        "precious.zip",
        "ws",
    ]  # no temporary files left behind


def test_make_submission_zip_lists_every_problem_on_one_line(tmp_path: Path) -> None:
    workspace = make_folder(tmp_path / "ws", {"attention.py": b"def f(:\n"})
    with pytest.raises(KitError) as info:
        make_submission_zip(workspace, ASSIGNMENT)
    message = str(info.value)
    assert "missing model.py" in message and "attention.py:1: SyntaxError" in message
    assert "\n" not in message
    assert not (tmp_path / "a3_attention-submission.zip").exists()


def test_make_submission_zip_refuses_imports_of_files_left_out(tmp_path: Path) -> None:
    files = {**MODULES, "model.py": b"import helpers\nfrom attention import softmax\nimport math\n"}
    workspace = make_folder(tmp_path / "ws", files)
    (workspace / "helpers.py").write_text("x = 1\n")
    with pytest.raises(SubmissionError, match="model.py imports helpers, which is not submitted"):
        make_submission_zip(workspace, ASSIGNMENT)


def test_zip_bytes_are_reproducible(tmp_path: Path) -> None:
    workspace = make_folder(tmp_path / "ws")
    one = make_submission_zip(workspace, ASSIGNMENT, tmp_path / "one.zip").read_bytes()
    os.utime(workspace / "model.py", (0, 0))
    two = make_submission_zip(workspace, ASSIGNMENT, tmp_path / "two.zip").read_bytes()
    assert one == two
    assert zipfile.ZipFile(io.BytesIO(one)).testzip() is None
