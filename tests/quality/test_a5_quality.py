"""Quality of the a5 grading suites: they must tell right from wrong.

The checks every assignment gets (reference full, starter 0, points per task, mutants lose points,
alternatives full) come from `_quality.AssignmentQuality`.
"""

from __future__ import annotations

from _quality import AssignmentQuality, pytest_generate_tests  # noqa: F401


class TestA5Quality(AssignmentQuality):
    folder = "a5_moe"
    task_points = {
        "test_routing.py": 25,
        "test_dispatch.py": 30,
        "test_moe_layer.py": 15,
        "test_losses.py": 15,
        "test_accounting.py": 15,
    }
