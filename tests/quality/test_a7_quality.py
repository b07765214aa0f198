"""Quality of the a7 grading suites (problems 1 and 2): they must tell right from wrong.

Everything comes from `_quality.AssignmentQuality`: reference full, starter 0, points per task, every
mutant of ``a7_mutants.py`` loses points, every alternative under ``tests/alternatives/a7_open_models/``
scores full marks.
"""

from __future__ import annotations

from _quality import AssignmentQuality, pytest_generate_tests  # noqa: F401


class TestA7Quality(AssignmentQuality):
    folder = "a7_open_models"
    min_mutants = 10
    min_alternatives = 2
    task_points = {
        "test_architectures.py": 30,
        "test_checkpoints.py": 20,
    }
