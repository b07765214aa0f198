"""The a2 hidden suite runs its optimiser fits after every other test.

The closed forms of each problem take milliseconds to check, the fits seconds. A grading run that stops at
the first lost point (``llmkit grade --fail-fast``, as the kit's mutant checks grade) then catches a bug in a
closed form before any fit runs. Only the order of execution changes: the report lists the tests in the
order of the problems, and each test draws its data from its own seed whatever runs before it.
"""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fit: the test runs an optimiser fit (seconds), so it runs last")


@pytest.hookimpl(trylast=True)  # after the grading plugin has recorded the tests in file order
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("fit") is not None)  # stable: file order otherwise
