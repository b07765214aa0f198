"""What grading writes: Gradescope's results.json, a readable feedback file, and the class gradebook."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from autograder import __version__

if TYPE_CHECKING:
    from autograder.course import Assignment
    from autograder.runner import Report

OUTPUT_TAIL = 4000
GRADEBOOK = "gradebook.csv"
VISIBLE = "visible"

# C0 and C1 control characters (escape sequences start with one), DEL, and the Unicode bidirectional
# overrides and isolates, which reorder what a reader sees; newline and tab are kept
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def printable(text: str) -> str:
    """`text` safe to show in a terminal or a Markdown file: every control character (ESC of an ANSI
    sequence, carriage return, bell, bidirectional overrides) becomes a visible escape such as ``\\x1b``."""
    return _CONTROL.sub(_escape, str(text))


def _escape(match: re.Match) -> str:
    char = match.group()
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def cell(value: object) -> str:
    """A gradebook cell that a spreadsheet shows as text: no leading ``= + - @`` (a formula) or tab/CR."""
    text = printable(str(value)).replace("\n", " ")
    return "'" + text if text.startswith(_FORMULA_START) else text


def _fence(text: str) -> str:
    """A Markdown code fence longer than any run of backticks in `text`, so the text cannot close it."""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _block(text: str) -> list[str]:
    fence = _fence(text)
    return [fence, text, fence]


def summary_lines(report: Report) -> list[str]:
    """The lines that head the feedback: errors and validation problems first."""
    lines = []
    if report.error:
        lines.append(f"Grading error: {printable(report.error)}. The score is 0.")
    lines += [f"Problem: {printable(p)}" for p in report.problems]
    return lines


def gradescope_json(report: Report, assignment: Assignment) -> dict:
    """results.json in the Gradescope autograder schema (score, tests, visibility, extra_data)."""
    output = "\n".join(summary_lines(report))
    if report.output.strip():
        output += (
            ("\n\n" if output else "")
            + "Output of your code during the visible tests (last part):\n"
            + printable(report.output[-OUTPUT_TAIL:])
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
                "output": printable(t.output),
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
        f"# {assignment.title} ({assignment.id}): {printable(report.name)}",
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
            if t.visibility == VISIBLE:
                lines += [f"### {t.name}", "", *_block(printable(t.output.strip() or "failed")), ""]
            else:  # its inputs are not published: no message, no arguments, no output of this test
                lines += [
                    f"### {t.name}",
                    "",
                    f"Failed. The details of this test are {_when(t.visibility)}.",
                    "",
                ]
    if report.output.strip():
        lines += [
            "## Output of your code during the visible tests (last part)",
            "",
            *_block(printable(report.output[-OUTPUT_TAIL:].rstrip())),
        ]
    return "\n".join(lines) + "\n"


def _when(visibility: str) -> str:
    return {
        "after_due_date": "shown after the due date",
        "after_published": "shown once the grades are published",
    }.get(visibility, "not shown")


def write_submission(folder: Path, report: Report, assignment: Assignment) -> None:
    """`folder/results.json` and `folder/feedback.md`, each written beside and then moved into place."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("results.json", json.dumps(gradescope_json(report, assignment), indent=2) + "\n"),
        ("feedback.md", feedback_text(report, assignment)),
    ):
        tmp = folder / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(folder / name)


def write_gradebook(path: Path, reports: list[Report]) -> None:
    """One row per submission: name, score, max_score, status, and the seed that reproduces the grade."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "score", "max_score", "status", "seed", "digest", "source", "problems"])
        for r in reports:
            status = "error" if r.error else "graded"
            writer.writerow(
                [
                    cell(r.name),
                    f"{r.score:g}",
                    f"{r.max_score:g}",
                    status,
                    r.seed,
                    r.digest,
                    cell(r.source),
                    cell("; ".join([r.error, *r.problems]).strip("; ")),
                ]
            )
