"""Submissions that try to forge their grade or harm the grader: each scores 0, the batch completes beside
the reference (which still scores full), and no file of the kit changes.

The corpus lives in `submissions/`, one attack per folder, described in its docstring.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from autograder.course import kit_root

HERE = Path(__file__).parent
ATTACKS = sorted(p.name for p in (HERE / "submissions").iterdir() if p.is_dir())
ROOT = kit_root()


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file of the kit (the repo, minus caches and workspaces)."""
    digests = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or {"__pycache__", ".git", "work"} & set(rel.parts) or path.suffix == ".pyc":
            continue
        digests[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def leftover_processes() -> list[str]:
    """Processes still running a worker or any code from the sandbox user ids."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            uid = entry.stat().st_uid
        except OSError:
            continue
        if "autograder.worker import zygote" in cmdline or 61000 <= uid < 64000:
            found.append(f"{entry.name}: {cmdline[:80]}")
    return found


@pytest.fixture(scope="module")
def graded(llmkit, tmp_path_factory):
    out = tmp_path_factory.mktemp("adversarial")
    before = tree_digest(ROOT)
    submissions = [str(ROOT / "solutions" / "a3_attention")] + [
        str(HERE / "submissions" / a) for a in ATTACKS
    ]
    start = time.monotonic()
    proc = llmkit("grade", "a3", *submissions, "--out", str(out), "--jobs", "2", "--time-limit", "25",
                  "--call-timeout", "2", timeout=900)  # fmt: skip
    elapsed = time.monotonic() - start
    time.sleep(1.0)  # give killed process trees a moment to be reaped
    return {
        "proc": proc,
        "out": out,
        "before": before,
        "after": tree_digest(ROOT),
        "elapsed": elapsed,
        "leftovers": leftover_processes(),
    }


def test_the_batch_completes(graded):
    proc = graded["proc"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    with (graded["out"] / "gradebook.csv").open() as handle:
        rows = {row["name"]: row for row in csv.DictReader(handle)}
    assert set(ATTACKS) <= set(rows), f"missing from the gradebook: {set(ATTACKS) - set(rows)}"


def test_the_reference_in_the_same_batch_still_scores_full(graded):
    results = json.loads((graded["out"] / "a3_attention" / "results.json").read_text())
    assert results["score"] == results["max_score"] == 100, [
        t for t in results["tests"] if t["status"] != "passed"
    ]


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_scores_zero(graded, attack):
    results = json.loads((graded["out"] / attack / "results.json").read_text())
    passed = [t["name"] for t in results["tests"] if t["status"] == "passed"]
    assert results["score"] == 0 and not passed, f"{attack} earned points: {passed}"
    assert results["max_score"] == 100


def test_no_file_of_the_kit_changed(graded):
    before, after = graded["before"], graded["after"]
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert changed == [], f"files changed by the batch: {changed}"


def test_no_process_outlives_the_batch(graded):
    assert graded["leftovers"] == []


def test_nothing_escaped_into_shared_places():
    for trace in ("/tmp/llmkit-daemon-was-here", "/tmp/conftest.py", "/autograder/results/results.json"):
        assert not Path(trace).exists(), f"{trace} was written by a submission"
