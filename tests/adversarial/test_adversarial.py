"""Submissions that try to forge their grade or harm the grader, for every enabled assignment of course.yml,
graded as root and as an unprivileged user.

The corpus is `attacks/*.py`, one attack per file, described in its docstring. An attack is code added to
every module of an assignment's starter (``# base: starter``: it must score 0) or of its reference
(``# base: reference``: attacks on the kit, which may score). The harness puts, before the attack, the
names ``ASSIGNMENT`` (the folder) and ``MODULES`` (the module names) and ``_LLMKIT_BASE`` (the public
functions and classes the base module defined); after it, when the attack defines a module ``__getattr__``,
every one of those names is rebound to ``__getattr__(name)``. ``# packaged: NAME.zip`` grades the attack as
a zip of that name. An attack that gets what it should not prints ``LLMKIT-ATTACK-SUCCEEDED``. An attack on
the file exchange names the file that collecting must refuse (``# refused: NAME``): where the assignment
collects files (``exchange: [out]``), some test must report that refusal, so the attack cannot miss the
exchange unnoticed.

For each assignment and privilege mode, one `llmkit grade --jobs 2` batch grades every attack beside the
reference, which must still score full; `llmkit check --hidden` runs the control-channel attack too. As root,
the unprivileged mode runs the command line as the user ``llmkit-ci`` (created when missing) with `runuser`;
when the Python installation lies in a folder that user cannot enter (``/root``), the command runs in a
private mount namespace where only that installation is visible in that folder.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from autograder.course import kit_root, load_course
from autograder.staging import submission_name

HERE = Path(__file__).parent
ROOT = kit_root()
ENABLED = [a for a in load_course().assignments.values() if a.enabled]
ATTACK_FILES = sorted((HERE / "attacks").glob("*.py"))
ATTACKS = [p.stem for p in ATTACK_FILES]
MARKER = "LLMKIT-ATTACK-SUCCEEDED"
CI_USER = "llmkit-ci"
MODES = ["root", "unprivileged"] if os.geteuid() == 0 else ["unprivileged"]
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

PRELUDE = """

# ---- attack added by the adversarial corpus ----
ASSIGNMENT = {folder!r}
MODULES = {modules!r}
_LLMKIT_BASE = {{_k: _v for _k, _v in dict(globals()).items() if not _k.startswith("_") and callable(_v)
                and getattr(_v, "__module__", None) == __name__}}
"""
FOOTER = """
if "__getattr__" in globals():
    for _k in _LLMKIT_BASE:
        globals()[_k] = __getattr__(_k)
"""


def _header(path: Path, key: str) -> str | None:
    match = re.search(rf"^# {key}: (.+)$", path.read_text(), re.MULTILINE)
    return match.group(1).strip() if match else None


def build(attack: Path, assignment, dest_root: Path) -> Path:
    """The attack added to each module of the assignment's starter or reference; a folder, or the zip the
    attack asks to be packaged as."""
    base = "solutions" if _header(attack, "base") == "reference" else "starter"
    folder = dest_root / attack.stem
    folder.mkdir()
    modules = [m.removesuffix(".py") for m in assignment.modules]
    code = PRELUDE.format(folder=assignment.folder, modules=modules) + attack.read_text() + FOOTER
    for module in assignment.modules:
        text = (ROOT / base / assignment.folder / module).read_text()
        (folder / module).write_text(text + code)
    packaged = _header(attack, "packaged")
    if not packaged:
        return folder
    target = dest_root / "packaged" / packaged
    target.parent.mkdir(exist_ok=True)
    with zipfile.ZipFile(target, "w") as archive:
        for module in assignment.modules:
            archive.write(folder / module, module)
    shutil.rmtree(folder)
    return target


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file of the kit (the repo, minus caches, workspaces and the corpus itself)."""
    digests = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or {"__pycache__", ".git", "work"} & set(rel.parts) or path.suffix == ".pyc":
            continue
        if rel.is_relative_to("tests/adversarial/attacks"):
            continue
        digests[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def written_by_attacks(root: Path, before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Kit files the batch changed: new or changed files that carry the attacks' marker (every attack that
    writes writes it) or that belong to another user than the one running the tests. Files changed without
    either (the kit being edited meanwhile) are not the batch's doing."""
    found = []
    for rel in sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k)):
        path = root / rel
        try:
            if b"LLMKIT-ATTACK" in path.read_bytes() or path.stat().st_uid != os.getuid():
                found.append(rel)
        except OSError:
            found.append(f"{rel} (removed)")
    return found


def leftover_processes(ci_uid: int | None, marker: str) -> list[str]:
    """Processes the batch left behind: any process of the CI user, any orphan (re-parented to init) of a
    sandbox user id, and any process with `marker` (the batch's folder, which its fork servers carry in
    their policy) in its command line. Other graders running meanwhile have none of these."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            ppid = int(Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[1])
            uid = entry.stat().st_uid
        except (OSError, ValueError, IndexError):
            continue
        if uid == ci_uid or (61000 <= uid < 64000 and ppid == 1) or marker in cmdline:
            found.append(f"{entry.name} (uid {uid}): {cmdline[:80]}")
    return found


# -------------------------------------------------------------------------------- running as another user


def _ci_uid() -> int:
    try:
        return pwd.getpwnam(CI_USER).pw_uid
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", CI_USER],
                       check=True, capture_output=True)  # fmt: skip
        return pwd.getpwnam(CI_USER).pw_uid


def _closed_ancestors(path: Path) -> list[tuple[Path, Path]]:
    """(folder others cannot enter, its child on the way to `path`) for each such ancestor of `path`."""
    chain = [path.resolve(), *path.resolve().parents]
    pairs = zip(chain, chain[1:], strict=False)
    return [(parent, child) for child, parent in pairs if not os.stat(parent).st_mode & 0o001]


def _unprivileged_prefix(home: Path) -> list[str]:
    """The command prefix that runs a command as CI_USER and lets it reach Python and the kit."""
    _ci_uid()
    env = ["env", "-i", f"HOME={home}", "PATH=/usr/bin:/bin", "LANG=C.UTF-8"]
    prefix = ["runuser", "-u", CI_USER, "--", *env]
    probe = subprocess.run([*prefix, sys.executable, "-c", "import torch, autograder"], capture_output=True,
                           cwd=ROOT, timeout=300)  # fmt: skip
    if probe.returncode == 0:
        return prefix
    closed = {}
    for target in (Path(sys.prefix), Path(sys.executable), ROOT):
        for parent, child in _closed_ancestors(target):
            closed.setdefault(parent, set()).add(child)
    if not closed or any(p.is_relative_to(q) and p != q for p in closed for q in closed):
        pytest.fail(f"{CI_USER} cannot run {sys.executable}: {probe.stderr.decode()[-500:]}")
    keep = Path(tempfile.mkdtemp(prefix="llmkit-ci-view-"))
    script = ["set -e"]
    for parent, children in closed.items():
        saved = {child: keep / str(i) for i, child in enumerate(sorted(children))}
        for child, place in saved.items():
            script += [f"mkdir -p '{place}'", f"mount --bind '{child}' '{place}'"]
        script.append(f"mount -t tmpfs -o mode=755 llmkit-ci-view '{parent}'")
        for child, place in saved.items():
            script += [f"mkdir -p '{child}'", f"mount --bind '{place}' '{child}'"]
        keep = keep / "next"
    script.append('exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(script), "sh", *prefix]


def run_cli(
    mode: str, args: list[str], home: Path, timeout: float
) -> tuple[subprocess.CompletedProcess, int]:
    """`llmkit ARGS` in `mode`; the completed process, and the process id of the grader itself."""
    prefix = _unprivileged_prefix(home) if mode == "unprivileged" and os.geteuid() == 0 else []
    command = [*prefix, sys.executable, "-m", "autograder", *args]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    return subprocess.CompletedProcess(command, proc.returncode, out, err), proc.pid


# ---------------------------------------------------------------------------------------------- the batch


@pytest.fixture(scope="module", params=[(a, m) for a in ENABLED for m in MODES],
                ids=[f"{a.id}-{m}" for a in ENABLED for m in MODES])  # fmt: skip
def graded(request):
    assignment, mode = request.param
    work = Path(tempfile.mkdtemp(prefix=f"llmkit-adversarial-{assignment.id}-"))
    os.chmod(work, 0o755)
    subs, out = work / "subs", work / "out"
    subs.mkdir()
    out.mkdir()
    paths = {p.stem: build(p, assignment, subs) for p in ATTACK_FILES}
    for path in [subs, *subs.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    ci_uid = None
    if mode == "unprivileged" and os.geteuid() == 0:
        ci_uid = _ci_uid()
        os.chown(out, ci_uid, -1)
    reference = ROOT / "solutions" / assignment.folder
    before = tree_digest(ROOT)
    start = time.monotonic()
    limits = ["--jobs", "2", "--time-limit", "30"]  # the assignment's own call timeout: the reference needs
    batch = [str(reference), *map(str, paths.values())]
    proc, _ = run_cli(mode, ["grade", assignment.id, *batch, "--out", str(out), *limits], out, 1200)
    check, _ = run_cli(mode, ["check", assignment.id, str(paths["control_channel"]), "--hidden"], out, 600)
    elapsed = time.monotonic() - start
    print(f"\nadversarial corpus, {assignment.id} as {mode}: {elapsed:.0f} s")
    time.sleep(1.0)  # give killed process trees a moment to be reaped
    yield {
        "assignment": assignment,
        "mode": mode,
        "proc": proc,
        "check": check,
        "out": out,
        "names": {attack: submission_name(path) for attack, path in paths.items()},
        "before": before,
        "after": tree_digest(ROOT),
        "elapsed": elapsed,
        "leftovers": leftover_processes(ci_uid, str(work)),
    }
    shutil.rmtree(work, ignore_errors=True)


def _results(graded, attack: str) -> dict:
    return json.loads((graded["out"] / graded["names"][attack] / "results.json").read_text())


def test_the_batch_completes(graded):
    proc = graded["proc"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (graded["out"] / "gradebook.csv").is_file()
    with (graded["out"] / "gradebook.csv").open() as handle:
        rows = {row["name"]: row for row in csv.DictReader(handle)}
    missing = set(graded["names"].values()) - set(rows)
    assert not missing, f"missing from the gradebook: {missing}"


def test_the_reference_in_the_same_batch_still_scores_full(graded):
    results = json.loads((graded["out"] / graded["assignment"].folder / "results.json").read_text())
    assert results["score"] == results["max_score"], [t for t in results["tests"] if t["status"] != "passed"]


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_gains_nothing(graded, attack):
    """Starter attacks score 0; no attack prints the success marker; nothing it wrote reaches the results
    with a control character in it."""
    results = _results(graded, attack)
    if _header(HERE / "attacks" / f"{attack}.py", "base") != "reference":
        passed = [t["name"] for t in results["tests"] if t["status"] == "passed"]
        assert results["score"] == 0 and not passed, f"{attack} earned points: {passed}"
    texts = [results["output"], *(t["output"] for t in results["tests"])]
    feedback = (graded["out"] / graded["names"][attack] / "feedback.md").read_text()
    succeeded = [line for text in texts for line in text.splitlines() if MARKER in line]
    assert not succeeded, f"{attack} in mode {graded['mode']}: {succeeded[:3]}"
    assert not [t for t in [*texts, feedback] if CONTROL.search(t)], f"{attack}: raw control characters"


EXCHANGE_ATTACKS = [p.stem for p in ATTACK_FILES if _header(p, "refused")]


@pytest.mark.parametrize("attack", EXCHANGE_ATTACKS)
def test_exchange_attacks_are_refused_where_files_are_collected(graded, attack):
    if "out" not in graded["assignment"].exchange:
        pytest.skip(f"{graded['assignment'].id} collects no files from the submission")
    refused = _header(HERE / "attacks" / f"{attack}.py", "refused")
    lines = [line for t in _results(graded, attack)["tests"] for line in t["output"].splitlines()]
    assert any("collecting " in line and refused in line for line in lines), (
        f"{attack}: no test reports a collection refusing {refused}; the attack missed the exchange"
    )


def test_output_of_hidden_tests_stays_with_them(graded):
    """print_arguments logs a tag of every call's arguments: tags seen only in tests that are not visible
    never appear in the visible output of results.json or in feedback.md."""
    results = _results(graded, "print_arguments")
    feedback = (graded["out"] / graded["names"]["print_arguments"] / "feedback.md").read_text()

    def tags(text: str) -> set[str]:
        return {line.strip() for line in text.splitlines() if line.strip().startswith("ARGS-OF-CALL")}

    hidden = set().union(*(tags(t["output"]) for t in results["tests"] if t["visibility"] != "visible"))
    visible = set().union(*(tags(t["output"]) for t in results["tests"] if t["visibility"] == "visible"))
    leaked = (hidden - visible) & (tags(results["output"]) | tags(feedback))
    assert not leaked, f"hidden tests' arguments published: {sorted(leaked)[:3]}"


def test_check_hidden_gives_the_control_channel_attack_nothing(graded):
    check = graded["check"]
    assert check.returncode == 0, check.stderr[-2000:]
    assert MARKER not in check.stdout
    assert re.search(r"Score: 0 / ", check.stdout), check.stdout[-1500:]
    assert not CONTROL.search(check.stdout)


def test_the_gradebook_stays_a_file_and_cells_are_text(graded):
    with (graded["out"] / "gradebook.csv").open() as handle:
        cells = [c for row in csv.reader(handle) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_no_file_of_the_kit_changed(graded):
    written = written_by_attacks(ROOT, graded["before"], graded["after"])
    assert written == [], f"files of the kit written by the batch: {written}"


def test_no_process_outlives_the_batch(graded):
    assert graded["leftovers"] == []


def test_nothing_escaped_into_shared_places():
    for trace in ("/tmp/llmkit-daemon-was-here", "/tmp/conftest.py", "/autograder/results/results.json"):
        assert not Path(trace).exists(), f"{trace} was written by a submission"
