"""Turning a submission into a clean folder of modules, without running any of it.

A submission is one of:

- a folder: its top-level ``*.py`` files are taken;
- a ``.zip``: its ``*.py`` files at the top level, or inside one single top folder (what zipping a folder
  gives); ``__MACOSX``, ``__pycache__`` and hidden entries are ignored;
- a notebook (``.ipynb``): its graded code cells, in order, become one module ``_notebook.py``, and every
  module the assignment expects (``attention.py``, ...) is written as a module that takes every public name
  of ``_notebook`` (whatever ``__all__`` a cell sets). A notebook therefore defines everything in one
  namespace. A code cell is graded when the kit's template tagged it (cell metadata ``llmkit``) or when it
  only defines names (imports, ``def``, ``class``, assignments without calls); any other cell is
  exploration (prints, plots, training loops) and is kept as comments only, so it never runs when graded.
  IPython-only lines (``%magic``, ``!shell``, ``?help``) are commented out.

:func:`stage` copies the modules into a fresh folder, world-readable so that an unprivileged worker can import
them, and reports what is wrong with them (missing modules, syntax errors, text that is not UTF-8) without
raising. Unsafe or oversized input (zip members escaping the folder, symbolic links, too many or too large
files, a corrupt archive) raises :class:`SubmissionError` instead. This side never imports, executes or
compiles submitted code: the only analysis is ``ast.parse``.

:func:`make_submission_zip` is the student's side of the same contract: it validates a workspace and zips
exactly the assignment's modules.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.course import Assignment
from autograder.errors import KitError, SubmissionError

MAX_MEMBERS = 200
MAX_TOTAL_BYTES = 20 * 1024 * 1024
MAX_MODULE_BYTES = 1024 * 1024
MAX_NOTEBOOK_BYTES = MAX_TOTAL_BYTES

NOTEBOOK_MODULE = "_notebook.py"
ZIP_COMMENT = b"llmkit submission"
_MODULE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.py")
_IGNORED_PARTS = ("__MACOSX", "__pycache__")
# cell magics whose body is Python; the body of any other (%%bash, %%html, ...) is commented out
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "writefile"}
_IPYTHON_HELP = re.compile(r"\s*[A-Za-z_][\w.]*\?{1,2}\s*")


@dataclass
class Staged:
    """A staged submission.

    ``name`` is a filesystem-safe name derived from the submission (the caller makes it unique, see
    :func:`unique_name`), ``path`` the folder holding the modules, ``files`` each staged file's sha256,
    ``digest`` one sha256 over all staged ``.py`` files (names and contents; the same files give the same
    digest whatever their packaging), ``problems`` what is wrong with the submission, in plain words.
    """

    name: str
    path: Path
    files: dict[str, str] = field(default_factory=dict)
    digest: str = ""
    problems: list[str] = field(default_factory=list)


def submission_name(submission: Path) -> str:
    """A filesystem-safe name for a submission's output folder: ``Jöe Doe.zip`` -> ``Joe_Doe``.

    Letters, digits, ``_`` and ``-`` only: never a dot, so it can never be one of the kit's own outputs
    beside it (``gradebook.csv``: a submission ``gradebook.csv.zip`` is named ``gradebook_csv``)."""
    path = Path(submission)
    base = path.resolve().name if path.name in ("", ".", "..") else path.name
    if path.suffix.lower() in (".zip", ".ipynb"):
        base = base[: -len(path.suffix)]
    ascii_base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_base).strip("_-")
    return safe[:80] or "submission"


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, else ``name-2``, ``name-3``, ...: the first not in ``taken``, which it is added to. Names
    are compared without case, as a case-insensitive file system would."""
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{name}-{n}"
    taken.add(candidate.lower())
    return candidate


def stage(submission: Path, assignment: Assignment, dest: Path) -> Staged:
    """Copy the modules of ``submission`` into the new folder ``dest`` and validate them.

    ``dest`` must not exist yet or be empty, and must not lie inside the submission. The submission itself is
    only read. Raises :class:`SubmissionError` for input that is unsafe or cannot be read at all.
    """
    submission, dest = Path(submission), Path(dest)
    files, problems = _read_submission(submission, assignment)
    _prepare_dest(dest, submission)
    for name, data in files.items():
        _write_file(dest / name, data)
    problems += _validate(files, assignment)
    return Staged(
        name=submission_name(submission),
        path=dest,
        files={name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
        digest=_digest(files),
        problems=problems,
    )


def make_submission_zip(workspace: Path, assignment: Assignment, out: Path | None = None) -> Path:
    """Validate a student's workspace and zip exactly the assignment's modules.

    ``out`` is the zip file to write, or a folder to write ``<folder>-submission.zip`` into; by default the
    zip goes beside the workspace. An existing file is replaced only if it is an earlier zip made by this
    function, so nothing else can be overwritten. Raises :class:`KitError` listing the problems when a
    module is missing, is not UTF-8, does not parse, or imports a module of the workspace that would not be
    submitted.
    """
    workspace = Path(workspace)
    if not assignment.modules:
        raise SubmissionError(f"{assignment.id} lists no modules to submit in course.yml")
    if not workspace.is_dir():
        raise SubmissionError(f"{workspace} is not a folder")
    files: dict[str, bytes] = {}
    problems: list[str] = []
    for module in assignment.modules:
        path = workspace / module
        if path.is_file():
            files[module] = _read_capped(path, module, follow_symlinks=True)  # the student's own files
    problems += _validate(files, assignment)
    problems += _unsubmitted_imports(files, workspace, assignment)
    if problems:
        raise SubmissionError(f"{workspace} is not ready to submit: " + "; ".join(problems))
    target = _zip_target(workspace, assignment, out)
    _write_zip(target, files, assignment)
    return target


# --------------------------------------------------------------------------------------------------------
# Reading the three kinds of submission


def _read_submission(submission: Path, assignment: Assignment) -> tuple[dict[str, bytes], list[str]]:
    """The files to stage (name -> bytes) and the problems noticed while reading them."""
    if submission.is_dir():
        return _read_folder(submission)
    if not submission.exists():
        raise SubmissionError(f"{submission}: no such file or folder")
    if not submission.is_file():
        raise SubmissionError(f"{submission}: not a regular file or folder")
    suffix = submission.suffix.lower()
    if suffix == ".zip":
        return _read_zip(submission)
    if suffix == ".ipynb":
        return _read_notebook(submission, assignment)
    raise SubmissionError(f"{submission}: a submission is a folder, a .zip or a .ipynb notebook")


def _read_folder(folder: Path) -> tuple[dict[str, bytes], list[str]]:
    files: dict[str, bytes] = {}
    problems: list[str] = []
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        if not entry.name.endswith(".py") or entry.name.startswith("."):
            continue
        if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
            raise SubmissionError(
                f"{folder}: {entry.name} is not a regular file (symbolic links are not accepted)"
            )
        if not _MODULE_NAME.fullmatch(entry.name):
            problems.append(f"ignored {entry.name!r}: not a valid module file name")
            continue
        files[entry.name] = _read_capped(Path(entry.path), f"{folder.name}/{entry.name}")
        _check_totals(folder, files)
    return files, problems


def _read_capped(path: Path, label: str, follow_symlinks: bool = False) -> bytes:
    """The bytes of a regular file, refusing special files, files over the size cap and (by default) links."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise SubmissionError(f"{label}: cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise SubmissionError(f"{label}: not a regular file")
        data = handle.read(MAX_MODULE_BYTES + 1)
    if len(data) > MAX_MODULE_BYTES:
        raise SubmissionError(f"{label}: larger than {MAX_MODULE_BYTES // 1024} KB")
    return data


def _check_totals(where: Path, files: dict[str, bytes]) -> None:
    if len(files) > MAX_MEMBERS:
        raise SubmissionError(f"{where}: more than {MAX_MEMBERS} files")
    if sum(len(data) for data in files.values()) > MAX_TOTAL_BYTES:
        raise SubmissionError(f"{where}: more than {MAX_TOTAL_BYTES // (1024 * 1024)} MB in all")


def _read_zip(path: Path) -> tuple[dict[str, bytes], list[str]]:
    if path.stat().st_size > MAX_TOTAL_BYTES + MAX_MODULE_BYTES:  # before parsing a huge directory of entries
        raise SubmissionError(f"{path}: larger than {MAX_TOTAL_BYTES // (1024 * 1024)} MB")
    try:
        with zipfile.ZipFile(path) as archive:
            members = _checked_members(path, archive)
            chosen, problems = _choose_modules(path, members)
            files = {name: _read_member(path, archive, info) for name, info in chosen.items()}
    except SubmissionError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        OSError,
        EOFError,
        ValueError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise SubmissionError(f"{path}: not a valid zip file ({exc})") from None
    return files, problems


def _checked_members(
    path: Path, archive: zipfile.ZipFile, max_members: int = MAX_MEMBERS, max_bytes: int = MAX_TOTAL_BYTES
) -> list[zipfile.ZipInfo]:
    """All members, after refusing archives that are too large or hold unsafe entries."""
    members = archive.infolist()
    if len(members) > max_members:
        raise SubmissionError(f"{path}: more than {max_members} entries in the zip")
    if sum(info.file_size for info in members) > max_bytes:
        raise SubmissionError(f"{path}: more than {max_bytes // (1024 * 1024)} MB once unpacked")
    seen: set[str] = set()
    for info in members:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or ".." in parts or "\0" in name:
            raise SubmissionError(f"{path}: unsafe entry {name!r} (absolute path or '..')")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise SubmissionError(f"{path}: entry {name!r} is a symbolic link")
        if info.flag_bits & 0x1:
            raise SubmissionError(f"{path}: entry {name!r} is encrypted")
        if name in seen:
            raise SubmissionError(f"{path}: entry {name!r} appears twice")
        seen.add(name)
    return members


def _choose_modules(
    path: Path, members: list[zipfile.ZipInfo]
) -> tuple[dict[str, zipfile.ZipInfo], list[str]]:
    """The ``.py`` members to stage: at the top level, else inside one single top folder."""
    sources: dict[PurePosixPath, zipfile.ZipInfo] = {}
    for info in members:
        member = PurePosixPath(info.filename.replace("\\", "/"))
        if info.is_dir() or member.suffix != ".py" or any(_ignored_part(part) for part in member.parts):
            continue
        sources[member] = info
    top_level = {p: i for p, i in sources.items() if len(p.parts) == 1}
    folders = {p.parts[0] for p in sources if len(p.parts) == 2}
    if not top_level and len(folders) == 1:
        top_level = {PurePosixPath(p.name): i for p, i in sources.items() if len(p.parts) == 2}
    problems: list[str] = []
    if not top_level and sources:
        problems.append(f"{path.name}: no .py files at the top level of the zip or in one single top folder")
    chosen: dict[str, zipfile.ZipInfo] = {}
    for member, info in sorted(top_level.items()):
        if _MODULE_NAME.fullmatch(member.name):
            chosen[member.name] = info
        else:
            problems.append(f"ignored {member.name!r}: not a valid module file name")
    return chosen, problems


def _ignored_part(part: str) -> bool:
    return part.startswith(".") or part in _IGNORED_PARTS


def _read_member(
    path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int = MAX_MODULE_BYTES
) -> bytes:
    """A member's bytes, reading at most the size cap whatever the header claims."""
    if info.file_size > cap:
        raise SubmissionError(f"{path}: {info.filename} is larger than {cap // 1024} KB")
    with archive.open(info) as handle:
        data = handle.read(cap + 1)
    if len(data) > cap or len(data) != info.file_size:
        raise SubmissionError(f"{path}: {info.filename} does not match its recorded size")
    return data


def zip_members(path: Path) -> list[str]:
    """The entry names of the zip `path` (no entry is read); a corrupt archive is a SubmissionError."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SubmissionError(f"{path}: not a valid zip file ({exc})") from None


def unpack_zip(path: Path, dest: Path, max_members: int, max_bytes: int) -> Path:
    """Unpack the zip `path` (many submissions: a class's export) into the new folder `dest`, with the
    checks of a submission's zip: no absolute path or ``..``, no symbolic link, no encrypted or repeated
    entry, at most `max_members` entries and `max_bytes` in all, each entry read within its stated size.
    ``__MACOSX`` and hidden entries are left out. Nothing unpacked is run: each submission in it is staged
    later like any other."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = _checked_members(path, archive, max_members, max_bytes)
            dest.mkdir(parents=True)
            for info in members:
                parts = [p for p in info.filename.replace("\\", "/").split("/") if p]
                if not parts or any(_ignored_part(part) for part in parts):
                    continue
                target = dest.joinpath(*parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(_read_member(path, archive, info, cap=max_bytes))
    except SubmissionError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError) as exc:  # fmt: skip
        raise SubmissionError(f"{path}: not a valid zip file ({exc})") from None
    return dest


def _read_notebook(path: Path, assignment: Assignment) -> tuple[dict[str, bytes], list[str]]:
    raw = _read_limited(path, MAX_NOTEBOOK_BYTES)
    try:
        notebook = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SubmissionError(f"{path}: not a valid notebook ({exc})") from None
    cells = _code_cells(path, notebook)
    source, origin = _notebook_source([(text, module is not None) for text, module in cells])
    source += _module_owners(cells, assignment)
    files = {NOTEBOOK_MODULE: source.encode("utf-8")}
    shim = _NOTEBOOK_SHIM.encode("utf-8")
    for module in assignment.modules:
        files[module] = shim
    problems = [] if cells else [f"{path.name}: the notebook has no code cells"]
    problems += _syntax_problems(NOTEBOOK_MODULE, files[NOTEBOOK_MODULE], origin)
    return files, problems


# Every module of a notebook submission: all public names of the notebook, whatever `__all__` a cell set (a
# module's `__all__` in a notebook would otherwise hide the other modules' names from every file).
_NOTEBOOK_SHIM = (
    "import _notebook  # the notebook defines every name\n\n"
    "globals().update({_k: _v for _k, _v in vars(_notebook).items() if not _k.startswith('_')})\n"
)


def _read_limited(path: Path, limit: int) -> bytes:
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise SubmissionError(f"{path}: larger than {limit // (1024 * 1024)} MB")
    return data


def _code_cells(path: Path, notebook: object) -> list[str]:
    """The sources of the code cells of an nbformat 4 (or 3) notebook, in order."""
    if not isinstance(notebook, dict):
        raise SubmissionError(f"{path}: not a valid notebook (no cells)")
    cells, key = notebook.get("cells"), "source"
    if cells is None and isinstance(notebook.get("worksheets"), list):  # nbformat 3
        cells = [cell for sheet in notebook["worksheets"] for cell in sheet.get("cells", [])]
        key = "input"
    if not isinstance(cells, list):
        raise SubmissionError(f"{path}: not a valid notebook (no cells)")
    sources: list[tuple[str, str | None]] = []  # (source, the file a template cell belongs to, or None)
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get(key, "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise SubmissionError(f"{path}: not a valid notebook (a code cell has no source text)")
        metadata = cell.get("metadata")
        tag = metadata.get("llmkit") if isinstance(metadata, dict) else None
        module = None
        if isinstance(tag, dict):
            module = tag["module"] if isinstance(tag.get("module"), str) else ""
        sources.append((source, module))
    return sources


def _module_owners(cells: list[tuple[str, str | None]], assignment: Assignment) -> str:
    """Code appended to ``_notebook.py`` that gives the functions and classes of the template's cells the
    ``__module__`` of the file they stand for (``moe.Expert``, not ``_notebook.Expert``), as files would."""
    owners: dict[str, list[str]] = {}
    for text, module in cells:
        if module not in assignment.modules or not module.endswith(".py"):
            continue
        try:
            body = ast.parse(text).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        names = [n.name for n in body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
        owners.setdefault(module[:-3], []).extend(names)
    if not owners:
        return ""
    return (
        "# %% the file each template cell stands for\n"
        f"for _llmkit_module, _llmkit_names in {owners!r}.items():\n"
        "    for _llmkit_name in _llmkit_names:\n"
        "        _llmkit_object = globals().get(_llmkit_name)\n"
        "        if getattr(_llmkit_object, '__module__', None) == __name__:\n"
        "            _llmkit_object.__module__ = _llmkit_module\n"
    )


def _notebook_source(cells: list[tuple[str, bool]]) -> tuple[str, list[str]]:
    """One module from the code cells (source, tagged by the kit's template), and for each of its lines
    where it came from (``cell 3, line 2``). Exploration cells are written as comments."""
    out: list[str] = []
    origin: list[str] = []
    for number, (cell, tagged) in enumerate(cells, start=1):
        lines = cell.splitlines()
        start = len(out)
        out.append(f"# %% cell {number}")
        origin.append(f"cell {number}")
        magic = (
            lines[0].strip()[2:].split(maxsplit=1) if lines and lines[0].lstrip().startswith("%%") else None
        )
        python_body = magic is None or bool(magic and magic[0] in _PYTHON_CELL_MAGICS)
        for index, line in enumerate(lines, start=1):
            if (magic is not None and index == 1) or not python_body or _is_ipython_line(line):
                indent = line[: len(line) - len(line.lstrip())]
                line = f"{indent}# {line.lstrip()}  (IPython, not run)"
            out.append(line)
            origin.append(f"cell {number}, line {index}")
        if not tagged and not _only_defines_names("\n".join(out[start + 1 :])):
            out[start] += " (exploration: not graded)"
            out[start + 1 :] = [f"# {line}" for line in out[start + 1 :]]
        out.append("")
        origin.append(f"cell {number}")
    return "\n".join(out) + "\n", origin


_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Pass)


def _only_defines_names(source: str) -> bool:
    """Whether every top-level statement only defines names: imports, functions, classes, docstrings and
    assignments whose value calls nothing. Code that does not parse counts as defining (so that its syntax
    error is reported, as it would be in a file)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    for node in tree.body:
        if isinstance(node, _DEFINITIONS):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, ast.Assign | ast.AnnAssign) and not any(
            isinstance(sub, ast.Call | ast.Await | ast.Yield | ast.YieldFrom | ast.NamedExpr)
            or isinstance(sub, ast.comprehension)
            for sub in ast.walk(node)
        ):
            continue
        return False
    return True


def _is_ipython_line(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith(("%", "!", "?")) or bool(_IPYTHON_HELP.fullmatch(line))


# --------------------------------------------------------------------------------------------------------
# Validation (static only)


def _validate(files: dict[str, bytes], assignment: Assignment) -> list[str]:
    problems = [f"missing {module}" for module in assignment.modules if module not in files]
    for name, data in sorted(files.items()):
        if name != NOTEBOOK_MODULE:
            problems += _syntax_problems(name, data)
    return problems


def _syntax_problems(name: str, data: bytes, origin: list[str] | None = None) -> list[str]:
    """``[]`` when ``data`` is UTF-8 Python that parses, else one message with the line number."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [f"{name}: not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})"]
    try:
        ast.parse(data, filename=name)
    except SyntaxError as exc:
        line = exc.lineno
        where = f"{name}:{line}" if line else name
        if origin and line and 1 <= line <= len(origin):
            where += f" ({origin[line - 1]})"
        return [f"{where}: {type(exc).__name__}: {exc.msg}"]
    except (ValueError, RecursionError, MemoryError) as exc:
        return [f"{name}: cannot be parsed: {type(exc).__name__}: {exc}"]
    return []


def _imported_top_names(data: bytes) -> set[str]:
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _unsubmitted_imports(files: dict[str, bytes], workspace: Path, assignment: Assignment) -> list[str]:
    """Problems for modules that import a file of the workspace that is not part of the submission."""
    submitted = {Path(module).stem for module in assignment.modules}
    problems = []
    for name, data in files.items():
        for imported in sorted(_imported_top_names(data) - submitted):
            if (workspace / f"{imported}.py").is_file() or (workspace / imported / "__init__.py").is_file():
                problems.append(
                    f"{name} imports {imported}, which is not submitted "
                    f"(only {', '.join(assignment.modules)} are): move that code into a submitted module"
                )
    return problems


# --------------------------------------------------------------------------------------------------------
# Writing


def _prepare_dest(dest: Path, submission: Path) -> None:
    resolved_dest, resolved_source = dest.resolve(), submission.resolve()
    if resolved_dest == resolved_source or resolved_source in resolved_dest.parents:
        raise SubmissionError(f"{dest}: the staging folder cannot be inside the submission {submission}")
    if dest.is_symlink() or (dest.exists() and (not dest.is_dir() or any(dest.iterdir()))):
        raise SubmissionError(f"{dest}: the staging folder already exists and is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    dest.chmod(0o755)


def _write_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    path.chmod(0o644)


def copy_data(source_root: Path, entries: tuple[str, ...], dest: Path) -> Path:
    """Copy an assignment's declared data (`entries`, relative to `source_root`) into the new folder `dest`,
    read-only; `dest` is then the one copy that every staged submission of a batch links to. Links inside
    the data are refused: only the declared files are ever copied."""
    dest.mkdir(mode=0o755)
    for entry in entries:
        source = source_root / entry
        if source.is_symlink() or not source.exists():
            raise KitError(f"{source}: declared as data in course.yml but missing (or a symbolic link)")
        target = dest / entry
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
            if any(p.is_symlink() for p in target.rglob("*")):
                raise KitError(f"{source}: data folders may not hold symbolic links")
        else:
            shutil.copy2(source, target)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o444)
    return dest


def install_data(data: Path, entries: tuple[str, ...], staged: Path) -> None:
    """Put the batch's copy of the data (`copy_data`) beside the staged modules, replacing anything the
    submission sent under those names (hard links to the read-only copy, not to the kit's files)."""
    for entry in entries:
        top = staged / entry.split("/")[0]
        if top.is_dir() and not top.is_symlink():
            shutil.rmtree(top)
        elif top.exists() or top.is_symlink():
            top.unlink()
    for entry in {e.split("/")[0] for e in entries}:
        source = data / entry
        if source.is_dir():
            shutil.copytree(source, staged / entry, copy_function=os.link)
            for path in [staged / entry, *(staged / entry).rglob("*")]:
                if path.is_dir():
                    path.chmod(0o755)
        else:
            os.link(source, staged / entry)


def _digest(files: dict[str, bytes]) -> str:
    """One sha256 over the sorted (name, content) pairs of the ``.py`` files, unambiguously framed."""
    digest = hashlib.sha256()
    for name, data in sorted(files.items()):
        if name.endswith(".py"):
            encoded = name.encode("utf-8")
            for part in (encoded, data):
                digest.update(len(part).to_bytes(8, "big"))
                digest.update(part)
    return digest.hexdigest()


def _zip_target(workspace: Path, assignment: Assignment, out: Path | None) -> Path:
    default_name = f"{assignment.folder}-submission.zip"
    if out is None:
        target = workspace.resolve().parent / default_name
    elif Path(out).is_dir():
        target = Path(out) / default_name
    else:
        target = Path(out)
        if target.suffix.lower() != ".zip":
            raise SubmissionError(f"{target}: the submission file name must end in .zip")
    if target.is_symlink() or (target.exists() and not _is_our_zip(target)):
        raise SubmissionError(
            f"{target} exists and was not made by `llmkit submit`; move it away or choose another --out"
        )
    return target


def _is_our_zip(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.comment.startswith(ZIP_COMMENT)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False


def _write_zip(target: Path, files: dict[str, bytes], assignment: Assignment) -> None:
    """Write the zip next to ``target`` and move it into place, so a failure leaves no half-written file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".llmkit-", suffix=".zip", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.comment = ZIP_COMMENT + f": {assignment.folder}".encode()
            for name in assignment.modules:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, files[name])
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
