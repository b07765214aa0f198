"""Quality of the a4 grading suites: they must tell right from wrong.

Everything comes from `_quality.AssignmentQuality`: reference full, starter 0, points per task, every
mutant of
``a4_mutants.py`` loses points, every alternative under ``tests/alternatives/a4_context/`` scores full marks.
"""

from __future__ import annotations

from _quality import AssignmentQuality, pytest_generate_tests  # noqa: F401


class TestA4Quality(AssignmentQuality):
    folder = "a4_context"
    task_points = {
        "test_rope.py": 20,
        "test_scaling.py": 20,
        "test_kv_cache.py": 25,
        "test_model.py": 25,
        "test_memory.py": 10,
    }
