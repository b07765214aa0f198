"""Quality of the a7 grading suites (the shared checks of `_quality.AssignmentQuality`).

This file covers Problem 4 (lora), worth 30 of the assignment's points: the hidden suite's LoRA file, its
mutants (``a7_mutants_lora.py``) and the alternatives of ``lora.py``. While the other problems' files are
not there, "full marks" means the LoRA problem's 30 points.
"""

import pytest
from _quality import (
    ROOT,
    AssignmentQuality,
    failures,
    load_module,
    points_markers,
    pytest_generate_tests,  # noqa: F401
)

LORA_POINTS = 30


class TestA7Quality(AssignmentQuality):
    folder = "a7_open_models"
    task_points = {"test_lora.py": LORA_POINTS}
    min_mutants = 8
    min_alternatives = 2

    @classmethod
    def mutants(cls) -> list[tuple[str, str, str, str, str]]:
        path = ROOT / "tests" / "quality" / "a7_mutants_lora.py"
        return list(load_module("llmkit_quality_a7_mutants_lora", path).MUTANTS)

    @classmethod
    def suite_points(cls) -> float:
        """Points of the hidden suite's files that are there (the LoRA problem alone, or all problems)."""
        suite = ROOT / "autograder" / "suites" / cls.folder
        return sum(sum(points_markers(p.read_text())) for p in suite.glob("test_*.py"))

    @pytest.mark.parametrize("suite", ["hidden", "public"])
    def test_reference_full_marks(self, suite, hidden_results, public_results):
        result = (hidden_results if suite == "hidden" else public_results)["reference"]
        assert result["tests"], "no tests ran"
        assert result["score"] == result["max_score"], "\n".join(failures(result))
        if suite == "hidden":
            assert result["max_score"] == self.suite_points()

    def test_hidden_points_follow_the_task_split(self, hidden_results):
        suite = ROOT / "autograder" / "suites" / self.folder
        got = sum(points_markers((suite / "test_lora.py").read_text()))
        assert got == LORA_POINTS, f"test_lora.py: {got} points, the handout's Problem 4 gives {LORA_POINTS}"
        total = sum(t["max_score"] for t in hidden_results["reference"]["tests"])
        assert total == self.suite_points()
