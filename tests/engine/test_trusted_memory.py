"""The trusted side's memory: what it decodes is bounded by what the test expects, and each grader child runs
under an address-space cap.

A tiny suite is graded by the runner's own forked children (`runner._run_children`, `--jobs 2`), in a
subprocess so that the kit's test process is never forked. The suite measures from inside each child: its
peak resident memory around a call whose reply is 200 MB where 16 bytes are expected, and the RLIMIT_AS it
runs under. One batch grades both submissions; the tests read its reports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

HUGE = 50_000_000  # float32 values: a 200 MB reply, under the client's 256 MiB REPLY_CAP

SUBMISSIONS = {
    "honest": "import torch\n\ndef answer(n):\n    return torch.zeros(n)\n",
    "huge": f"import torch\n\ndef answer(n):\n    return torch.zeros({HUGE})\n",
}

SUITE = '''
"""Measures the trusted grader child it runs in (each test records what it saw in its failure message)."""
import mmap
import os
import resource

import pytest
import torch

from autograder import confine
from autograder.checks import expect, expect_close
from autograder.runner import TRUSTED_MEMORY_BYTES

GROWTH_BOUND = 64 << 20
BASE = {}


def _status(key):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(key)


@pytest.mark.points(1)
def test_answer(sub):
    try:  # start the peak (VmHWM) afresh at the current resident size
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass
    BASE["rss"] = _status("VmRSS")
    expect_close(sub.call("mod.answer", 4), torch.zeros(4), atol=0.0, what="answer(4)")


@pytest.mark.points(1)
def test_the_trusted_peak_stayed_small():
    grew = _status("VmHWM") - BASE["rss"]
    expect(grew < GROWTH_BOUND, f"the trusted child grew by {grew >> 20} MiB")


@pytest.mark.points(1)
def test_the_child_runs_under_an_address_space_cap():
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    expect(soft != resource.RLIM_INFINITY, "the grader child has no RLIMIT_AS")
    size = confine.vm_bytes(os.getpid())
    expect(soft - size <= TRUSTED_MEMORY_BYTES, f"RLIMIT_AS leaves {(soft - size) >> 20} MiB free")
    try:  # reserving (never touching) the whole cap at once must be refused
        mmap.mmap(-1, soft).close()
    except OSError:
        return
    expect(False, f"a mapping of {soft >> 20} MiB was allowed")
'''

DRIVER = """
import dataclasses, json, sys
from pathlib import Path

from autograder.client import Zygote
from autograder.course import load_course
from autograder.runner import (_kit_paths, _run_children, _staging_folder, limits_for, prewarm)
from autograder.staging import stage

suite, folders = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
assignment = dataclasses.replace(load_course().resolve("a3"), modules=("mod.py",), time_limit=120)
reports = {}
with _staging_folder() as root:
    pending = []
    for index, folder in enumerate(folders):
        staged = stage(folder, assignment, root / folder.name)
        staged.name = folder.name
        pending.append((index, staged, str(folder)))
    with Zygote(hidden=_kit_paths(), limits=limits_for(assignment)) as zygote:
        prewarm(suite)
        zygote.wait_ready()
        _run_children(pending, assignment, suite, zygote, hidden=True, jobs=2, fail_fast=False,
                      finish=lambda index, report: reports.__setitem__(folders[index].name, report.to_json()))
print(json.dumps(reports))
"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, dict]:
    """{submission: report} of one batch of both submissions, graded by the tiny suite with two jobs."""
    root = tmp_path_factory.mktemp("trusted")
    suite = root / "suite"
    suite.mkdir()
    (suite / "test_memory.py").write_text(textwrap.dedent(SUITE))
    folders = []
    for name, code in SUBMISSIONS.items():
        (root / name).mkdir()
        (root / name / "mod.py").write_text(code)
        folders.append(root / name)
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(suite), *map(str, folders)],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _tests(report: dict) -> dict[str, dict]:
    assert not report["error"], report["error"]
    return {t["name"].split("::")[-1]: t for t in report["tests"]}


def test_a_reply_far_larger_than_expected_is_refused_unread(reports):
    """The huge reply loses its test at once, refused on its shape from the reply's header; the trusted
    child's peak resident memory grows by less than 64 MiB for a 200 MB reply (the eager decoder held the
    blob and a copy of it, 400 MB); the honest submission's small reply is read and passes."""
    honest, huge = _tests(reports["honest"]), _tests(reports["huge"])
    assert honest["test_answer"]["status"] == "passed", honest["test_answer"]["output"]
    assert huge["test_answer"]["status"] == "failed"
    assert f"expected shape (4,), got shape ({HUGE},)" in huge["test_answer"]["output"]
    for tests in (honest, huge):
        peak = tests["test_the_trusted_peak_stayed_small"]
        assert peak["status"] == "passed", peak["output"]
    assert "not read" in huge["test_answer"]["output"]
    assert reports["huge"]["execution_time"] < 30


def test_each_trusted_grader_child_runs_under_its_memory_cap(reports):
    """Every child of the batch reads its own RLIMIT_AS (set by `runner._fork_child` to its size at the
    fork plus `TRUSTED_MEMORY_BYTES`) and cannot reserve the whole cap at once."""
    for name, report in reports.items():
        cap = _tests(report)["test_the_child_runs_under_an_address_space_cap"]
        assert cap["status"] == "passed", f"{name}: {cap['output']}"
