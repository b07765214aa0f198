"""The command line as students, TAs and instructors use it: clear one-line errors, nothing lost."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.course import kit_root, load_course

ROOT = kit_root()
REFERENCE = ROOT / "solutions" / "a3_attention"


def one_line_error(capsys: pytest.CaptureFixture, code: int) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("llmkit: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["check", "a9"], "unknown assignment"),
        (["start", "nonsense"], "unknown assignment"),
        (["grade", "a3", "no/such/folder", "--out", "x"], "no such submission"),
        (["submit", "a3", "no/such/workspace"], "does not exist"),
        (["grade", "a3", str(REFERENCE), "--out", "x", "--time-limit", "-1"], "must be positive"),
    ],
)
def test_bad_input_is_one_clear_line(capsys, argv, needle):
    line = one_line_error(capsys, main(argv))
    assert needle in line.lower(), line


def test_start_copies_and_never_overwrites(tmp_path, capsys):
    dest = tmp_path / "ws"
    assert main(["start", "a3", "--dir", str(dest)]) == 0
    assert {"attention.py", "model.py", "sampling.py", "README.md", "explore.ipynb"} <= {
        p.name for p in dest.iterdir()
    }
    assert "NotImplementedError" in (dest / "attention.py").read_text()
    (dest / "attention.py").write_text("# my work\n")
    line = one_line_error(capsys, main(["start", "a3", "--dir", str(dest)]))
    assert "already exists" in line
    assert (dest / "attention.py").read_text() == "# my work\n"


def test_submit_validates_and_zips(tmp_path, capsys):
    workspace = tmp_path / "ws"
    shutil.copytree(REFERENCE, workspace)
    out = tmp_path / "sub.zip"
    assert main(["submit", "a3", str(workspace), "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["attention.py", "model.py", "sampling.py"]
    (workspace / "sampling.py").write_text("import torch\nraise RuntimeError('not yet')\n")
    line = one_line_error(capsys, main(["submit", "a3", str(workspace), "--out", str(tmp_path / "i.zip")]))
    assert "sampling.py: RuntimeError: not yet" in line and not (tmp_path / "i.zip").exists()
    (workspace / "model.py").write_text("def broken(:\n")
    line = one_line_error(capsys, main(["submit", "a3", str(workspace), "--out", str(tmp_path / "b.zip")]))
    assert "model.py:1" in line
    (workspace / "model.py").unlink()
    line = one_line_error(capsys, main(["submit", "a3", str(workspace), "--out", str(tmp_path / "c.zip")]))
    assert "model.py" in line


def test_build_check_passes(llmkit):
    assert llmkit("build", "--check").returncode == 0


def _notebook_from(folder: Path, path: Path) -> None:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# my solution\n"]}]
    for name in ("attention.py", "model.py", "sampling.py"):
        text = (folder / name).read_text()
        text = "\n".join(l for l in text.splitlines() if not l.startswith(("from attention", "from model")))
        cells.append(
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": ["%matplotlib inline\n", text],
            }
        )
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def test_grade_a_mixed_batch(llmkit, tmp_path):
    """Folder, zip, notebook, a syntax error, a corrupt zip and the starter, graded in one batch."""
    subs = tmp_path / "subs"
    subs.mkdir()
    with zipfile.ZipFile(subs / "zipped.zip", "w") as archive:
        for name in ("attention.py", "model.py", "sampling.py"):
            archive.write(REFERENCE / name, f"alice/{name}")
    _notebook_from(REFERENCE, subs / "notebook.ipynb")
    broken = subs / "broken"
    shutil.copytree(REFERENCE, broken)
    (broken / "sampling.py").write_text((broken / "sampling.py").read_text() + "\ndef oops(:\n")
    (subs / "corrupt.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    before = {p: p.read_bytes() for p in subs.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    proc = llmkit(
        "grade",
        "a3",
        str(REFERENCE),
        str(subs / "zipped.zip"),
        str(subs / "notebook.ipynb"),
        str(broken),
        str(subs / "corrupt.zip"),
        str(ROOT / "starter" / "a3_attention"),
        "--out",
        str(out),
        "--jobs",
        "2",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    with (out / "gradebook.csv").open() as handle:
        rows = {row["name"]: row for row in csv.DictReader(handle)}
    assert float(rows["a3_attention"]["score"]) == 100
    assert float(rows["zipped"]["score"]) == 100
    assert float(rows["notebook"]["score"]) == 100
    assert float(rows["broken"]["score"]) < 100 and "sampling.py" in rows["broken"]["problems"]
    assert rows["corrupt"]["status"] == "error" and float(rows["corrupt"]["score"]) == 0
    starter = json.loads((out / "a3_attention-2" / "results.json").read_text())
    assert starter["score"] == 0 and all("NotImplementedError" in t["output"] for t in starter["tests"])
    for name in ("a3_attention", "zipped", "notebook", "broken", "corrupt"):
        results = json.loads((out / name / "results.json").read_text())
        assert {"score", "max_score", "tests", "output", "visibility", "extra_data"} <= set(results)
        assert (out / name / "feedback.md").read_text().startswith("# ")
    seed = json.loads((out / "zipped" / "results.json").read_text())["extra_data"]["seed"]
    assert seed == json.loads((out / "a3_attention" / "results.json").read_text())["extra_data"]["seed"]
    assert before == {p: p.read_bytes() for p in subs.rglob("*") if p.is_file()}, "a submission was modified"


def test_check_prints_a_table_and_the_score(llmkit):
    proc = llmkit("check", "a3", str(REFERENCE))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "PASS" in proc.stdout and "Score: 100 / 100" in proc.stdout
    proc = llmkit("check", "a3", str(ROOT / "starter" / "a3_attention"))
    assert "FAIL" in proc.stdout and "Score: 0 /" in proc.stdout and "NotImplementedError" in proc.stdout


def test_release_has_no_solutions_or_hidden_suites(tmp_path):
    out = tmp_path / "release"
    assert main(["release", "--out", str(out)]) == 0
    assert (out / "starter" / "a3_attention" / "attention.py").exists()
    assert (out / "tests" / "public" / "a3_attention").is_dir()
    assert (out / "autograder" / "cli.py").exists()
    assert not (out / "solutions").exists() and not (out / "autograder" / "suites").exists()
    assert not list(out.rglob("test_*.py")) or all("public" in p.parts for p in out.rglob("test_*.py"))


def test_export_gradescope_bundle(tmp_path):
    out = tmp_path / "a3.zip"
    assert main(["export", "gradescope", "a3", "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        assert {"setup.sh", "run_autograder", "pyproject.toml", "course.yml", "constraints.txt"} <= names
        assert any(n.startswith("autograder/suites/a3_attention/test_") for n in names)
        assert "tests/public/a3_attention/_common.py" in names  # the hidden suite's shared GPT-2 helpers
        assert not any(n.startswith("solutions/") for n in names)
        assert archive.getinfo("run_autograder").external_attr >> 16 & 0o111
        assert 'grade a3 "$ROOT/submission"' in archive.read("run_autograder").decode()
        assert archive.read("constraints-cpu.txt").decode().splitlines()[-1] == "torch==2.13.0+cpu"


def test_export_gradescope_bundle_carries_the_declared_data(tmp_path):
    """The grader links an assignment's `data` entries from assignments/<folder>/ beside each submission,
    so the bundle holds them there (a file and a folder), and nothing else of that folder."""
    from autograder.errors import KitError
    from autograder.exporters.gradescope import export_gradescope

    a3 = load_course().resolve("a3")
    folder = ROOT / "assignments" / a3.folder
    declared = dataclasses.replace(a3, data=("corpus.txt", "make_corpus.py"))
    out = export_gradescope(declared, tmp_path / "a3.zip")
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        for entry in declared.data:
            assert archive.read(f"assignments/{a3.folder}/{entry}") == (folder / entry).read_bytes()
        assert f"assignments/{a3.folder}/README.md" not in names  # only what is declared
    models = ROOT / "assignments" / "a6_prompting" / "models"
    if models.is_dir():  # a folder entry: a6's tiny models
        a6 = load_course().resolve("a6")
        with zipfile.ZipFile(export_gradescope(a6, tmp_path / "a6.zip")) as archive:
            names = set(archive.namelist())
        files = [p for p in models.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        assert files and all(p.relative_to(ROOT).as_posix() in names for p in files)
    with pytest.raises(KitError, match="declares data that does not exist"):
        export_gradescope(dataclasses.replace(a3, data=("no-such-file",)), tmp_path / "missing.zip")
    with pytest.raises(KitError, match="pyproject.toml does not define it"):
        export_gradescope(dataclasses.replace(a3, extras=("no-such-extra",)), tmp_path / "extra.zip")
