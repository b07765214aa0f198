"""The `llmkit` command line (also `python -m autograder`).

    llmkit start A [--dir DIR]                 copy the starter of assignment A into a workspace
    llmkit check A [PATH] [--hidden] [--report FILE]  self-check: public tests (or the hidden suite)
    llmkit submit A [PATH] [--out FILE]        validate and zip a submission
    llmkit grade A SUBMISSION... --out DIR     grade a class: results, feedback, gradebook, class report
    llmkit gradebook merge OUT... --out DIR    join the outputs of `llmkit grade --shard i/n` runs
    llmkit build [--check]                     regenerate starter/ from solutions/
    llmkit release --out DIR                   the student bundle: no solutions, no hidden suites
    llmkit export gradescope A --out FILE.zip  an autograder bundle for Gradescope
    llmkit export nbgrader A --out COURSE_DIR  an nbgrader course graded by the kit's sandbox
    llmkit export otter A --out DIR            an otter-grader autograder graded by the kit's sandbox

Errors in what the user asked for are one line on stderr and exit code 2; never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time
from pathlib import Path

from autograder.errors import KitError


def _course():
    from autograder.course import load_course

    return load_course()


def cmd_start(args: argparse.Namespace) -> int:
    course = _course()
    assignment = course.resolve(args.assignment)
    dest = Path(args.dir) if args.dir else Path("work") / assignment.folder
    if dest.exists():
        raise KitError(
            f"{dest} already exists; nothing was copied, so your work there is untouched "
            f"(use --dir to start a fresh copy elsewhere)"
        )
    starter = course.root / "starter" / assignment.folder
    if not starter.is_dir():
        raise KitError(f"no starter for {assignment.folder} at {starter}")
    shutil.copytree(starter, dest, ignore=shutil.ignore_patterns("__pycache__"))
    handout = course.root / "assignments" / assignment.folder
    if handout.is_dir():
        for item in handout.iterdir():
            if item.name.startswith((".", "__")) or (dest / item.name).exists():
                continue
            if item.is_dir():
                shutil.copytree(item, dest / item.name)
            else:
                shutil.copy2(item, dest / item.name)
    print(f"Started {assignment.id} ({assignment.title}) in {dest}")
    print(f"Read {dest / 'README.md'}, then check your work with: llmkit check {assignment.id}")
    return 0


def _workspace(assignment, path: str | None) -> Path:
    if path:
        chosen = Path(path)
    else:
        default = Path("work") / assignment.folder
        here = Path.cwd()
        chosen = here if all((here / m).exists() for m in assignment.modules) else default
    if not chosen.exists():
        raise KitError(f"{chosen} does not exist (run `llmkit start {assignment.id}` first, or give a PATH)")
    return chosen


def _print_table(report, show_output: bool = True) -> None:
    """The report on the terminal; text that came from the submission is shown with its control characters
    escaped (`results.printable`), so it cannot move the cursor, recolour or retitle the terminal."""
    from autograder.results import printable, summary_lines

    for line in summary_lines(report):
        print(line)
    for t in report.tests:
        mark = "PASS" if t.status == "passed" else "FAIL"
        points = f"{t.score:g}/{t.max_score:g}"
        print(f"  {mark} {points:>7}  {printable(t.name)}")
    print(
        f"\nScore: {report.score:g} / {report.max_score:g}   ({report.suite} tests, seed {report.seed}, "
        f"{report.execution_time:.1f} s)"
    )
    failures = [t for t in report.tests if t.status != "passed"]
    if failures and show_output:
        print("\nWhat to fix:")
        for t in failures:
            text = printable((t.output or "failed").strip())
            print(f"\n- {printable(t.name)}\n    " + "\n    ".join(text.splitlines()[:25]))


def cmd_check(args: argparse.Namespace) -> int:
    from autograder.runner import grade_batch

    course = _course()
    assignment = course.resolve(args.assignment)
    workspace = _workspace(assignment, args.path)
    print(
        f"Checking {workspace} with the {'hidden' if args.hidden else 'public'} tests of {assignment.id}..."
    )
    (report,) = grade_batch(assignment, [workspace], None, hidden=args.hidden, jobs=1)
    _print_table(report)
    if args.report:
        Path(args.report).write_text(json.dumps(report.to_json(), indent=1), encoding="utf-8")
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from autograder.runner import import_problems
    from autograder.staging import make_submission_zip

    course = _course()
    assignment = course.resolve(args.assignment)
    workspace = _workspace(assignment, args.path)
    if workspace.is_dir():
        problems = import_problems(assignment, workspace)
        if problems:
            raise KitError(f"{workspace} is not ready to submit: " + "; ".join(problems))
    out = Path(args.out) if args.out else Path(f"{assignment.folder}-submission.zip")
    zipped = make_submission_zip(workspace, assignment, out)
    print(f"Wrote {zipped}: {', '.join(assignment.modules)}. Upload this file.")
    return 0


def _with_limits(assignment, args: argparse.Namespace):
    """The assignment with the limits given on the command line in place of course.yml's."""
    changes = {k: v for k, v in (("time_limit", args.time_limit), ("call_timeout", args.call_timeout)) if v}
    for key, value in changes.items():
        if value <= 0:
            raise KitError(f"--{key.replace('_', '-')} must be positive, got {value:g}")
    return dataclasses.replace(assignment, **changes)


class _Progress:
    """The batch as it goes: a tqdm bar (counts, elapsed, estimate, running mean) on a terminal, else one
    plain line per submission. A failed submission always gets a line of its own."""

    def __init__(self, total: int, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.total, self.scores, self.bar = total, [], None
        if self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, file=self.stream, unit="sub", dynamic_ncols=True)

    def skipped(self, report) -> None:
        self.scores.append(report.score)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(f"mean {sum(self.scores) / len(self.scores):.1f} (resumed)")

    def __call__(self, done: int, total: int, report) -> None:
        from autograder.results import printable

        self.scores.append(report.score)
        mean = sum(self.scores) / len(self.scores)
        state = f"error: {report.error}" if report.error else f"{report.score:g}/{report.max_score:g}"
        line = printable(f"[{done}/{total}] {report.name}: {state} ({report.execution_time:.1f} s)")
        if self.bar is not None:
            if report.error:
                self.bar.write(printable(f"FAILED {report.name}: {report.error}"), file=self.stream)
            self.bar.update(1)
            self.bar.set_postfix_str(f"mean {mean:.1f}")
            return
        try:
            print(line, flush=True)
        except BrokenPipeError:  # nobody reads the progress any more; grading goes on regardless
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _summary_table(reports, rows, elapsed: float, skipped: int) -> list[str]:
    """The end of a batch: how many, how they scored, what was late, where the results are."""
    import statistics

    finals = [float(r["final_score"]) for r in rows]
    errors = sum(1 for r in reports if r.error)
    late = sum(1 for r in rows if float(r["penalty"]) > 0)
    cells = [
        ("submissions", f"{len(reports)}"),
        ("graded now", f"{len(reports) - skipped}"),
        ("already graded (resumed)", f"{skipped}"),
        ("grading errors", f"{errors}"),
        ("late (penalized)", f"{late}"),
        ("final score mean / median", f"{statistics.fmean(finals):.1f} / {statistics.median(finals):.1f}"
         if finals else "-"),
        ("final score min / max", f"{min(finals):g} / {max(finals):g}" if finals else "-"),
        ("wall time", f"{elapsed:.1f} s"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in cells)
    rule = "-" * (width + 14)
    return [rule, *(f"{k:<{width}}  {v:>10}" for k, v in cells), rule]


def _write_reports(out: Path, assignment, reports, extensions, title: str) -> list[dict]:
    from autograder.classreport import write_class_report
    from autograder.results import gradebook_rows

    rows = gradebook_rows(reports, assignment, extensions)
    write_class_report(out, title, reports, rows)
    return rows


def cmd_grade(args: argparse.Namespace) -> int:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="llmkit-exports-") as unpacked:  # export zips, while grading
        return _grade(args, Path(unpacked))


def _grade(args: argparse.Namespace, unpacked: Path) -> int:
    from autograder.intake import collect
    from autograder.late import load_extensions
    from autograder.runner import grade_batch
    from autograder.shards import parse_shard

    course = _course()
    assignment = _with_limits(course.resolve(args.assignment), args)
    shard = parse_shard(args.shard) if args.shard else None
    extensions = load_extensions(Path(args.extensions) if args.extensions else None)
    entries = collect([Path(s) for s in args.submissions], assignment.due.tzinfo, unpacked)
    if not entries:
        raise KitError("no submissions found in " + ", ".join(args.submissions))
    out = Path(args.out)
    start = time.monotonic()
    progress = _Progress(len(entries) if shard is None else 0, sys.stderr)
    skipped: list = []

    def on_skip(report) -> None:
        skipped.append(report)
        progress.skipped(report)

    if progress.bar is None:
        progress.stream = sys.stdout
    try:
        reports = grade_batch(
            assignment,
            entries,
            out,
            hidden=not args.public,
            jobs=args.jobs,
            fail_fast=args.fail_fast,
            progress=progress,
            regrade=set(args.regrade or ()),
            shard=shard,
            extensions=extensions,
            on_skip=on_skip,
        )
    finally:
        progress.close()
    title = f"{course.term}: {assignment.title} ({assignment.id})"
    if shard is not None:
        title += f", shard {shard[0]}/{shard[1]}"
    rows = _write_reports(out, assignment, reports, extensions, title)
    elapsed = time.monotonic() - start
    for line in _summary_table(reports, rows, elapsed, len(skipped)):
        print(line)
    print(
        f"Results in {out}/<name>/, gradebook {out / 'gradebook.csv'}, "
        f"class report {out / 'class_report.html'}"
    )
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from autograder.late import load_extensions
    from autograder.results import GRADEBOOK, write_gradebook
    from autograder.shards import merge

    course = _course()
    outs = [Path(p) for p in args.shards]
    dest = Path(args.out)
    merged = merge(outs, dest)
    assignment = course.resolve(merged.assignment)
    extensions = load_extensions(Path(args.extensions) if args.extensions else None)
    write_gradebook(dest / GRADEBOOK, merged.reports, assignment, extensions)
    _write_reports(
        dest, assignment, merged.reports, extensions, f"{course.term}: {assignment.title} ({assignment.id})"
    )
    print(f"Merged {len(outs)} shard(s): {len(merged.reports)} submission(s) in {dest / GRADEBOOK}")
    if merged.missing_shards or merged.ungraded:
        if merged.missing_shards:
            print(
                f"gap: no output for shard(s) {', '.join(map(str, merged.missing_shards))}", file=sys.stderr
            )
        if merged.ungraded:
            names = ", ".join(merged.ungraded[:20]) + (" ..." if len(merged.ungraded) > 20 else "")
            print(f"gap: {len(merged.ungraded)} submission(s) without results: {names}", file=sys.stderr)
        return 1
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from autograder.build import build, build_notebooks
    from autograder.course import kit_root

    root = kit_root()
    changed = build(root, check=args.check)
    notebooks = build_notebooks(root, check=args.check)
    if args.check:
        if changed or notebooks:
            names = ", ".join(str(p.relative_to(root)) for p in changed + notebooks)
            raise KitError(
                f"starter/ or the template notebooks are out of date with solutions/ ({names}); "
                "run `llmkit build`"
            )
        print("starter/ and the template notebooks are in sync with solutions/")
    else:
        print(f"Wrote {len(changed)} file(s) under starter/ and {len(notebooks)} template notebook(s)")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from autograder.release import make_release

    out = make_release(Path(args.out))
    print(f"Wrote the student release to {out}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    assignment = _course().resolve(args.assignment)
    if args.target == "nbgrader":
        from autograder.exporters.nbgrader import export_nbgrader

        source = export_nbgrader(assignment, Path(args.out))
        print(f"Wrote the nbgrader course {args.out} (source notebook {source})")
        return 0
    if args.target == "otter":
        from autograder.exporters.otter import export_otter

        zipped = export_otter(assignment, Path(args.out))
        print(
            f"Wrote the otter-grader autograder {zipped} and the student notebook "
            f"{Path(args.out) / 'student' / (assignment.folder + '.ipynb')}"
        )
        return 0
    from autograder.exporters.gradescope import export_gradescope

    out = export_gradescope(assignment, Path(args.out))
    print(f"Wrote the Gradescope autograder bundle {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmkit", description="A graded course kit on large language models."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("start", help="copy an assignment's starter into a workspace")
    p.add_argument("assignment", help="a3 or a3_attention")
    p.add_argument("--dir", help="the workspace folder (default work/<assignment folder>)")
    p.set_defaults(func=cmd_start)

    p = sub.add_parser("check", help="run the public tests (or --hidden) on your work")
    p.add_argument("assignment")
    p.add_argument("path", nargs="?", help="your workspace (default: here, or work/<assignment folder>)")
    p.add_argument("--hidden", action="store_true", help="run the hidden suite (needs the full kit)")
    p.add_argument("--report", metavar="FILE", help="also write the report, test by test, as JSON")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("submit", help="validate your work and zip it for upload")
    p.add_argument("assignment")
    p.add_argument("path", nargs="?")
    p.add_argument("--out", help="the zip to write (default <assignment folder>-submission.zip)")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser(
        "grade", help="grade submissions (folders, .zip files, notebooks, Gradescope exports: folder or zip)"
    )
    p.add_argument("assignment")
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION")
    p.add_argument("--out", required=True, help="folder for results.json files and gradebook.csv")
    p.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    p.add_argument("--public", action="store_true", help="grade with the public tests instead")
    p.add_argument("--fail-fast", action="store_true", help="stop each submission at its first lost point")
    p.add_argument("--time-limit", type=float, help="seconds per submission (default: course.yml)")
    p.add_argument(
        "--call-timeout", type=float, help="seconds per call into student code (default: course.yml)"
    )
    p.add_argument("--regrade", nargs="+", metavar="NAME", help="grade these again even if they are graded")
    p.add_argument("--shard", metavar="I/N", help="grade only slice I (from 0) of N, for several machines")
    p.add_argument("--extensions", metavar="CSV", help="per-student extensions (student,due,days)")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("gradebook", help="join the outputs of sharded runs")
    gsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    m = gsub.add_parser("merge", help="merge the OUT folders of `llmkit grade --shard` runs")
    m.add_argument("shards", nargs="+", metavar="SHARD_OUT")
    m.add_argument("--out", required=True, help="the folder of the merged gradebook")
    m.add_argument("--extensions", metavar="CSV", help="per-student extensions (student,due,days)")
    m.set_defaults(func=cmd_merge)

    p = sub.add_parser("build", help="regenerate starter/ from solutions/")
    p.add_argument("--check", action="store_true", help="fail if the checked-in starter is out of date")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("release", help="write the student bundle (no solutions, no hidden suites)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("export", help="export an autograder bundle")
    p.add_argument("target", choices=["gradescope", "nbgrader", "otter"])
    p.add_argument("assignment")
    p.add_argument(
        "--out", required=True, help="the .zip (gradescope) or the folder (nbgrader, otter) to write"
    )
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "jobs", 1) < 1:
        print("llmkit: error: --jobs must be at least 1", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except KitError as exc:
        print(f"llmkit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("llmkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error of the grading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
