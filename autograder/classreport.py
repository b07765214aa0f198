"""The class report: one HTML file a TA reads to see how the class did and which task it struggled with.

``OUT/class_report.html`` holds, as PNG images drawn with matplotlib and embedded in the page (the file can
be mailed or opened anywhere on its own): the distribution of final scores, the pass rate of every test
sorted from the hardest, the grading time of each submission, and the most common failure messages, grouped
(numbers in a message are replaced by ``#`` so that ``expected 3, got 4`` and ``expected 5, got 2`` count as
one). The report is for course staff: it names hidden tests and quotes their messages.

The page records a digest of what it was drawn from; when a run (a resumed batch with nothing new) would
draw the same page again, the file is left as it is, and matplotlib is not even imported.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import re
import statistics
from collections import Counter, defaultdict
from pathlib import Path

from autograder.results import printable, write_atomic

REPORT_FILE = "class_report.html"
MESSAGE_CHARS = 140
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", re.IGNORECASE)


def failure_message(output: str) -> str:
    """The first meaningful line of a failed test's output, with numbers replaced by ``#``."""
    for line in output.splitlines():
        line = line.strip()
        if line and not line.startswith(("Output of your code", "not run")):
            return _NUMBER.sub("#", printable(line))[:MESSAGE_CHARS]
    return "(no message)" if output.strip() else "failed"


def summarize(reports: list, rows: list[dict[str, str]]) -> dict:
    """The numbers of the report: scores, pass rate per test (hardest first), grouped failure messages."""
    finals = [float(r["final_score"]) for r in rows]
    passed: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    messages: Counter[str] = Counter()
    tests_of: dict[str, set[str]] = defaultdict(set)
    for report in reports:
        for t in report.tests:
            seen[t.name] += 1
            if t.status == "passed":
                passed[t.name] += 1
            else:
                message = failure_message(t.output)
                messages[message] += 1
                tests_of[message].add(t.name)
        if report.error:
            messages[f"grading error: {failure_message(report.error)}"] += 1
    rates = sorted(((passed[n] / seen[n], n) for n in seen), key=lambda x: (x[0], x[1]))
    return {
        "count": len(rows),
        "errors": sum(1 for r in rows if r["status"] == "error"),
        "late": sum(1 for r in rows if float(r["penalty"] or 0) > 0),
        "mean": statistics.fmean(finals) if finals else 0.0,
        "median": statistics.median(finals) if finals else 0.0,
        "max_score": max((float(r["max_score"]) for r in rows), default=0.0),
        "finals": finals,
        "times": [(r.name, r.execution_time) for r in reports],
        "rates": rates,
        "messages": [(m, c, sorted(tests_of[m])) for m, c in messages.most_common(12)],
    }


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _plots(summary: dict) -> dict[str, str]:
    """name -> base64 PNG of each plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    counts = MaxNLocator(integer=True)  # axes that count submissions or tests: whole numbers only
    images = {}
    fig, ax = plt.subplots(figsize=(7, 3.2))
    top = summary["max_score"] or 100
    ax.hist(summary["finals"], bins=20, range=(0, top), color="#4c72b0", edgecolor="white")
    ax.set(xlabel="final score (points)", ylabel="submissions", title="Score distribution")
    ax.yaxis.set_major_locator(counts)
    images["scores"] = _png(fig)
    plt.close(fig)

    rates = summary["rates"]
    fig, ax = plt.subplots(figsize=(7, max(2.0, 0.28 * len(rates) + 0.8)))
    names = [_short(n) for _, n in rates]
    ax.barh(range(len(rates)), [100 * r for r, _ in rates], color="#dd8452")
    ax.set_yticks(range(len(rates)), names, fontsize=7)
    ax.invert_yaxis()  # the hardest test on top
    ax.set(xlim=(0, 100), xlabel="submissions passing (%)", title="Pass rate per test, hardest first")
    images["tests"] = _png(fig)
    plt.close(fig)

    times = summary["times"]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(range(len(times)), [t for _, t in times], color="#55a868")
    ax.set(xlabel="submission (gradebook order)", ylabel="seconds", title="Grading time per submission")
    ax.set_ylim(bottom=0)
    images["times"] = _png(fig)
    plt.close(fig)

    messages = summary["messages"][:8]
    fig, ax = plt.subplots(figsize=(7, max(2.0, 0.4 * len(messages) + 0.8)))
    ax.barh(range(len(messages)), [c for _, c, _ in messages], color="#c44e52")
    ax.set_yticks(range(len(messages)), [_short(m, 60) for m, _, _ in messages], fontsize=7)
    ax.invert_yaxis()
    ax.set(xlabel="failed tests with this message", title="Most common failure messages")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    images["messages"] = _png(fig)
    plt.close(fig)
    return images


def _short(text: str, width: int = 48) -> str:
    text = text.split("::")[-1]
    return text if len(text) <= width else text[: width - 1] + "…"


def write_class_report(out: Path, title: str, reports: list, rows: list[dict[str, str]]) -> Path:
    """Write ``out/class_report.html`` for the graded ``reports`` (``rows``: their gradebook rows), unless
    the page there was drawn from the same numbers."""
    summary = summarize(reports, rows)
    path = out / REPORT_FILE
    digest = hashlib.sha256(json.dumps([title, summary], sort_keys=True).encode()).hexdigest()
    marker = f"<!-- drawn from: {digest} -->"
    try:
        if marker in path.read_text(encoding="utf-8"):
            return path
    except (OSError, UnicodeDecodeError):
        pass
    images = _plots(summary) if rows else {}
    esc = html.escape
    figures = "\n".join(
        f'<figure><img alt="{esc(name)}" src="data:image/png;base64,{data}"></figure>'
        for name, data in images.items()
    )
    hardest = "".join(
        f"<tr><td>{esc(name)}</td><td>{100 * rate:.0f} %</td></tr>" for rate, name in summary["rates"][:10]
    )
    messages = "".join(
        f"<tr><td>{count}</td><td><code>{esc(message)}</code></td>"
        f"<td>{esc(', '.join(map(_short, tests)))}</td></tr>"
        for message, count, tests in summary["messages"]
    )
    body = f"""{marker}
<h1>{esc(title)}</h1>
<p>{summary["count"]} submissions, {summary["errors"]} with grading errors, {summary["late"]} with a late
penalty. Final score: mean {summary["mean"]:.1f}, median {summary["median"]:.1f} of
{summary["max_score"]:g}.</p>
{figures}
<h2>Hardest tests</h2>
<table><tr><th>test</th><th>passing</th></tr>{hardest}</table>
<h2>Most common failure messages</h2>
<table><tr><th>count</th><th>message</th><th>tests</th></tr>{messages}</table>
"""
    from autograder.results import PAGE

    write_atomic(path, PAGE.format(title=esc(title), body=body))
    return path
