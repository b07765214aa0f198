"""What grading writes: Gradescope's results.json, a readable feedback file, and the class gradebook."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING

from autograder import __version__

if TYPE_CHECKING:
    from autograder.course import Assignment
    from autograder.runner import Report

OUTPUT_TAIL = 4000


def summary_lines(report: Report) -> list[str]:
    """The lines that head the feedback: errors and validation problems first."""
    lines = []
    if report.error:
        lines.append(f"Grading error: {report.error}. The score is 0.")
    lines += [f"Problem: {p}" for p in report.problems]
    return lines


def gradescope_json(report: Report, assignment: Assignment) -> dict:
    """results.json in the Gradescope autograder schema (score, tests, visibility, extra_data)."""
    output = "\n".join(summary_lines(report))
    if report.output.strip():
        output += (
            ("\n\n" if output else "") + "Output of your code (last part):\n" + report.output[-OUTPUT_TAIL:]
        )
    return {
        "score": round(report.score, 4),
        "max_score": round(report.max_score, 4),
        "execution_time": round(report.execution_time, 2),
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": t.name,
                "score": round(t.score, 4),
                "max_score": t.max_score,
                "status": t.status,
                "output": t.output,
                "visibility": t.visibility,
            }
            for t in report.tests
        ],
        "extra_data": {
            "assignment": assignment.folder,
            "suite": report.suite,
            "seed": report.seed,
            "digest": report.digest,
            "sandbox": report.sandbox,
            "kit_version": __version__,
        },
    }


def feedback_text(report: Report, assignment: Assignment) -> str:
    """A Markdown report a student can read: the score, then each test, failures explained."""
    lines = [
        f"# {assignment.title} ({assignment.id}): {report.name}",
        "",
        f"**Score: {report.score:g} / {report.max_score:g}** ({report.suite} tests, seed {report.seed})",
        "",
    ]
    head = summary_lines(report)
    if head:
        lines += [*head, ""]
    lines += ["| | test | points |", "| --- | --- | --- |"]
    for t in report.tests:
        mark = "ok" if t.status == "passed" else "FAIL"
        lines.append(f"| {mark} | {t.name} | {t.score:g} / {t.max_score:g} |")
    failures = [t for t in report.tests if t.status != "passed"]
    if failures:
        lines += ["", "## What to fix", ""]
        for t in failures:
            lines += [f"### {t.name}", "", "```", t.output.strip() or "failed", "```", ""]
    if report.output.strip():
        lines += [
            "## Output of your code (last part)",
            "",
            "```",
            report.output[-OUTPUT_TAIL:].rstrip(),
            "```",
        ]
    return "\n".join(lines) + "\n"


def write_submission(folder: Path, report: Report, assignment: Assignment) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(gradescope_json(report, assignment), indent=2) + "\n")
    (folder / "feedback.md").write_text(feedback_text(report, assignment))


def write_gradebook(path: Path, reports: list[Report]) -> None:
    """One row per submission: name, score, max_score, status, and the seed that reproduces the grade."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "score", "max_score", "status", "seed", "digest", "source", "problems"])
        for r in reports:
            status = "error" if r.error else "graded"
            writer.writerow(
                [
                    r.name,
                    f"{r.score:g}",
                    f"{r.max_score:g}",
                    status,
                    r.seed,
                    r.digest,
                    r.source,
                    "; ".join([r.error, *r.problems]).strip("; "),
                ]
            )
