"""Quality of the a3 grading suites: they must tell right from wrong.

The checks every assignment gets (reference full, starter 0, points per task, mutants lose points,
alternatives full) come from `_quality.AssignmentQuality`; a3 adds one of its own: the public tests' filter
oracle (HF's logits processors) agrees with the handout's top-p on the inputs they draw.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import torch
from _quality import (  # noqa: F401
    ROOT,
    AssignmentQuality,
    apply_patch,
    failures,
    load_module,
    pytest_generate_tests,
)

FOLDER = "a3_attention"
_MUTANTS = load_module("llmkit_quality_a3_mutants", ROOT / "tests" / "quality" / "a3_mutants.py")
EVASIONS = _MUTANTS.EVASIONS
NOTEBOOK_EVASIONS = _MUTANTS.NOTEBOOK_EVASIONS


class TestA3Quality(AssignmentQuality):
    folder = FOLDER
    min_mutants = 14
    task_points = {
        "test_softmax.py": 10,
        "test_attention.py": 20,
        "test_mha.py": 15,
        "test_block.py": 10,
        "test_gpt.py": 20,
        "test_loss.py": 10,
        "test_sampling.py": 15,
    }

    # ------------------------------------------------------------------------ the forbidden-call rule

    @pytest.fixture(scope="class")
    def evasion_results(self, grade, tmp_path_factory) -> dict:
        """One batch on the whole hidden suite: every evasion of ``a3_mutants.EVASIONS`` (the reference
        patched in one or more modules), every notebook of ``NOTEBOOK_EVASIONS`` and the notebook with the
        comparison in an exploration cell (``notebook_exploration_cell``)."""
        root = tmp_path_factory.mktemp("a3_evasions")
        patched = {}
        for evasion_id, _description, patches in EVASIONS:
            dest = self.copy_reference(root / evasion_id)
            for module, old, new in patches:
                text = apply_patch((dest / module).read_text(), old, new)
                assert text is not None, f"{evasion_id}: a patch of {module} no longer applies exactly once"
                (dest / module).write_text(text)
            patched[evasion_id] = dest
        notebooks = [(i, base, cells) for i, _, base, cells in NOTEBOOK_EVASIONS]
        notebooks.append(("notebook_exploration_cell", None, [_MUTANTS.NOTEBOOK_EXPLORATION_CELL]))
        paths = list(patched.values())
        for notebook_id, base, cells in notebooks:
            paths.append(root / f"{notebook_id}.ipynb")
            _write_notebook(patched[base] if base else self.reference(), cells, paths[-1])
        return self.grade(grade, paths, tmp_path_factory.mktemp("a3_evasion_grades"))

    @pytest.mark.parametrize(
        "evasion",
        [(i, d) for i, d, _ in EVASIONS] + [(f"{i}.ipynb", d) for i, d, _, _ in NOTEBOOK_EVASIONS],
        ids=[e[0] for e in EVASIONS] + [e[0] for e in NOTEBOOK_EVASIONS],
    )
    def test_forbidden_call_evasion_loses_the_attention_problems(self, evasion, evasion_results):
        """A submission (files or a notebook) that reaches the library attention some other way loses every
        point of Problems 2 and 3 and keeps all the others (a legitimate use of torch.nn.functional is an
        alternative)."""
        evasion_id, description = evasion
        attention_tests = set()
        for name in ("test_attention.py", "test_mha.py"):
            source = (ROOT / "autograder" / "suites" / self.folder / name).read_text()
            attention_tests |= set(re.findall(r"^def (test_\w+)", source, flags=re.MULTILINE))
        result = evasion_results[evasion_id]
        seen = set()
        for test in result["tests"]:
            match = re.search(r"\[(test_\w+)", test["name"])
            assert match, test["name"]
            seen.add(match.group(1))
            if match.group(1) in attention_tests:
                assert test["score"] == 0, f"{evasion_id} ({description}) scored on {test['name']}"
                assert "library attention" in test["output"] or "must build itself" in test["output"], (
                    f"{evasion_id}: {test['name']} failed for another reason: {test['output'][:300]}"
                )
            else:
                assert test["score"] == test["max_score"], (
                    f"{evasion_id}: {test['name']}: {test['output'][:300]}"
                )
        assert attention_tests <= seen, sorted(attention_tests - seen)

    def test_a_notebook_exploration_cell_is_not_graded(self, evasion_results):
        """A cell that runs code (here: a comparison with the library attention) is left out when a notebook
        is graded, as the handout says, so neither the rule nor anything else sees it: full marks."""
        result = evasion_results["notebook_exploration_cell.ipynb"]
        assert result["score"] == result["max_score"] == 100, failures(result)


def _write_notebook(modules: Path, cells: list[str], path: Path) -> None:
    """The kit's template notebook filled in with the modules of `modules` (what a student who worked in the
    template submits), then `cells` as extra code cells."""
    import nbformat

    from autograder.build import render_template

    sources = {m: (modules / m).read_text() for m in TestA3Quality.modules()}
    notebook = nbformat.reads(render_template("a3", "a3", sources), as_version=4)
    notebook.cells += [nbformat.v4.new_code_cell(cell) for cell in cells]
    path.write_text(nbformat.writes(notebook))


def test_public_filter_oracle_agrees_with_handout():
    """The public tests compare filter_logits with HF's logits processors; on the inputs they draw (over many
    seeds) those agree with the handout's top-p, and a robust case is always found (filter_case raises
    otherwise)."""
    sys.path.insert(0, str(ROOT))  # the public helpers import the kit's checks
    common = load_module("llmkit_public_a3_common", ROOT / "tests" / "public" / FOLDER / "_common.py")
    for seed in range(200):
        rng = torch.Generator().manual_seed(seed)
        for temperature, top_k in [(1.0, None), (1.5, 9), (0.7, 12)]:
            logits, top_p, expected = common.filter_case(rng, 3, 29, temperature, top_k)
            kept = torch.isfinite(expected)
            assert bool(kept.any(dim=-1).all()) and not bool(kept.all()), (seed, temperature, top_k, top_p)
