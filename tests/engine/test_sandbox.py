"""The worker sandbox: calls, handles, failures that fail closed, and limits a submission cannot escape."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import torch

from autograder.client import CallFailed, Limits, RemoteObject, Submission, Zygote
from autograder.course import kit_root

MODULE = """
import os, socket, sys, time
import torch

def double(x):
    return x * 2

class Counter:
    def __init__(self, start):
        self.value = start
    def bump(self, by=1):
        self.value += by
        return self.value

def boom():
    raise ValueError("a clear message")

def spin():
    while True:
        pass

def leave(code):
    os._exit(code)

def shout(n):
    sys.stdout.write("x" * n)
    sys.stdout.flush()
    return n

def read(path):
    with open(path, "rb") as handle:
        return len(handle.read())

def write(path):
    with open(path, "w") as handle:
        handle.write("hello")
    return True

def connect(port):
    socket.create_connection(("127.0.0.1", port), timeout=2)
    return True

def facts():
    return {"pid": os.getpid(), "uid": os.getuid(), "cwd": os.getcwd(), "env": dict(os.environ)}

def hog():
    return len(bytearray(64 << 30))

def daemon():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(120)
        os._exit(0)
    return True
"""


@pytest.fixture(scope="module")
def zygote():
    os.environ["LLMKIT_TEST_SECRET"] = "do-not-leak"
    try:
        with Zygote(hidden=[kit_root()]) as z:
            yield z
    finally:
        os.environ.pop("LLMKIT_TEST_SECRET", None)


def make_submission(files: dict[str, str]) -> Path:
    """A folder the sandbox user can read (pytest's tmp_path is private to the user running the tests)."""
    folder = Path(tempfile.mkdtemp(prefix="llmkit-test-"))
    os.chmod(folder, 0o755)
    for name, text in files.items():
        (folder / name).write_text(text)
        os.chmod(folder / name, 0o644)
    return folder


@pytest.fixture
def sub(zygote):
    folder = make_submission({"mod.py": MODULE})
    s = Submission(
        zygote, folder, Limits(call_timeout=3, cpu_seconds=30, memory_mb=1024), modules=("mod.py",)
    )
    yield s
    s.close()
    shutil.rmtree(folder)


def test_calls_return_plain_tensors_and_objects_stay_remote(sub):
    x = torch.randn(2, 3)
    got = sub.call("mod.double", x)
    assert type(got) is torch.Tensor and torch.equal(got, x * 2)
    counter = sub.call("mod.Counter", 5)
    assert isinstance(counter, RemoteObject) and counter.type_name == "Counter"
    assert counter.call("bump", by=2) == 7 and counter.getattr("value") == 7


def test_exceptions_carry_the_message_and_only_the_submission_traceback(sub):
    with pytest.raises(CallFailed) as info:
        sub.call("mod.boom")
    text = str(info.value)
    assert info.value.kind == "exception" and "ValueError: a clear message" in text and "mod.py" in text
    assert "autograder" not in text
    assert sub.call("mod.double", 2) == 4  # the worker survives an exception


def test_timeout_kills_the_worker_and_the_next_call_gets_a_fresh_one(sub):
    counter = sub.call("mod.Counter", 1)
    start = time.monotonic()
    with pytest.raises(CallFailed) as info:
        sub.call("mod.spin", timeout=1)
    assert info.value.kind == "timeout" and time.monotonic() - start < 5
    assert sub.call("mod.double", 3) == 6
    with pytest.raises(CallFailed) as stale:
        counter.call("bump")
    assert stale.value.kind == "stale"


@pytest.mark.parametrize("code", [0, 3])
def test_exit_fails_closed(sub, code):
    with pytest.raises(CallFailed) as info:
        sub.call("mod.leave", code)
    assert info.value.kind == "crash" and f"code {code}" in str(info.value)
    assert sub.call("mod.double", 1) == 2


def test_output_is_captured_and_capped(sub):
    assert sub.call("mod.shout", 10 << 20) == 10 << 20
    time.sleep(0.2)
    out = sub.output()
    assert out.startswith("xxx") and len(out) < 100_000 and "dropped" in out


def test_sandbox_layers_and_isolation(sub, tmp_path):
    facts = sub.call("mod.facts")
    assert "LLMKIT_TEST_SECRET" not in facts["env"]
    assert not os.listdir(facts["cwd"]) or facts["cwd"] != str(Path.cwd())
    if os.geteuid() == 0 and os.uname().sysname == "Linux":
        assert {"namespaces", "rlimits", "landlock", "uid"} <= set(sub.layers)
        assert facts["uid"] != 0 and facts["pid"] == 1
    if "landlock" in sub.layers:
        for secret in (kit_root() / "course.yml", Path(__file__), kit_root() / "autograder" / "wire.py"):
            with pytest.raises(CallFailed, match="PermissionError"):
                sub.call("mod.read", str(secret))
        with pytest.raises(CallFailed, match="PermissionError"):
            sub.call("mod.write", str(tmp_path / "outside.txt"))
        assert not (tmp_path / "outside.txt").exists()
        assert sub.call("mod.write", "inside.txt") is True  # its own working directory is writable
        assert sub.call("mod.read", str(sub.path / "mod.py")) > 0


@pytest.mark.skipif(os.uname().sysname != "Linux", reason="network namespaces are Linux-only")
def test_no_network(sub):
    sub.call("mod.double", 1)  # start the worker, so that its layers are known
    if "namespaces" not in sub.layers and "landlock" not in sub.layers:
        pytest.skip("neither namespaces nor landlock TCP rules are available on this kernel")
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        with pytest.raises(CallFailed):
            sub.call("mod.connect", server.getsockname()[1])
    finally:
        server.close()


def test_memory_limit(sub):
    with pytest.raises(CallFailed, match="MemoryError|memory"):
        sub.call("mod.hog")
    assert sub.call("mod.double", 5) == 10


def _sandbox_processes() -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if 61000 <= entry.stat().st_uid < 64000:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(os.geteuid() != 0, reason="sandbox user ids are used only when grading as root")
def test_daemons_die_with_the_worker(sub):
    assert sub.call("mod.daemon") is True
    time.sleep(0.3)
    assert _sandbox_processes(), "the daemon should be alive while its worker is"
    sub.close()
    deadline = time.monotonic() + 5
    while _sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _sandbox_processes() == []


def test_hanging_import_stops_the_submission_quickly(zygote):
    folder = make_submission({"slow.py": "while True:\n    pass\n"})
    s = Submission(zygote, folder, Limits(call_timeout=1), modules=("slow.py",))
    try:
        start = time.monotonic()
        for _ in range(3):
            with pytest.raises(CallFailed, match="importing your modules did not finish"):
                s.call("slow.anything")
        assert time.monotonic() - start < 4
    finally:
        s.close()
        shutil.rmtree(folder)
