"""Mutants nobody wrote by hand: small automatic changes to the reference's solution regions, graded by the
hidden suite, which must take points off each one (the quality bar, item 7).

Only code between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` is changed (the rest is given to students as it
is). The operators, each applied at every place it fits, one change per mutant:

- arithmetic: ``+ - * / // % ** @ & |`` swapped for a neighbour, or the operation replaced by one operand;
- comparisons: ``<`` and ``<=`` and their mirrors swapped, ``==``/``!=``, ``is``/``is not``,
  ``in``/``not in``; ``and``/``or`` swapped; a unary ``-``, ``not`` or ``~`` dropped;
- constants: integers moved by one, floats halved or zeroed, ``True``/``False`` flipped;
- slices: a lower bound, an upper bound or a step dropped;
- calls: a keyword argument dropped, a call replaced by its first argument, a method call dropped
  (``x.tril()`` becomes ``x``);
- statements: one statement replaced by ``pass``; a ``with`` dropped around its body.

Every mutant is checked to parse and to differ from the reference (as a syntax tree); two changes that give
the same program count once. Each has a key that describes it without line numbers, so that it stays the same
when code above it moves::

    attention.py causal_attention | e = torch.exp(x - x_max) | `x - x_max` -> `x + x_max`

A mutant the suite cannot kill because it does not change behaviour is listed, with the reason, in the
assignment's mutants file ``tests/quality/aN_mutants.py`` as ``EQUIVALENT = {key: "why"}``. A helper the
handout says is graded through its callers' results only (an optimiser whose step rules are the student's
choice) is named there as ``RESULTS_ONLY = {"module.py function": "why"}``: its mutants are left out of the
sample, since a slower search that reaches the same optimum is correct by the handout.

CI grades a fixed sample per assignment (the mutants with the smallest hash of their key, so the sample stays
the same from run to run and does not depend on the order of generation). Locally, grade them all::

    python -m tests.quality.mutation a3 --all      # every mutant; prints the survivors and the numbers
    python -m tests.quality.mutation a3 --list     # the keys only, no grading
"""

from __future__ import annotations

import argparse
import ast
import builtins
import copy
import hashlib
import importlib.util
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
DEFAULT_BUDGET = 60  # mutants per assignment in CI: about a minute of grading with --jobs 2
CHUNK = 80  # mutants per `llmkit grade` command

_BINOP_SWAPS: dict[type, tuple[type, ...]] = {
    ast.Add: (ast.Sub,),
    ast.Sub: (ast.Add,),
    ast.Mult: (ast.Div,),
    ast.Div: (ast.Mult, ast.FloorDiv),
    ast.FloorDiv: (ast.Div,),
    ast.Mod: (ast.FloorDiv,),
    ast.Pow: (ast.Mult,),
    ast.MatMult: (ast.Mult,),
    ast.BitAnd: (ast.BitOr,),
    ast.BitOr: (ast.BitAnd,),
    ast.BitXor: (ast.BitOr,),
    ast.LShift: (ast.RShift,),
    ast.RShift: (ast.LShift,),
}
_KEEP_LEFT = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.BitAnd, ast.BitOr)  # `a - b` -> `a`
_KEEP_RIGHT = (ast.Add, ast.Mult, ast.BitAnd, ast.BitOr)  # `a + b` -> `b`
_BUILTINS = set(dir(builtins))  # float('-inf') is not turned into '-inf'
_CMP_SWAPS: dict[type, tuple[type, ...]] = {
    ast.Lt: (ast.LtE, ast.Gt),
    ast.LtE: (ast.Lt, ast.GtE),
    ast.Gt: (ast.GtE, ast.Lt),
    ast.GtE: (ast.Gt, ast.LtE),
    ast.Eq: (ast.NotEq,),
    ast.NotEq: (ast.Eq,),
    ast.Is: (ast.IsNot,),
    ast.IsNot: (ast.Is,),
    ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,),
}


@dataclass(frozen=True)
class Mutant:
    """One mutated module of an assignment's reference."""

    key: str  # stable description: module, enclosing function, statement, change
    module: str  # file name, e.g. "attention.py"
    source: str  # the whole mutated module

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()

    @property
    def folder(self) -> str:
        """A short, safe folder name for the mutant's submission."""
        return f"m_{self.digest[:12]}"


# ------------------------------------------------------------------------------------------ generation


def solution_regions(source: str) -> list[tuple[int, int]]:
    """(first, last) line numbers (1-based, inclusive) of the code inside each solution region."""
    regions, start = [], None
    for number, line in enumerate(source.splitlines(), start=1):
        text = line.strip()
        if text == BEGIN:
            start = number + 1
        elif text == END and start is not None:
            regions.append((start, number - 1))
            start = None
    return regions


def _inside(node: ast.AST, regions: list[tuple[int, int]]) -> bool:
    first, last = node.lineno, node.end_lineno or node.lineno
    return any(a <= first and last <= b for a, b in regions)


def _header(stmt: ast.stmt) -> str:
    """The statement as one line of source: simple statements whole, compound ones by their header."""
    if isinstance(stmt, (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.FunctionDef, ast.ClassDef)):
        head = copy.copy(stmt)
        head.body = [ast.Expr(ast.Constant(...))]
        for name in ("orelse", "finalbody", "handlers"):
            if hasattr(head, name):
                setattr(head, name, [])
        if isinstance(head, (ast.FunctionDef, ast.ClassDef)):
            head.decorator_list = []
        return ast.unparse(head).splitlines()[0]
    return " ".join(ast.unparse(stmt).split())


def _short(node: ast.AST) -> str:
    return " ".join(ast.unparse(node).split())


def _number(node: ast.AST) -> int | float | None:
    """The value of a numeric literal, negative ones (`-2`, a unary minus in the tree) included."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    return None


def _literal(value: int | float) -> ast.expr:
    return ast.UnaryOp(ast.USub(), ast.Constant(-value)) if value < 0 else ast.Constant(value)


def _imported(tree: ast.Module) -> set[str]:
    """Names bound by the module's imports (torch, nn, F, math, ...)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _expression_changes(node: ast.expr, modules: set[str]) -> Iterator[ast.expr]:
    """Each replacement for one expression node (mutating a copy); `modules` are the imported names."""
    if isinstance(node, ast.BinOp):
        for op in _BINOP_SWAPS.get(type(node.op), ()):
            new = copy.deepcopy(node)
            new.op = op()
            yield new
        if isinstance(node.op, _KEEP_LEFT):
            yield copy.deepcopy(node.left)
        if isinstance(node.op, _KEEP_RIGHT):
            yield copy.deepcopy(node.right)
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            for swap in _CMP_SWAPS.get(type(op), ()):
                new = copy.deepcopy(node)
                new.ops[i] = swap()
                yield new
    elif isinstance(node, ast.BoolOp):
        new = copy.deepcopy(node)
        new.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield new
    elif _number(node) is not None:
        value = _number(node)
        if isinstance(node, ast.UnaryOp):
            yield copy.deepcopy(node.operand)  # -2 -> 2
        if isinstance(value, int):
            yield _literal(value + 1)
            yield _literal(value - 1)
        else:
            yield _literal(value / 2 if value else 1.0)
            if value:
                yield _literal(0.0)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not, ast.Invert)):
        yield copy.deepcopy(node.operand)
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        yield ast.Constant(not node.value)
    elif isinstance(node, ast.Call):
        for i in range(len(node.keywords)):
            if node.keywords[i].arg is not None:  # not **kwargs
                new = copy.deepcopy(node)
                del new.keywords[i]
                yield new
        func = node.func
        base = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else None
        if len(node.args) == 1 and not isinstance(node.args[0], ast.Starred):
            # f(x) -> x for a function of the module, of an imported module or of self: exp, gelu, a layer
            if (isinstance(func, ast.Name) and func.id not in _BUILTINS) or base in modules | {"self"}:
                yield copy.deepcopy(node.args[0])
        if isinstance(func, ast.Attribute) and base not in modules | {"self"}:
            yield copy.deepcopy(func.value)  # x.tril() -> x: a method of a value dropped


def _slice_changes(node: ast.Slice) -> Iterator[ast.Slice]:
    for part in ("lower", "upper", "step"):
        if getattr(node, part) is not None:
            new = copy.deepcopy(node)
            setattr(new, part, None)
            yield new


class _Sites(ast.NodeVisitor):
    """Every mutable node inside the solution regions, with its function and enclosing statement."""

    def __init__(self, regions: list[tuple[int, int]]) -> None:
        self.regions = regions
        self.scope: list[str] = []
        self.stmt: ast.stmt | None = None
        self.sites: list[tuple[ast.AST, str, ast.stmt]] = []  # (node, qualname, statement)

    def _scoped(self, node: ast.FunctionDef | ast.ClassDef) -> None:
        self.scope.append(node.name)
        for child in node.body:
            self.visit(child)
        self.scope.pop()

    visit_FunctionDef = visit_ClassDef = _scoped

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        return  # f-strings: messages, and node positions inside them are unreliable

    def generic_visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.stmt):
            outer, self.stmt = self.stmt, node
            inert = isinstance(node, ast.Pass) or (  # `pass`, or a bare string: deleting it changes nothing
                isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            )
            if _inside(node, self.regions) and not inert:
                self.sites.append((node, ".".join(self.scope) or "<module>", node))
            super().generic_visit(node)
            self.stmt = outer
            return
        if (
            isinstance(node, (ast.expr, ast.Slice))
            and self.stmt is not None
            and getattr(node, "ctx", ast.Load()).__class__ is ast.Load
            and _inside(node, self.regions)
        ):
            self.sites.append((node, ".".join(self.scope) or "<module>", self.stmt))
            if _number(node) is not None:
                return  # `-2` is one literal: its `2` is not a site of its own
        super().generic_visit(node)


def _splice(source: str, node: ast.AST, text: str) -> str:
    """`source` with the exact span of `node` replaced by `text` (column offsets are UTF-8 byte offsets)."""
    lines = source.encode().splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    data = source.encode()
    begin = starts[node.lineno - 1] + node.col_offset
    end = starts[node.end_lineno - 1] + node.end_col_offset
    return (data[:begin] + text.encode() + data[end:]).decode()


def mutants_of_module(module: str, source: str) -> list[Mutant]:
    """Every mutant of one module's solution regions, in source order, without duplicates or no-ops."""
    tree = ast.parse(source)
    reference = ast.dump(tree)
    modules = _imported(tree)
    sites = _Sites(solution_regions(source))
    sites.visit(tree)
    seen_programs = {reference}
    keys: dict[str, int] = {}
    out = []
    for node, qualname, stmt in sites.sites:
        if isinstance(node, ast.stmt):
            indent = " " * node.col_offset
            # the whole lines of the statement become one `pass` (statements here never share a line)
            lines = source.splitlines(keepends=True)
            mutated = "".join(lines[: node.lineno - 1] + [indent + "pass\n"] + lines[node.end_lineno :])
            candidates = [(mutated, "statement replaced by `pass`")]
            if isinstance(node, ast.With):  # `with torch.no_grad():` dropped, its body kept
                shift = node.body[0].col_offset - node.col_offset
                body = [
                    line[shift:] if line.strip() else line
                    for line in lines[node.body[0].lineno - 1 : node.end_lineno]
                ]
                unwrapped = "".join(lines[: node.lineno - 1] + body + lines[node.end_lineno :])
                candidates.append((unwrapped, "`with` dropped, its body kept"))
        else:
            candidates = []
            changes = (
                _slice_changes(node) if isinstance(node, ast.Slice) else _expression_changes(node, modules)
            )
            for new in changes:
                text = ast.unparse(new)
                if not isinstance(node, ast.Slice):
                    text = f"({text})"  # keeps the precedence of the surroundings
                candidates.append((_splice(source, node, text), f"`{_short(node)}` -> `{_short(new)}`"))
        for mutated, change in candidates:
            try:
                program = ast.dump(ast.parse(mutated))
            except SyntaxError:
                continue
            if program in seen_programs:
                continue
            seen_programs.add(program)
            key = f"{module} {qualname} | {_header(stmt)} | {change}"
            keys[key] = keys.get(key, 0) + 1
            if keys[key] > 1:
                key = f"{key} #{keys[key]}"
            out.append(Mutant(key=key, module=module, source=mutated))
    return out


def generate(reference: Path, modules: tuple[str, ...]) -> list[Mutant]:
    """Every mutant of the reference folder's modules."""
    mutants = []
    for module in modules:
        mutants += mutants_of_module(module, (reference / module).read_text())
    return mutants


def sample(mutants: list[Mutant], budget: int | None, skip: set[str] = frozenset()) -> list[Mutant]:
    """A deterministic subset: the `budget` mutants (not in `skip`) with the smallest hash of their key."""
    pool = sorted((m for m in mutants if m.key not in skip), key=lambda m: m.digest)
    return pool if budget is None else pool[:budget]


# ------------------------------------------------------------------------------------------ assignments


@dataclass(frozen=True)
class Target:
    """An enabled assignment seen by the mutation tool."""

    id: str
    folder: str
    modules: tuple[str, ...]
    reference: Path
    mutants_file: Path

    def equivalent(self) -> dict[str, str]:
        """The explained-equivalent survivors declared in the assignment's mutants file ({} without one)."""
        return dict(self._declared("EQUIVALENT"))

    def results_only(self) -> dict[str, str]:
        """The helpers graded through their callers' results only, ``{"module.py function": "why"}``."""
        return dict(self._declared("RESULTS_ONLY"))

    def skipped(self, mutants: list[Mutant]) -> set[str]:
        """The keys left out of grading: declared equivalent, or inside a results-only helper."""
        helpers = tuple(f"{where} | " for where in self.results_only())
        return set(self.equivalent()) | {m.key for m in mutants if m.key.startswith(helpers)}

    def _declared(self, name: str) -> dict:
        if not self.mutants_file.is_file():
            return {}
        module_name = f"llmkit_quality_{self.id}_mutants"
        if module_name not in sys.modules:
            spec = importlib.util.spec_from_file_location(module_name, self.mutants_file)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        return getattr(sys.modules[module_name], name, {})


def targets() -> list[Target]:
    """Every enabled assignment of course.yml (no list to edit when one is added)."""
    from autograder.course import load_course

    course = load_course()
    return [
        Target(
            a.id,
            a.folder,
            tuple(a.modules),
            course.root / "solutions" / a.folder,
            course.root / "tests" / "quality" / f"{a.id}_mutants.py",
        )
        for a in course.assignments.values()
        if a.enabled
    ]


# ------------------------------------------------------------------------------------------ grading


@dataclass
class Outcome:
    key: str
    killed: bool
    score: float
    max_score: float
    first_failure: str  # name of the first test that lost points ("" for a survivor)


def write_submissions(target: Target, mutants: list[Mutant], root: Path) -> list[Path]:
    """One submission folder per mutant: the reference's modules with one of them mutated."""
    paths = []
    for mutant in mutants:
        dest = root / mutant.folder
        dest.mkdir(parents=True)
        for module in target.modules:
            shutil.copy(target.reference / module, dest / module)
        (dest / mutant.module).write_text(mutant.source)
        paths.append(dest)
    return paths


def grade_mutants(
    target: Target,
    mutants: list[Mutant],
    grade: Callable[..., dict[str, dict]],
    workdir: Path,
    *,
    chunk: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> list[Outcome]:
    """Grade `mutants` with `llmkit grade A ... --fail-fast --jobs 2`, one batch per `chunk` mutants (a CI
    sample is one batch; a full run is cut so that no single command runs for long)."""
    paths = write_submissions(target, mutants, workdir / "submissions")
    results: dict[str, dict] = {}
    for start in range(0, len(paths), chunk):
        part = paths[start : start + chunk]
        results |= grade(target.id, part, workdir / f"out_{start // chunk}", "--fail-fast", "--jobs", "2")
        if progress:
            progress(start + len(part), len(paths))
    outcomes = []
    for mutant in mutants:
        result = results[mutant.folder]
        lost = [t for t in result.get("tests", []) if t["score"] < t["max_score"]]
        killed = result["score"] < result["max_score"]
        outcomes.append(
            Outcome(mutant.key, killed, result["score"], result["max_score"], lost[0]["name"] if lost else "")
        )
    return outcomes


def _grade_cli() -> Callable[..., dict[str, dict]]:
    """tests/conftest.py's `grade_cli`, loaded by path (this file also runs outside pytest)."""
    name = "llmkit_tests_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "conftest.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name].grade_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.quality.mutation", description=__doc__.split("\n")[0]
    )
    parser.add_argument("assignment", nargs="?", help="an enabled assignment id (default: all enabled)")
    parser.add_argument("--all", action="store_true", help="grade every mutant, not the CI sample")
    parser.add_argument("--budget", type=int, default=DEFAULT_BUDGET, help="mutants per assignment")
    parser.add_argument("--list", action="store_true", help="print the mutants' keys and stop")
    parser.add_argument("--json", type=Path, help="also write the outcomes to this file")
    parser.add_argument(
        "--keep", type=Path, help="grade in this folder and keep it (default: a temporary one)"
    )
    args = parser.parse_args(argv)
    chosen = [t for t in targets() if args.assignment in (None, t.id, t.folder)]
    if not chosen:
        parser.error(f"no enabled assignment {args.assignment!r}")
    failed = False
    report = {}
    for target in chosen:
        mutants = generate(target.reference, target.modules)
        equivalent = target.equivalent()
        if args.list:
            for m in mutants:
                print(("= " if m.key in equivalent else "  ") + m.key)
            continue
        picked = sample(mutants, None if args.all else args.budget, skip=target.skipped(mutants))
        start = time.monotonic()

        def progress(done: int, total: int, start: float = start) -> None:
            print(f"  {done}/{total} graded ({time.monotonic() - start:.0f} s)", flush=True)

        with tempfile.TemporaryDirectory(prefix=f"mutation_{target.id}_") as tmp:
            workdir = args.keep / target.id if args.keep else Path(tmp)
            outcomes = grade_mutants(target, picked, _grade_cli(), workdir, progress=progress)
        elapsed = time.monotonic() - start
        survivors = [o.key for o in outcomes if not o.killed]
        stale = sorted(set(equivalent) - {m.key for m in mutants})
        print(
            f"{target.id}: {len(mutants)} mutants generated, {len(picked)} graded in {elapsed:.0f} s: "
            f"{len(picked) - len(survivors)} killed, {len(survivors)} survived; "
            f"{len(equivalent)} declared equivalent (not graded)"
        )
        for key in survivors:
            print(f"  SURVIVED  {key}")
        for key in stale:
            print(f"  STALE EQUIVALENT (no such mutant any more)  {key}")
        failed |= bool(survivors or stale)
        report[target.id] = {
            "generated": len(mutants),
            "graded": len(picked),
            "survivors": survivors,
            "equivalent": len(equivalent),
            "seconds": round(elapsed, 1),
            "outcomes": [o.__dict__ for o in outcomes],
        }
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
