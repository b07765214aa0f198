"""Files across the sandbox, in both directions, for assignments that declare it in ``course.yml``.

An assignment lists the directions it uses under ``exchange``:

- ``in``: the suite hands the submission a folder it wrote on the trusted side (a checkpoint saved with
  ``save_pretrained``, say). `Submission.send_folder` copies it, read-only, beside the staged modules, where
  the worker may read and nothing else of the kit is, and returns the path to pass to a call.
- ``out``: the suite collects what the submission's code wrote into a folder of the worker's own working
  directory (`Submission.outbox` names one, `Submission.collect` brings it back).

Only the trusted side's checks protect the grader; the worker's own checks (`read_outbox`, run in the
worker) only give an honest submission a clear message, since a submission can replace any code in its own
process. What comes back is a list of (name, bytes) pairs; `accept` then refuses anything but ``.json``
(parsed with `json`) and ``.safetensors`` (parsed with the safetensors library, which never unpickles),
names that are not plain relative paths, and anything over the size caps. Links, fifos, devices and
sockets are refused where the files are, in the worker; reading through a link cannot reach a hidden file
anyway, because the worker's sandbox cannot read one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from pathlib import Path
from typing import Any

import torch

SUFFIXES = (".json", ".safetensors")
MAX_FILES = 64
MAX_FILE_BYTES = 64 << 20  # one collected file
MAX_TOTAL_BYTES = 128 << 20  # one collection, and one folder sent in
MAX_JSON_DEPTH = 64
INBOX = ".exchange"  # beside the staged modules; a module name never starts with a dot
_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


class ExchangeError(Exception):
    """A file that may not cross the sandbox, or could not be read; the message says which and why."""


# ------------------------------------------------------------------------------------ trusted -> worker


def copy_in(source: Path, dest: Path, max_bytes: int = MAX_TOTAL_BYTES) -> None:
    """Copy the folder `source` (written by the suite) into the new folder `dest`, read-only for everyone.

    Only regular files and folders are copied; a link or special file in `source` is a mistake of the
    suite and raises `ExchangeError`, as does more than `max_bytes` in all."""
    source = Path(source)
    if source.is_symlink() or not source.is_dir():
        raise ExchangeError(f"{source.name}: only a folder (not a link) can be sent to the submission")
    total = 0
    for path in source.rglob("*"):
        mode = path.lstat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise ExchangeError(f"{path.relative_to(source)}: not a regular file or folder")
        total += path.lstat().st_size if stat.S_ISREG(mode) else 0
    if total > max_bytes:
        raise ExchangeError(f"{source.name}: {total} bytes, more than the {max_bytes} that may be sent")
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(dest.parent, 0o755)
    shutil.copytree(source, dest)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o444)


# ------------------------------------------------------------------------------------ worker -> trusted


def read_outbox(folder: str, max_files: int = MAX_FILES, max_bytes: int = MAX_TOTAL_BYTES) -> list:
    """In the worker: ``[[relative name, uint8 tensor of the bytes], ...]`` for every file under `folder`.

    Refuses (with `ExchangeError`) links, fifos, sockets and devices, without ever opening them, and
    stops reading at the caps, so a huge file costs at most one cap's worth of reading."""
    root = Path(folder)
    try:
        if stat.S_ISLNK(os.lstat(root).st_mode) or not root.is_dir():
            raise ExchangeError(f"{root.name}: the folder to collect is missing, or is a link")
    except FileNotFoundError:
        raise ExchangeError(f"{root.name}: the folder to collect was not written") from None
    found: list = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            mode = os.lstat(path).st_mode
            if stat.S_ISDIR(mode):
                continue
            if not stat.S_ISREG(mode):
                kind = "a link" if stat.S_ISLNK(mode) else "not a regular file"
                raise ExchangeError(f"{rel}: {kind}; only regular files are collected")
            if len(found) >= max_files:
                raise ExchangeError(f"more than {max_files} files to collect")
            size = os.lstat(path).st_size
            if size > max_bytes - total:
                raise ExchangeError(f"{rel}: {size} bytes, over the {max_bytes}-byte cap of a collection")
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            with os.fdopen(fd, "rb") as handle:
                if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                    raise ExchangeError(f"{rel}: not a regular file")
                data = handle.read(max_bytes - total + 1)
            total += len(data)
            if total > max_bytes:
                raise ExchangeError(f"{rel}: over the {max_bytes}-byte cap of a collection")
            found.append([rel, torch.frombuffer(bytearray(data), dtype=torch.uint8) if data else
                          torch.zeros(0, dtype=torch.uint8)])  # fmt: skip
    return found


def check_name(name: object) -> str:
    """`name` if it is a plain relative path (``a/b.json``) with an accepted suffix, else `ExchangeError`."""
    if not isinstance(name, str):
        raise ExchangeError(f"a collected file has a name of type {type(name).__name__}")
    parts = name.split("/")
    shown = name[:80].encode("unicode_escape").decode("ascii")
    if len(name) > 512 or len(parts) > 8 or not all(_PART.fullmatch(p) for p in parts):
        raise ExchangeError(f"{shown!r}: not a plain relative file name (no '..', no hidden or odd names)")
    if not name.endswith(SUFFIXES):
        raise ExchangeError(f"{shown}: only {' and '.join(SUFFIXES)} files are accepted from the submission")
    return name


def parse(name: str, data: bytes) -> Any:
    """A collected file's content: a JSON value, or ``{name: tensor}`` from a safetensors file."""
    if name.endswith(".json"):
        try:
            value = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ExchangeError(f"{name}: not valid JSON ({type(exc).__name__}: {str(exc)[:200]})") from None
        if _depth(value) > MAX_JSON_DEPTH:
            raise ExchangeError(f"{name}: JSON nested more than {MAX_JSON_DEPTH} levels deep")
        return value
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        return load(bytes(data))
    except (SafetensorError, ValueError, RuntimeError, TypeError, OverflowError) as exc:
        why = f"{type(exc).__name__}: {str(exc)[:200]}"
        raise ExchangeError(f"{name}: not a valid safetensors file ({why})") from None


def _depth(value: Any) -> int:
    depth, level = 0, [value]
    while level:
        depth += 1
        level = [
            v for x in level if isinstance(x, list | dict) for v in (x.values() if isinstance(x, dict) else x)
        ]
        if depth > MAX_JSON_DEPTH:
            break
    return depth


def accept(reply: Any, max_files: int = MAX_FILES, max_bytes: int = MAX_TOTAL_BYTES) -> dict[str, Any]:
    """On the trusted side: the worker's reply to a collection, checked and parsed, ``{name: content}``.

    Every check of this function holds whatever the worker sent: the reply's shape, each name, the
    suffixes, the number of files and their sizes."""
    if not isinstance(reply, list) or len(reply) > max_files:
        raise ExchangeError(f"the worker sent a malformed collection (at most {max_files} files)")
    total, out = 0, {}
    for item in reply:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], torch.Tensor)):
            raise ExchangeError("the worker sent a malformed collection entry")
        name, blob = check_name(item[0]), item[1]
        if blob.dtype != torch.uint8 or blob.dim() != 1:
            raise ExchangeError(f"{name}: the worker sent its bytes in the wrong form")
        total += blob.numel()
        if blob.numel() > MAX_FILE_BYTES or total > max_bytes:
            raise ExchangeError(f"{name}: over the size cap of collected files")
        if name in out:
            raise ExchangeError(f"{name}: sent twice")
        out[name] = parse(name, blob.numpy().tobytes())
    return out
