"""Generating the students' starter code from the reference solutions.

Every reference module in ``solutions/<folder>/`` marks the code students write with fences inside function
bodies::

    def softmax(x, dim=-1):
        \"\"\"Docstring, kept.\"\"\"
        # BEGIN SOLUTION: subtract the maximum, exponentiate, normalise
        ...
        # END SOLUTION

:func:`build` writes ``starter/<folder>/`` with each fenced region, fences included, replaced by one line
at the indentation of the BEGIN line: ``raise NotImplementedError("<hint>")``. The hint is the text after
``BEGIN SOLUTION:``, or a default. Everything else is kept byte for byte. Nothing is added to the top of the
generated files: students copy them into a workspace and edit them there, so a header telling them not to edit
the file would be wrong in their copy.

:func:`public_api` lists the public functions and classes of a trusted module with their signatures, so that
the kit's own tests can check that the starter offers the same API as the reference.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import inspect
import io
import json
import re
import sys
import tokenize
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.errors import BuildError

SOLUTIONS_DIR = "solutions"
STARTER_DIR = "starter"
DEFAULT_HINT = "replace this line with your solution"

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
_FENCE_LIKE = re.compile(r"#\s*(begin|end)[\s_-]*solutions?\s*(:.*)?", re.IGNORECASE)  # catches typos


# ----------------------------------------------------------------------------------------------------
# One file


@dataclass
class _Region:
    begin: int  # 1-based line numbers of the fences
    end: int
    hint: str


def render_starter(source: str, filename: str = "<string>") -> str:
    """The starter version of one reference module: fenced regions become ``raise NotImplementedError``.

    Raises :class:`BuildError` naming ``filename:line`` for unbalanced or nested fences, malformed fence
    comments, fences outside a function body, and a reference or result that does not parse.
    """
    _parse(source, filename, "the reference")
    lines = io.StringIO(source, newline="").readlines()
    regions = _regions(lines, filename)
    out: list[str] = []
    origin: list[int] = []  # source line of every output line, for error messages
    inserted: dict[int, int] = {}  # output line of each raise -> source line of its BEGIN fence
    next_line = 1
    for region in regions:
        out.extend(lines[next_line - 1 : region.begin - 1])
        origin.extend(range(next_line, region.begin))
        begin_text, end_text = lines[region.begin - 1], lines[region.end - 1]
        indent = begin_text[: len(begin_text) - len(begin_text.lstrip())]
        newline = end_text[len(end_text.rstrip("\r\n")) :]
        hint = json.dumps(region.hint, ensure_ascii=False)  # a JSON string is also a valid Python literal
        out.append(f"{indent}raise NotImplementedError({hint}){newline}")
        origin.append(region.begin)
        inserted[len(out)] = region.begin
        next_line = region.end + 1
    out.extend(lines[next_line - 1 :])
    origin.extend(range(next_line, len(lines) + 1))
    result = "".join(out)
    tree = _parse(result, filename, "the generated starter", origin)
    outside = sorted(set(inserted) - _raises_in_functions(tree))
    if outside:
        raise BuildError(
            f"{filename}:{inserted[outside[0]]}: a solution fence must be inside a function body"
        )
    return result


def _parse(source: str, filename: str, what: str, origin: list[int] | None = None) -> ast.Module:
    try:
        return ast.parse(source, filename=filename)
    except SyntaxError as exc:
        line = exc.lineno or 1
        if origin is not None and 1 <= line <= len(origin):
            line = origin[line - 1]
        raise BuildError(f"{filename}:{line}: {what} does not parse: {exc.msg}") from None


def _fence_comments(lines: list[str], filename: str) -> list[tuple[int, str, str]]:
    """``(line, kind, hint)`` of every fence comment; kind is ``BEGIN`` or ``END``."""
    fences = []
    try:
        for tok in tokenize.generate_tokens(iter(lines).__next__):  # StopIteration ends the input
            if tok.type != tokenize.COMMENT or not _FENCE_LIKE.fullmatch(tok.string.strip()):
                continue
            line, col = tok.start
            where = f"{filename}:{line}"
            if tok.line[:col].strip():
                raise BuildError(f"{where}: a solution fence must be on a line of its own")
            if col == 0:
                raise BuildError(
                    f"{where}: a solution fence must be inside a function body (it is at column 0)"
                )
            fences.append((line, *_fence_kind(tok.string.strip(), where)))
    except (tokenize.TokenError, SyntaxError) as exc:
        raise BuildError(f"{filename}: cannot read the reference: {exc}") from None
    return fences


def _fence_kind(text: str, where: str) -> tuple[str, str]:
    if text == END:
        return "END", ""
    if text == BEGIN:
        return "BEGIN", DEFAULT_HINT
    if text.startswith(BEGIN + ":"):
        return "BEGIN", text[len(BEGIN) + 1 :].strip() or DEFAULT_HINT
    raise BuildError(
        f"{where}: malformed solution fence {text!r}; write '{BEGIN}', '{BEGIN}: <hint>' or '{END}'"
    )


def _regions(lines: list[str], filename: str) -> list[_Region]:
    regions: list[_Region] = []
    open_line, open_hint = 0, ""
    for line, kind, hint in _fence_comments(lines, filename):
        if kind == "BEGIN":
            if open_line:
                message = f"nested solution fence (BEGIN SOLUTION already open on line {open_line})"
                raise BuildError(f"{filename}:{line}: {message}")
            open_line, open_hint = line, hint
        else:
            if not open_line:
                raise BuildError(f"{filename}:{line}: END SOLUTION without a BEGIN SOLUTION before it")
            regions.append(_Region(open_line, line, open_hint))
            open_line = 0
    if open_line:
        raise BuildError(f"{filename}:{open_line}: BEGIN SOLUTION is never closed by an END SOLUTION")
    return regions


def _raises_in_functions(tree: ast.AST) -> set[int]:
    """Line numbers of ``raise`` statements that sit (at any depth) inside a function body."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for statement in node.body:
                found.update(sub.lineno for sub in ast.walk(statement) if isinstance(sub, ast.Raise))
    return found


# ----------------------------------------------------------------------------------------------------
# The whole tree


def build(root: Path, check: bool = False) -> list[Path]:
    """Regenerate ``starter/`` from ``solutions/`` under the kit root ``root``.

    Returns the starter files written or removed (only those whose content changed). With ``check=True`` it
    writes nothing and returns the starter files that differ from what would be generated, are missing or
    should not be there; an empty list means the starter is in sync.
    """
    root = Path(root)
    solutions, starter = root / SOLUTIONS_DIR, root / STARTER_DIR
    if not solutions.is_dir():
        raise BuildError(
            f"no {SOLUTIONS_DIR}/ folder in {root}: the starter is built from the reference solutions"
        )
    expected = _expected_starter(solutions, starter)
    present = set(_managed_files(starter, min_depth=2)) if starter.is_dir() else set()
    changed = [path for path, data in expected.items() if not path.is_file() or path.read_bytes() != data]
    extra = sorted(present - set(expected))
    if check:
        return sorted(changed + extra)
    for path in changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(expected[path])
        path.chmod(0o644)
    for path in extra:
        path.unlink()
    _remove_empty_folders(starter)
    return sorted(changed + extra)


def _expected_starter(solutions: Path, starter: Path) -> dict[Path, bytes]:
    """Every starter file, rendered in memory (so that an error leaves ``starter/`` untouched)."""
    expected: dict[Path, bytes] = {}
    for folder in sorted(p for p in solutions.iterdir() if p.is_dir() and not _ignored(p.name)):
        for source in _managed_files(folder):
            relative = source.relative_to(solutions)
            data = source.read_bytes()
            if source.suffix == ".py":
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    raise BuildError(f"{SOLUTIONS_DIR}/{relative.as_posix()}: not UTF-8 text") from None
                data = render_starter(text, f"{SOLUTIONS_DIR}/{relative.as_posix()}").encode("utf-8")
            expected[starter / relative] = data
    return expected


def _managed_files(folder: Path, min_depth: int = 1) -> list[Path]:
    """Files below ``folder`` (at least ``min_depth`` levels down), skipping caches and hidden files."""
    files = []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if (
            len(parts) >= min_depth
            and path.is_file()
            and not any(_ignored(part) for part in parts)
            and path.suffix != ".pyc"
        ):
            files.append(path)
    return files


def _ignored(name: str) -> bool:
    return name.startswith(".") or name == "__pycache__"


def _remove_empty_folders(starter: Path) -> None:
    if not starter.is_dir():
        return
    for path in sorted(starter.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            path.rmdir()


# ----------------------------------------------------------------------------------------------------
# Public API of a trusted module


def public_api(module_path: Path) -> dict[str, str]:
    """The public functions and classes defined in a module file, mapped to their signatures.

    The module is imported in isolation under a unique name, with its folder first on ``sys.path`` so that
    sibling imports (``from attention import MultiHeadAttention``) resolve inside the same folder; sibling
    modules loaded on the way are removed from ``sys.modules`` afterwards, and any that were loaded before
    are put back; other modules it imports (torch, ...) stay loaded. Names of the module's own classes in
    signatures are written unqualified (``config: GPTConfig``).

    Only for trusted code (the reference and the generated starter): this executes the module.
    """
    module_path = Path(module_path).resolve()
    folder = module_path.parent
    siblings = {p.stem for p in folder.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()}
    saved_modules = _pop_modules(siblings)
    saved_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # keep __pycache__ out of solutions/ and starter/
    sys.path.insert(0, str(folder))
    name = f"_llmkit_api_{uuid.uuid4().hex}_{module_path.stem}"
    try:
        spec = importlib.util.spec_from_file_location(name, module_path)
        if spec is None or spec.loader is None:
            raise BuildError(f"{module_path}: cannot be imported")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise BuildError(f"{module_path}: importing it failed: {type(exc).__name__}: {exc}") from exc
        return {
            # a default that is a function prints with its address, which differs from one import to the next
            attr: re.sub(r" at 0x[0-9a-f]+>", ">", _describe_object(obj).replace(f"{name}.", ""))
            for attr, obj in vars(module).items()
            if not attr.startswith("_")
            and (inspect.isfunction(obj) or inspect.isclass(obj))
            and getattr(obj, "__module__", None) == name
        }
    finally:
        if str(folder) in sys.path:
            sys.path.remove(str(folder))
        sys.dont_write_bytecode = saved_bytecode
        sys.modules.pop(name, None)
        _pop_modules(siblings)  # other modules stay loaded: extensions such as torch cannot be loaded twice
        sys.modules.update(saved_modules)


def _pop_modules(top_names: set[str]) -> dict[str, Any]:
    """Remove the modules (and their submodules) with these top-level names from ``sys.modules``."""
    names = [name for name in sys.modules if name.split(".")[0] in top_names]
    return {name: sys.modules.pop(name) for name in names}


def _describe_object(obj: Any) -> str:
    if inspect.isfunction(obj):
        return _signature(obj)
    if dataclasses.is_dataclass(obj):
        head = "dataclass(" + ", ".join(_describe_field(f) for f in dataclasses.fields(obj)) + ")"
    else:
        head = "class" + _signature(obj)
    return "; ".join([head, *_describe_methods(obj)])


def _describe_methods(cls: type) -> list[str]:
    """The public methods (and properties) a class defines itself, in definition order."""
    out = []
    for attr, raw in vars(cls).items():
        if attr.startswith("_"):
            continue
        if isinstance(raw, property):
            out.append(f"{attr}: property")
        elif isinstance(raw, staticmethod | classmethod):
            out.append(f"{attr}{_signature(raw.__func__)} [{type(raw).__name__}]")
        elif inspect.isfunction(raw):
            out.append(f"{attr}{_signature(raw)}")
    return out


def _describe_field(field: dataclasses.Field) -> str:
    kind = field.type if isinstance(field.type, str) else inspect.formatannotation(field.type)
    text = f"{field.name}: {kind}"
    if field.default is not dataclasses.MISSING:
        text += f" = {field.default!r}"
    elif field.default_factory is not dataclasses.MISSING:
        text += f" = {getattr(field.default_factory, '__name__', 'factory')}()"
    return text


def _signature(obj: Any) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"


# ----------------------------------------------------------------------------------------------------
# Template notebooks: the starter as one notebook, for courses that hand out notebooks

NOTEBOOK_KEY = (
    "llmkit"  # cell metadata key: {"module": "attention.py", "role": "given" | "task", "name": ...}
)
_KERNEL = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def template_path(root: Path, folder: str) -> Path:
    """Where ``llmkit build`` writes an assignment's template notebook."""
    return Path(root) / "assignments" / folder / f"{folder}.ipynb"


def build_notebooks(root: Path, check: bool = False) -> list[Path]:
    """Write the template notebook of every enabled assignment of ``root/course.yml`` (see
    :func:`render_template`). Returns the notebooks written, or with ``check=True`` (writing nothing) those
    that are missing or differ from what would be written."""
    from autograder.course import COURSE_FILE, load_course

    root = Path(root)
    if not (root / COURSE_FILE).is_file():
        return []
    stale = []
    for assignment in load_course(root / COURSE_FILE).assignments.values():
        solutions = root / SOLUTIONS_DIR / assignment.folder
        if not assignment.enabled or not solutions.is_dir():
            continue
        modules = assignment.modules or tuple(sorted(p.name for p in solutions.glob("*.py")))
        starters = {}
        for module in modules:
            label = f"{SOLUTIONS_DIR}/{assignment.folder}/{module}"
            starters[module] = render_starter((solutions / module).read_text(encoding="utf-8"), label)
        text = render_template(f"{assignment.title} ({assignment.id})", assignment.id, starters)
        path = template_path(root, assignment.folder)
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return stale


def render_template(title: str, assignment_id: str, starters: dict[str, str]) -> str:
    """The template notebook (nbformat 4 JSON, no outputs) of the starter modules ``starters`` (file name ->
    starter source, in the order a student should work through them).

    Every function or class a student writes (one whose body raises ``NotImplementedError``) gets its own
    code cell, tagged ``{"llmkit": {"role": "task", ...}}``, under a markdown cell with its docstring; the
    code around them (imports, constants, given classes) is kept in ``given`` cells. A notebook is one
    namespace, so imports of the assignment's own modules (``from attention import ...``) are left out, and
    ``from __future__ import annotations`` moves into the first code cell.
    """
    import nbformat

    siblings = {Path(module).stem for module in starters}
    _refuse_shared_names(starters, siblings)
    cells: list[Any] = [
        nbformat.v4.new_markdown_cell(
            f"# {title}: notebook template\n\n"
            "Write each function or class in the code cell under its description, then grade the notebook "
            f"as it is with `llmkit check {assignment_id} <this notebook>` (add `--hidden` where your copy "
            "of the kit has the hidden tests). Only cells that define names are graded: the cells of this "
            "template and any cell you add that holds nothing but imports, functions, classes and "
            "constants. Cells that print, plot or train are ignored when grading, so explore freely, "
            "but keep the helpers your solution needs in cells of definitions."
        )
    ]
    future = False
    for module, source in starters.items():
        tree = ast.parse(source)
        lines = source.splitlines()
        body = tree.body
        doc = ast.get_docstring(tree)
        if doc is not None:
            body = body[1:]
        cells.append(nbformat.v4.new_markdown_cell(f"## `{module}`" + (f"\n\n{doc}" if doc else "")))
        given: list[str] = []
        previous_end = tree.body[0].end_lineno if doc is not None and tree.body else 0

        def flush(given: list[str] = given, module: str = module) -> None:
            text = "\n".join(given).strip("\n")
            if text:
                cells.append(_cell(module, "given", text))
            given.clear()

        for node in body:
            start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
            segment = "\n".join(lines[previous_end : node.end_lineno])
            previous_end = node.end_lineno or start
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                future = True
                continue
            if _imports_sibling(node, siblings):
                continue
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and _raises_not_implemented(node):
                flush()
                cells.append(nbformat.v4.new_markdown_cell(_task_text(module, node)))
                cells.append(_cell(module, "task", segment.strip("\n"), node.name))
            else:
                given.append(segment)
        flush()
    if future:
        first = next(c for c in cells if c.cell_type == "code")
        first.source = "from __future__ import annotations\n\n" + first.source
    for number, cell in enumerate(cells, start=1):
        cell.id = f"cell-{number}"
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=_KERNEL)
    return nbformat.writes(notebook) + "\n"


def _refuse_shared_names(starters: dict[str, str], siblings: set[str]) -> None:
    """Raise `BuildError` when two modules bind the same top-level name to different things: in the one
    namespace of a notebook the later would silently replace the earlier (``FAMILIES`` of one module read
    by the code of another). The same import in several modules (``import torch``) is fine."""
    seen: dict[str, tuple[str, str]] = {}  # name -> (module, what binds it)
    for module, source in starters.items():
        for node in ast.parse(source).body:
            if _imports_sibling(node, siblings):
                continue
            for name, what in _bindings(node):
                first = seen.setdefault(name, (module, what))
                if first[0] != module and (first[1] != what or what == "code"):
                    raise BuildError(
                        f"{first[0]} and {module} both define {name!r} at the top level; a template notebook "
                        "is one namespace, so rename one of them"
                    )


def _bindings(node: ast.stmt) -> list[tuple[str, str]]:
    """The top-level names a statement binds, each with what it binds them to: the dotted name an import
    binds (``torch.nn`` for ``from torch import nn`` and for ``import torch.nn as nn``), or "code"."""
    if isinstance(node, ast.Import):
        return [(a.asname or a.name.split(".")[0], a.name if a.asname else a.name.split(".")[0])
                for a in node.names]  # fmt: skip
    if isinstance(node, ast.ImportFrom):
        if node.module == "__future__":
            return []
        base = "." * node.level + (node.module or "")
        return [(a.asname or a.name, f"{base}.{a.name}") for a in node.names]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [(node.name, "code")]
    targets = {
        ast.Assign: lambda n: n.targets,
        ast.AnnAssign: lambda n: [n.target],
        ast.AugAssign: lambda n: [n.target],
    }.get(type(node), lambda n: [])(node)
    names = [sub.id for t in targets for sub in ast.walk(t) if isinstance(sub, ast.Name)]
    return [(name, "code") for name in names if name != "__all__"]


def _cell(module: str, role: str, source: str, name: str | None = None) -> Any:
    import nbformat

    tag = {"module": module, "role": role, **({"name": name} if name else {})}
    return nbformat.v4.new_code_cell(source, metadata={NOTEBOOK_KEY: tag})


def _imports_sibling(node: ast.stmt, siblings: set[str]) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level == 0 and (node.module or "").split(".")[0] in siblings
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] in siblings for alias in node.names)
    return False


def _raises_not_implemented(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Raise) and sub.exc is not None:
            target = sub.exc.func if isinstance(sub.exc, ast.Call) else sub.exc
            if isinstance(target, ast.Name) and target.id == "NotImplementedError":
                return True
    return False


def _task_text(module: str, node: ast.FunctionDef | ast.ClassDef) -> str:
    kind = "class" if isinstance(node, ast.ClassDef) else "function"
    text = f"### The {kind} `{node.name}` (`{module}`)"
    if isinstance(node, ast.ClassDef):
        methods = [
            item.name
            for item in node.body
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and _raises_not_implemented(item)
        ]
        text += "\n\nMethods to write: " + ", ".join(f"`{m}`" for m in methods) + "."
    doc = ast.get_docstring(node)
    return text + (f"\n\n{doc}" if doc else "")
