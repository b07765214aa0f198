"""Grading a class on several machines: deterministic slices (`--shard i/n`) and joining their outputs.

Shard ``i`` of ``n`` (``i`` from 0, as a Slurm array index or a Kubernetes Job completion index) grades the
submissions whose output name hashes to ``i``: the slice does not depend on the order of the arguments or on
which machine runs it, and a submission that arrives later does not move the others. Each shard records in
``OUT/shard.json`` which slice it graded and the whole class it was a slice of, so that
``llmkit gradebook merge`` can refuse two shards that graded the same submission and name what no shard
graded.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from autograder import results
from autograder.course import Assignment
from autograder.errors import KitError

MANIFEST = "shard.json"
_SHARD = re.compile(r"(\d+)/(\d+)")


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` -> ``(2, 4)``; the index counts from 0."""
    match = _SHARD.fullmatch(text.strip())
    if not match or not 0 <= int(match[1]) < int(match[2]):
        raise KitError(f"--shard takes i/n with 0 <= i < n, such as 0/4, got {text!r}")
    return int(match[1]), int(match[2])


def in_shard(name: str, index: int, count: int) -> bool:
    """Whether the submission whose output folder is ``name`` belongs to shard ``index`` of ``count``."""
    digest = hashlib.sha256(name.lower().encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count == index


def write_manifest(
    out: Path, assignment: Assignment, hidden: bool, shard: tuple[int, int], names: list[str], mine: list[str]
) -> None:
    record = {
        "assignment": assignment.folder,
        "suite": "hidden" if hidden else "public",
        "shard": list(shard),
        "all": names,
        "mine": mine,
    }
    results.write_atomic(out / MANIFEST, json.dumps(record, indent=1) + "\n")


@dataclass
class Merged:
    """What a merge found: the reports in class order, and what no shard graded."""

    assignment: str
    reports: list = field(default_factory=list)
    missing_shards: list[int] = field(default_factory=list)
    ungraded: list[str] = field(default_factory=list)


def _manifest(out: Path) -> dict:
    try:
        record = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        shard = record["shard"]
        if not (isinstance(shard, list) and len(shard) == 2 and isinstance(record["all"], list)):
            raise ValueError
        return record
    except FileNotFoundError:
        raise KitError(f"{out} is not the output of a sharded run (no {MANIFEST})") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise KitError(f"{out / MANIFEST} cannot be read; grade that shard again") from None


def merge(outs: list[Path], dest: Path) -> Merged:
    """Join the outputs of the shards of one class into ``dest`` (its submission folders and the reports
    in class order). Raises for shards of different classes and for a submission graded by two shards;
    what no shard graded (a shard not run, a submission whose results are missing or corrupt) is listed
    in the result, not hidden."""
    manifests = [_manifest(Path(o)) for o in outs]
    first = manifests[0]
    for out, record in zip(outs, manifests, strict=True):
        for key in ("assignment", "suite", "all"):
            if record[key] != first[key]:
                raise KitError(f"{out} is a shard of another batch than {outs[0]} (its {key} differs)")
        if record["shard"][1] != first["shard"][1]:
            raise KitError(
                f"{out} was cut into {record['shard'][1]} shards, {outs[0]} into {first['shard'][1]}"
            )
    count = first["shard"][1]
    by_index: dict[int, Path] = {}
    for out, record in zip(outs, manifests, strict=True):
        index = record["shard"][0]
        if index in by_index:
            raise KitError(f"{by_index[index]} and {out} are both shard {index}/{count}: they overlap")
        by_index[index] = Path(out)
    owner: dict[str, Path] = {}
    found = {}
    for out in map(Path, outs):
        for folder in sorted(p.parent for p in out.glob(f"*/{results.REPORT}")):
            report = results.load_result(folder)
            if report is None:
                continue
            if folder.name in owner:
                raise KitError(f"{folder.name} was graded by two shards ({owner[folder.name]} and {out}); "
                               "nothing was merged")  # fmt: skip
            owner[folder.name] = out
            found[folder.name] = report
    merged = Merged(assignment=first["assignment"])
    merged.missing_shards = [i for i in range(count) if i not in by_index]
    dest.mkdir(parents=True, exist_ok=True)
    for name in first["all"]:
        report = found.get(name)
        if report is None:
            merged.ungraded.append(name)
            continue
        target = dest / name
        if target.resolve() != (owner[name] / name).resolve():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(owner[name] / name, target)
        merged.reports.append(report)
    return merged
