"""The pytest plugin that turns an ordinary pytest suite into a grading suite.

Suites are plain pytest files. They get

- the fixture ``sub``: the submission (`client.Submission`), reached only through a sandboxed worker;
- the fixtures ``seed`` (int) and ``rng`` (a seeded `torch.Generator`), derived from the submission's seed
  and the test's id, so inputs differ between submissions but reproduce exactly for one submission;
- the markers ``points(n)`` (default 1) and ``visibility("visible" | "hidden" | "after_due_date" |
  "after_published")`` (Gradescope's values; default "visible").

The plugin records one `TestResult` per test. Its output is the failure message of a `GradeFailure` or a
`CallFailed`; any other exception in the trusted test code is reported as an internal error without
details (details go to the grader's log), so a failure never prints hidden expected values or suite source.
A skipped test scores 0: the grader fails closed.
"""

from __future__ import annotations

import hashlib
import logging
import traceback
from dataclasses import dataclass, field

import pytest
import torch

from autograder.checks import GradeFailure
from autograder.client import CallFailed, Submission
from autograder.runner import TestResult

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
log = logging.getLogger("llmkit.grader")


@dataclass
class GradingContext:
    submission: Submission
    seed: int
    results: dict[str, TestResult] = field(default_factory=dict)


def derive_seed(*parts: object) -> int:
    """A 31-bit seed from the parts' text (stable across runs and machines)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def failure_message(excinfo: pytest.ExceptionInfo | None, nodeid: str) -> str:
    if excinfo is None:
        return "failed"
    exc = excinfo.value
    if isinstance(exc, GradeFailure | CallFailed):
        return str(exc)
    if isinstance(exc, pytest.fail.Exception):
        return str(exc.msg)
    if type(exc) is AssertionError:  # suites run with --assert=plain: only an explicit message is shown
        return f"check failed: {exc}" if str(exc) else "check failed"
    log.error("internal error in %s:\n%s", nodeid, "".join(traceback.format_exception(exc)))
    return f"internal error in the grader ({type(exc).__name__}); this test could not be graded"


class GradingPlugin:
    def __init__(self, context: GradingContext) -> None:
        self.ctx = context

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "points(n): points this test is worth (default 1)")
        config.addinivalue_line("markers", "visibility(v): Gradescope visibility of this test")

    @pytest.fixture(scope="session")
    def sub(self) -> Submission:
        return self.ctx.submission

    @pytest.fixture
    def seed(self, request: pytest.FixtureRequest) -> int:
        return derive_seed(self.ctx.seed, request.node.nodeid)

    @pytest.fixture
    def rng(self, seed: int) -> torch.Generator:
        return torch.Generator().manual_seed(seed)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            points = item.get_closest_marker("points")
            value = float(points.args[0]) if points else 1.0
            vis = item.get_closest_marker("visibility")
            visibility = vis.args[0] if vis else "visible"
            if visibility not in VISIBILITIES:
                raise pytest.UsageError(f"{item.nodeid}: visibility must be one of {VISIBILITIES}")
            function = getattr(item, "function", None)
            doc = ((function.__doc__ if function else None) or "").strip().splitlines()
            name = f"{doc[0].strip()} [{item.name}]" if doc else item.name
            self.ctx.results[item.nodeid] = TestResult(
                name=name, nodeid=item.nodeid, max_score=value, visibility=visibility, status="pending"
            )

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report = outcome.get_result()
        result = self.ctx.results.get(item.nodeid)
        if result is None:
            return
        result.duration += call.duration
        if report.failed and result.status != "failed":
            result.status, result.score = "failed", 0.0
            result.output = failure_message(call.excinfo, item.nodeid)
        elif report.skipped and result.status != "failed":
            result.status, result.score = "failed", 0.0
            result.output = "skipped, so it scores 0"
        elif report.when == "call" and report.passed and result.status == "pending":
            result.status, result.score, result.output = "passed", result.max_score, ""


class OutputByTest:
    """Tells the submission which test is running, so what it prints is attributed to that test."""

    def __init__(self, submission: Submission) -> None:
        self.submission = submission

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.submission.begin_section(item.nodeid)
