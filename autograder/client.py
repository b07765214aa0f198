"""The trusted side of the wire: start the fork server, spawn workers, call into a submission.

Tests use a `Submission` (the `sub` fixture)::

    out = sub.call("attention.causal_attention", q, k, v)      # tensors in, a plain tensor out
    model = sub.call("model.GPT", config)                      # an object comes back as a RemoteObject
    logits = model.call("forward", idx)

Everything that comes back was rebuilt from plain data by `wire.decode`. Any misbehaviour of the worker
(an exception, a crash, a timeout, a malformed frame) raises `CallFailed`; the worker is then killed
and the next call starts a fresh one, so one bad test cannot spoil the next.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder import wire

_KIT_PARENT = Path(__file__).resolve().parent.parent
_BOOTSTRAP = (
    "import sys; sys.path.insert(0, {parent!r}); "
    "import torch, numpy; from autograder.worker import zygote; zygote({fd})"
)
OUTPUT_CAP = 64 * 1024


class CallFailed(Exception):
    """The submission failed a call: it raised, crashed, timed out or broke the protocol."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Limits:
    """Resource limits of one worker (one worker serves one submission unless it dies)."""

    call_timeout: float = 30.0
    cpu_seconds: float = 300.0
    memory_mb: int = 4096
    max_procs: int = 64
    max_file_bytes: int = 16 << 20
    namespaces: bool = True


@dataclass
class Zygote:
    """The fork server. Start it before any hidden data is loaded; share it across submissions."""

    hidden: list[Path] = field(default_factory=list)
    process: subprocess.Popen | None = None
    tmp: Path | None = None
    _uid_counter: int = 0
    _ready: bool = False
    vm_bytes: int = 0

    def start(self) -> Zygote:
        self.tmp = Path(tempfile.mkdtemp(prefix="llmkit-"))
        os.chmod(self.tmp, 0o711)
        cwd = self.tmp / "zygote"
        cwd.mkdir(mode=0o700)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.tmp / "zygote.sock"))
        os.chmod(self.tmp / "zygote.sock", 0o600)
        listener.listen(64)
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # hardware workarounds, not secrets
            if key in os.environ:
                env[key] = os.environ[key]
        code = _BOOTSTRAP.format(parent=str(_KIT_PARENT), fd=listener.fileno())
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", code],
            pass_fds=(listener.fileno(),),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        listener.close()
        return self

    def wait_ready(self, timeout: float = 120.0) -> None:
        """The fork server imports torch (about 2 s): the caller does other work meanwhile.

        Call it before forking graders that share this server: only one process may read its ready line."""
        if self._ready:
            return
        assert self.process is not None and self.process.stdout is not None, "start() the zygote first"
        ready = select.select([self.process.stdout], [], [], timeout)[0]
        line = self.process.stdout.readline() if ready else b""
        if not line.startswith(b"zygote-ready"):
            self.process.kill()
            err = self.process.stderr.read().decode(errors="replace")[-2000:] if ready else "(no answer)"
            raise RuntimeError(f"the worker fork server did not start within {timeout:g} s: {err}")
        self._ready = True
        # a worker starts as a copy of the fork server, torch's reserved address space included: the memory
        # budget comes on top of that (4 GB when /proc cannot say)
        self.vm_bytes = _vm_bytes(self.process.pid) or 4 << 30

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> Zygote:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def spawn(self, submission: Path, limits: Limits) -> Worker:
        """Fork a confined worker that imports from `submission` (a staged folder)."""
        self.wait_ready()
        workdir = Path(tempfile.mkdtemp(prefix="work-", dir=self.tmp))
        ours, theirs = socket.socketpair()
        out_r, out_w = os.pipe()
        status_r, status_w = os.pipe()
        self._uid_counter += 1
        uid = 61000 + (os.getpid() * 64 + self._uid_counter) % 3000
        request = {
            "submission": str(submission.resolve()),
            "workdir": str(workdir),
            "uid": uid,
            "cpu_seconds": limits.cpu_seconds,
            "memory_bytes": self.vm_bytes + limits.memory_mb * (1 << 20),
            "max_procs": limits.max_procs,
            "max_file_bytes": limits.max_file_bytes,
            "namespaces": limits.namespaces,
            "hidden": [str(p) for p in self.hidden],
        }
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.connect(str(self.tmp / "zygote.sock"))
                socket.send_fds(conn, [json.dumps(request).encode()], [theirs.fileno(), out_w, status_w])
                conn.settimeout(30)
                reply = json.loads(conn.recv(1 << 12).decode())
        finally:
            theirs.close()
            os.close(out_w)
            os.close(status_w)
        return Worker(ours, out_r, status_r, int(reply["supervisor_pid"]), workdir, limits)


def _vm_bytes(pid: int) -> int:
    """The virtual address space a process maps (VmSize), 0 if unknown (no /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Worker:
    """One live worker process: frames over a socket, output over a pipe, status from its supervisor."""

    def __init__(
        self,
        sock: socket.socket,
        out_fd: int,
        status_fd: int,
        supervisor_pid: int,
        workdir: Path,
        limits: Limits,
    ) -> None:
        self.sock = sock
        self.limits = limits
        self.supervisor_pid = supervisor_pid
        self.workdir = workdir
        self.worker_pid: int | None = None
        self.exit_code: int | None = None
        self.killed_by_us = False
        self.layers: list[str] = []
        self.output = bytearray()
        self.output_dropped = 0
        self._status = os.fdopen(status_fd, "rb", buffering=0)
        self._status_buf = b""
        self._drain = threading.Thread(target=self._drain_output, args=(out_fd,), daemon=True)
        self._drain.start()
        self._buf = bytearray()
        self._read_status(timeout=30, until="worker_pid")
        try:
            hello = self._read(timeout=60)
        except (EOFError, TimeoutError, OSError, wire.WireError):
            hello = None
        if not isinstance(hello, dict) or not isinstance(hello.get("hello"), list):
            self.kill()
            time.sleep(0.05)  # let the output pipe drain
            raise CallFailed(f"the worker did not start:\n{self.output_text()[-1500:]}", kind="crash")
        self.layers = [str(x) for x in hello["hello"]][:10]

    def _drain_output(self, fd: int) -> None:
        with os.fdopen(fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(1 << 16):
                room = OUTPUT_CAP - len(self.output)
                self.output += chunk[: max(room, 0)]
                self.output_dropped += max(len(chunk) - max(room, 0), 0)

    def _read_status(self, timeout: float, until: str = "exit") -> None:
        """Read status lines from the supervisor (trusted code) until `until` ("worker_pid" or "exit") is
        known, without blocking past `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self._status_buf:
                line, self._status_buf = self._status_buf.split(b"\n", 1)
                msg = json.loads(line)
                if "worker_pid" in msg:
                    self.worker_pid = int(msg["worker_pid"])
                if "exit" in msg:
                    self.exit_code = int(msg["exit"])
            if (self.worker_pid if until == "worker_pid" else self.exit_code) is not None:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._status], [], [], remaining)[0]:
                return
            chunk = self._status.read(4096)
            if not chunk:
                return
            self._status_buf += chunk

    def _recv_exact(self, n: int, deadline: float) -> bytes:
        while len(self._buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.sock], [], [], remaining)[0]:
                raise TimeoutError
            chunk = self.sock.recv(max(n - len(self._buf), 1 << 16))
            if not chunk:
                raise EOFError("the worker closed the connection")
            self._buf += chunk
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def _read(self, timeout: float) -> Any:
        """One frame from the worker, checked by `wire` before anything is built from it."""
        deadline = time.monotonic() + timeout
        header_len, blob_len = wire.parse_prefix(self._recv_exact(wire.PREFIX_SIZE, deadline))
        header = self._recv_exact(header_len, deadline)
        return wire.decode(header, self._recv_exact(blob_len, deadline))

    def request(self, message: dict, timeout: float | None = None) -> Any:
        """Send one request and return the decoded reply value, or raise CallFailed."""
        timeout = self.limits.call_timeout if timeout is None else timeout
        try:
            self.sock.settimeout(timeout)
            self.sock.sendall(wire.encode(message))
            self.sock.settimeout(None)
            reply = self._read(timeout)
        except TimeoutError:
            self.kill()
            raise CallFailed(
                f"no answer within {timeout:g} s (wall clock): the call was stopped", kind="timeout"
            ) from None
        except (EOFError, OSError, wire.WireError) as exc:
            message = self._death_message(exc)
            self.kill()
            raise CallFailed(message, kind="crash") from None
        if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
            self.kill()
            raise CallFailed("the worker sent a malformed reply", kind="crash")
        if reply["ok"]:
            return reply.get("value")
        err = reply.get("error")
        if not isinstance(err, dict):
            raise CallFailed("the worker sent a malformed error", kind="crash")
        trace = str(err.get("trace", ""))[-3000:]
        text = f"{str(err.get('type', 'Exception'))[:100]}: {str(err.get('message', ''))[:1500]}"
        raise CallFailed(text + (f"\n{trace.rstrip()}" if trace.strip() else ""), kind="exception")

    def _death_message(self, exc: BaseException) -> str:
        self._read_status(timeout=2)
        code = self.exit_code
        if isinstance(exc, wire.WireError):
            return f"the worker broke the protocol ({exc})"
        if code is None:
            return "the worker process ended without answering"
        if code == -signal.SIGXCPU or code == -signal.SIGKILL and not self.killed_by_us:
            return (
                f"the worker was killed (signal {-code}): the CPU time ({self.limits.cpu_seconds:g} s) "
                f"or memory ({self.limits.memory_mb} MB) limit was likely reached"
            )
        if code < 0:
            return f"the worker was killed by signal {-code}"
        return f"the worker process exited with code {code} without answering (did the code call exit()?)"

    def alive(self) -> bool:
        return not self.killed_by_us and self.exit_code is None

    def kill(self) -> None:
        """Kill the worker and everything it started; safe to call twice."""
        if self.killed_by_us:
            return
        self.killed_by_us = True
        if self.worker_pid:
            try:
                os.kill(
                    self.worker_pid, signal.SIGKILL
                )  # PID 1 of its namespace: takes the namespace with it
            except ProcessLookupError:
                pass
        self._read_status(timeout=1)  # the supervisor reports the exit, then ends
        try:
            os.killpg(self.supervisor_pid, signal.SIGKILL)  # without namespaces: the whole process group
        except (ProcessLookupError, PermissionError):
            pass
        self.sock.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def output_text(self) -> str:
        text = self.output.decode("utf-8", errors="replace")
        if self.output_dropped:
            text += f"\n[... {self.output_dropped} more bytes of output dropped]"
        return text


class RemoteObject:
    """An object that lives in the worker. Call its methods; its attributes come back as plain data."""

    def __init__(self, owner: Submission, handle: wire.Handle, generation: int) -> None:
        self._owner = owner
        self.handle = handle
        self.generation = generation

    @property
    def type_name(self) -> str:
        return self.handle.type_name

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._owner._request(
            {"op": "method", "handle": self.handle.id, "name": method},
            args,
            kwargs,
            self.generation,
            what=f"{self.type_name}.{method}",
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.call("__call__", *args, **kwargs)

    def getattr(self, name: str) -> Any:
        return self._owner._request(
            {"op": "getattr", "handle": self.handle.id, "name": name},
            (),
            {},
            self.generation,
            what=f"{self.type_name}.{name}",
        )

    def __repr__(self) -> str:
        return f"<remote {self.type_name}>"


class Submission:
    """A submission seen from a test: calls go to a worker, which is restarted after it dies."""

    def __init__(
        self,
        zygote: Zygote,
        path: Path,
        limits: Limits,
        deadline: float | None = None,
        modules: tuple[str, ...] = (),
    ) -> None:
        self.zygote = zygote
        self.path = path
        self.modules = [m.removesuffix(".py") for m in modules]
        self.hung: str | None = None
        self.limits = limits
        self.deadline = deadline
        self.worker: Worker | None = None
        self.generation = 0
        self.layers: list[str] = []
        self.outputs: list[str] = []
        self.calls = 0

    def _ensure_worker(self) -> Worker:
        if self.hung:
            raise CallFailed(self.hung, kind="timeout")
        if self.worker is None or not self.worker.alive():
            self._retire()
            self.generation += 1
            self.worker = self.zygote.spawn(self.path, self.limits)
            self.layers = self.worker.layers
            if self.modules:
                self._import_or_give_up(self.worker)
        return self.worker

    def _import_or_give_up(self, worker: Worker) -> None:
        """Import the submission's modules once per worker. Import errors surface in the calls that need
        the module; an import that never finishes would cost a timeout per test, so it ends the grading."""
        try:
            worker.request({"op": "import", "modules": self.modules}, self._timeout(None))
        except CallFailed as exc:
            if exc.kind == "timeout":
                self.hung = f"importing your modules did not finish: {exc}; no further calls were made"
                raise CallFailed(self.hung, kind="timeout") from None

    def _retire(self) -> None:
        if self.worker is not None:
            self.worker.kill()
            out = self.worker.output_text()
            if out:
                self.outputs.append(out)
            self.worker = None

    def close(self) -> None:
        self._retire()

    def output(self) -> str:
        parts = [*self.outputs, self.worker.output_text() if self.worker else ""]
        return "".join(p for p in parts if p)[-OUTPUT_CAP:]

    def source(self, filename: str) -> str:
        """The text of a submitted file ("" if absent), read on the trusted side and never imported."""
        path = self.path / filename
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 1 << 20:
            return ""
        return path.read_text(encoding="utf-8", errors="replace")

    def _timeout(self, timeout: float | None) -> float:
        """The call's own timeout, cut to what is left of the submission's time limit."""
        timeout = self.limits.call_timeout if timeout is None else timeout
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise CallFailed("the time limit for the whole submission was used up", kind="timeout")
            timeout = min(timeout, remaining)
        return timeout

    def _encode_args(self, args: Any, generation: int) -> Any:
        if isinstance(args, RemoteObject):
            if args.generation != generation:
                raise CallFailed(f"{args!r} belonged to a worker that has since been stopped", kind="stale")
            return args.handle
        if isinstance(args, list | tuple):
            return [self._encode_args(a, generation) for a in args]
        if isinstance(args, dict):
            return {k: self._encode_args(v, generation) for k, v in args.items()}
        return args

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, wire.Handle):
            return RemoteObject(self, value, self.generation)
        if isinstance(value, list):
            return [self._wrap(v) for v in value]
        if isinstance(value, dict):
            return {k: self._wrap(v) for k, v in value.items()}
        return value

    def _request(
        self,
        message: dict,
        args: Any,
        kwargs: Any,
        generation: int | None,
        what: str,
        timeout: float | None = None,
    ) -> Any:
        worker = self._ensure_worker()
        if generation is not None and generation != self.generation:
            raise CallFailed(
                f"the object behind {what} belonged to a worker that has since been stopped", kind="stale"
            )
        timeout = self._timeout(timeout)
        message = {
            **message,
            "args": self._encode_args(list(args), self.generation),
            "kwargs": self._encode_args(dict(kwargs), self.generation),
        }
        self.calls += 1
        try:
            return self._wrap(worker.request(message, timeout))
        except CallFailed as exc:
            raise CallFailed(f"{what}: {exc}", kind=exc.kind) from None

    def call(self, target: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Call `target` ("module.name" or "module.Class") in the submission with plain-data arguments."""
        return self._request(
            {"op": "call", "target": target}, args, kwargs, None, what=target, timeout=timeout
        )

    def import_modules(self, modules: list[str], timeout: float | None = None) -> dict[str, str]:
        """Import each module in the worker; returns {module: problem} for those that failed."""
        problems = self._request(
            {"op": "import", "modules": modules}, (), {}, None, what="import", timeout=timeout
        )
        if not isinstance(problems, dict):
            raise CallFailed("the worker sent a malformed import report", kind="crash")
        return {
            str(k): f"{v.get('type')}: {v.get('message')}" if isinstance(v, dict) else str(v)
            for k, v in problems.items()
        }
