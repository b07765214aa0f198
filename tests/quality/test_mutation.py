"""The mutation tool (``mutation.py``) and its verdict on every enabled assignment.

- The generator changes only solution regions, each mutant parses and differs from the reference, every
  operator family is applied, and a mutant's key does not move when code above it does.
- The CI sample is deterministic: the same mutants whatever the order of generation.
- For each enabled assignment of course.yml: the equivalent mutants its mutants file declares still exist and
  are explained (and so are its results-only helpers), and every sampled mutant loses points on the hidden
  suite.

``LLMKIT_MUTATION_BUDGET`` sets the sample size per assignment (default ``mutation.DEFAULT_BUDGET``; ``all``
grades every mutant, as ``python -m tests.quality.mutation aN --all`` does).
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
from pathlib import Path

import pytest


def _load(name: str, path: Path):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


M = _load("llmkit_quality_mutation", Path(__file__).with_name("mutation.py"))
TARGETS = M.targets()

SOURCE = '''\
import torch


def f(x, y, items):
    """Outside the regions nothing changes."""
    z = x + 1
    # BEGIN SOLUTION
    a = x.sum(dim=-1, keepdim=True) * 2.5 - z
    if y < 3 and a is not None and y in items:
        with torch.no_grad():
            b = -a[1:, ::2]
        return b.tril()
    # END SOLUTION
    return z
'''


def _budget() -> int | None:
    value = os.environ.get("LLMKIT_MUTATION_BUDGET", "").strip().lower()
    if value == "all":
        return None
    return int(value) if value else M.DEFAULT_BUDGET


# ------------------------------------------------------------------------------------------ the generator


def test_only_solution_regions_change():
    mutants = M.mutants_of_module("toy.py", SOURCE)
    assert len(mutants) >= 30
    lines = SOURCE.splitlines()
    begin, end = lines.index("    # BEGIN SOLUTION"), lines.index("    # END SOLUTION")
    for mutant in mutants:
        got = mutant.source.splitlines()
        assert got[: begin + 1] == lines[: begin + 1], mutant.key
        assert got[len(got) - (len(lines) - end) :] == lines[end:], mutant.key


def test_mutants_parse_differ_and_are_unique():
    mutants = M.mutants_of_module("toy.py", SOURCE)
    reference = ast.dump(ast.parse(SOURCE))
    programs = [ast.dump(ast.parse(m.source)) for m in mutants]
    assert reference not in programs
    assert len(set(programs)) == len(programs), "two mutants are the same program"
    assert len({m.key for m in mutants}) == len(mutants), "two mutants share a key"
    assert len({m.folder for m in mutants}) == len(mutants)


def test_every_operator_family_is_applied():
    changes = {m.key.rsplit(" | ", 1)[1] for m in M.mutants_of_module("toy.py", SOURCE)}
    expected = {
        "`x.sum(dim=-1, keepdim=True) * 2.5` -> `x.sum(dim=-1, keepdim=True) / 2.5`",  # arithmetic
        "`x.sum(dim=-1, keepdim=True) * 2.5 - z` -> `x.sum(dim=-1, keepdim=True) * 2.5`",  # an operand kept
        "`y < 3` -> `y <= 3`",  # comparison
        "`a is not None` -> `a is None`",
        "`y in items` -> `y not in items`",
        "`-a[1:, ::2]` -> `a[1:, ::2]`",  # unary minus dropped
        "`2.5` -> `1.25`",  # constants
        "`2.5` -> `0.0`",
        "`-1` -> `-2`",
        "`3` -> `4`",
        "`True` -> `False`",
        "`1:` -> `:`",  # slices
        "`::2` -> `:`",
        "`x.sum(dim=-1, keepdim=True)` -> `x.sum(keepdim=True)`",  # keyword argument dropped
        "`b.tril()` -> `b`",  # method call dropped
        "statement replaced by `pass`",
        "`with` dropped, its body kept",
    }
    assert expected <= changes, sorted(expected - changes)
    assert any(c.startswith("`y < 3 and") and " or " in c.split("->")[1] for c in changes), "and -> or"


def test_keys_do_not_depend_on_line_numbers():
    before = [m.key for m in M.mutants_of_module("toy.py", SOURCE)]
    moved = SOURCE.replace("import torch\n", "import torch\n\nSCALE = 3  # new code above the region\n\n\n")
    after = [m.key for m in M.mutants_of_module("toy.py", moved)]
    assert before == after
    assert all("line" not in key for key in before)


def test_sample_is_deterministic():
    mutants = M.mutants_of_module("toy.py", SOURCE)
    picked = [m.key for m in M.sample(mutants, 10)]
    assert len(picked) == 10
    assert [m.key for m in M.sample(list(reversed(mutants)), 10)] == picked
    skip = {picked[0]}
    assert [m.key for m in M.sample(mutants, 9, skip=skip)] == picked[1:]
    assert len(M.sample(mutants, None)) == len(mutants)


# ------------------------------------------------------------------------------------------ assignments


def test_enabled_assignments_are_targets():
    assert TARGETS, "no enabled assignment in course.yml"
    for target in TARGETS:
        for module in target.modules:
            source = (target.reference / module).read_text()
            assert M.solution_regions(source), f"{target.id}: {module} has no solution region"


@pytest.mark.parametrize("target", TARGETS, ids=[t.id for t in TARGETS])
def test_equivalent_mutants_are_current_and_explained(target):
    mutants = M.generate(target.reference, target.modules)  # once: a7's 900 mutants take seconds to make
    keys = {m.key for m in mutants}
    for key, why in target.equivalent().items():
        assert key in keys, (
            f"{target.id}: EQUIVALENT names a mutant the tool no longer generates (the reference changed?): "
            f"{key}"
        )
        assert isinstance(why, str) and len(why.split()) >= 5, f"{target.id}: explain why {key} is equivalent"
    places = {m.key.split(" | ", 1)[0] for m in mutants}
    for where, why in target.results_only().items():
        assert where in places, f"{target.id}: RESULTS_ONLY names {where!r}, where no mutant is generated"
        assert isinstance(why, str) and len(why.split()) >= 5, (
            f"{target.id}: explain why {where} is results-only"
        )


@pytest.mark.parametrize("target", TARGETS, ids=[t.id for t in TARGETS])
def test_sampled_mutants_lose_points(target, grade, tmp_path):
    mutants = M.generate(target.reference, target.modules)
    picked = M.sample(mutants, _budget(), skip=target.skipped(mutants))
    outcomes = M.grade_mutants(target, picked, grade, tmp_path)
    survivors = [o.key for o in outcomes if not o.killed]
    assert not survivors, (
        f"{target.id}: {len(survivors)} of {len(picked)} sampled mutants keep full marks; kill each with a "
        f"test of the hidden suite, or explain it in tests/quality/{target.id}_mutants.py EQUIVALENT:\n"
        + "\n".join(survivors)
    )
