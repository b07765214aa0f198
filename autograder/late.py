"""Late work: course.yml's late policy applied to a submission time, with per-student extensions.

The extensions file is a CSV the instructor keeps, one row per student granted more time::

    student,due,days,note
    s1234567,2026-11-02T23:59:00+01:00,,medical
    s7654321,,2,

``due`` is the student's own due date (with its timezone); ``days`` moves the assignment's due date by that
many days (fractions allowed). A row may give one or the other. Students are matched by id, without case.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from autograder.course import Assignment
from autograder.errors import KitError


@dataclass(frozen=True)
class Lateness:
    """How late one submission was and what it costs: ``final = raw * (1 - penalty)``."""

    due: datetime
    submitted: datetime | None
    late_by: timedelta  # zero when on time or when the time is unknown
    days_late: int  # started days after the grace period; 0 when on time
    penalty: float  # the fraction of the score lost, 0..1

    def hours(self) -> float:
        return self.late_by / timedelta(hours=1)


def load_extensions(path: Path | None) -> dict[str, datetime | timedelta]:
    """student id (lower case) -> their own due date, or the extra time on the assignment's one."""
    if path is None:
        return {}
    try:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise KitError(f"cannot read the extensions file {path}: {exc}") from None
    out: dict[str, datetime | timedelta] = {}
    for line, row in enumerate(rows, start=2):
        student = (row.get("student") or "").strip().lower()
        due, days = (row.get("due") or "").strip(), (row.get("days") or "").strip()
        if not student or bool(due) == bool(days):
            raise KitError(
                f"{path}:{line}: each row names a student and either a due date or a number of days"
            )
        if student in out:
            raise KitError(f"{path}:{line}: {student} has two extensions")
        try:
            value: datetime | timedelta = datetime.fromisoformat(due) if due else timedelta(days=float(days))
        except ValueError:
            raise KitError(f"{path}:{line}: cannot read {due or days!r}") from None
        if isinstance(value, datetime) and value.tzinfo is None:
            raise KitError(f"{path}:{line}: the due date {due} needs a timezone")
        if isinstance(value, timedelta) and not math.isfinite(value.total_seconds()):
            raise KitError(f"{path}:{line}: cannot read {days!r}")
        out[student] = value
    return out


def due_for(assignment: Assignment, student: str, extensions: dict[str, datetime | timedelta]) -> datetime:
    """The due date of ``student`` (group submissions ``a+b``: the latest of their due dates)."""
    dues = [assignment.due]
    for ident in student.lower().split("+"):
        extra = extensions.get(ident.strip())
        if isinstance(extra, datetime):
            dues.append(extra)
        elif isinstance(extra, timedelta):
            dues.append(assignment.due + extra)
    return max(dues)


def lateness(
    assignment: Assignment,
    student: str,
    submitted: datetime | None,
    extensions: dict[str, datetime | timedelta],
) -> Lateness:
    """The lateness of a submission under the assignment's late policy (none: never a penalty)."""
    due = due_for(assignment, student, extensions)
    if submitted is None or submitted <= due:
        return Lateness(due, submitted, timedelta(0), 0, 0.0)
    late_by = submitted - due
    policy = assignment.late_policy
    if policy is None:
        return Lateness(due, submitted, late_by, 0, 0.0)
    if late_by <= timedelta(minutes=policy.grace_minutes):
        return Lateness(due, submitted, late_by, 0, 0.0)
    days = math.ceil(late_by / timedelta(days=1))
    penalty = 1.0 - policy.multiplier(due, submitted)
    return Lateness(due, submitted, late_by, days, round(penalty, 6))
