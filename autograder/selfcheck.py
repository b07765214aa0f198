"""Self-checking a notebook from inside it, without running tests in its kernel.

The test cells of an exported notebook (``llmkit export nbgrader``) call :func:`check`: it grades the
notebook as saved on disk with ``llmkit check`` in a separate process, where the kit stages the notebook
(cells of definitions only) and runs it in its sandbox, then prints the results of one test file and
raises ``AssertionError`` when one of them failed, so that nbgrader's *Validate* button reports it. What
the kernel holds (objects, patched functions) plays no part: only the saved file is graded. One check
serves every test cell until the notebook is saved again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.exporters.notebooks import file_of

_reports: dict[tuple[str, str, int], dict] = {}


def notebook_path(default: str) -> Path:
    """The notebook this kernel runs: the one Jupyter names in ``$JPY_SESSION_NAME`` when it exists,
    else ``default`` (the released notebook's file name) in the working directory."""
    session = os.environ.get("JPY_SESSION_NAME", "")
    if session.endswith(".ipynb") and Path(session).is_file():
        return Path(session)
    return Path(default)


def _report(assignment: str, path: Path) -> dict:
    key = (assignment, str(path), path.stat().st_mtime_ns)
    if key not in _reports:
        with tempfile.TemporaryDirectory(prefix="llmkit-selfcheck-") as tmp:
            out = Path(tmp) / "report.json"
            command = [
                sys.executable,
                "-m",
                "autograder",
                "check",
                assignment,
                str(path),
                "--report",
                str(out),
            ]
            proc = subprocess.run(command, capture_output=True, text=True)
            if proc.returncode != 0 or not out.is_file():
                raise RuntimeError(f"llmkit check failed: {(proc.stderr or proc.stdout).strip()[-2000:]}")
            _reports[key] = json.loads(out.read_text(encoding="utf-8"))
    return _reports[key]


def check(assignment: str, test_file: str, notebook: str) -> float:
    """Grade the saved notebook with the public tests of ``assignment`` in the sandbox and report those of
    ``test_file`` (``test_attention.py``); returns their points, raises ``AssertionError`` when one of them
    failed or the notebook could not be graded."""
    path = notebook_path(notebook).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: save this notebook as {notebook} and run the cell again")
    report = _report(assignment, path)
    if report["error"]:
        raise AssertionError(f"the notebook could not be graded: {report['error']}")
    tests = [t for t in report["tests"] if file_of(t["nodeid"]) == test_file]
    if not tests:
        raise AssertionError(f"the public tests have nothing for {test_file}")
    for problem in report["problems"]:
        print(f"problem: {problem}")
    failed = [t for t in tests if t["status"] != "passed"]
    for t in tests:
        mark = "PASS" if t["status"] == "passed" else "FAIL"
        print(f"{mark} {t['score']:g}/{t['max_score']:g}  {t['name']}")
    print(f"(public tests of {test_file} on {path.name} as saved, seed {report['seed']})")
    if failed:
        details = "\n".join(f"- {t['name']}: {t['output'].strip()[:800]}" for t in failed)
        raise AssertionError(f"{len(failed)} of {len(tests)} public tests of {test_file} failed:\n{details}")
    return sum(t["score"] for t in tests)
