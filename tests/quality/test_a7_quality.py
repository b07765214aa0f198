"""Quality of the a7 grading suites (the shared checks of `_quality.AssignmentQuality`).

a7's mutants live in one file per problem, ``a7_mutants_<problem>.py``; this test joins them. ``task_points``
is the handout's split; while a problem's suite file is not there yet, the total checked is that of the files
present.
"""

import pytest
from _quality import (  # noqa: F401
    ROOT,
    AssignmentQuality,
    failures,
    load_module,
    points_markers,
    pytest_generate_tests,
)

SPLIT = {
    "test_architectures.py": 25,
    "test_checkpoints.py": 20,
    "test_chat.py": 15,
    "test_masking.py": 10,
    "test_lora.py": 30,
}
SUITE = ROOT / "autograder" / "suites" / "a7_open_models"


class TestA7Quality(AssignmentQuality):
    folder = "a7_open_models"
    min_mutants = 15
    min_alternatives = 4
    task_points = {name: points for name, points in SPLIT.items() if (SUITE / name).is_file()}

    @classmethod
    def mutants(cls):
        found = []
        for path in sorted((ROOT / "tests" / "quality").glob("a7_mutants*.py")):
            found += list(load_module(f"llmkit_quality_{path.stem}", path).MUTANTS)
        return found

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
        assert sorted(p.name for p in SUITE.glob("test_*.py")) == sorted(self.task_points)
        for name, points in self.task_points.items():
            got = sum(points_markers((SUITE / name).read_text()))
            assert got == points, f"{name}: {got} points, the handout's split gives {points}"
