"""Quality of the a3 grading suites: they must tell right from wrong.

The checks every assignment gets (reference full, starter 0, points per task, mutants lose points,
alternatives full) come from `_quality.AssignmentQuality`; a3 adds one of its own: the public tests' filter
oracle (HF's logits processors) agrees with the handout's top-p on the inputs they draw.
"""

from __future__ import annotations

import re
import sys

import pytest
import torch
from _quality import ROOT, AssignmentQuality, apply_patch, load_module, pytest_generate_tests  # noqa: F401

FOLDER = "a3_attention"
EVASIONS = load_module("llmkit_quality_a3_mutants", ROOT / "tests" / "quality" / "a3_mutants.py").EVASIONS


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
        """Every evasion of ``a3_mutants.EVASIONS`` (the reference patched in one or more modules), graded on
        the whole hidden suite."""
        root = tmp_path_factory.mktemp("a3_evasions")
        paths = []
        for evasion_id, _description, patches in EVASIONS:
            dest = self.copy_reference(root / evasion_id)
            for module, old, new in patches:
                patched = apply_patch((dest / module).read_text(), old, new)
                assert patched is not None, (
                    f"{evasion_id}: a patch of {module} no longer applies exactly once"
                )
                (dest / module).write_text(patched)
            paths.append(dest)
        return self.grade(grade, paths, tmp_path_factory.mktemp("a3_evasion_grades"))

    @pytest.mark.parametrize("evasion", EVASIONS, ids=[e[0] for e in EVASIONS])
    def test_forbidden_call_evasion_loses_the_attention_problems(self, evasion, evasion_results):
        """A submission that reaches the library attention some other way loses every point of Problems 2
        and 3 and keeps all the others (a legitimate use of torch.nn.functional is an alternative)."""
        evasion_id, description, _patches = evasion
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
