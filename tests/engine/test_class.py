"""Grading a whole class: Gradescope exports, a batch killed and resumed, the late policy, the reports, and
shards on several machines joined into one gradebook.

One a3 batch (a Gradescope export of six submissions) is graded, killed with SIGKILL part-way, and resumed;
its final output is the unsharded run that four shards, run as local processes, must reproduce. The other
tests build what they need without grading.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from autograder import classreport, results, shards
from autograder.course import kit_root, load_course
from autograder.errors import KitError
from autograder.intake import collect, from_file_name
from autograder.late import lateness, load_extensions
from autograder.plugin import TestResult as Outcome
from autograder.runner import Report

ROOT = kit_root()
A3 = load_course().resolve("a3")
FIXTURES = Path(__file__).parent / "fixtures"
# submission folder -> what it holds: the reference or the starter (each made distinct by a comment)
EXPORT = {
    "submission_318204411": "solutions",  # Ada, on time
    "submission_318204412": "starter",  # Bo, 11 minutes late: inside the grace period
    "submission_318204413": "solutions",  # Cy, two started days late: 20 % off
    "submission_318204414": "starter",  # Di and Ed together, 8 hours late; Ed has an extension
    "submission_318204415": "starter",
    "submission_318204416": "starter",
}
NAMES = ["2026001", "2026002", "2026003", "2026004_2026005", "2026006", "2026007"]


def make_export(root: Path) -> Path:
    """An unzipped Gradescope export: the metadata file and one folder per submission."""
    export = root / "assignment_5512_export"
    export.mkdir(parents=True)
    shutil.copy(FIXTURES / "gradescope_submission_metadata.yml", export / "submission_metadata.yml")
    for n, (folder, kind) in enumerate(EXPORT.items()):
        shutil.copytree(
            ROOT / kind / A3.folder, export / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
        with (export / folder / "model.py").open("a") as handle:
            handle.write(f"\n# submission {n}\n")
    return export


def read_gradebook(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as handle:
        return {row["name"]: row for row in csv.DictReader(handle)}


def intact_results(out: Path) -> set[str]:
    return {p.parent.name for p in out.glob(f"*/{results.REPORT}") if results.load_result(p.parent)}


# ------------------------------------------------------------------------------------------------------
# Without grading


def test_gradescope_export_gives_students_and_times(tmp_path):
    export = make_export(tmp_path)
    entries = collect([export])
    assert [e.folder_name() for e in entries] == NAMES  # the metadata's order; a listed folder not exported
    first = entries[0]
    assert first.student == "2026001" and first.path == export / "submission_318204411"
    assert first.submitted == datetime.fromisoformat("2026-10-30T21:14:05.421337+01:00")
    assert entries[3].student == "2026004+2026005"  # a group submission names every submitter
    # one submission folder with its own metadata file is read the same way
    single = export / "submission_318204411"
    (single / "submission_metadata.yml").write_text(
        ":submitters:\n- :sid: 'x1'\n:created_at: 2026-10-31 01:00:00.000000000 +01:00\n"
    )
    (entry,) = collect([single])
    assert entry.student == "x1" and entry.submitted.isoformat() == "2026-10-31T01:00:00+01:00"
    (single / "submission_metadata.yml").write_text(":created_at: [not, a, time\n")
    with pytest.raises(KitError, match="cannot read the submission metadata"):
        collect([single])


def zip_export(export: Path, dest: Path) -> Path:
    """The export as Gradescope hands it out: one zip, its folder at the top."""
    with zipfile.ZipFile(dest, "w") as archive:
        for path in sorted(export.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(export.parent).as_posix())
    return dest


def test_an_export_zip_is_read_as_the_unzipped_export(tmp_path):
    export = make_export(tmp_path)
    archive = zip_export(export, tmp_path / "export.zip")
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    entries = collect([archive], A3.due.tzinfo, unpacked)
    plain = collect([export], A3.due.tzinfo)
    assert [(e.folder_name(), e.student, e.submitted) for e in entries] == [
        (e.folder_name(), e.student, e.submitted) for e in plain
    ]
    assert entries[0].origin == f"{archive}:assignment_5512_export/submission_318204411"
    assert (entries[0].path / "model.py").read_bytes() == (plain[0].path / "model.py").read_bytes()
    with pytest.raises(KitError, match="unzip it first"):
        collect([archive])
    # what the stager refuses in one submission's zip, it refuses in an export: '..', links, absolute paths
    for name, member in [("dots", "../evil.py"), ("abs", "/etc/evil.py"), ("link", "sub/link.py")]:
        bad = tmp_path / f"{name}.zip"
        shutil.copy(archive, bad)
        with zipfile.ZipFile(bad, "a") as handle:
            info = zipfile.ZipInfo(member)
            if name == "link":
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            handle.writestr(info, "/etc/passwd")
        with pytest.raises(KitError, match="unsafe entry|symbolic link"):
            collect([bad], None, unpacked)
    assert not (tmp_path / "evil.py").exists() and not list(unpacked.rglob("link.py"))


def test_file_names_give_students_and_times(tmp_path):
    tz = A3.due.tzinfo
    cases = {
        "alice_2026-10-31T08-15.zip": ("alice", "2026-10-31T08:15:00+01:00"),
        "bob-20261101-2359Z.ipynb": ("bob", "2026-11-01T23:59:00+00:00"),
        "cy 2026-10-30 22:00:30+02:00.zip": ("cy", "2026-10-30T22:00:30+02:00"),
        "dee.zip": ("dee", None),
    }
    for name, (student, when) in cases.items():
        entry = from_file_name(tmp_path / name, tz)
        assert entry.student == student, name
        assert (entry.submitted.isoformat() if entry.submitted else None) == when, name
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("b.zip", "a.ipynb", "notes.txt", ".hidden.zip"):
        (folder / name).write_text("")
    assert [e.path.name for e in collect([folder])] == ["a.ipynb", "b.zip"]  # a folder of submissions


def test_late_policy_and_extensions(tmp_path):
    """course.yml's a3 policy: 15 minutes of grace, 10 % per started day, nothing after 5 days."""
    ext = tmp_path / "extensions.csv"
    ext.write_text("student,due,days,note\n2026005,,1,\nZoe,2026-11-03T12:00:00+01:00,,medical\n")
    extensions = load_extensions(ext)
    due = A3.due

    def penalty(student: str, late: timedelta) -> float:
        return lateness(A3, student, due + late, extensions).penalty

    assert penalty("anyone", timedelta(minutes=-5)) == 0
    assert penalty("anyone", timedelta(minutes=14)) == 0
    assert penalty("anyone", timedelta(minutes=16)) == pytest.approx(0.1)
    assert penalty("anyone", timedelta(days=1, minutes=1)) == pytest.approx(0.2)
    assert penalty("anyone", timedelta(days=6)) == 1.0  # past max_days_late
    assert penalty("zoe", timedelta(days=3)) == 0  # her own due date, matched without case
    assert penalty("2026004+2026005", timedelta(hours=8)) == 0  # a group gets its latest due date
    assert penalty("2026004", timedelta(hours=8)) == pytest.approx(0.1)
    assert lateness(A3, "anyone", None, extensions).penalty == 0  # time unknown: on time
    ext.write_text("student,due,days\nbo,2026-11-03T12:00:00,,\n")
    with pytest.raises(KitError, match="needs a timezone"):
        load_extensions(ext)
    ext.write_text("student,due,days\nbo,,\n")
    with pytest.raises(KitError, match=r"extensions.csv:2"):
        load_extensions(ext)


def fake_report(name: str, score: float, passed: list[bool], **fields) -> Report:
    tests = [
        Outcome(
            nodeid=f"test_x.py::test_{i}",
            name=f"test_{i}",
            max_score=1.0,
            score=1.0 if ok else 0.0,
            status="passed" if ok else "failed",
            output="" if ok else f"AssertionError: expected {i + 3}, got {i}",
            visibility="visible" if i else "after_due_date",
        )
        for i, ok in enumerate(passed)
    ]
    return Report(name=name, source=f"subs/{name}", assignment=A3.folder, suite="hidden", score=score,
                  max_score=len(passed), tests=tests, seed=7, digest="d" + name, **fields)  # fmt: skip


def test_a_result_file_is_trusted_only_when_whole_and_unedited(tmp_path):
    report = fake_report("ann", 1.0, [True, False], student="ann", submitted="2026-10-31T00:00:00+01:00")
    results.write_submission(tmp_path / "ann", report, A3)
    loaded = results.load_result(tmp_path / "ann")
    assert loaded == report
    saved = (tmp_path / "ann" / results.REPORT).read_text()
    damages = {
        "truncated": lambda: (tmp_path / "ann" / results.REPORT).write_text(saved[: len(saved) // 2]),
        "edited": lambda: (tmp_path / "ann" / results.REPORT).write_text(saved.replace("1.0", "2.0", 1)),
        "results.json changed": lambda: (tmp_path / "ann" / "results.json").write_text("{}"),
        "results.json missing": lambda: (tmp_path / "ann" / "results.json").unlink(),
        "report missing": lambda: (tmp_path / "ann" / results.REPORT).unlink(),
    }  # fmt: skip
    for what, damage in damages.items():
        results.write_submission(tmp_path / "ann", report, A3)
        damage()
        assert results.load_result(tmp_path / "ann") is None, what
    assert not list(tmp_path.glob("ann/.*.tmp")), "no temporary file is left behind"


def test_feedback_html_escapes_and_hides_hidden_details(tmp_path):
    report = fake_report("<b>x</b>", 0.0, [False, False])
    report.tests[1].output = "<script>alert(1)</script>\x1b[31m"
    page = results.feedback_html(report, A3)
    assert "<script>" not in page and "&lt;script&gt;" in page and "\x1b" not in page
    assert "expected 3, got 0" not in page  # test_0 is hidden until the due date
    assert "shown after the due date" in page


def test_class_report_draws_the_plots_and_orders_tests_by_difficulty(tmp_path):
    reports = [
        fake_report("a", 3, [True, True, True]),
        fake_report("b", 2, [False, True, True]),
        fake_report("c", 1, [False, False, True]),
    ]
    reports[2].error = ""
    rows = results.gradebook_rows(reports, A3)
    summary = classreport.summarize(reports, rows)
    assert [name for _, name in summary["rates"]] == ["test_0", "test_1", "test_2"]
    assert [round(rate, 2) for rate, _ in summary["rates"]] == [0.33, 0.67, 1.0]
    # "expected 3, got 0" and "expected 4, got 1" are one message with the numbers taken out
    assert ("AssertionError: expected #, got #", 3, ["test_0", "test_1"]) in summary["messages"]
    path = classreport.write_class_report(tmp_path, "a3 test", reports, rows)
    page = path.read_text()
    assert page.count('src="data:image/png;base64,') == 4
    assert page.index("test_0") < page.index("test_2")
    assert "mean 2.0" in page
    path.write_text(page.replace("mean 2.0", "edited"))  # a page drawn from the same numbers is kept
    classreport.write_class_report(tmp_path, "a3 test", reports, rows)
    assert "edited" in path.read_text()
    classreport.write_class_report(tmp_path, "a3 test, regraded", reports, rows)  # other inputs: redrawn
    assert "edited" not in path.read_text() and "mean 2.0" in path.read_text()


def test_shard_slices_are_a_partition(tmp_path):
    names = [f"s{i}" for i in range(200)]
    slices = [[n for n in names if shards.in_shard(n, i, 4)] for i in range(4)]
    assert sorted(sum(slices, [])) == sorted(names)
    assert all(20 < len(s) < 80 for s in slices), [len(s) for s in slices]
    assert shards.parse_shard("3/4") == (3, 4)
    for bad in ("4/4", "-1/4", "1", "a/b"):
        with pytest.raises(KitError):
            shards.parse_shard(bad)


# ------------------------------------------------------------------------------------------------------
# Grading for real: one batch, killed and resumed, then the same class in four shards


# The public tests: what is tested here is the class machinery (resume, late policy, reports, shards), and
# they grade in a fraction of the hidden suite's time; the hidden suite's scores are tested in tests/quality.
SUITE = "--public"


def _grade_command(export: Path, out: Path, *options: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "autograder",
        "grade",
        "a3",
        str(export),
        "--out",
        str(out),
        SUITE,
        *options,
    ]


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """The deadline night: an export is graded, the machine dies (SIGKILL) after three submissions, a
    result is damaged, and the same command resumes, also regrading one student on request."""
    tmp = tmp_path_factory.mktemp("night")
    export = make_export(tmp)
    extensions = tmp / "extensions.csv"
    extensions.write_text("student,due,days\n2026005,,1\n")
    out = tmp / "out"
    options = ("--extensions", str(extensions))
    command = _grade_command(export, out, *options, "--jobs", "1")
    batch = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 600
    try:
        while len(intact_results(out)) < 3 and batch.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        done_before_kill = intact_results(out)
        gradebook_at_kill = read_gradebook(out / results.GRADEBOOK)
    finally:
        os.killpg(batch.pid, signal.SIGKILL)
        batch.wait()
    kept = {name: (out / name / results.REPORT).read_bytes() for name in done_before_kill}
    (out / "2026002" / results.REPORT).write_text('{"format": 1, "report": {"na')  # partial, never trusted
    command = _grade_command(export, out, *options, "--regrade", "2026003", "--jobs", "2")
    resumed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    return {"export": export, "out": out, "extensions": extensions, "done": done_before_kill,
            "gradebook_at_kill": gradebook_at_kill, "kept": kept, "resumed": resumed}  # fmt: skip


def test_a_killed_batch_resumes_with_one_result_per_submission(night):
    out, resumed = night["out"], night["resumed"]
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    first = {"2026001", "2026002", "2026003"}
    assert first <= night["done"] < set(NAMES), f"killed part-way, after three submissions: {night['done']}"
    assert set(night["gradebook_at_kill"]) <= night["done"], "a gradebook row without its result file"
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders == sorted(NAMES), "exactly one result folder per submission"
    assert intact_results(out) == set(NAMES)
    assert (out / "2026001" / results.REPORT).read_bytes() == night["kept"]["2026001"], "graded twice"
    assert (out / "2026003" / results.REPORT).read_bytes() != night["kept"]["2026003"], "--regrade ignored"
    regraded = len(NAMES) - len(night["done"]) + 2  # the missing ones, the damaged one, the one asked for
    assert re.search(rf"graded now +{regraded}\n", resumed.stdout), resumed.stdout
    book = read_gradebook(out / results.GRADEBOOK)
    assert list(book) == NAMES
    for name, row in book.items():
        saved = json.loads((out / name / "results.json").read_text())
        assert float(row["score"]) == saved["score"] and row["digest"] == saved["extra_data"]["digest"]


def test_the_gradebook_applies_the_late_policy(night):
    book = read_gradebook(night["out"] / results.GRADEBOOK)
    ada, bo, cy, group = (book[n] for n in ("2026001", "2026002", "2026003", "2026004_2026005"))
    assert ada["score"] == ada["final_score"] == "100" and ada["penalty"] == "0"
    assert bo["days_late"] == "0" and bo["penalty"] == "0" and 0 < float(bo["late_hours"]) < 0.25
    assert cy["score"] == "100" and cy["days_late"] == "2" and cy["penalty"] == "0.2"
    assert cy["final_score"] == "80"
    assert group["student"] == "2026004+2026005" and group["penalty"] == "0"  # Ed's extension
    assert group["due"] == (A3.due + timedelta(days=1)).isoformat()


def test_reports_for_students_and_for_the_class(night):
    out = night["out"]
    for name in NAMES:
        assert (out / name / "feedback.md").read_text().startswith("# ")
        assert "<h1>" in (out / name / "feedback.html").read_text()
    page = (out / classreport.REPORT_FILE).read_text()
    assert page.count("data:image/png;base64,") == 4
    assert "NotImplementedError" in page  # the starters' failures, grouped


def test_a_finished_batch_resumes_without_grading(night):
    """Nothing left to grade: the run reads the saved reports and rewrites the gradebook, and imports
    neither torch nor pytest nor matplotlib (the class report, drawn from the same numbers, stays as it
    is). The time is printed and checked only loosely (a loaded machine must not fail it); the imports are
    what keeps it under a few seconds."""
    page = (night["out"] / classreport.REPORT_FILE).read_bytes()
    probe = ("import sys; from autograder.cli import main; code = main(sys.argv[1:]); "
             "print('heavy:', [m for m in ('torch', 'pytest', 'matplotlib') if m in sys.modules]); "
             "sys.exit(code)")  # fmt: skip
    command = ["grade", "a3", str(night["export"]), "--out", str(night["out"]), SUITE, "--extensions",
               str(night["extensions"])]  # fmt: skip
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", probe, *command], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    elapsed = time.monotonic() - start
    print(f"resuming the finished batch: {elapsed:.2f} s")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.search(r"already graded \(resumed\) +6\n", proc.stdout), proc.stdout
    assert re.search(r"graded now +0\n", proc.stdout), proc.stdout
    assert "heavy: []" in proc.stdout, proc.stdout
    assert (night["out"] / classreport.REPORT_FILE).read_bytes() == page
    assert elapsed < 60, f"resuming took {elapsed:.1f} s"


def test_four_shards_equal_one_unsharded_run(night, tmp_path):
    """The shards grade the export as Gradescope hands it out, one zip (`llmkit grade a3 export.zip`); the
    merged gradebook equals the unsharded run's on the unzipped folder in every column but `source`."""
    extensions = night["extensions"]
    export = zip_export(night["export"], tmp_path / "assignment_5512_export.zip")
    outs = [tmp_path / f"shard{i}" for i in range(4)]
    commands = [_grade_command(export, outs[i], "--shard", f"{i}/4", "--extensions", str(extensions))
                for i in range(4)]  # fmt: skip
    procs = [subprocess.Popen(c, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for c in commands]  # fmt: skip
    for proc in procs:
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-2000:]
    merged = tmp_path / "merged"
    proc = subprocess.run([sys.executable, "-m", "autograder", "gradebook", "merge", *map(str, outs), "--out",
                           str(merged), "--extensions", str(extensions)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    unsharded = read_gradebook(night["out"] / results.GRADEBOOK)
    book = read_gradebook(merged / results.GRADEBOOK)
    assert list(book) == list(unsharded)
    for name, row in book.items():
        assert row["source"] == f"{export}:assignment_5512_export/{Path(unsharded[name]['source']).name}"
        assert {**row, "source": ""} == {**unsharded[name], "source": ""}
    assert intact_results(merged) == set(NAMES)

    # a shard given twice overlaps; a shard left out is a gap, named, and the exit code says so
    with pytest.raises(KitError, match="overlap"):
        shards.merge([outs[0], outs[1], outs[0]], tmp_path / "twice")
    partial = subprocess.run([sys.executable, "-m", "autograder", "gradebook", "merge", *map(str, outs[1:]),
                              "--out", str(tmp_path / "partial")], cwd=ROOT, capture_output=True, text=True,
                             timeout=300)  # fmt: skip
    assert partial.returncode == 1 and "no output for shard(s) 0" in partial.stderr, partial.stderr
    missing = [n for n in NAMES if shards.in_shard(n, 0, 4)]
    if missing:
        assert f"{len(missing)} submission(s) without results" in partial.stderr
    # the same submission graded by two shards (a shard rerun as another index): refused
    clash = tmp_path / "clash"
    shutil.copytree(outs[1], clash)
    manifest = json.loads((clash / shards.MANIFEST).read_text())
    (clash / shards.MANIFEST).write_text(json.dumps({**manifest, "shard": [0, 4]}))
    if manifest["mine"]:
        with pytest.raises(KitError, match="graded by two shards"):
            shards.merge([clash, *outs[1:]], tmp_path / "clash-merged")


def test_bad_class_options_are_one_clear_line(tmp_path, capsys):
    from autograder.cli import main

    export = make_export(tmp_path)
    for argv, needle in [
        (["grade", "a3", str(export), "--out", str(tmp_path / "o"), "--shard", "4/4"], "--shard takes i/n"),
        (
            ["grade", "a3", str(export), "--out", str(tmp_path / "o"), "--extensions", "nope.csv"],
            "extensions",
        ),
        (["gradebook", "merge", str(tmp_path), "--out", str(tmp_path / "m")], "not the output of a sharded"),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0], err
