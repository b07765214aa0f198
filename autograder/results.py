"""What grading writes: Gradescope's results.json, a readable feedback file, and the class gradebook."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from autograder import __version__

if TYPE_CHECKING:
    from autograder.course import Assignment
    from autograder.runner import Report

OUTPUT_TAIL = 4000
GRADEBOOK = "gradebook.csv"
REPORT = "report.json"  # the whole report of one submission, with its checksum: what resuming trusts
REPORT_FORMAT = 1
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


def write_atomic(path: Path, text: str) -> None:
    """Write ``path`` so that it is either absent, the old file, or the whole new text: written beside it,
    flushed to disk, then renamed over it (a rename within a folder is atomic)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def _checksum(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def write_submission(folder: Path, report: Report, assignment: Assignment) -> None:
    """``folder/results.json``, ``feedback.md`` and ``feedback.html``, then ``report.json`` (the whole report
    and its checksum), each written atomically. ``report.json`` comes last: it is the mark that the
    submission's results are complete, so an interrupted write is regraded, never trusted."""
    folder.mkdir(parents=True, exist_ok=True)
    results_text = json.dumps(gradescope_json(report, assignment), indent=2) + "\n"
    for name, text in (
        ("results.json", results_text),
        ("feedback.md", feedback_text(report, assignment)),
        ("feedback.html", feedback_html(report, assignment)),
    ):
        write_atomic(folder / name, text)
    data = report.to_json()
    record = {
        "format": REPORT_FORMAT,
        "report": data,
        "results_sha256": hashlib.sha256(results_text.encode()).hexdigest(),
    }
    record["sha256"] = _checksum(record)
    write_atomic(folder / REPORT, json.dumps(record) + "\n")


def load_result(folder: Path) -> Report | None:
    """The report saved in ``folder``, or None when there is none or it cannot be trusted: ``report.json``
    missing, unreadable, truncated or edited (its checksum), or ``results.json`` not the one written
    with it."""
    from autograder.runner import Report

    try:
        record = json.loads((folder / REPORT).read_text(encoding="utf-8"))
        if not isinstance(record, dict) or record.get("format") != REPORT_FORMAT:
            return None
        claimed = record.pop("sha256", None)
        if claimed != _checksum(record):
            return None
        results_bytes = (folder / "results.json").read_bytes()
        if hashlib.sha256(results_bytes).hexdigest() != record.get("results_sha256"):
            return None
        return Report.from_json(dict(record["report"]))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def feedback_html(report: Report, assignment: Assignment) -> str:
    """The feedback of :func:`feedback_text` as one self-contained HTML page; every text from the
    submission is escaped, and hidden tests show no details, as in the Markdown."""
    esc = html.escape
    rows = []
    for t in report.tests:
        ok = t.status == "passed"
        rows.append(
            f'<tr class="{"ok" if ok else "fail"}"><td>{"ok" if ok else "FAIL"}</td><td>{esc(t.name)}</td>'
            f"<td>{t.score:g} / {t.max_score:g}</td></tr>"
        )
    details = []
    for t in report.tests:
        if t.status == "passed":
            continue
        if t.visibility == VISIBLE:
            body = f"<pre>{esc(printable(t.output.strip() or 'failed'))}</pre>"
        else:
            body = f"<p>Failed. The details of this test are {_when(t.visibility)}.</p>"
        details.append(f"<h3>{esc(t.name)}</h3>\n{body}")
    head = "".join(f'<p class="problem">{esc(line)}</p>' for line in summary_lines(report))
    output = ""
    if report.output.strip():
        text = esc(printable(report.output[-OUTPUT_TAIL:].rstrip()))
        output = f"<h2>Output of your code during the visible tests (last part)</h2>\n<pre>{text}</pre>"
    fix = ("<h2>What to fix</h2>\n" + "\n".join(details)) if details else ""
    title = f"{assignment.title} ({assignment.id}): {printable(report.name)}"
    return PAGE.format(
        title=esc(title),
        body=f"<h1>{esc(title)}</h1>\n<p><strong>Score: {report.score:g} / {report.max_score:g}</strong> "
        f"({report.suite} tests, seed {report.seed})</p>\n{head}\n"
        f"<table><tr><th></th><th>test</th><th>points</th></tr>{''.join(rows)}</table>\n{fix}\n{output}",
    )


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }}
table {{ border-collapse: collapse; }} td, th {{ padding: .2rem .6rem; border-bottom: 1px solid #ddd; }}
tr.fail td:first-child {{ color: #b00020; font-weight: bold; }} tr.ok td:first-child {{ color: #2e7d32; }}
pre {{ background: #f6f6f6; padding: .6rem; overflow-x: auto; white-space: pre-wrap; }}
.problem {{ color: #b00020; }} img {{ max-width: 100%; }}
</style></head>
<body>
{body}
</body></html>
"""


GRADEBOOK_COLUMNS = ["name", "student", "score", "max_score", "submitted", "due", "late_hours", "days_late",
                     "penalty", "final_score", "status", "seed", "digest", "source", "problems"]  # fmt: skip


def gradebook_rows(
    reports: list[Report], assignment: Assignment | None = None, extensions: dict | None = None
) -> list[dict[str, str]]:
    """One row per submission: its raw score, its lateness under the late policy (with the student's
    extension), the penalty and the final score, and the seed that reproduces the grade."""
    from autograder.late import lateness

    rows = []
    for r in reports:
        submitted = datetime.fromisoformat(r.submitted) if r.submitted else None
        late = lateness(assignment, r.student, submitted, extensions or {}) if assignment else None
        penalty = late.penalty if late else 0.0
        rows.append(
            {
                "name": r.name,
                "student": r.student,
                "score": f"{r.score:g}",
                "max_score": f"{r.max_score:g}",
                "submitted": r.submitted,
                "due": late.due.isoformat() if late else "",
                "late_hours": f"{late.hours():.2f}" if late and submitted else "",
                "days_late": str(late.days_late) if late else "",
                "penalty": f"{penalty:g}",
                "final_score": f"{round(r.score * (1 - penalty), 4):g}",
                "status": "error" if r.error else "graded",
                "seed": "" if r.seed is None else str(r.seed),
                "digest": r.digest,
                "source": r.source,
                "problems": "; ".join([r.error, *r.problems]).strip("; "),
            }
        )
    return rows


def write_gradebook(
    path: Path, reports: list[Report], assignment: Assignment | None = None, extensions: dict | None = None
) -> None:
    """The gradebook (see :func:`gradebook_rows`), written atomically; every cell is safe to open in a
    spreadsheet (:func:`cell`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(GRADEBOOK_COLUMNS)
    for row in gradebook_rows(reports, assignment, extensions):
        writer.writerow([cell(row[c]) for c in GRADEBOOK_COLUMNS])
    write_atomic(path, buffer.getvalue())
