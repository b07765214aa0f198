"""Grading runs: one submission (`grade_one`) or a batch of them (`grade_batch`).

The trusted process imports torch, pytest and the suite's own imports once, starts the worker fork server,
then grades each submission in a forked child of itself (so a submission costs a fork, not an interpreter
start). Each child runs the suite with `GradingPlugin`, writes the submission's results and exits. With
``jobs > 1`` several children run at once. A child that crashes or overruns its time is reported as a
grading error for that submission alone; the batch goes on.

torch and pytest are imported only once there is something to grade (inside the functions that grade), so
resuming a finished batch reads its saved reports and writes the gradebook in a fraction of a second.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from autograder import confine, results
from autograder.course import Assignment, kit_root
from autograder.errors import KitError
from autograder.intake import Entry, from_file_name
from autograder.staging import Staged, copy_data, install_data, stage, unique_name

if TYPE_CHECKING:
    from autograder.client import Limits, Zygote

TEST_OUTPUT_TAIL = 2000
# address space a trusted grader child may add to what it maps when forked (replies are bounded by the
# client's REPLY_CAP; this catches whatever else could grow): a hostile reply cannot take the batch down
TRUSTED_MEMORY_BYTES = 3 << 30


@dataclass
class TestResult:
    """One graded test, in the shape of a Gradescope results.json test entry."""

    name: str
    nodeid: str
    max_score: float
    score: float = 0.0
    status: str = "failed"
    output: str = ""
    visibility: str = "visible"
    duration: float = 0.0


@dataclass
class Report:
    """The grade of one submission."""

    name: str
    source: str
    assignment: str
    suite: str
    score: float = 0.0
    max_score: float = 0.0
    tests: list[TestResult] = field(default_factory=list)
    seed: int | None = None
    digest: str = ""
    problems: list[str] = field(default_factory=list)
    error: str = ""
    sandbox: list[str] = field(default_factory=list)
    output: str = ""
    execution_time: float = 0.0
    student: str = ""  # the student id(s), from the submission's metadata or file name
    submitted: str = ""  # when it was submitted (ISO 8601 with timezone), "" when unknown

    def to_json(self) -> dict:
        data = asdict(self)
        data["tests"] = [asdict(t) for t in self.tests]
        return data

    @classmethod
    def from_json(cls, data: dict) -> Report:
        tests = [TestResult(**t) for t in data.pop("tests", [])]
        return cls(**data, tests=tests)


def suite_dir(assignment: Assignment, hidden: bool) -> Path:
    """The hidden suite (trusted side only) or the public tests of an assignment."""
    root = kit_root()
    path = (root / "autograder" / "suites" if hidden else root / "tests" / "public") / assignment.folder
    if not path.is_dir() or not any(path.glob("test_*.py")):
        kind = "hidden suite" if hidden else "public tests"
        extra = " (the hidden suites are not part of a student release)" if hidden else ""
        raise KitError(f"no {kind} for {assignment.folder} at {path}{extra}")
    return path


def limits_for(assignment: Assignment) -> Limits:
    from autograder.client import Limits

    return Limits(
        call_timeout=assignment.call_timeout,
        cpu_seconds=assignment.time_limit,
        memory_mb=assignment.memory_limit_mb,
        preload=assignment.preload,
    )


def _pytest_args(suite: Path, fail_fast: bool, collect_only: bool = False) -> list[str]:
    plugins_off = ["cacheprovider", "randomly", "xdist", "unraisableexception", "threadexception",
                   "faulthandler"]  # fmt: skip
    args = [str(suite), "-q", "--assert=plain", "--tb=no", "--import-mode=importlib", f"--rootdir={suite}",
            f"--confcutdir={suite}", "-o", "addopts=", "-o", "python_files=test_*.py",
            "-W", "ignore::DeprecationWarning"]  # fmt: skip
    for plugin in plugins_off:
        args += ["-p", f"no:{plugin}"]
    if fail_fast:
        args.append("-x")
    if collect_only:
        args.append("--collect-only")
    return args


@contextlib.contextmanager
def _quiet(suite: Path) -> Iterator[None]:
    """pytest's own terminal output is not the report: send it nowhere. The suite's folder is importable
    meanwhile, so its test files can share private helper modules (`import _oracles`)."""
    sys.path.insert(0, str(suite))
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        sys.path.remove(str(suite))


def prewarm(suite: Path) -> None:
    """Import the suite (and what it imports) once in the parent, so forked children start warm."""
    import pytest

    with _quiet(suite):
        pytest.main(_pytest_args(suite, False, collect_only=True), plugins=[])


def run_suite(
    staged: Staged,
    source: str,
    assignment: Assignment,
    suite: Path,
    zygote: Zygote,
    *,
    hidden: bool,
    fail_fast: bool = False,
) -> Report:
    """Grade one staged submission in this process."""
    import pytest

    from autograder.client import Submission
    from autograder.plugin import GradingContext, GradingPlugin, OutputByTest, derive_seed

    start = time.monotonic()
    seed = derive_seed(assignment.folder, staged.digest)
    report = Report(
        name=staged.name,
        source=source,
        assignment=assignment.folder,
        suite="hidden" if hidden else "public",
        seed=seed,
        digest=staged.digest,
        problems=list(staged.problems),
    )
    limits = limits_for(assignment)
    submission = Submission(
        zygote,
        staged.path,
        limits,
        deadline=start + limits.cpu_seconds,
        modules=assignment.modules,
        exchange=assignment.exchange,
    )
    context = GradingContext(submission=submission, seed=seed)
    plugins = [GradingPlugin(context), OutputByTest(submission)]
    try:
        with _quiet(suite):
            code = pytest.main(_pytest_args(suite, fail_fast), plugins=plugins)
        if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERRUPTED):
            report.error = f"the test suite could not run (pytest exit code {int(code)})"
    finally:
        report.sandbox = submission.layers
        submission.close()
    visible = {""} | {nodeid for nodeid, r in context.results.items() if r.visibility == "visible"}
    report.output = "".join(submission.output(label) for label in submission.sections() if label in visible)
    for nodeid, result in context.results.items():
        if result.status == "pending":
            result.status = "failed"
            result.output = "not run: grading stopped at the first lost point" if fail_fast else "not run"
        printed = submission.output(nodeid)
        if printed.strip():  # stays with its test, so it is shown when (and only when) the test is
            result.output += (
                f"\n\nOutput of your code during this test (last part):\n{printed[-TEST_OUTPUT_TAIL:]}"
            )
        report.tests.append(result)
    report.max_score = sum(t.max_score for t in report.tests)
    report.score = 0.0 if report.error else sum(t.score for t in report.tests)
    report.execution_time = time.monotonic() - start
    return report


@contextlib.contextmanager
def _staging_folder() -> Iterator[Path]:
    """A private folder for staged submissions: others may pass through it (the sandboxed worker, running
    as another user, reads its own submission) but not list it."""
    root = Path(tempfile.mkdtemp(prefix="llmkit-stage-"))
    os.chmod(root, 0o711)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _kit_paths() -> list[Path]:
    """What a worker must never read: the kit (suites, solutions) and the engine's own package."""
    return [kit_root(), Path(__file__).resolve().parent]


def import_problems(assignment: Assignment, workspace: Path) -> list[str]:
    """Import the workspace's modules in a sandboxed worker, as grading will: "module: error" for each
    module that does not import (a missing file or a syntax error is reported without running anything)."""
    from autograder.client import CallFailed, Submission, Zygote

    with _staging_folder() as stage_root:
        staged = stage(workspace, assignment, stage_root / "submission")
        if staged.problems:
            return list(staged.problems)
        _add_data(assignment, stage_root, [staged])
        with Zygote(hidden=_kit_paths(), limits=limits_for(assignment)) as zygote:
            submission = Submission(zygote, staged.path, limits_for(assignment))
            try:
                failed = submission.import_modules([m.removesuffix(".py") for m in assignment.modules])
            except CallFailed as exc:
                return [f"importing your modules failed: {exc}"]
            finally:
                submission.close()
        return [f"{module}.py: {problem}" for module, problem in failed.items()]


def _add_data(assignment: Assignment, stage_root: Path, staged: list[Staged]) -> None:
    """The assignment's declared data, copied once per batch and linked beside each staged submission's
    modules: the worker reads it there, read-only, and nothing else of the kit."""
    if not assignment.data:
        return
    data = stage_root / ".data"  # a submission's folder name never has a dot
    if not data.exists():
        copy_data(kit_root() / "assignments" / assignment.folder, assignment.data, data)
    for item in staged:
        install_data(data, assignment.data, item.path)


def _error_report(name: str, source: str, assignment: Assignment, hidden: bool, error: str) -> Report:
    return Report(
        name=name,
        source=source,
        assignment=assignment.folder,
        suite="hidden" if hidden else "public",
        error=error,
    )


def grade_batch(
    assignment: Assignment,
    submissions: list[Path | Entry],
    out: Path | None,
    *,
    hidden: bool = True,
    jobs: int = 1,
    fail_fast: bool = False,
    progress: Callable[[int, int, Report], None] | None = None,
    regrade: set[str] | None = None,
    shard: tuple[int, int] | None = None,
    extensions: dict | None = None,
    on_skip: Callable[[Report], None] | None = None,
) -> list[Report]:
    """Grade every submission; write `out/<name>/` (results.json, feedback, report.json) as each one
    finishes and keep `out/gradebook.csv` in step with those files. Never raises for a bad submission:
    its report carries the error instead.

    With `out`, a submission whose saved report is intact and was made from the same files (content
    digest), with the same suite, is not graded again (`on_skip` is told); `regrade` names submissions
    (output folder names or student ids) graded again regardless. `shard=(i, n)` grades only the i-th of
    n deterministic slices (see :func:`shards.in_shard`) and records which slice it was in
    `out/shard.json`."""
    from autograder import shards

    suite = suite_dir(assignment, hidden)
    entries = [
        s if isinstance(s, Entry) else from_file_name(Path(s), assignment.due.tzinfo) for s in submissions
    ]
    taken: set[str] = {results.GRADEBOOK.lower()}  # submission names have no dot: this is belt and braces
    names = [unique_name(e.folder_name(), taken) for e in entries]
    if shard is not None:
        mine = [i for i, name in enumerate(names) if shards.in_shard(name, *shard)]
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            shards.write_manifest(out, assignment, hidden, shard, names, [names[i] for i in mine])
        entries, names = [entries[i] for i in mine], [names[i] for i in mine]
    forced = {n.lower() for n in regrade or ()}
    outputs = [out.resolve()] if out is not None else []
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    secret = [kit_root() / "solutions", kit_root() / "autograder" / "suites", *outputs]
    reports: dict[int, Report] = {}
    pending: list[tuple[int, Staged, str]] = []
    suite_kind = "hidden" if hidden else "public"

    def finish(index: int, report: Report, write: bool = True) -> None:
        """Record one submission's report: its files (unless it is a saved one), progress, gradebook."""
        entry = entries[index]
        report.student = entry.student
        report.submitted = entry.submitted.isoformat() if entry.submitted else ""
        reports[index] = report
        _finish(report, out if write else None, assignment, progress if write else None, len(reports),
                len(entries))  # fmt: skip
        if out is not None and write:  # the gradebook lists exactly the submissions with results so far
            _write_gradebook(out, [reports[i] for i in sorted(reports)], assignment, extensions)

    with _staging_folder() as stage_root:
        for index, (entry, name) in enumerate(zip(entries, names, strict=True)):
            source = entry.origin or str(entry.path)
            try:
                staged = stage(entry.path, assignment, stage_root / name)
            except KitError as exc:
                finish(index, _error_report(name, source, assignment, hidden, str(exc)))
                continue
            staged.name = name
            previous = results.load_result(out / name) if out is not None else None
            if (
                previous is not None
                and previous.digest == staged.digest
                and previous.suite == suite_kind
                and previous.assignment == assignment.folder
                and previous.name == name
                and not {name.lower(), entry.student.lower()} & forced
            ):
                previous.source = source
                finish(index, previous, write=False)
                if on_skip is not None:
                    on_skip(previous)
                shutil.rmtree(staged.path, ignore_errors=True)
                continue
            _add_data(assignment, stage_root, [staged])
            pending.append((index, staged, source))
        if out is not None:
            _write_gradebook(out, [reports[i] for i in sorted(reports)], assignment, extensions)
        if pending:
            from autograder.client import Zygote

            with (
                confine.unreadable_to_others(secret),
                Zygote(hidden=_kit_paths() + outputs, limits=limits_for(assignment)) as zygote,
            ):
                prewarm(suite)
                zygote.wait_ready()  # before forking: every child shares the one fork server
                _run_children(pending, assignment, suite, zygote, hidden=hidden, jobs=jobs,
                              fail_fast=fail_fast, finish=finish)  # fmt: skip
    ordered = [reports[i] for i in range(len(entries))]
    if out is not None:
        _write_gradebook(out, ordered, assignment, extensions)
    return ordered


def _write_gradebook(
    out: Path, reports: list[Report], assignment: Assignment, extensions: dict | None
) -> None:
    try:
        results.write_gradebook(out / results.GRADEBOOK, reports, assignment, extensions)
    except OSError as exc:
        why = f"{out / results.GRADEBOOK} could not be written ({exc.strerror or exc})"
        raise KitError(f"{why}; the results graded so far are in {out}/<name>/") from None


def _finish(
    report: Report,
    out: Path | None,
    assignment: Assignment,
    progress: Callable[[int, int, Report], None] | None,
    done: int,
    total: int,
) -> None:
    if out is not None:
        try:
            results.write_submission(out / report.name, report, assignment)
        except OSError as exc:  # this submission's results only: the batch goes on, the gradebook says so
            why = f"its results could not be written to {out / report.name} ({exc.strerror or exc})"
            report.error = f"{report.error}; {why}" if report.error else why
    if progress is not None:
        progress(done, total, report)


def _run_children(
    pending: list[tuple[int, Staged, str]],
    assignment: Assignment,
    suite: Path,
    zygote: Zygote,
    *,
    hidden: bool,
    jobs: int,
    fail_fast: bool,
    finish: Callable[[int, Report], None],
) -> None:
    """Fork one trusted child per submission, at most `jobs` at a time, each with a wall-clock limit."""
    channel = Path(tempfile.mkdtemp(prefix="llmkit-reports-"))
    running: dict[int, tuple[int, Staged, str, float]] = {}  # pid -> (index, staged, source, deadline)
    queue = list(pending)
    wall_limit = assignment.time_limit * 1.5 + 60
    try:
        while queue or running:
            while queue and len(running) < max(1, jobs):
                index, staged, source = queue.pop(0)
                pid = _fork_child(
                    staged,
                    source,
                    assignment,
                    suite,
                    zygote,
                    channel / f"{index}.json",
                    hidden=hidden,
                    fail_fast=fail_fast,
                    threads=1 if jobs > 1 else 2,
                )
                running[pid] = (index, staged, source, time.monotonic() + wall_limit)
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                now = time.monotonic()
                for child, (_, _, _, deadline) in list(running.items()):
                    if now > deadline:
                        os.kill(child, signal.SIGKILL)
                time.sleep(0.01)
                continue
            if pid not in running:
                continue
            index, staged, source, _ = running.pop(pid)
            finish(index, _collect(channel / f"{index}.json", staged, source, assignment, hidden, status))
    finally:
        for child in running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        shutil.rmtree(channel, ignore_errors=True)


def _fork_child(
    staged: Staged,
    source: str,
    assignment: Assignment,
    suite: Path,
    zygote: Zygote,
    report_path: Path,
    *,
    hidden: bool,
    fail_fast: bool,
    threads: int,
) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid != 0:
        return pid
    code = 1
    try:
        import resource

        import torch

        torch.set_num_threads(threads)
        budget = confine.vm_bytes(os.getpid()) + TRUSTED_MEMORY_BYTES
        if budget > TRUSTED_MEMORY_BYTES:  # known: /proc tells this process's own size
            resource.setrlimit(resource.RLIMIT_AS, (budget, budget))
        logging.basicConfig(stream=sys.stderr, level=logging.ERROR)
        report = run_suite(staged, source, assignment, suite, zygote, hidden=hidden, fail_fast=fail_fast)
        tmp = report_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(report.to_json()))
        tmp.rename(report_path)
        code = 0
    except BaseException:  # noqa: BLE001 - a forked child must never return into the parent's loop
        logging.getLogger("llmkit.grader").exception("grading %s failed", staged.name)
    finally:
        os._exit(code)


def _collect(
    path: Path, staged: Staged, source: str, assignment: Assignment, hidden: bool, status: int
) -> Report:
    if path.exists():
        try:
            return Report.from_json(json.loads(path.read_text()))
        except (ValueError, TypeError):
            pass
    code = os.waitstatus_to_exitcode(status)
    why = "it ran past the time limit" if code == -signal.SIGKILL else f"exit code {code}"
    report = _error_report(staged.name, source, assignment, hidden, f"grading did not finish ({why})")
    report.digest = staged.digest
    return report
