"""Quality of the a3 grading suites: they must tell right from wrong.

- The reference scores full marks on the hidden suite and on the public tests; the generated starter scores 0
  on both, every test failing with NotImplementedError in its message.
- The hidden suite's points follow the task split of the handout (100 in all).
- Every mutant in ``a3_mutants.py`` (a realistic student bug) loses points on the hidden suite.
- Every alternative under ``tests/alternatives/a3_attention/`` (a correct implementation written differently)
  scores full marks on the hidden suite and on the public tests.
- The public tests' filter oracle (HF's logits processors) agrees with the handout's top-p on the inputs
  they draw.

Grading runs through the command line in a subprocess (grading forks processes and starts a sandboxed fork
server; that is best kept out of the pytest process), a whole batch per run: the reference, the starter and
the alternatives in one run per suite, all the mutants in one run that stops each at its first lost point.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
FOLDER = "a3_attention"
REFERENCE = ROOT / "solutions" / FOLDER
STARTER = ROOT / "starter" / FOLDER
ALTERNATIVES = ROOT / "tests" / "alternatives" / FOLDER
MODULES = ("attention.py", "model.py", "sampling.py")
TASK_POINTS = {  # test file of the hidden suite -> points of the task (the handout's split)
    "test_softmax.py": 10,
    "test_attention.py": 20,
    "test_mha.py": 15,
    "test_block.py": 10,
    "test_gpt.py": 20,
    "test_loss.py": 10,
    "test_sampling.py": 15,
}


def _load(name: str, path: Path):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


MUTANTS = _load("llmkit_quality_a3_mutants", Path(__file__).with_name("a3_mutants.py")).MUTANTS
ALTERNATIVE_NAMES = sorted(p.name for p in ALTERNATIVES.iterdir() if p.is_dir())


def _copy_reference(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in MODULES:
        shutil.copy(REFERENCE / name, dest / name)
    return dest


def _apply(source: str, old: str, new: str) -> str | None:
    """The patched source, or None when ``old`` does not occur exactly once."""
    return source.replace(old, new) if source.count(old) == 1 else None


def _grade(
    grade, submissions: list[Path], out: Path, *, public: bool = False, fail_fast: bool = False
) -> dict:
    """Grade a batch with the command line; {submission folder name: results.json}."""
    options = ["--jobs", "2"] + (["--public"] if public else []) + (["--fail-fast"] if fail_fast else [])
    return grade("a3", submissions, out, *options)


def _failures(result: dict) -> list[str]:
    return [
        f"{t['name']}: {t.get('output', '')[:300]}" for t in result["tests"] if t["score"] < t["max_score"]
    ]


# ---------------------------------------------------------------------------------------------- batches


@pytest.fixture(scope="module")
def submissions(tmp_path_factory) -> dict[str, Path]:
    """The reference, the starter and every alternative (the reference with its modules swapped in)."""
    root = tmp_path_factory.mktemp("a3_submissions")
    subs = {"reference": _copy_reference(root / "reference")}
    assert all((STARTER / m).is_file() for m in MODULES), "no generated starter: run `llmkit build`"
    subs["starter"] = root / "starter"
    shutil.copytree(STARTER, subs["starter"], ignore=shutil.ignore_patterns("__pycache__"))
    for name in ALTERNATIVE_NAMES:
        dest = _copy_reference(root / f"alt_{name}")
        for module in (ALTERNATIVES / name).glob("*.py"):
            assert module.name in MODULES, f"alternative {name}: {module.name} is not an a3 module"
            shutil.copy(module, dest / module.name)
        subs[f"alt_{name}"] = dest
    return subs


@pytest.fixture(scope="module")
def hidden_results(grade, submissions, tmp_path_factory) -> dict:
    return _grade(grade, list(submissions.values()), tmp_path_factory.mktemp("a3_hidden"))


@pytest.fixture(scope="module")
def public_results(grade, submissions, tmp_path_factory) -> dict:
    return _grade(grade, list(submissions.values()), tmp_path_factory.mktemp("a3_public"), public=True)


@pytest.fixture(scope="module")
def mutant_results(grade, tmp_path_factory) -> dict:
    """All mutants in one batch, each graded until its first lost point."""
    root = tmp_path_factory.mktemp("a3_mutants")
    paths = []
    for mutant_id, module, _description, old, new in MUTANTS:
        dest = _copy_reference(root / mutant_id)
        patched = _apply((dest / module).read_text(), old, new)
        if patched is not None:  # a patch that no longer applies fails test_mutant_patch_applies
            (dest / module).write_text(patched)
            paths.append(dest)
    return _grade(grade, paths, tmp_path_factory.mktemp("a3_mutant_grades"), fail_fast=True)


# ------------------------------------------------------------------------------------- reference, starter


@pytest.mark.parametrize("suite", ["hidden", "public"])
def test_reference_full_marks(suite, hidden_results, public_results):
    result = (hidden_results if suite == "hidden" else public_results)["reference"]
    assert result["score"] == result["max_score"] == 100, "\n".join(_failures(result))


@pytest.mark.parametrize("suite", ["hidden", "public"])
def test_starter_scores_zero_with_not_implemented(suite, hidden_results, public_results):
    result = (hidden_results if suite == "hidden" else public_results)["starter"]
    assert result["score"] == 0
    assert result["tests"], "no tests ran"
    for test in result["tests"]:
        assert test["score"] == 0, test["name"]
        output = test.get("output", "")
        assert "NotImplementedError" in output, f"{test['name']}: {output[:300]}"


def test_hidden_points_follow_the_task_split(hidden_results):
    assert sum(t["max_score"] for t in hidden_results["reference"]["tests"]) == 100
    suite = ROOT / "autograder" / "suites" / FOLDER
    assert sorted(p.name for p in suite.glob("test_*.py")) == sorted(TASK_POINTS)
    for name, points in TASK_POINTS.items():
        total = sum(float(m) for m in _points_markers((suite / name).read_text()))
        assert total == points, f"{name}: {total} points, the handout's split gives {points}"


def _points_markers(source: str) -> list[str]:
    marker = "@pytest.mark.points("
    return [
        line.strip()[len(marker) :].split(")")[0]
        for line in source.splitlines()
        if line.strip().startswith(marker)
    ]


# ---------------------------------------------------------------------------------------------- mutants


def test_mutant_table():
    ids = [m[0] for m in MUTANTS]
    assert len(ids) >= 14
    assert len(ids) == len(set(ids)), "mutant ids must be unique"
    for mutant_id, module, description, old, new in MUTANTS:
        assert module in MODULES and description and old != new, mutant_id


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_mutant_patch_applies(mutant):
    mutant_id, module, _description, old, _new = mutant
    count = (REFERENCE / module).read_text().count(old)
    assert count == 1, f"{mutant_id}: the snippet occurs {count} times in {module}; update a3_mutants.py"


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_mutant_loses_points(mutant, mutant_results):
    mutant_id, module, description, _old, _new = mutant
    assert mutant_id in mutant_results, f"{mutant_id} was not graded (its patch does not apply)"
    result = mutant_results[mutant_id]
    assert "Grading error" not in result["output"], f"{mutant_id}: {result['output'][:500]}"
    assert result["score"] < result["max_score"], f"mutant survived: {mutant_id} ({module}): {description}"
    caught = [
        t for t in result["tests"] if t["score"] < t["max_score"] and not t["output"].startswith("not run")
    ]
    assert caught, f"{mutant_id}: no test reports the lost points"
    assert "internal error in the grader" not in caught[0]["output"], (
        f"{mutant_id}: the suite's own code failed on this mutant (it must fail closed with a clear "
        f"message): {caught[0]['name']}"
    )


# ---------------------------------------------------------------------------------------------- alternatives


def test_enough_alternatives():
    assert len(ALTERNATIVE_NAMES) >= 4


@pytest.mark.parametrize("suite", ["hidden", "public"])
@pytest.mark.parametrize("name", ALTERNATIVE_NAMES)
def test_alternative_full_marks(name, suite, hidden_results, public_results):
    result = (hidden_results if suite == "hidden" else public_results)[f"alt_{name}"]
    assert result["score"] == result["max_score"], f"alternative {name}:\n" + "\n".join(_failures(result))


# ---------------------------------------------------------------------------------------- public oracles


def test_public_filter_oracle_agrees_with_handout():
    """The public tests compare filter_logits with HF's logits processors; on the inputs they draw (over many
    seeds) those agree with the handout's top-p, and a robust case is always found (filter_case raises
    otherwise)."""
    sys.path.insert(0, str(ROOT))  # the public helpers import the kit's checks
    common = _load("llmkit_public_a3_common", ROOT / "tests" / "public" / FOLDER / "_common.py")
    for seed in range(200):
        rng = torch.Generator().manual_seed(seed)
        for temperature, top_k in [(1.0, None), (1.5, 9), (0.7, 12)]:
            logits, top_p, expected = common.filter_case(rng, 3, 29, temperature, top_k)
            kept = torch.isfinite(expected)
            assert bool(kept.any(dim=-1).all()) and not bool(kept.all()), (seed, temperature, top_k, top_p)
