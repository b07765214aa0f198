"""Benchmark: grading a class of a3 submissions with `llmkit grade`, --jobs 1 and --jobs 2, then resuming.

    python bench/grade_class.py [--count 100]

The class is a mix of reference copies (each made distinct by a comment, so each is really graded), starters
and the hand-written mutants of tests/quality/a3_mutants.py. Each configuration runs once, from a fresh
output folder. Printed: the wall time of each run; the tests' own compute (the sum over submissions of the
time spent inside the suite, `execution_time` in report.json); the marginal cost per submission beyond it
(wall time x jobs minus that sum, over the count); the --jobs 2 / --jobs 1 ratio; and the time to resume the
finished batch (nothing left to grade). Targets: marginal <= 0.1 s, ratio <= 0.6, resume < 5 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.quality.a3_mutants import MUTANTS  # noqa: E402

FOLDER = "a3_attention"


def make_class(dest: Path, count: int) -> list[Path]:
    """``count`` submissions: a third reference copies, a third starters, a third mutants (cycled)."""
    paths = []
    for i in range(count):
        kind = ("reference", "starter", "mutant")[i % 3]
        path = dest / f"s{i:03d}-{kind}"
        base = ROOT / ("starter" if kind == "starter" else "solutions") / FOLDER
        shutil.copytree(base, path, ignore=shutil.ignore_patterns("__pycache__"))
        if kind == "mutant":
            _, module, _, old, new = MUTANTS[(i // 3) % len(MUTANTS)]
            text = (path / module).read_text()
            (path / module).write_text(text.replace(old, new, 1))
        with (path / "model.py").open("a") as handle:
            handle.write(f"\n# submission {i}\n")
        paths.append(path)
    return paths


def run(subs: Path, out: Path, jobs: int) -> tuple[float, float]:
    """(wall seconds, sum of the submissions' own grading time)."""
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", "a3", str(subs), "--out", str(out),
                           "--jobs", str(jobs)], cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"grading failed:\n{proc.stderr[-3000:]}")
    inside = sum(json.loads(p.read_text())["report"]["execution_time"] for p in out.glob("*/report.json"))
    return wall, inside


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmkit-bench-") as tmp:
        subs = Path(tmp) / "subs"
        subs.mkdir()
        make_class(subs, args.count)
        walls = {}
        for jobs in (1, 2):
            out = Path(tmp) / f"out{jobs}"
            wall, inside = run(subs, out, jobs)
            walls[jobs] = wall
            marginal = (wall * jobs - inside) / args.count
            print(f"--jobs {jobs}: {wall:.1f} s wall for {args.count} submissions; tests' own compute "
                  f"{inside:.1f} s; marginal {marginal:.2f} s per submission")  # fmt: skip
        start = time.monotonic()
        run(subs, Path(tmp) / "out2", 2)
        resume = time.monotonic() - start
        print(f"--jobs 2 / --jobs 1: {walls[2] / walls[1]:.2f}; resuming the finished batch: {resume:.1f} s")


if __name__ == "__main__":
    main()
