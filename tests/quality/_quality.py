"""The suite-quality checks every assignment gets: its grading suites must tell right from wrong.

An assignment's ``tests/quality/test_aN_quality.py`` subclasses `AssignmentQuality`, names its folder and
the handout's points per hidden test file, and imports `pytest_generate_tests` from here::

    from _quality import AssignmentQuality, pytest_generate_tests  # noqa: F401

    class TestA5Quality(AssignmentQuality):
        folder = "a5_moe"
        task_points = {"test_router.py": 25, ...}

It then checks that

- the reference scores full marks on the hidden suite and on the public tests, and the generated starter
  scores 0 on both, every test failing with NotImplementedError in its message;
- the hidden suite's points follow the task split of the handout (the assignment's points in all);
- every mutant in ``tests/quality/aN_mutants.py`` (``MUTANTS``: ``(id, module, description, old, new)``, a
  realistic student bug as a patch of one reference module) applies exactly once and loses points, reported by
  a test with a clear message;
- every alternative under ``tests/alternatives/<folder>/<name>/`` (a correct implementation written
  differently: the reference with some modules replaced) scores full marks on both suites.

Grading runs through the command line in a subprocess, a whole batch per run: the reference, the starter and
the alternatives in one run per suite, all the mutants in one run that stops each at its first lost point.
"""

from __future__ import annotations

import ast
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from autograder.course import kit_root, load_course

ROOT = kit_root()


def load_module(name: str, path: Path) -> ModuleType:
    """Import the file at ``path`` as module ``name`` (once; later calls return the same module)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def apply_patch(source: str, old: str, new: str) -> str | None:
    """The patched source, or None when ``old`` does not occur exactly once."""
    return source.replace(old, new) if source.count(old) == 1 else None


def failures(result: dict) -> list[str]:
    """One line per test of a results.json that lost points: its name and the start of its message."""
    return [
        f"{t['name']}: {t.get('output', '')[:300]}" for t in result["tests"] if t["score"] < t["max_score"]
    ]


def points_markers(source: str) -> list[float]:
    """The points of each test a test file's source defines, one entry per collected test.

    A test's points come from its ``@pytest.mark.points(n)`` decorator (1 without one, as the grading plugin
    counts), times the number of cases of each ``@pytest.mark.parametrize`` over a literal list. A parametrize
    whose cases are not a literal cannot be counted from the source and raises ValueError.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or not node.name.startswith("test"):
            continue
        points, cases = 1.0, 1
        for deco in node.decorator_list:
            if not isinstance(deco, ast.Call):
                continue
            name = ast.unparse(deco.func)
            if name == "pytest.mark.points":
                points = float(ast.literal_eval(deco.args[0]))
            elif name == "pytest.mark.parametrize":
                try:
                    cases *= len(ast.literal_eval(deco.args[1]))
                except ValueError:
                    raise ValueError(f"{node.name}: parametrize cases must be a literal list") from None
        found += [points] * cases
    return found


class AssignmentQuality:
    """Base class of an assignment's quality tests. Subclasses set ``folder`` and ``task_points``."""

    folder: str = ""
    task_points: dict[str, float] = {}  # hidden test file -> points of its task (the handout's split)
    min_mutants: int = 15
    min_alternatives: int = 4

    # ------------------------------------------------------------------------------------------ the parts

    @classmethod
    def assignment(cls):
        return load_course().resolve(cls.folder)

    @classmethod
    def modules(cls) -> tuple[str, ...]:
        return cls.assignment().modules

    @classmethod
    def reference(cls) -> Path:
        return ROOT / "solutions" / cls.folder

    @classmethod
    def mutants(cls) -> list[tuple[str, str, str, str, str]]:
        ident = cls.folder.split("_")[0]
        path = ROOT / "tests" / "quality" / f"{ident}_mutants.py"
        return list(load_module(f"llmkit_quality_{ident}_mutants", path).MUTANTS)

    @classmethod
    def alternative_names(cls) -> list[str]:
        folder = ROOT / "tests" / "alternatives" / cls.folder
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    @classmethod
    def copy_reference(cls, dest: Path) -> Path:
        dest.mkdir(parents=True)
        for name in cls.modules():
            shutil.copy(cls.reference() / name, dest / name)
        return dest

    @classmethod
    def grade(cls, grade, submissions: list[Path], out: Path, *, public=False, fail_fast=False) -> dict:
        """Grade a batch with the command line; {submission folder name: results.json}."""
        options = ["--jobs", "2"] + (["--public"] if public else []) + (["--fail-fast"] if fail_fast else [])
        return grade(cls.folder, submissions, out, *options)

    # -------------------------------------------------------------------------------------------- batches

    @pytest.fixture(scope="class")
    def submissions(self, tmp_path_factory) -> dict[str, Path]:
        """The reference, the starter and every alternative (the reference with its modules swapped in)."""
        root = tmp_path_factory.mktemp(f"{self.folder}_submissions")
        subs = {"reference": self.copy_reference(root / "reference")}
        starter = ROOT / "starter" / self.folder
        assert all((starter / m).is_file() for m in self.modules()), (
            "no generated starter: run `llmkit build`"
        )
        subs["starter"] = root / "starter"
        shutil.copytree(starter, subs["starter"], ignore=shutil.ignore_patterns("__pycache__"))
        for name in self.alternative_names():
            dest = self.copy_reference(root / f"alt_{name}")
            for module in (ROOT / "tests" / "alternatives" / self.folder / name).glob("*.py"):
                assert module.name in self.modules(), f"alternative {name}: {module.name} is not a module"
                shutil.copy(module, dest / module.name)
            subs[f"alt_{name}"] = dest
        return subs

    @pytest.fixture(scope="class")
    def hidden_results(self, grade, submissions, tmp_path_factory) -> dict:
        return self.grade(grade, list(submissions.values()), tmp_path_factory.mktemp(f"{self.folder}_hidden"))

    @pytest.fixture(scope="class")
    def public_results(self, grade, submissions, tmp_path_factory) -> dict:
        out = tmp_path_factory.mktemp(f"{self.folder}_public")
        return self.grade(grade, list(submissions.values()), out, public=True)

    @pytest.fixture(scope="class")
    def mutant_results(self, grade, tmp_path_factory) -> dict:
        """All mutants in one batch, each graded until its first lost point."""
        root = tmp_path_factory.mktemp(f"{self.folder}_mutants")
        paths = []
        for mutant_id, module, _description, old, new in self.mutants():
            dest = self.copy_reference(root / mutant_id)
            patched = apply_patch((dest / module).read_text(), old, new)
            if patched is not None:  # a patch that no longer applies fails test_mutant_patch_applies
                (dest / module).write_text(patched)
                paths.append(dest)
        return self.grade(
            grade, paths, tmp_path_factory.mktemp(f"{self.folder}_mutant_grades"), fail_fast=True
        )

    # --------------------------------------------------------------------------------- reference, starter

    @pytest.mark.parametrize("suite", ["hidden", "public"])
    def test_reference_full_marks(self, suite, hidden_results, public_results):
        result = (hidden_results if suite == "hidden" else public_results)["reference"]
        assert result["tests"], "no tests ran"
        assert result["score"] == result["max_score"] == self.assignment().points, "\n".join(failures(result))

    @pytest.mark.parametrize("suite", ["hidden", "public"])
    def test_starter_scores_zero_with_not_implemented(self, suite, hidden_results, public_results):
        result = (hidden_results if suite == "hidden" else public_results)["starter"]
        assert result["score"] == 0
        assert result["tests"], "no tests ran"
        for test in result["tests"]:
            assert test["score"] == 0, test["name"]
            output = test.get("output", "")
            assert "NotImplementedError" in output, f"{test['name']}: {output[:300]}"

    def test_hidden_points_follow_the_task_split(self, hidden_results):
        total = sum(t["max_score"] for t in hidden_results["reference"]["tests"])
        assert total == self.assignment().points == sum(self.task_points.values())
        suite = ROOT / "autograder" / "suites" / self.folder
        assert sorted(p.name for p in suite.glob("test_*.py")) == sorted(self.task_points)
        for name, points in self.task_points.items():
            got = sum(points_markers((suite / name).read_text()))
            assert got == points, f"{name}: {got} points, the handout's split gives {points}"

    # -------------------------------------------------------------------------------------------- mutants

    def test_mutant_table(self):
        mutants = self.mutants()
        ids = [m[0] for m in mutants]
        assert len(ids) >= self.min_mutants
        assert len(ids) == len(set(ids)), "mutant ids must be unique"
        for mutant_id, module, description, old, new in mutants:
            assert module in self.modules() and description and old != new, mutant_id

    def test_mutant_patch_applies(self, mutant):
        mutant_id, module, _description, old, _new = mutant
        count = (self.reference() / module).read_text().count(old)
        assert count == 1, (
            f"{mutant_id}: the snippet occurs {count} times in {module}; update the mutants file"
        )

    def test_mutant_loses_points(self, mutant, mutant_results):
        mutant_id, module, description, _old, _new = mutant
        assert mutant_id in mutant_results, f"{mutant_id} was not graded (its patch does not apply)"
        result = mutant_results[mutant_id]
        assert "Grading error" not in result["output"], f"{mutant_id}: {result['output'][:500]}"
        assert result["score"] < result["max_score"], (
            f"mutant survived: {mutant_id} ({module}): {description}"
        )
        caught = [
            t
            for t in result["tests"]
            if t["score"] < t["max_score"] and not t["output"].startswith("not run")
        ]
        assert caught, f"{mutant_id}: no test reports the lost points"
        assert "internal error in the grader" not in caught[0]["output"], (
            f"{mutant_id}: the suite's own code failed on this mutant (it must fail closed with a clear "
            f"message): {caught[0]['name']}"
        )

    # --------------------------------------------------------------------------------------- alternatives

    def test_enough_alternatives(self):
        assert len(self.alternative_names()) >= self.min_alternatives

    @pytest.mark.parametrize("suite", ["hidden", "public"])
    def test_alternative_full_marks(self, alternative, suite, hidden_results, public_results):
        result = (hidden_results if suite == "hidden" else public_results)[f"alt_{alternative}"]
        assert result["score"] == result["max_score"], f"alternative {alternative}:\n" + "\n".join(
            failures(result)
        )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise an `AssignmentQuality` subclass's tests over its mutants and alternatives."""
    cls = metafunc.cls
    if cls is None or not issubclass(cls, AssignmentQuality):
        return
    if "mutant" in metafunc.fixturenames:
        mutants = cls.mutants()
        metafunc.parametrize("mutant", mutants, ids=[m[0] for m in mutants])
    if "alternative" in metafunc.fixturenames:
        metafunc.parametrize("alternative", cls.alternative_names())
