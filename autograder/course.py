"""The term's configuration, ``course.yml``: loading, validation and looking up assignments.

The file is read with YAML's safe semantics only (plain scalars, lists and mappings). It is walked as a node
tree (``yaml.compose``) rather than loaded straight into Python objects, so that every error can name the
line it comes from and the key path it concerns, for example::

    course.yml:14: assignments.a3_attention.points: expected a positive number, got 'ten'

Unknown keys are errors too, with a suggestion, so that a typo such as ``time_limt`` cannot silently leave a
limit at its default.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from autograder.errors import CourseError, KitError

COURSE_FILE = "course.yml"
ROOT_ENV = "LLMKIT_ROOT"

FOLDER_RE = re.compile(r"a([1-9][0-9]*)_[a-z][a-z0-9_]*")
MODULE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\.py")
EXCHANGE_DIRECTIONS = ("in", "out")  # see exchange.py
PRELOAD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")  # a dotted module name
DATA_PART_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")  # no "..", no hidden names
EXTRA_RE = re.compile(r"[a-z0-9][a-z0-9-]*")  # an optional-dependency group of pyproject.toml

BUILTIN_DEFAULTS: dict[str, Any] = {"time_limit": 300, "call_timeout": 30, "memory_limit_mb": 4096}

_TOP_KEYS = {"term": True, "defaults": False, "assignments": True}  # key -> required
_DEFAULT_KEYS = {"time_limit": False, "call_timeout": False, "memory_limit_mb": False, "late_policy": False}
_ASSIGNMENT_KEYS = {
    "title": True,
    "section": True,
    "points": True,
    "due": True,
    "enabled": True,
    "modules": False,
    "data": False,
    "exchange": False,
    "extras": False,
    "preload": False,
    **_DEFAULT_KEYS,
}
_LATE_KEYS = {"grace_minutes": False, "penalty_per_day": True, "max_days_late": False}


@dataclass(frozen=True)
class LatePolicy:
    """How late work is scored: a grace period, a penalty per started day, an optional cut-off."""

    grace_minutes: float = 0.0
    penalty_per_day: float = 0.0
    max_days_late: int | None = None

    def multiplier(self, due: datetime, submitted: datetime) -> float:
        """The factor (between 0 and 1) applied to the score of work submitted at ``submitted``."""
        lateness = submitted - due
        if lateness <= timedelta(minutes=self.grace_minutes):
            return 1.0
        days = math.ceil(lateness / timedelta(days=1))
        if self.max_days_late is not None and days > self.max_days_late:
            return 0.0
        return max(0.0, 1.0 - self.penalty_per_day * days)


@dataclass(frozen=True)
class Assignment:
    """One assignment of the term, with every limit resolved (its own value, else the term's default)."""

    id: str
    folder: str
    title: str
    section: str
    points: float
    due: datetime
    enabled: bool
    time_limit: float
    call_timeout: float
    memory_limit_mb: int
    modules: tuple[str, ...]
    late_policy: LatePolicy | None = None
    # files or folders under assignments/<folder>/ that the submission's code may read, beside its modules
    data: tuple[str, ...] = ()
    # the directions files cross the sandbox in ("in": folders the suite sends, "out": files it collects)
    exchange: tuple[str, ...] = ()
    # the optional-dependency groups of pyproject.toml that the hidden suite needs when it grades
    extras: tuple[str, ...] = ()
    # library modules the fork server imports once, before any submission, so that no worker pays for them
    preload: tuple[str, ...] = ()

    def late_multiplier(self, submitted: datetime) -> float:
        """The factor applied to the score of work submitted at ``submitted`` (timezone-aware)."""
        if self.late_policy is None:
            return 1.0
        return self.late_policy.multiplier(self.due, submitted)


@dataclass(frozen=True)
class Course:
    """The term: its label, its assignments by folder name, and the kit's root folder."""

    term: str
    assignments: dict[str, Assignment]
    root: Path

    def resolve(self, name: str) -> Assignment:
        """The assignment called ``name``, by id or folder in any case: ``a3``, ``A3``, ``a3_attention``."""
        key = name.strip().rstrip("/\\").lower()
        for assignment in self.assignments.values():
            if key in (assignment.id, assignment.folder):
                return assignment
        choices = ", ".join(f"{a.id} ({a.folder})" for a in self.assignments.values())
        names = [a.id for a in self.assignments.values()] + list(self.assignments)
        close = difflib.get_close_matches(key, names, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise KitError(f"unknown assignment {name!r}; {hint}valid assignments: {choices or 'none'}")


def kit_root() -> Path:
    """The kit's root folder, the one holding ``course.yml``.

    ``$LLMKIT_ROOT`` wins when set. Otherwise it is the parent of the ``autograder`` package when that holds
    ``course.yml`` (a checkout or a student bundle), else the nearest folder at or above the current
    directory that holds ``course.yml`` (the engine installed as a package, run from inside the kit).
    """
    env = os.environ.get(ROOT_ENV, "").strip()
    if env:
        root = Path(env).expanduser().resolve()
        if not root.is_dir():
            raise KitError(f"{ROOT_ENV}={env} is not a folder")
        return root
    package_parent = Path(__file__).resolve().parent.parent
    if (package_parent / COURSE_FILE).is_file():
        return package_parent
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / COURSE_FILE).is_file():
            return folder
    raise KitError(f"cannot find the kit's {COURSE_FILE}; run inside the kit or set {ROOT_ENV}")


def load_course(path: Path | None = None) -> Course:
    """Read and validate ``course.yml`` (by default the one in :func:`kit_root`)."""
    path = Path(path) if path is not None else kit_root() / COURSE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CourseError(f"no {path.name} at {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CourseError(f"cannot read {path}: {exc}") from None
    reader = _Reader(path.name)
    root_node = reader.compose(text)
    return reader.course(root_node, path.resolve().parent)


# ----------------------------------------------------------------------------------------------------
# Validation on the YAML node tree


class _Entry:
    """A key of a mapping with its value node and its dotted path, for error messages."""

    def __init__(self, key: ScalarNode, value: Node, path: str) -> None:
        self.key, self.value, self.path = key, value, path

    @property
    def line(self) -> int:
        return self.key.start_mark.line + 1


class _Reader:
    """Turns the node tree of ``course.yml`` into a :class:`Course`, raising on the first problem."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self._constructor = SafeConstructor()

    def error(self, line: int, path: str, message: str) -> CourseError:
        where = f"{path}: " if path else ""
        return CourseError(f"{self.filename}:{line}: {where}{message}")

    def compose(self, text: str) -> Node:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            problem = " ".join(str(exc.problem or exc.context or "").split())
            raise self.error(line, "", f"not valid YAML: {problem}") from None
        except yaml.YAMLError as exc:
            raise CourseError(f"{self.filename}: not valid YAML: {' '.join(str(exc).split())}") from None
        if node is None:
            raise CourseError(f"{self.filename}: the file is empty")
        return node

    # -- generic helpers

    def check_tag(self, node: Node, line: int, path: str) -> None:
        """Refuse explicit tags such as ``!!python/object`` on lists and mappings (safe YAML only)."""
        if node.tag not in ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
            raise self.error(line, path, f"unsupported YAML tag {node.tag}")

    def scalar(self, entry: _Entry) -> Any:
        """The Python value of a scalar node, with safe_load semantics; raises for lists and mappings."""
        node = entry.value
        if not isinstance(node, ScalarNode):
            raise self.error(entry.line, entry.path, f"expected a single value, got {_describe(node)}")
        try:
            return self._constructor.construct_object(node)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or exc
            raise self.error(entry.line, entry.path, f"cannot read this value: {problem}") from None

    def mapping(self, node: Node, path: str, line: int, keys: dict[str, bool]) -> dict[str, _Entry]:
        """The entries of a mapping node, after checking for duplicate, unknown and missing keys."""
        if not isinstance(node, MappingNode):
            raise self.error(line, path, f"expected a mapping of keys to values, got {_describe(node)}")
        self.check_tag(node, line, path)
        entries: dict[str, _Entry] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                raise self.error(key_line, path, f"keys must be plain names, got {_describe(key_node)}")
            key = key_node.value
            if key in entries:
                first = entries[key].line
                raise self.error(key_line, _join(path, key), f"duplicate key (first given on line {first})")
            if key not in keys:
                raise self.error(key_line, _join(path, key), _unknown_key_message(key, keys))
            entries[key] = _Entry(key_node, value_node, _join(path, key))
        for key, required in keys.items():
            if required and key not in entries:
                raise self.error(line, path or "(top level)", f"missing required key {key!r}")
        return entries

    def text(self, entry: _Entry) -> str:
        """A non-empty string; numbers are taken as written (``20.10`` stays ``"20.10"``)."""
        value = self.scalar(entry)
        if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
            raise self.error(entry.line, entry.path, f"expected some text, got {_describe(entry.value)}")
        return entry.value.value.strip()

    def number(self, entry: _Entry, check: Callable[[float], bool], wanted: str) -> float:
        value = self.scalar(entry)
        if isinstance(value, bool) or not isinstance(value, int | float) or not check(value):
            raise self.error(entry.line, entry.path, f"expected {wanted}, got {_describe(entry.value)}")
        return value

    def positive(self, entry: _Entry) -> float:
        return self.number(entry, lambda x: math.isfinite(x) and x > 0, "a positive number")

    def positive_int(self, entry: _Entry) -> int:
        value = self.number(entry, lambda x: isinstance(x, int) and x > 0, "a positive whole number")
        return int(value)

    def boolean(self, entry: _Entry) -> bool:
        value = self.scalar(entry)
        if not isinstance(value, bool):
            raise self.error(entry.line, entry.path, f"expected true or false, got {_describe(entry.value)}")
        return value

    def due(self, entry: _Entry) -> datetime:
        value = self.scalar(entry)
        example = "e.g. 2026-10-30T23:59:00+01:00"
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                raise self.error(
                    entry.line, entry.path, f"expected a date and time ({example}), got {value!r}"
                ) from None
        if isinstance(value, date) and not isinstance(value, datetime):
            raise self.error(entry.line, entry.path, f"a due date needs a time and a timezone ({example})")
        if not isinstance(value, datetime):
            got = _describe(entry.value)
            raise self.error(entry.line, entry.path, f"expected a date and time ({example}), got {got}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise self.error(entry.line, entry.path, f"the due date needs a timezone ({example})")
        return value

    def items(self, entry: _Entry, example: str) -> Iterator[tuple[_Entry, Any]]:
        """Each item of the list ``entry`` (with its own entry, for error messages) and its value."""
        node = entry.value
        if not isinstance(node, SequenceNode):
            raise self.error(entry.line, entry.path, f"expected {example}, got {_describe(node)}")
        self.check_tag(node, entry.line, entry.path)
        for index, item in enumerate(node.value):
            item_entry = _Entry(item, item, f"{entry.path}[{index}]")
            yield item_entry, self.scalar(item_entry)

    def modules(self, entry: _Entry) -> tuple[str, ...]:
        names: list[str] = []
        for item_entry, value in self.items(entry, "a list of file names"):
            if not isinstance(value, str) or not MODULE_RE.fullmatch(value):
                raise self.error(
                    item_entry.line,
                    item_entry.path,
                    f"expected a module file name such as attention.py, got {_describe(item_entry.value)}",
                )
            if value in names:
                raise self.error(item_entry.line, item_entry.path, f"{value} is listed twice")
            names.append(value)
        return tuple(names)

    def exchange(self, entry: _Entry) -> tuple[str, ...]:
        """The directions files cross the sandbox in: a list of ``in`` and ``out``."""
        found: list[str] = []
        for item_entry, value in self.items(entry, "a list such as [in, out]"):
            if value not in EXCHANGE_DIRECTIONS or value in found:
                got = "listed twice" if value in found else f"got {_describe(item_entry.value)}"
                raise self.error(item_entry.line, item_entry.path, f"expected in or out, {got}")
            found.append(value)
        return tuple(found)

    def names(
        self, entry: _Entry, example: str, pattern: re.Pattern, expected: str
    ) -> list[tuple[_Entry, str]]:
        """The items of a list of distinct names that match ``pattern`` (``expected`` names one in errors)."""
        found: list[tuple[_Entry, str]] = []
        for item_entry, value in self.items(entry, example):
            seen = value in [v for _, v in found]
            if not isinstance(value, str) or not pattern.fullmatch(value) or seen:
                got = "listed twice" if seen else f"got {_describe(item_entry.value)}"
                raise self.error(item_entry.line, item_entry.path, f"expected {expected}, {got}")
            found.append((item_entry, value))
        return found

    def preload(self, entry: _Entry, modules: tuple[str, ...]) -> tuple[str, ...]:
        """Library modules to import in the fork server: dotted names, none of them a submitted module."""
        own = {m.removesuffix(".py") for m in modules} | {"_notebook"}
        found = self.names(
            entry, "a list of module names", PRELOAD_RE, "a library module name such as transformers"
        )
        for item_entry, value in found:
            if value.split(".")[0] in own:
                message = f"{value} is a module of the submission; only libraries are preloaded"
                raise self.error(item_entry.line, item_entry.path, message)
        return tuple(value for _, value in found)

    def data(self, entry: _Entry) -> tuple[str, ...]:
        """Relative paths inside the assignment's folder: no absolute path, no ``..``, nothing hidden."""
        paths: list[str] = []
        for item_entry, value in self.items(entry, "a list of paths"):
            parts = value.replace("\\", "/").strip("/").split("/") if isinstance(value, str) else []
            if (
                not parts
                or value.startswith(("/", "\\"))
                or any(not DATA_PART_RE.fullmatch(part) for part in parts)
            ):
                got = _describe(item_entry.value)
                raise self.error(
                    item_entry.line,
                    item_entry.path,
                    f"expected a path inside the assignment's folder such as models, got {got}",
                )
            path = "/".join(parts)
            if path in paths:
                raise self.error(item_entry.line, item_entry.path, f"{path} is listed twice")
            paths.append(path)
        return tuple(paths)

    def extras(self, entry: _Entry) -> tuple[str, ...]:
        """Names of pyproject.toml's optional-dependency groups, such as ``[lora]``."""
        expected = "the name of an extra of pyproject.toml such as lora"
        return tuple(value for _, value in self.names(entry, "a list such as [lora]", EXTRA_RE, expected))

    def late_policy(self, entry: _Entry) -> LatePolicy | None:
        if isinstance(entry.value, ScalarNode) and self.scalar(entry) is None:
            return None  # `late_policy:` left empty or null: no penalty
        fields = self.mapping(entry.value, entry.path, entry.line, _LATE_KEYS)
        policy: dict[str, Any] = {}
        if "grace_minutes" in fields:
            wanted = "a number of minutes >= 0"
            policy["grace_minutes"] = float(self.number(fields["grace_minutes"], lambda x: x >= 0, wanted))
        policy["penalty_per_day"] = self.number(
            fields["penalty_per_day"], lambda x: 0 <= x <= 1, "a fraction between 0 and 1"
        )
        if "max_days_late" in fields:
            wanted = "a whole number of days >= 0"
            check = lambda x: isinstance(x, int) and x >= 0  # noqa: E731
            policy["max_days_late"] = int(self.number(fields["max_days_late"], check, wanted))
        return LatePolicy(**policy)

    # -- the course

    def limits(self, fields: dict[str, _Entry]) -> dict[str, Any]:
        """The limits given in a ``defaults`` or assignment mapping (only those present)."""
        out: dict[str, Any] = {}
        for key in ("time_limit", "call_timeout"):
            if key in fields:
                out[key] = self.positive(fields[key])
        if "memory_limit_mb" in fields:
            out["memory_limit_mb"] = self.positive_int(fields["memory_limit_mb"])
        if "late_policy" in fields:
            out["late_policy"] = self.late_policy(fields["late_policy"])
        return out

    def course(self, node: Node, root: Path) -> Course:
        top = self.mapping(node, "", node.start_mark.line + 1, _TOP_KEYS)
        term = self.text(top["term"])
        defaults = {**BUILTIN_DEFAULTS, "late_policy": None}
        if "defaults" in top:
            entry = top["defaults"]
            defaults.update(self.limits(self.mapping(entry.value, entry.path, entry.line, _DEFAULT_KEYS)))
        entry = top["assignments"]
        return Course(term=term, assignments=self.assignments(entry, defaults), root=root)

    def assignments(self, entry: _Entry, defaults: dict[str, Any]) -> dict[str, Assignment]:
        node = entry.value
        if not isinstance(node, MappingNode):
            got = _describe(node)
            raise self.error(entry.line, entry.path, f"expected a mapping of assignment folders, got {got}")
        self.check_tag(node, entry.line, entry.path)
        out: dict[str, Assignment] = {}
        lines_by_id: dict[str, int] = {}
        for key_node, value_node in node.value:
            item = _Entry(key_node, value_node, _join(entry.path, str(key_node.value)))
            folder = key_node.value if isinstance(key_node, ScalarNode) else ""
            match = FOLDER_RE.fullmatch(folder)
            if not match:
                message = f"an assignment folder is named a<N>_<name>, like a3_attention, got {folder!r}"
                raise self.error(item.line, entry.path, message)
            if folder in out:
                message = f"duplicate key (first given on line {lines_by_id[_id_of(folder)]})"
                raise self.error(item.line, item.path, message)
            ident = _id_of(folder)
            if ident in lines_by_id:
                message = f"the id {ident} is already used on line {lines_by_id[ident]}"
                raise self.error(item.line, item.path, message)
            lines_by_id[ident] = item.line
            out[folder] = self.assignment(item, ident, folder, defaults)
        if not out:
            raise self.error(entry.line, entry.path, "no assignments are listed")
        return out

    def assignment(self, entry: _Entry, ident: str, folder: str, defaults: dict[str, Any]) -> Assignment:
        fields = self.mapping(entry.value, entry.path, entry.line, _ASSIGNMENT_KEYS)
        limits = {**defaults, **self.limits(fields)}
        enabled = self.boolean(fields["enabled"])
        modules = self.modules(fields["modules"]) if "modules" in fields else ()
        data = self.data(fields["data"]) if "data" in fields else ()
        exchange = self.exchange(fields["exchange"]) if "exchange" in fields else ()
        extras = self.extras(fields["extras"]) if "extras" in fields else ()
        preload = self.preload(fields["preload"], modules) if "preload" in fields else ()
        clash = sorted(set(modules) & {d.split("/")[0] for d in data})
        if clash:
            raise self.error(fields["data"].line, fields["data"].path, f"{clash[0]} is a submitted module")
        if enabled and not modules:
            where = fields["modules"] if "modules" in fields else entry
            raise self.error(where.line, where.path, "an enabled assignment needs its list of modules")
        if limits["call_timeout"] > limits["time_limit"]:
            where = fields.get("call_timeout") or fields.get("time_limit") or entry
            message = (
                f"call_timeout ({limits['call_timeout']:g} s) is longer than "
                f"time_limit ({limits['time_limit']:g} s)"
            )
            raise self.error(where.line, where.path, message)
        return Assignment(
            id=ident,
            folder=folder,
            title=self.text(fields["title"]),
            section=self.text(fields["section"]),
            points=float(self.positive(fields["points"])),
            due=self.due(fields["due"]),
            enabled=enabled,
            time_limit=float(limits["time_limit"]),
            call_timeout=float(limits["call_timeout"]),
            memory_limit_mb=int(limits["memory_limit_mb"]),
            modules=modules,
            late_policy=limits["late_policy"],
            data=data,
            exchange=exchange,
            extras=extras,
            preload=preload,
        )


def _id_of(folder: str) -> str:
    """The id of an assignment folder: ``a3`` for ``a3_attention``."""
    return folder.split("_", 1)[0]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _describe(node: Node) -> str:
    """A short description of a node's value for error messages: ``'ten'``, ``-3``, ``a list``."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == "tag:yaml.org,2002:null":
        return "nothing"
    if node.tag == "tag:yaml.org,2002:str":
        return repr(node.value)
    return str(node.value)


def _unknown_key_message(key: str, allowed: dict[str, bool]) -> str:
    if not allowed:
        return "unknown key"
    close = difflib.get_close_matches(key, list(allowed), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown key{hint} (allowed: {', '.join(allowed)})"
