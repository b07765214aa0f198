"""course.yml: the kit's file loads, each mistake names its line and key, assignments resolve by name."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from autograder.course import Assignment, LatePolicy, kit_root, load_course
from autograder.errors import CourseError, KitError

BASE = """\
term: Test term
defaults:
  time_limit: 100
  call_timeout: 10
  memory_limit_mb: 2048
assignments:
  a3_attention:
    title: Decoder-only architecture
    section: "20.3"
    points: 100
    due: 2026-10-30T23:59:00+01:00
    enabled: true
    modules: [attention.py, model.py]
  a4_context:
    title: Context window
    section: 20.40
    points: 50
    due: "2026-11-13T23:59:00+01:00"
    enabled: false
    time_limit: 200
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "course.yml"
    path.write_text(text, encoding="utf-8")
    return path


def with_line(line: int, new: str | None) -> str:
    """BASE with line ``line`` (1-based) replaced by ``new``, or removed when ``new`` is None."""
    lines = BASE.splitlines()
    if new is None:
        del lines[line - 1]
    else:
        lines[line - 1] = new
    return "\n".join(lines) + "\n"


# -- the course kit's own course.yml -------------------------------------------------------------------------


def test_the_kits_course_yml_is_valid() -> None:
    course = load_course(kit_root() / "course.yml")
    assert list(course.assignments) == [
        "a1_scale",
        "a2_scaling_laws",
        "a3_attention",
        "a4_context",
        "a5_moe",
        "a6_prompting",
        "a7_open_models",
    ]
    assert [a.id for a in course.assignments.values()] == [f"a{n}" for n in range(1, 8)]
    assert [a.section for a in course.assignments.values()] == [f"20.{n}" for n in range(1, 8)]
    a3 = course.resolve("a3")
    assert a3.enabled and a3.points == 100
    assert a3.modules == ("attention.py", "model.py", "sampling.py")
    dues = [a.due for a in course.assignments.values()]
    assert all(d.tzinfo is not None for d in dues)
    assert dues == sorted(dues)
    assert all(a.modules for a in course.assignments.values())
    assert course.root == kit_root()


def test_kit_root_is_the_folder_of_course_yml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LLMKIT_ROOT", raising=False)
    root = kit_root()
    assert (root / "course.yml").is_file() and (root / "autograder").is_dir()
    monkeypatch.setenv("LLMKIT_ROOT", str(tmp_path))
    assert kit_root() == tmp_path.resolve()
    monkeypatch.setenv("LLMKIT_ROOT", str(tmp_path / "nowhere"))
    with pytest.raises(KitError, match="LLMKIT_ROOT"):
        kit_root()


def test_load_course_defaults_to_the_kit_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write(tmp_path, BASE)
    monkeypatch.setenv("LLMKIT_ROOT", str(tmp_path))
    course = load_course()
    assert course.term == "Test term"
    assert course.root == tmp_path.resolve()


# -- loading -------------------------------------------------------------------------------------------------


def test_values_defaults_and_overrides(tmp_path: Path) -> None:
    course = load_course(write(tmp_path, BASE))
    a3, a4 = course.assignments["a3_attention"], course.assignments["a4_context"]
    assert a3 == Assignment(
        id="a3",
        folder="a3_attention",
        title="Decoder-only architecture",
        section="20.3",
        points=100.0,
        due=datetime(2026, 10, 30, 22, 59, tzinfo=UTC),
        enabled=True,
        time_limit=100.0,
        call_timeout=10.0,
        memory_limit_mb=2048,
        modules=("attention.py", "model.py"),
        late_policy=None,
    )
    assert a4.section == "20.40"  # taken as written, not as the float 20.4
    assert a4.due == datetime(2026, 11, 13, 22, 59, tzinfo=UTC)  # a quoted ISO string works too
    assert (a4.time_limit, a4.call_timeout, a4.memory_limit_mb) == (200.0, 10.0, 2048)
    assert a4.modules == () and not a4.enabled


def test_builtin_defaults_when_no_defaults_mapping(tmp_path: Path) -> None:
    text = "\n".join(line for i, line in enumerate(BASE.splitlines(), 1) if not 2 <= i <= 5) + "\n"
    a3 = load_course(write(tmp_path, text)).resolve("a3")
    assert (a3.time_limit, a3.call_timeout, a3.memory_limit_mb) == (300.0, 30.0, 4096)


def test_late_policy(tmp_path: Path) -> None:
    text = BASE.replace(
        "  memory_limit_mb: 2048\n",
        "  memory_limit_mb: 2048\n  late_policy:\n    grace_minutes: 10\n    penalty_per_day: 0.25\n"
        "    max_days_late: 2\n",
    )
    text += "    late_policy:\n"  # a4 switches the penalty off
    course = load_course(write(tmp_path, text))
    a3, a4 = course.resolve("a3"), course.resolve("a4")
    assert a3.late_policy == LatePolicy(grace_minutes=10.0, penalty_per_day=0.25, max_days_late=2)
    assert a4.late_policy is None
    due = a3.due
    assert a3.late_multiplier(due - timedelta(days=3)) == 1.0
    assert a3.late_multiplier(due + timedelta(minutes=9)) == 1.0
    assert a3.late_multiplier(due + timedelta(minutes=11)) == 0.75
    assert a3.late_multiplier(due + timedelta(days=1, minutes=1)) == 0.5
    assert a3.late_multiplier(due + timedelta(days=2, minutes=1)) == 0.0
    assert a4.late_multiplier(a4.due + timedelta(days=30)) == 1.0


# -- resolving names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a3", "A3", "a3_attention", "A3_Attention", " a3 ", "a3_attention/"])
def test_resolve_by_id_or_folder(tmp_path: Path, name: str) -> None:
    assert load_course(write(tmp_path, BASE)).resolve(name).folder == "a3_attention"


def test_resolve_unknown_lists_the_valid_ids(tmp_path: Path) -> None:
    course = load_course(write(tmp_path, BASE))
    with pytest.raises(KitError) as info:
        course.resolve("a33")
    message = str(info.value)
    assert "'a33'" in message and "did you mean a3?" in message
    assert "a3 (a3_attention)" in message and "a4 (a4_context)" in message
    assert "\n" not in message


# -- validation: every message names file:line and the key path ----------------------------------------------


A3 = "assignments.a3_attention"
L = with_line

# (course.yml text, the start of the error message after "course.yml:")
ERRORS = [
    (L(10, "    points: ten"), f"10: {A3}.points: expected a positive number, got 'ten'"),
    (L(10, "    points: -5"), f"10: {A3}.points: expected a positive number, got -5"),
    (L(10, "    points: true"), f"10: {A3}.points: expected a positive number, got true"),
    (L(10, "    points: .nan"), f"10: {A3}.points: expected a positive number"),
    (L(10, "    points:"), f"10: {A3}.points: expected a positive number, got nothing"),
    (L(10, "    pionts: 100"), f"10: {A3}.pionts: unknown key; did you mean 'points'?"),
    (L(11, None), f"7: {A3}: missing required key 'due'"),
    (L(11, "    due: 2026-10-30"), f"11: {A3}.due: a due date needs a time and a timezone"),
    (L(11, "    due: 2026-10-30T23:59:00"), f"11: {A3}.due: the due date needs a timezone"),
    (L(11, "    due: next friday"), f"11: {A3}.due: expected a date and time"),
    (L(11, "    due: 5"), f"11: {A3}.due: expected a date and time"),
    (L(12, "    enabled: maybe"), f"12: {A3}.enabled: expected true or false, got 'maybe'"),
    (L(13, "    modules: attention.py"), f"13: {A3}.modules: expected a list of file names"),
    (
        L(13, "    modules: [attention.py, attention.py]"),
        f"13: {A3}.modules[1]: attention.py is listed twice",
    ),
    (L(13, "    modules: [attention]"), f"13: {A3}.modules[0]: expected a module file name"),
    (L(13, "    modules: [../evil.py]"), f"13: {A3}.modules[0]: expected a module file name"),
    (L(13, "    modules: []"), f"13: {A3}.modules: an enabled assignment needs its list of modules"),
    (L(13, None), f"7: {A3}: an enabled assignment needs its list of modules"),
    (L(8, "    title: [a, b]"), f"8: {A3}.title: expected a single value, got a list"),
    (L(8, "    title: ''"), f"8: {A3}.title: expected some text, got ''"),
    (L(7, "  attention:"), "7: assignments: an assignment folder is named a<N>_<name>"),
    (L(7, "  a03_attention:"), "7: assignments: an assignment folder is named a<N>_<name>"),
    (L(14, "  a3_context:"), "14: assignments.a3_context: the id a3 is already used on line 7"),
    (L(14, "  a3_attention:"), f"14: {A3}: duplicate key (first given on line 7)"),
    (L(3, "  time_limt: 100"), "3: defaults.time_limt: unknown key; did you mean 'time_limit'?"),
    (L(4, "  call_timeout: 0"), "4: defaults.call_timeout: expected a positive number, got 0"),
    (
        L(5, "  memory_limit_mb: 1.5"),
        "5: defaults.memory_limit_mb: expected a positive whole number, got 1.5",
    ),
    (L(4, "  call_timeout: 150"), f"7: {A3}: call_timeout (150 s) is longer than time_limit (100 s)"),
    (
        L(20, "    call_timeout: 300"),
        "20: assignments.a4_context.call_timeout: call_timeout (300 s) is longer",
    ),
    (
        BASE.replace("defaults:\n", "defaults: 5\nx:\n"),
        "3: x: unknown key (allowed: term, defaults, assignments)",
    ),
    ("term: t\ndefaults: 5\nassignments:\n", "2: defaults: expected a mapping of keys to values, got 5"),
    (L(1, "trem: Test term"), "1: trem: unknown key; did you mean 'term'?"),
    (L(1, None), "1: (top level): missing required key 'term'"),
    ("term: t\nassignments: {}\n", "2: assignments: no assignments are listed"),
    ("term: t\nassignments: [a3]\n", "2: assignments: expected a mapping of assignment folders, got a list"),
    ("term: t\nassignments: !!python/object:x {}\n", "2: assignments: unsupported YAML tag"),
    (L(10, "    points: 100\n    points: 90"), f"11: {A3}.points: duplicate key (first given on line 10)"),
    (L(10, "    points: !!python/name:os.system"), f"10: {A3}.points: cannot read this value"),
    (L(13, "    modules: !!python/tuple [attention.py]"), f"13: {A3}.modules: unsupported YAML tag"),
    (L(10, "    points: 100: 5"), "10: not valid YAML: mapping values are not allowed here"),
    (
        L(4, "  call_timeout: 10\n  late_policy: {penalty_per_day: 2}"),
        "5: defaults.late_policy.penalty_per_day: expected a fraction between 0 and 1, got 2",
    ),
    (
        L(4, "  call_timeout: 10\n  late_policy: {grace_minute: 5}"),
        "5: defaults.late_policy.grace_minute: unknown key; did you mean 'grace_minutes'?",
    ),
    (
        L(4, "  call_timeout: 10\n  late_policy: {grace_minutes: 5}"),
        "5: defaults.late_policy: missing required key 'penalty_per_day'",
    ),
    ("- a\n- b\n", "1: expected a mapping of keys to values, got a list"),
    ("", " the file is empty"),
    ("a: 1\n---\nb: 2\n", "2: not valid YAML"),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS, ids=[expected[:60] for _, expected in ERRORS])
def test_validation_errors_name_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(CourseError) as info:
        load_course(write(tmp_path, text))
    message = str(info.value)
    assert message.startswith(f"course.yml:{expected}"), message
    assert "\n" not in message


def test_a_missing_file_is_a_kit_error(tmp_path: Path) -> None:
    with pytest.raises(KitError, match=re.escape(f"no course.yml at {tmp_path / 'course.yml'}")):
        load_course(tmp_path / "course.yml")


def test_yaml_tags_are_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    text = with_line(8, f"    title: !!python/object/apply:os.system ['touch {marker}']")
    with pytest.raises(CourseError):
        load_course(write(tmp_path, text))
    assert not marker.exists()


def test_preloaded_modules_are_libraries(tmp_path: Path) -> None:
    base = BASE + "    modules: [rope.py]\n"
    course = load_course(write(tmp_path, base + "    preload: [transformers.models.llama, safetensors]\n"))
    assert course.assignments["a4_context"].preload == ("transformers.models.llama", "safetensors")
    assert course.assignments["a3_attention"].preload == ()
    for bad, message in (
        ("[rope]", "rope is a module of the submission"),
        ("[rope.helpers]", "is a module of the submission"),
        ("[_notebook]", "is a module of the submission"),
        ("[os, os]", "listed twice"),
        ("['../x']", "a library module name"),
        ("transformers", "a list"),
    ):
        with pytest.raises(CourseError, match=message):
            load_course(write(tmp_path, base + f"    preload: {bad}\n"))


def test_the_file_exchange_is_declared_per_assignment(tmp_path: Path) -> None:
    course = load_course(write(tmp_path, BASE + "    exchange: [in, out]\n"))
    assert course.assignments["a4_context"].exchange == ("in", "out")
    assert course.assignments["a3_attention"].exchange == ()
    for bad, message in (
        ("[in, in]", "listed twice"),
        ("[sideways]", "expected in or out"),
        ("in", "a list"),
    ):
        with pytest.raises(CourseError, match=message):
            load_course(write(tmp_path, BASE + f"    exchange: {bad}\n"))


def test_the_extras_a_suite_needs_are_declared_per_assignment(tmp_path: Path) -> None:
    course = load_course(write(tmp_path, BASE + "    extras: [lora, chat-oracles]\n"))
    assert course.assignments["a4_context"].extras == ("lora", "chat-oracles")
    assert course.assignments["a3_attention"].extras == ()
    for bad, message in (
        ("[lora, lora]", "listed twice"),
        ("[Lora!]", "extra of pyproject"),
        ("lora", "a list"),
    ):
        with pytest.raises(CourseError, match=message):
            load_course(write(tmp_path, BASE + f"    extras: {bad}\n"))
