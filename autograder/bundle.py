"""Copying selected parts of the kit into a bundle (a student release, an autograder zip)."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterable
from pathlib import Path

from autograder.course import kit_root

_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".ipynb_checkpoints")


def copy_parts(dest: Path, parts: Iterable[str], *, exclude: Iterable[str] = ()) -> None:
    """Copy the kit's `parts` (paths relative to the kit root) into `dest`, leaving out `exclude`."""
    root = kit_root()
    excluded = {(root / e).resolve() for e in exclude}

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = set(_SKIP(folder, names))
        return skipped | {n for n in names if (Path(folder) / n).resolve() in excluded}

    for part in parts:
        source = root / part
        if not source.exists():
            continue
        target = dest / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy2(source, target)


def zip_folder(folder: Path, out: Path) -> Path:
    """Zip the contents of `folder` (paths relative to it), keeping executable bits."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo.from_file(path, path.relative_to(folder).as_posix())
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return out
