"""Quality of the a7 grading suites (the shared checks of `_quality.AssignmentQuality`).

The chat problem's mutants live in ``a7_mutants_chat.py``. While the assignment's suites hold only the chat
problem (25 of its 100 points), the total checked is that of ``task_points``.
"""

import pytest
from _quality import ROOT, AssignmentQuality, failures, load_module, points_markers, pytest_generate_tests  # noqa: F401


class TestA7Quality(AssignmentQuality):
    folder = "a7_open_models"
    min_mutants = 7
    min_alternatives = 2
    task_points = {"test_chat.py": 15, "test_masking.py": 10}

    @classmethod
    def mutants(cls):
        path = ROOT / "tests" / "quality" / "a7_mutants_chat.py"
        return list(load_module("llmkit_quality_a7_mutants_chat", path).MUTANTS)

    @pytest.mark.parametrize("suite", ["hidden", "public"])
    def test_reference_full_marks(self, suite, hidden_results, public_results):
        result = (hidden_results if suite == "hidden" else public_results)["reference"]
        assert result["tests"], "no tests ran"
        assert result["score"] == result["max_score"], "\n".join(failures(result))
        if suite == "hidden":
            assert result["max_score"] == sum(self.task_points.values())

    def test_hidden_points_follow_the_task_split(self, hidden_results):
        total = sum(t["max_score"] for t in hidden_results["reference"]["tests"])
        assert total == sum(self.task_points.values())
        suite = ROOT / "autograder" / "suites" / self.folder
        assert sorted(p.name for p in suite.glob("test_*.py")) == sorted(self.task_points)
        for name, points in self.task_points.items():
            got = sum(points_markers((suite / name).read_text()))
            assert got == points, f"{name}: {got} points, the handout's split gives {points}"
