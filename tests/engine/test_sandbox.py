"""The worker sandbox: calls, handles, failures that fail closed, and limits a submission cannot escape."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import replace
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
    def grad_off(self):
        torch.set_grad_enabled(False)
        return torch.is_grad_enabled()

def grad_off():  # for good: not a context manager
    torch.set_grad_enabled(False)
    return torch.is_grad_enabled()

def grad_mode():
    return torch.is_grad_enabled()

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

def fill(count, mib):  # `count` files of `mib` MiB in the working directory: how many bytes went in

    total = 0
    try:
        for i in range(count):
            with open(f"fill-{i}", "wb") as handle:
                for _ in range(mib):
                    handle.write(b"x" * (1 << 20))
                    total += 1 << 20
    except OSError:
        pass
    return total

def sockets_in_reach():  # the descriptors it holds, and each socket it finds near its directory

    import stat
    held = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
    found = {}
    for base in {os.path.dirname(os.getcwd()), os.path.dirname(os.path.dirname(os.getcwd()))}:
        for root, dirs, files in os.walk(base):
            for name in files + dirs:
                path = os.path.join(root, name)
                try:
                    if stat.S_ISSOCK(os.lstat(path).st_mode):
                        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                        try:
                            s.connect(path)
                            found[path] = "connected"
                        except OSError as exc:
                            found[path] = type(exc).__name__
                except OSError:
                    pass
    return {"held": held, "found": found}

def big(n):
    return torch.zeros(n)

def load(name):  # a module the fork server has not imported
    import importlib
    return importlib.import_module(name).__name__

def listdir(path):
    try:
        return sorted(os.listdir(path))
    except PermissionError:
        return "denied"

def exists(path):
    return os.path.lexists(path)

def daemon():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(120)
        os._exit(0)
    return True
"""


LIMITS = Limits(call_timeout=3, cpu_seconds=30, memory_mb=1024)


@pytest.fixture(scope="module")
def zygote():
    os.environ["LLMKIT_TEST_SECRET"] = "do-not-leak"
    try:
        with Zygote(hidden=[kit_root()], limits=LIMITS) as z:
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
    s = Submission(zygote, folder, LIMITS, modules=("mod.py",))
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


def test_every_call_starts_with_grad_mode_on(sub):
    """A call that turns grad mode off for good cannot change how later calls run."""
    assert sub.call("mod.grad_mode") is True
    assert sub.call("mod.grad_off") is False
    assert sub.call("mod.grad_mode") is True
    counter = sub.call("mod.Counter", 0)
    assert counter.call("grad_off") is False
    assert counter.call("bump") == 1 and sub.call("mod.grad_mode") is True


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


def test_a_fork_server_that_dies_at_start_up_fails_at_once_with_its_error(monkeypatch):
    """Even when something it started still holds its output pipe (here a `sleep`)."""
    from autograder import client

    broken = "import subprocess, sys; subprocess.Popen(['sleep', '60']); sys.exit('broken at start-up {fd}')"
    # the bootstrap is formatted with parent, fd and policy: take all three, print only the descriptor
    monkeypatch.setattr(client, "_BOOTSTRAP", broken.replace("{fd}", "{fd}{parent:.0}{policy:.0}"))
    start = time.monotonic()
    failed = "exited with code 1.*broken at start-up"
    with Zygote(limits=LIMITS) as z, pytest.raises(RuntimeError, match=failed):
        z.wait_ready()
    assert time.monotonic() - start < 10


def test_preloaded_modules_are_there_before_the_submission_imports_them(sub):
    """`preload` (course.yml) makes the fork server import libraries once: every worker starts with them."""
    probe = "import sys\n\n\ndef loaded(name):\n    return name in sys.modules\n"
    folder = make_submission({"probe.py": probe})
    try:
        with Zygote(hidden=[kit_root()], limits=replace(LIMITS, preload=("wave",))) as z:
            preloaded = Submission(z, folder, LIMITS, modules=("probe.py",))
            assert preloaded.call("probe.loaded", "wave") is True
            preloaded.close()
        plain = Submission(sub.zygote, folder, LIMITS, modules=("probe.py",))
        assert plain.call("probe.loaded", "wave") is False
        plain.close()
    finally:
        shutil.rmtree(folder)


def test_modules_the_fork_server_never_imported_can_be_imported(sub):
    """As root the worker runs as a user of its own, which may not enter the folder Python is installed in
    (/root, mode 700): it still imports what the fork server never imported, and sees nothing else there."""
    import importlib.util
    import sys

    from autograder import confine

    assert "plistlib" not in zygote_modules(sub)  # really not imported by the fork server
    assert sub.call("mod.load", "plistlib") == "plistlib"
    if importlib.util.find_spec("transformers") is not None:
        assert sub.call("mod.load", "transformers", timeout=120) == "transformers"
    closed = confine.closed_ancestors([Path(sys.prefix).resolve()])
    if os.geteuid() == 0 and "namespaces" in sub.layers and closed:
        assert "python-view" in sub.layers and "uid" in sub.layers
        for parent, children in closed.items():  # only the way to the installation, nothing beside it
            assert sub.call("mod.listdir", str(parent)) in ("denied", sorted(c.name for c in children))
            for sibling in set(parent.iterdir()) - children:
                assert sub.call("mod.exists", str(sibling)) is False, sibling
    if "landlock" in sub.layers:
        for secret in (kit_root() / "course.yml", kit_root() / "autograder" / "plugin.py"):
            with pytest.raises(CallFailed, match="PermissionError"):
                sub.call("mod.read", str(secret))


def zygote_modules(sub) -> set[str]:
    """The modules a fresh fork of the zygote holds before importing the submission."""
    import subprocess
    import sys

    code = f"import sys; sys.path.insert(0, {str(kit_root())!r}); import torch, numpy, autograder.worker; "
    code += "print(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=300,
                         check=True).stdout  # fmt: skip
    return set(out.split())


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


def test_no_worker_can_reach_the_control_channel(sub, zygote):
    """The fork server takes requests on an inherited socket pair: nothing in the file system names it, and
    a worker holds only its own descriptors (stdin, stdout, stderr, the protocol socket)."""
    seen = sub.call("mod.sockets_in_reach")
    assert seen["found"] == {}, f"sockets a worker can find: {seen['found']}"
    assert [fd for fd in seen["held"] if fd > 3] in ([], [max(seen["held"])]), seen["held"]  # + listdir's own
    sockets = [p for p in zygote.tmp.rglob("*") if p.is_socket()]
    assert sockets == [], f"the fork server's folder holds sockets: {sockets}"


def _raw_spawn(zygote, request: dict):
    """Send `request` on the control channel as the trusted side would, and read the zygote's reply."""
    import json
    import select
    import socket

    ours, theirs = socket.socketpair()
    fds = [os.pipe() for _ in range(3)]
    socket.send_fds(zygote.control, [json.dumps(request).encode()], [theirs.fileno()] + [w for _, w in fds])
    theirs.close()
    for _, w in fds:
        os.close(w)
    assert select.select([fds[2][0]], [], [], 30)[0]
    reply = json.loads(os.read(fds[2][0], 4096))
    os.close(fds[2][0])
    return ours, fds[0][0], fds[1][0], reply


def test_a_request_cannot_change_the_policy(zygote):
    """Fields a hostile request adds (no hidden paths, no namespaces, a workdir of its choosing, more
    memory) are ignored: the policy was fixed when the fork server started. A submission folder that holds a
    hidden path is refused."""
    from autograder.client import Worker

    folder = make_submission({"mod.py": MODULE})
    hostile = {
        "submission": str(folder),
        "hidden": [],
        "namespaces": False,
        "workdir": str(kit_root()),
        "uid": None,
        "memory_bytes": 1 << 40,
        "max_file_bytes": 1 << 40,
        "max_procs": 100000,
    }
    sock, out_fd, status_fd, reply = _raw_spawn(zygote, hostile)
    worker = Worker(sock, out_fd, status_fd, reply["supervisor_pid"], Path(reply["workdir"]), LIMITS)
    try:
        assert Path(reply["workdir"]).parent == zygote.tmp
        worker.request({"op": "import", "modules": ["mod"]})
        facts = worker.request({"op": "call", "target": "mod.facts", "args": [], "kwargs": {}})
        assert facts["cwd"] == reply["workdir"]
        if "landlock" in worker.layers:
            with pytest.raises(CallFailed, match="PermissionError"):
                worker.request(
                    {
                        "op": "call",
                        "target": "mod.read",
                        "args": [str(kit_root() / "course.yml")],
                        "kwargs": {},
                    }
                )
        if os.uname().sysname == "Linux":
            assert "namespaces" in worker.layers or "namespaces" not in zygote_layers(zygote)
        with pytest.raises(CallFailed, match="MemoryError|memory"):
            worker.request({"op": "call", "target": "mod.hog", "args": [], "kwargs": {}})
    finally:
        worker.kill()
    for bad in (kit_root(), kit_root().parent):
        sock, out_fd, status_fd, reply = _raw_spawn(zygote, {"submission": str(bad)})
        sock.close()
        os.close(out_fd)
        os.close(status_fd)
        assert "error" in reply and "supervisor_pid" not in reply, reply
    shutil.rmtree(folder)


def zygote_layers(zygote) -> list[str]:
    folder = make_submission({"mod.py": MODULE})
    s = Submission(zygote, folder, LIMITS, modules=("mod.py",))
    try:
        s.call("mod.double", 1)
        return list(s.layers)
    finally:
        s.close()
        shutil.rmtree(folder)


def test_total_disk_writes_are_capped(sub):
    """Files of 8 MiB each (under the 16 MiB per-file limit) stop once the worker's directory holds its
    64 MiB in all: the writes fail, or the worker is stopped."""
    try:
        written = sub.call("mod.fill", 24, 8)  # 192 MiB asked for
    except CallFailed as exc:
        assert "more than 64 MB" in str(exc), exc
    else:
        assert written <= LIMITS.max_disk_bytes, f"{written >> 20} MiB written"
    assert sub.call("mod.double", 2) == 4


def _peak_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def test_a_reply_is_refused_before_the_trusted_side_reads_it(sub):
    """The trusted side reads at most `REPLY_CAP` (256 MiB) of tensor data per reply, and at most what a test
    bounds it to: larger replies fail the call, and the trusted process does not grow by them."""
    from autograder.client import REPLY_CAP

    assert REPLY_CAP == 256 << 20
    before = _peak_rss()
    with pytest.raises(CallFailed, match="frame too large"):
        sub.call("mod.big", 70_000_000, timeout=60)  # 280 MB, under the wire's 1 GiB frame limit
    with sub.reply_limit(4 * 1000 + 4096):
        assert sub.call("mod.big", 1000).shape == (1000,)
        with pytest.raises(CallFailed, match="frame too large"):
            sub.call("mod.big", 20_000_000, timeout=60)  # 80 MB where 4 kB were expected
    assert sub.call("mod.big", 20_000).shape == (20_000,)  # the bound ends with the block
    grew = _peak_rss() - before
    assert grew < 64 << 20, f"the trusted process grew by {grew >> 20} MiB"


def test_a_large_reply_is_read_only_when_a_check_accepts_its_shape(sub):
    """A reply over `DEFER_OVER` comes back as deferred tensors: a check expecting another shape refuses it
    unread and the next call still gets its own answer (the unread bytes were dropped); a check expecting
    exactly that shape reads it; inside `reply_limit` it is read whole."""
    from autograder import wire
    from autograder.checks import GradeFailure, expect_tensor
    from autograder.client import DEFER_OVER

    n = DEFER_OVER // 4 + 1_000_000  # float32 values: just over the bound
    got = sub.call("mod.big", n, timeout=60)
    assert isinstance(got, wire.DeferredTensor) and got.shape == (n,) and got.nbytes == 4 * n
    with pytest.raises(GradeFailure, match=rf"expected shape \(4,\), got shape \({n},\) .*not read"):
        expect_tensor(got, shape=(4,), dtype=torch.float32, what="big")
    assert sub.call("mod.double", 2) == 4  # the stream is in step again
    with pytest.raises(GradeFailure, match="dropped unread"):  # that reply's bytes are gone
        expect_tensor(got, shape=(n,), what="big")
    got = sub.call("mod.big", n, timeout=60)
    assert torch.equal(expect_tensor(got, shape=(n,), dtype=torch.float32, what="big"), torch.zeros(n))
    assert sub.call("mod.double", 3) == 6
    with sub.reply_limit(8 * n):
        assert type(sub.call("mod.big", n, timeout=60)) is torch.Tensor


def test_total_disk_writes_are_capped_without_namespaces():
    """Without a mount namespace (a kernel with no user namespaces, simulated by the policy) the supervisor
    counts what the worker's directory holds and stops the worker past the total."""
    folder = make_submission({"mod.py": MODULE})
    limits = Limits(call_timeout=60, cpu_seconds=120, memory_mb=1024, namespaces=False)
    with Zygote(hidden=[kit_root()], limits=limits) as z:
        s = Submission(z, folder, limits, modules=("mod.py",))
        try:
            with pytest.raises(CallFailed, match="more than 64 MB"):
                s.call("mod.fill", 24, 8)  # 192 MiB asked for, 64 MiB allowed
            assert "namespaces" not in s.layers and "disk" in s.layers
            assert s.call("mod.double", 3) == 6
        finally:
            s.close()
    shutil.rmtree(folder)
