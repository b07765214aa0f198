"""What a TA hands to `llmkit grade`: submissions, who made them and when.

Each argument of ``llmkit grade A DIR_OR_FILES...`` is one of:

- a submission: a folder holding modules, a ``.zip`` or a notebook (see :mod:`autograder.staging`);
- a Gradescope "Export Submissions" folder (unzipped): ``submission_metadata.yml`` at its top maps each
  submission folder (``submission_123456``) to its submitters (``:name:``, ``:sid:``, ``:email:``) and its
  time (``:created_at:``). A submission folder holding a ``submission_metadata.yml`` of its own (the same
  fields for that one submission) is read the same way;
- a folder of submissions: a folder with no ``.py`` file at its top, whose entries are submissions;
- Gradescope's "Export Submissions" zip itself: a ``.zip`` holding ``submission_metadata.yml`` at its top
  (or inside one single top folder). It is unpacked, with the checks of a submission's zip (no links, no
  absolute paths or ``..``, capped sizes), into a temporary folder the caller provides, then read as the
  unzipped export; each submission's source is named ``EXPORT.zip:FOLDER``.

The student and the submission time come from the metadata when there is some, else from the file name:
``alice_2026-10-31T08-15.zip`` is student ``alice``, submitted at that time (in the due date's timezone
when the name gives none). Without a time in either, the submission counts as on time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from pathlib import Path

import yaml

from autograder.errors import KitError, SubmissionError
from autograder.staging import submission_name, unpack_zip, zip_members

METADATA = "submission_metadata.yml"
# a class's export: more entries and bytes than one submission may hold (each is staged with its own caps)
EXPORT_MAX_MEMBERS = 200_000
EXPORT_MAX_BYTES = 8 << 30
SUBMISSION_SUFFIXES = (".zip", ".ipynb")
# 2026-10-31T08:15, 20261031-0815, 2026-10-31_08-15-30Z, 2026-10-31 08:15:30+01:00
_TIME_IN_NAME = re.compile(
    r"(?P<date>\d{4}-?\d{2}-?\d{2})[T_ -]?(?P<h>\d{2})[:\-]?(?P<m>\d{2})(?:[:\-]?(?P<s>\d{2}))?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?(?![0-9])"
)


@dataclass(frozen=True)
class Entry:
    """One submission to grade: its file or folder, its student(s) and, when known, its submission time."""

    path: Path
    student: str
    submitted: datetime | None = None
    name: str = ""  # the output folder's name before it is made unique: from the student, else the path
    origin: str = ""  # where it came from, when `path` is a temporary copy (an export zip's member)

    def folder_name(self) -> str:
        return self.name or submission_name(self.path)


def collect(
    paths: list[Path], default_tz: tzinfo | None = None, unpack_to: Path | None = None
) -> list[Entry]:
    """Every submission named by ``paths``, in the order given (a folder's entries sorted by name).
    An export zip is unpacked into a new folder inside ``unpack_to``, which must outlive the grading.
    Raises :class:`KitError` for a path that does not exist, metadata that cannot be read, or an export zip
    that is unsafe or given without ``unpack_to``."""
    entries: list[Entry] = []
    for index, path in enumerate(map(Path, paths)):
        if not path.exists():
            raise KitError(f"no such submission: {path}")
        if is_export_zip(path):
            if unpack_to is None:
                raise KitError(f"{path} is an export of many submissions: unzip it first")
            folder = unpack_zip(path, unpack_to / f"export{index}", EXPORT_MAX_MEMBERS, EXPORT_MAX_BYTES)
            found = _expand(folder, default_tz)
            entries += [replace(e, origin=f"{path}:{e.path.relative_to(folder).as_posix()}") for e in found]
            continue
        entries += _expand(path, default_tz)
    return entries


def is_export_zip(path: Path) -> bool:
    """Whether `path` is a zip of many submissions with their metadata (a Gradescope export), not one
    submission's zip: ``submission_metadata.yml`` at its top or inside one single top folder. A corrupt zip
    is not (it is graded as one submission, which says what is wrong with it)."""
    if path.is_dir() or path.suffix.lower() != ".zip":
        return False
    try:
        names = [n.replace("\\", "/").strip("/") for n in zip_members(path)]
    except SubmissionError:
        return False
    return any(n == METADATA or (n.count("/") == 1 and n.endswith("/" + METADATA)) for n in names)


def _expand(path: Path, default_tz: tzinfo | None) -> list[Entry]:
    if not path.is_dir():
        return [from_file_name(path, default_tz)]
    metadata = path / METADATA
    if metadata.is_file():
        records = _read_metadata(metadata)
        if _is_record(records):  # the metadata of this one submission
            return [_from_record(path, records, metadata)]
        entries = []
        for key, record in records.items():
            folder = path / str(key)
            if not folder.exists() or not isinstance(record, dict):
                continue  # Gradescope lists a submission whose files were not exported
            entries.append(_from_record(folder, record, metadata))
        return entries
    if any(p.suffix == ".py" for p in path.iterdir()):
        return [from_file_name(path, default_tz)]
    children = sorted(p for p in path.iterdir() if not p.name.startswith((".", "_")))
    inner = [p for p in children if p.is_dir() or p.suffix.lower() in SUBMISSION_SUFFIXES]
    if not inner:  # an empty or unrelated folder: graded as one (empty) submission, which says so
        return [from_file_name(path, default_tz)]
    return [entry for child in inner for entry in _expand(child, default_tz)]


def from_file_name(path: Path, default_tz: tzinfo | None = None) -> Entry:
    """The student and the time a file name gives: ``bob-20261031-0815.zip`` -> ``bob`` at 08:15."""
    stem = path.name[: -len(path.suffix)] if path.suffix.lower() in SUBMISSION_SUFFIXES else path.name
    match = _TIME_IN_NAME.search(stem)
    submitted = None
    if match:
        submitted = _parse_name_time(match, default_tz)
    if submitted is None:
        return Entry(path=path, student=submission_name(Path(stem)))
    student = (stem[: match.start()] + stem[match.end() :]).strip(" _-.") or stem
    return Entry(path=path, student=submission_name(Path(student)), submitted=submitted)


def _parse_name_time(match: re.Match, default_tz: tzinfo | None) -> datetime | None:
    date = match["date"].replace("-", "")
    tz = match["tz"] or ""
    text = f"{date[:4]}-{date[4:6]}-{date[6:]}T{match['h']}:{match['m']}:{match['s'] or '00'}"
    if tz and tz != "Z" and ":" not in tz:
        tz = f"{tz[:3]}:{tz[3:]}"
    try:
        when = datetime.fromisoformat(text + ("+00:00" if tz == "Z" else tz))
    except ValueError:
        return None
    if when.tzinfo is None:
        if default_tz is None:
            return None
        when = when.replace(tzinfo=default_tz)
    return when


def _read_metadata(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise KitError(
            f"{path}: cannot read the submission metadata ({' '.join(str(exc).split())})"
        ) from None
    if not isinstance(data, dict):
        raise KitError(f"{path}: expected a mapping of submission folders to their metadata")
    return data


def _is_record(data: dict) -> bool:
    return ":submitters" in data or ":created_at" in data


def _from_record(folder: Path, record: dict, where: Path) -> Entry:
    submitters = record.get(":submitters") or []
    ids = []
    for person in submitters if isinstance(submitters, list) else []:
        if isinstance(person, dict):
            ident = person.get(":sid") or person.get(":email") or person.get(":name")
            if ident:
                ids.append(str(ident))
    student = "+".join(ids) or submission_name(folder)
    created = record.get(":created_at")
    if isinstance(created, str):
        try:
            created = datetime.fromisoformat(created.strip())
        except ValueError:
            raise KitError(f"{where}: {folder.name}: cannot read :created_at: {created!r}") from None
    if created is not None and (not isinstance(created, datetime) or created.tzinfo is None):
        raise KitError(f"{where}: {folder.name}: :created_at: needs a date, a time and a timezone")
    return Entry(path=folder, student=student, submitted=created, name=submission_name(Path(student)))
