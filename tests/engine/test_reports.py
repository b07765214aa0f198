"""What grading writes and prints, when the submission is hostile: names taken from its file name, output that
would publish a hidden test's inputs, control sequences in its messages, spreadsheet formulas in its name.

One batch of `llmkit grade` (a3, public tests where hidden ones are not needed) serves every test here.
"""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from autograder.course import kit_root, load_course

ROOT = kit_root()
A3 = load_course().resolve("a3")

# every public function of the module prints a tag of its arguments, then answers as the reference does
LOG_ARGUMENTS = """

import functools as _functools
import hashlib as _hashlib

import torch as _torch


def _tag(args):
    digest = _hashlib.sha256()
    for a in args:
        try:
            tensor = isinstance(a, _torch.Tensor)
            data = a.detach().float().contiguous().numpy().tobytes() if tensor else repr(a)
        except Exception:
            data = "?"
        digest.update(data if isinstance(data, bytes) else data.encode())
    return digest.hexdigest()[:20]


def _logged(f):
    @_functools.wraps(f)
    def inner(*args, **kwargs):
        print("ARGS-OF-CALL", f.__name__, _tag(args), flush=True)
        return f(*args, **kwargs)
    return inner


for _name, _value in list(globals().items()):
    if (callable(_value) and not isinstance(_value, type) and not _name.startswith("_")
            and getattr(_value, "__module__", None) == __name__):
        globals()[_name] = _logged(_value)
"""

# every public function raises with terminal control sequences in the message and prints some too
ESCAPES = """

def _loud(*args, **kwargs):
    print("\\x1b[2J\\x1b]0;owned\\x07PRINTED", flush=True)
    raise ValueError("\\x1b[31mred\\x1b[0m\\r\\x1b[1Aup\\u202eevil")


for _name, _value in list(globals().items()):
    if (callable(_value) and not isinstance(_value, type) and not _name.startswith("_")
            and getattr(_value, "__module__", None) == __name__):
        globals()[_name] = _loud
"""


def _with_appended(base: Path, dest: Path, code: str) -> Path:
    shutil.copytree(base, dest, ignore=shutil.ignore_patterns("__pycache__"))
    for module in A3.modules:
        with (dest / module).open("a") as handle:
            handle.write(code)
    return dest


def _zip(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for module in A3.modules:
            archive.write(folder / module, module)
    return target


@pytest.fixture(scope="module")
def batch(llmkit, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reports")
    logged = _with_appended(ROOT / "solutions" / A3.folder, tmp / "logged", LOG_ARGUMENTS)
    loud = _with_appended(ROOT / "starter" / A3.folder, tmp / "loud", ESCAPES)
    subs = tmp / "subs"
    subs.mkdir()
    _zip(ROOT / "starter" / A3.folder, subs / "gradebook.csv.zip")
    _zip(ROOT / "starter" / A3.folder, subs / "=HYPERLINK(1).zip")
    _zip(ROOT / "starter" / A3.folder, subs / "blocked.zip")
    out = tmp / "out"
    out.mkdir()
    (out / "blocked").write_text("a file where the results folder of `blocked` would go\n")
    (out / "gradebook.csv").write_text("an earlier gradebook\n")
    names = ["gradebook.csv.zip", "=HYPERLINK(1).zip", "blocked.zip"]
    proc = llmkit("grade", "a3", str(logged), str(loud), *names, "--out", str(out), "--jobs", "2",
                  cwd=subs, timeout=900)  # fmt: skip
    check = llmkit("check", "a3", str(loud), timeout=600)
    return {"proc": proc, "out": out, "check": check}


def _results(out: Path, name: str) -> dict:
    return json.loads((out / name / "results.json").read_text())


def test_names_never_collide_with_the_kits_outputs_and_one_failed_write_stops_nothing(batch):
    """`gradebook.csv.zip` gets a folder of its own, the gradebook stays a file, and a submission whose
    results cannot be written is an error row while every other submission has its results."""
    proc, out = batch["proc"], batch["out"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "gradebook.csv").is_file()
    with (out / "gradebook.csv").open() as handle:
        rows = {row["name"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"logged", "loud", "gradebook_csv", "HYPERLINK_1", "blocked"}, rows
    for name in ("logged", "loud", "gradebook_csv", "HYPERLINK_1"):
        assert (out / name / "results.json").is_file(), name
    assert rows["blocked"]["status"] == "error" and "could not be written" in rows["blocked"]["problems"]
    assert (out / "blocked").is_file()


def test_gradebook_cells_cannot_start_a_formula(batch):
    with (batch["out"] / "gradebook.csv").open() as handle:
        cells = [c for row in csv.reader(handle) for c in row]
    assert "'=HYPERLINK(1).zip" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_output_follows_the_visibility_of_the_test_that_printed_it(batch):
    """What a submission prints while a hidden test runs is kept with that test: the visible top-level
    output of results.json and feedback.md never carry it (it would publish the hidden inputs)."""
    results = _results(batch["out"], "logged")
    feedback = (batch["out"] / "logged" / "feedback.md").read_text()

    def tags(text: str) -> set[str]:
        return {line.strip() for line in text.splitlines() if line.strip().startswith("ARGS-OF-CALL")}

    hidden = [t for t in results["tests"] if t["visibility"] != "visible"]
    visible = [t for t in results["tests"] if t["visibility"] == "visible"]
    assert hidden and visible, "the a3 suite has tests of both kinds"
    hidden_tags = set().union(*(tags(t["output"]) for t in hidden))
    visible_tags = set().union(*(tags(t["output"]) for t in visible))
    assert hidden_tags - visible_tags, "the hidden tests' calls were logged with their own test"
    assert tags(results["output"]), "output printed during visible tests stays visible"
    leaked = (hidden_tags - visible_tags) & (tags(results["output"]) | tags(feedback))
    assert not leaked, f"hidden tests' call logs in visible output: {sorted(leaked)[:3]}"


def test_feedback_for_a_hidden_test_shows_no_details(batch):
    results = _results(batch["out"], "loud")
    feedback = (batch["out"] / "loud" / "feedback.md").read_text()
    hidden = [t for t in results["tests"] if t["visibility"] != "visible" and t["status"] != "passed"]
    assert hidden
    for t in hidden:
        section = feedback.split(f"### {t['name']}", 1)[1].split("###", 1)[0]
        assert "ValueError" not in section and "PRINTED" not in section, section
        assert "shown after the due date" in section


def test_control_sequences_are_escaped_in_feedback_results_and_the_terminal(batch):
    out = batch["out"]
    feedback = (out / "loud" / "feedback.md").read_text()
    results = (out / "loud" / "results.json").read_text()
    check = batch["check"]
    assert check.returncode == 0, check.stderr[-2000:]
    for text in (feedback, json.loads(results)["output"], check.stdout, batch["proc"].stdout):
        assert not any(c in text for c in ("\x1b", "\x07", "\r", "\u202e")), repr(text[:300])
    assert "\\x1b[31mred" in feedback and "\\x1b[31mred" in check.stdout  # shown, escaped
