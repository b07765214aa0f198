"""The student bundle works as a new student would use it: the release's own README, its two set-up commands
run on a fresh virtual environment inside the bundle (verbatim where PyTorch's CPU index is reachable), then
`start`, `check` and `submit`."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import zipfile

import pytest

from autograder.course import kit_root, load_course

CPU_INDEX = re.compile(r"\s--index-url\s+https://download\.pytorch\.org/whl/cpu")


def _cpu_index_reachable() -> bool:
    """Whether the host of PyTorch's CPU index resolves from here (no connection is made)."""
    try:
        socket.getaddrinfo("download.pytorch.org", 443)
    except OSError:
        return False
    return True


def _setup_commands(readme: str) -> list[str]:
    """The commands of the README's "Set up" code block, comments left out."""
    section = readme.split("## Set up", 1)[1]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_release_readme_is_the_students(llmkit, tmp_path):
    out = tmp_path / "release"
    proc = llmkit("release", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    readme = (out / "README.md").read_text()
    assert (out / "constraints.txt").is_file(), "the README installs with -c constraints.txt"
    assert "solutions/" not in readme and "python -m pytest" not in readme, (
        "the kit's README, not the student's"
    )
    assert "[Decoder-only architecture](assignments/a3_attention/README.md)" in readme
    commands = _setup_commands(readme)
    assert len(commands) == 2, commands
    assert "torch==2.13.0" in commands[0] and CPU_INDEX.search(commands[0]), "CPU-only torch, pinned"
    assert "-c constraints.txt" in commands[0]
    # every handout's notebook, data and models ship: the notebooks read them in the student's workspace
    root = kit_root() / "assignments"
    kit = {p.relative_to(root) for p in root.rglob("*") if p.is_file() and p.suffix != ".pyc"}
    kit = {p for p in kit if not any(part.startswith((".", "__")) for part in p.parts)}  # caches, checkpoints
    shipped = {p.relative_to(out / "assignments") for p in (out / "assignments").rglob("*") if p.is_file()}
    assert kit <= shipped, f"not in the release: {sorted(map(str, kit - shipped))[:5]}"


@pytest.mark.skipif(shutil.which("python3.11") is None, reason="needs python3.11 on PATH, as the README says")
def test_release_installs_and_works_in_a_fresh_venv(llmkit, tmp_path):
    """The README's two set-up commands, run as printed where PyTorch's CPU index is reachable.

    Where it is not (the kit's CI machine has no network but its package mirror: download.pytorch.org does
    not resolve, which `_cpu_index_reachable` asks the resolver in a few milliseconds), the torch command
    runs without its ``--index-url`` and nothing else changes. Run verbatim there, pip retries the index five
    times for torch and for each of its dependencies (about 70 s measured) and then installs the same wheel,
    2.13.0+cpu, from the sources it is configured with: the same result, later, and no part of the index
    tried. Either way the command's pins and constraints are the student's, and the test checks that the CPU
    build and no GPU library ended up in the new environment."""
    out = tmp_path / "release"
    assert llmkit("release", "--out", str(out)).returncode == 0
    install, first_steps = _setup_commands((out / "README.md").read_text())
    first, workspace = re.search(r"llmkit check (\S+) (\S+)", first_steps).groups()
    script = "\n".join(
        [
            "set -euo pipefail",
            install if _cpu_index_reachable() else CPU_INDEX.sub("", install),
            first_steps,
            f"llmkit submit {first} {workspace} --out submission.zip",
            "python -c \"import torch; print('TORCH', torch.__version__)\"",
            "python -m pip list 2>/dev/null | grep -ic '^nvidia' || true",
        ]
    )
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "LLMKIT_ROOT")}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not p.startswith(sys.prefix))
    proc = subprocess.run(
        ["bash", "-c", script], cwd=out, env=env, capture_output=True, text=True, timeout=1200
    )
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert (out / ".venv" / "bin" / "llmkit").is_file(), "the kit was not installed into the new venv"
    assert f"Started {first}" in proc.stdout
    assert "FAIL" in proc.stdout and "Score: 0 /" in proc.stdout and "NotImplementedError" in proc.stdout
    assert "TORCH 2.13.0+cpu" in proc.stdout, proc.stdout[-500:]
    assert proc.stdout.strip().splitlines()[-1] == "0", "GPU libraries were installed"
    modules = set(load_course().assignments[workspace.rsplit("/", 1)[-1]].modules)
    with zipfile.ZipFile(out / "submission.zip") as archive:
        assert modules <= {n.rsplit("/", 1)[-1] for n in archive.namelist()}
