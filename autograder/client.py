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

import contextlib
import dataclasses
import fnmatch
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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder import exchange, probes, wire

_KIT_PARENT = Path(__file__).resolve().parent.parent
_BOOTSTRAP = (
    "import sys; sys.path.insert(0, {parent!r}); "
    "import torch, numpy; from autograder.worker import zygote; zygote({fd}, {policy!r})"
)
OUTPUT_CAP = 64 * 1024
REPLY_CAP = 256 << 20  # bytes of tensor data one reply may carry unless the call says otherwise
# a reply with more tensor data than this is decoded from its header alone: its tensors are read only when a
# check that knows the expected shape and dtype accepts them (checks.expect_tensor), so a reply far larger
# than the test expects is refused unread. Honest replies of every suite are far smaller.
DEFER_OVER = 16 << 20


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
    max_disk_bytes: int = 64 << 20
    namespaces: bool = True
    # library modules the fork server imports before it serves (course.yml ``preload``), for every worker
    preload: tuple[str, ...] = ()


@dataclass
class Zygote:
    """The fork server. Start it before any hidden data is loaded; share it across submissions.

    Its confinement policy (`hidden` paths, the confinement part of `limits`) is fixed here, when it starts:
    a request only names the staged submission. Requests travel over one end of a socket pair that only
    trusted processes hold (this one and the graders it forks), never over a name in the file system."""

    hidden: list[Path] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    process: subprocess.Popen | None = None
    tmp: Path | None = None
    control: socket.socket | None = None
    _ready: bool = False

    def start(self) -> Zygote:
        self.tmp = Path(tempfile.mkdtemp(prefix="llmkit-"))
        os.chmod(self.tmp, 0o711)
        cwd = self.tmp / "zygote"
        cwd.mkdir(mode=0o700)
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        policy = {
            "hidden": [str(p) for p in self.hidden],
            "namespaces": self.limits.namespaces,
            "cpu_seconds": self.limits.cpu_seconds,
            "memory_mb": self.limits.memory_mb,
            "max_procs": self.limits.max_procs,
            "max_file_bytes": self.limits.max_file_bytes,
            "max_disk_bytes": self.limits.max_disk_bytes,
            "preload": list(self.limits.preload),
            "work_root": str(self.tmp),
            "uid_base": 61000 + (os.getpid() * 64) % 3000,
        }
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # hardware workarounds, not secrets
            if key in os.environ:
                env[key] = os.environ[key]
        code = _BOOTSTRAP.format(parent=str(_KIT_PARENT), fd=theirs.fileno(), policy=json.dumps(policy))
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", code],
            pass_fds=(theirs.fileno(),),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        theirs.close()
        return self

    def wait_ready(self, timeout: float = 120.0) -> None:
        """The fork server imports torch (about 2 s): the caller does other work meanwhile.

        Call it before forking graders that share this server: only one process may read its ready line."""
        if self._ready:
            return
        assert self.process is not None and self.process.stdout is not None, "start() the zygote first"
        deadline = time.monotonic() + timeout
        line = b""
        # poll in short steps: a server that dies fails at once, even if something it started holds the pipe
        while time.monotonic() < deadline:
            if select.select([self.process.stdout], [], [], 0.2)[0]:
                line = self.process.stdout.readline()
                break
            if self.process.poll() is not None:
                break
        if not line.startswith(b"zygote-ready"):
            code = self.process.poll()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # with anything it started
            self.process.wait()
            os.set_blocking(self.process.stderr.fileno(), False)  # what it wrote, never waiting for more
            try:
                err = (self.process.stderr.read() or b"").decode(errors="replace")[-2000:].strip()
            except OSError:
                err = ""
            err = err or "(no output)"
            if code is None and not line:
                raise RuntimeError(f"the worker fork server did not start within {timeout:g} s: {err}")
            how = f"exited with code {code}" if code is not None else f"answered {line[:100]!r}"
            raise RuntimeError(f"the worker fork server failed at start-up ({how}): {err}")
        self._ready = True

    def stop(self) -> None:
        if self.control is not None:
            self.control.close()
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
        """Fork a confined worker that imports from `submission` (a staged folder). Of `limits`, only the
        call timeout is this submission's own: the rest is the zygote's fixed policy."""
        self.wait_ready()
        assert self.control is not None
        ours, theirs = socket.socketpair()
        out_r, out_w = os.pipe()
        status_r, status_w = os.pipe()
        reply_r, reply_w = os.pipe()
        try:
            request = json.dumps({"submission": str(submission.resolve())}).encode()
            socket.send_fds(self.control, [request], [theirs.fileno(), out_w, status_w, reply_w])
        finally:
            theirs.close()
            os.close(out_w)
            os.close(status_w)
            os.close(reply_w)
        with os.fdopen(reply_r, "rb") as pipe:
            ready = select.select([pipe], [], [], 30)[0]
            line = pipe.readline(1 << 12) if ready else b""
        try:
            reply = json.loads(line)
            supervisor_pid = int(reply["supervisor_pid"])
        except (ValueError, KeyError, TypeError):
            os.close(out_r)
            os.close(status_r)
            ours.close()
            message = f"the worker fork server refused or did not answer: {line[:300]!r}"
            raise CallFailed(message, "crash") from None
        merged = dataclasses.replace(self.limits, call_timeout=limits.call_timeout)
        return Worker(ours, out_r, status_r, supervisor_pid, Path(reply["workdir"]), merged)


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
        self.over_disk = False
        self.layers: list[str] = []
        # output by section (the test that was running when it arrived; see Submission.begin_section)
        self.section = ""
        self.sections: dict[str, bytearray] = {}
        self.dropped: dict[str, int] = {}
        self._out_lock = threading.Lock()
        self._out_fd = out_fd
        os.set_blocking(out_fd, False)
        self._status = os.fdopen(status_fd, "rb", buffering=0)
        self._status_buf = b""
        self._drain = threading.Thread(target=self._drain_output, args=(out_fd,), daemon=True)
        self._drain.start()
        self._buf = bytearray()
        self._unread: wire.DeferredBlob | None = None  # the blob of the last reply, if still on the socket
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
        try:
            while True:
                select.select([fd], [], [], 0.2)
                if not self._take_output():
                    return
        finally:
            with self._out_lock:
                os.close(fd)
                self._out_fd = -1

    def _take_output(self) -> bool:
        """Move what the output pipe holds into the current section; False once the pipe is closed. The
        worker flushes its output before it replies, so after a reply this takes all of that call's."""
        with self._out_lock:
            if self._out_fd < 0:
                return False
            while True:
                try:
                    chunk = os.read(self._out_fd, 1 << 16)
                except BlockingIOError:
                    return True
                except OSError:
                    return False
                if not chunk:
                    return False
                section = self.sections.setdefault(self.section, bytearray())
                room = max(OUTPUT_CAP - len(section), 0)
                section += chunk[:room]
                if len(chunk) > room:
                    self.dropped[self.section] = self.dropped.get(self.section, 0) + len(chunk) - room

    def set_section(self, label: str) -> None:
        """Output from now on belongs to `label`; what arrived before stays with the previous section."""
        self._take_output()
        self.section = label

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
                    self.over_disk = bool(msg.get("over_disk"))
            if (self.worker_pid if until == "worker_pid" else self.exit_code) is not None:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._status], [], [], remaining)[0]:
                return
            chunk = self._status.read(4096)
            if not chunk:
                return
            self._status_buf += chunk

    def _recv_exact(self, n: int, deadline: float) -> bytes | bytearray:
        """`n` bytes from the socket. A large read goes straight into one buffer of its final size, so the
        trusted side holds a reply once, not once per copy."""
        if n > 1 << 20:
            data = bytearray(n)
            view = memoryview(data)
            got = min(len(self._buf), n)
            view[:got] = self._buf[:got]
            del self._buf[:got]
            while got < n:
                self._wait_readable(deadline)
                count = self.sock.recv_into(view[got:], n - got)
                if not count:
                    raise EOFError("the worker closed the connection")
                got += count
            return data
        while len(self._buf) < n:
            self._wait_readable(deadline)
            chunk = self.sock.recv(max(n - len(self._buf), 1 << 16))
            if not chunk:
                raise EOFError("the worker closed the connection")
            self._buf += chunk
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def _wait_readable(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([self.sock], [], [], remaining)[0]:
            raise TimeoutError

    def _read(self, timeout: float, max_blob: int = REPLY_CAP, defer_over: int | None = None) -> Any:
        """One frame from the worker, checked by `wire` before anything is built from it: a frame whose
        tensor data is larger than `max_blob` bytes is refused before any of it is read. With `defer_over`,
        a frame with more tensor data than that is decoded from its header alone (`wire.decode_deferred`);
        its blob stays on the socket until a tensor of it is materialised or the next request drops it."""
        deadline = time.monotonic() + timeout
        header_len, blob_len = wire.parse_prefix(self._recv_exact(wire.PREFIX_SIZE, deadline), max_blob)
        header = self._recv_exact(header_len, deadline)
        if defer_over is not None and blob_len > defer_over:
            self._unread = wire.DeferredBlob(blob_len, self._read_deferred)
            return wire.decode_deferred(header, self._unread)
        return wire.decode(header, self._recv_exact(blob_len, deadline))

    def _read_deferred(self, length: int) -> bytearray | bytes:
        """The blob of the last reply, read when a check accepted one of its tensors."""
        try:
            return self._recv_exact(length, time.monotonic() + self.limits.call_timeout)
        except (TimeoutError, EOFError, OSError) as exc:
            self.kill()
            why = f"the rest of the reply did not arrive ({exc or 'timeout'})"
            raise CallFailed(why, kind="crash") from None

    def _drop_unread(self, deadline: float) -> None:
        """Throw away the blob of a deferred reply that nobody read, in small pieces (never held whole)."""
        blob, self._unread = self._unread, None
        if blob is None or blob.consumed:
            return
        blob.discard()
        left = blob.length - min(len(self._buf), blob.length)
        del self._buf[: blob.length - left]
        chunk = bytearray(1 << 20)
        while left:
            self._wait_readable(deadline)
            count = self.sock.recv_into(chunk, min(left, len(chunk)))
            if not count:
                raise EOFError("the worker closed the connection")
            left -= count

    def request(
        self,
        message: dict,
        timeout: float | None = None,
        max_blob: int = REPLY_CAP,
        defer_over: int | None = None,
    ) -> Any:
        """Send one request and return the decoded reply value, or raise CallFailed. A reply carrying more
        than `max_blob` bytes of tensor data is a protocol error (the worker is stopped); one carrying more
        than `defer_over` bytes comes back with `wire.DeferredTensor`s in place of its tensors."""
        timeout = self.limits.call_timeout if timeout is None else timeout
        try:
            self._drop_unread(time.monotonic() + timeout)
            self.sock.settimeout(timeout)
            self.sock.sendall(wire.encode(message))
            self.sock.settimeout(None)
            reply = self._read(timeout, max_blob, defer_over)
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
        if isinstance(exc, wire.WireError):  # the worker is alive: there is no exit status to wait for
            return f"the worker broke the protocol ({exc})"
        self._read_status(timeout=2)
        code = self.exit_code
        if code is None:
            return "the worker process ended without answering"
        if self.over_disk:
            return f"the worker was killed: its files took more than {self.limits.max_disk_bytes >> 20} MB"
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

    def output_text(self, section: str | None = None) -> str:
        """The output of one section, or of all of them in the order they began."""
        self._take_output()
        labels = list(self.sections) if section is None else [section]
        parts = []
        for label in labels:
            text = self.sections.get(label, bytearray()).decode("utf-8", errors="replace")
            if self.dropped.get(label):
                text += f"\n[... {self.dropped[label]} more bytes of output dropped]"
            parts.append(text)
        return "".join(parts)


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
        return self._owner._invoke(
            {"op": "method", "handle": self.handle.id, "name": method},
            args,
            kwargs,
            self.generation,
            what=f"{self.type_name}.{method}",
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.call("__call__", *args, **kwargs)

    def probe(self, method: str, *args: Any, kwargs: dict | None = None, **options: Any) -> dict:
        """Call `method` of this object inside the kit's instrumentation; see `Submission.probe` (the object
        itself is the receiver, key ``"self"`` among the modules of the call)."""
        return self._owner._probe(
            {"handle": self.handle.id, "name": method},
            args,
            kwargs or {},
            self.generation,
            f"{self.type_name}.{method}",
            **options,
        )

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
        exchange: tuple[str, ...] = (),
    ) -> None:
        self.zygote = zygote
        self.exchange = tuple(exchange)  # the declared directions of the file exchange (exchange.py)
        self._exchanged = 0
        self.path = path
        self.modules = [m.removesuffix(".py") for m in modules]
        self.hung: str | None = None
        self.limits = limits
        self.deadline = deadline
        self.worker: Worker | None = None
        self.generation = 0
        self.layers: list[str] = []
        self.outputs: dict[str, str] = {}  # section -> output of workers that have ended
        self.section = ""
        self.reply_cap = REPLY_CAP
        self.defer_over: int | None = DEFER_OVER  # see DEFER_OVER; None inside reply_limit
        self.calls = 0
        self._watches: list[tuple[list[str], dict[str, int]]] = []  # see watch()

    def _ensure_worker(self) -> Worker:
        if self.hung:
            raise CallFailed(self.hung, kind="timeout")
        if self.worker is None or not self.worker.alive():
            self._retire()
            self.generation += 1
            self.worker = self.zygote.spawn(self.path, self.limits)
            self.worker.set_section(self.section)
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
            time.sleep(0.01)  # what the worker wrote last is in the pipe: let the drain take it
            for label in self.worker.sections:
                out = self.worker.output_text(label)
                if out:
                    self.outputs[label] = (self.outputs.get(label, "") + out)[-OUTPUT_CAP:]
            self.worker = None

    def close(self) -> None:
        self._retire()

    def begin_section(self, label: str) -> None:
        """What the submission prints from now on belongs to `label` (the runner uses each test's id), so
        output follows the visibility of the test that produced it."""
        self.section = label
        if self.worker is not None:
            self.worker.set_section(label)

    def sections(self) -> list[str]:
        live = list(self.worker.sections) if self.worker is not None else []
        return list(dict.fromkeys([*self.outputs, *live]))

    def output(self, section: str | None = None) -> str:
        """What the submission printed during `section`, or in all (the last `OUTPUT_CAP` characters)."""
        labels = self.sections() if section is None else [section]
        parts = []
        for label in labels:
            parts.append(self.outputs.get(label, ""))
            if self.worker is not None and label in self.worker.sections:
                parts.append(self.worker.output_text(label))
        return "".join(p for p in parts if p)[-OUTPUT_CAP:]

    @contextlib.contextmanager
    def reply_limit(self, max_bytes: int) -> Iterator[None]:
        """Inside the block, a reply carrying more than `max_bytes` bytes of tensor data fails the call
        before the trusted side reads it, and one within the bound is read whole (never deferred): for a
        suite that takes large values without a check of `checks` (files it collects, for example).
        Outside, `REPLY_CAP` applies, and a reply over `DEFER_OVER` is read only once a check has accepted
        the shape and dtype of its tensors."""
        saved = self.reply_cap, self.defer_over
        self.reply_cap, self.defer_over = min(int(max_bytes), REPLY_CAP), None
        try:
            yield
        finally:
            self.reply_cap, self.defer_over = saved

    # ------------------------------------------------------------------------------------ file exchange

    def _check_declared(self, direction: str) -> None:
        if direction not in self.exchange:
            raise RuntimeError(
                f"the suite moves files {direction!r} of the sandbox, but the assignment does not declare "
                f"exchange: [{direction}] in course.yml"
            )

    def _exchange_name(self, name: str) -> str:
        self._exchanged += 1
        safe = "".join(c if c.isalnum() or c in "_-" else "_" for c in name)[:40] or "folder"
        return f"{self._exchanged}-{safe}"

    def send_folder(self, folder: Path, name: str = "folder") -> str:
        """Copy `folder` (written by the suite, e.g. with ``save_pretrained``) where the submission's code
        can read it, read-only, and return that path, to pass to a call. Needs ``exchange: [in]``."""
        self._check_declared("in")
        dest = self.path.resolve() / exchange.INBOX / self._exchange_name(name)
        try:
            exchange.copy_in(Path(folder), dest)
        except exchange.ExchangeError as exc:
            raise RuntimeError(f"the suite cannot send {name}: {exc}") from None
        return str(dest)

    def outbox(self, name: str = "outbox") -> str:
        """A path in the worker's own working directory for the submission's code to write files into
        (it creates the folder); `collect` brings them back. Needs ``exchange: [out]``."""
        self._check_declared("out")
        worker = self._ensure_worker()
        return str(worker.workdir / "outbox" / self._exchange_name(name))

    def collect(
        self,
        folder: str,
        max_files: int = exchange.MAX_FILES,
        max_bytes: int = exchange.MAX_TOTAL_BYTES,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """The files the submission wrote under `folder` (an `outbox`), ``{relative name: content}``: a
        parsed JSON value for ``.json``, ``{tensor name: tensor}`` for ``.safetensors``. Anything else (a
        link, a special file, another type, a name escaping the folder, too many or too large files)
        fails the test with a `CallFailed` saying which file and why; nothing is ever unpickled."""
        self._check_declared("out")
        what = f"collecting {Path(folder).name}"
        message = {"op": "collect", "path": str(folder), "max_files": max_files, "max_bytes": max_bytes}
        with self.reply_limit(max_bytes + 4096):
            reply = self._request(message, (), {}, None, what=what, timeout=timeout)
        try:
            return exchange.accept(reply, max_files, max_bytes)
        except exchange.ExchangeError as exc:
            raise CallFailed(f"{what}: {exc}", kind="exchange") from None

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
            return self._wrap(worker.request(message, timeout, self.reply_cap, self.defer_over))
        except CallFailed as exc:
            raise CallFailed(f"{what}: {exc}", kind=exc.kind) from None

    def call(self, target: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Call `target` ("module.name" or "module.Class") in the submission with plain-data arguments."""
        return self._invoke(
            {"op": "call", "target": target}, args, kwargs, None, what=target, timeout=timeout
        )

    def new(self, target: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> RemoteObject:
        """``target(*args, **kwargs)`` for a class ("module.Class"): the object, by handle. A submission
        whose constructor gives anything else (a tensor, a number) fails the test that needed the object,
        rather than the suite tripping over a value it cannot call."""
        value = self.call(target, *args, timeout=timeout, **kwargs)
        if not isinstance(value, RemoteObject):
            raise CallFailed(
                f"{target}(...) should give an object (an instance of the class), got a value of type "
                f"{type(value).__name__}",
                kind="exception",
            )
        return value

    # ------------------------------------------------------------------------------------------ probes

    def probe(
        self,
        target: str,
        *args: Any,
        kwargs: dict | None = None,
        observe: Sequence[str] = (),
        upstream: Any = None,
        output: int | str | None = None,
        grad_inputs: Sequence[int | str] = (),
        watch: Sequence[str] = (),
        device: str | None = None,
        dtype: Any = None,
        global_seed: int | None = None,
        grad_enabled: bool | None = None,
        train: bool | None = None,
        timeout: float | None = None,
    ) -> dict:
        """Call `target` in the worker inside the kit's instrumentation (``probes.py``) and return
        ``{"value": <what sub.call would return>, <observation>: <raw data>, ...}``.

        `args` are the call's positional arguments and `kwargs` its keyword arguments (a dict, so that they
        never collide with the options). The *modules of the call* are every ``nn.Module`` among the
        top-level arguments (keys ``"args.0"``, ``"kwargs.model"``, ...) and, for `RemoteObject.probe`, the
        receiver (key ``"self"``). If the call raises, `CallFailed` is raised as by `call`.

        Set-up, made in the worker just before the call:

        - `grad_inputs`: positions (int) or keyword names (str) of floating tensor arguments that get
          ``requires_grad_(True)``; `upstream`: a tensor shaped like the output, backpropagated as
          ``(out * upstream).sum()`` after the call (None: ``out.backward()`` for a scalar output).
          `output` selects which part of a returned tuple, list, dict or object is ``out``: ``0``,
          ``"logits"``, ``"0.router_logits"`` (dot-separated: an index into a tuple or list, else a key of
          a mapping, else an attribute; None: the whole value); `upstream` is then shaped like that part.
          A selection that fails is reported in ``grads["error"]``, like a failed backward.
        - `device` ("meta", ...) / `dtype` (a floating torch dtype): tensor arguments are converted, and
          the modules of the call are converted **in place** with ``.to(...)`` (probe a fresh module).
        - `global_seed`: ``torch.manual_seed(global_seed)``; `grad_enabled`: ``torch.set_grad_enabled``
          (default True, whatever an earlier call left; the worker's own mode is restored afterwards);
          `train`: ``.train(train)`` on every module of the call.
        - `watch`: fnmatch patterns of events to count (observation "calls").

        Observations (`observe`), all plain data and never a verdict: the trusted test judges them.

        - ``"inputs_after"``: ``{"args": [...], "kwargs": {...}}``, each tensor argument as it is after the
          call (None for other arguments): an input modified in place differs from what was sent.
        - ``"grads"``: ``{"output_requires_grad", "error" (backward's exception text or None),
          "inputs": {ref: grad or None}, "params": {module key: {name: grad or None}},
          "requires_grad": {module key: {name: bool}}}``; parameter ``.grad`` is cleared before the call.
        - ``"grad_mode"``: ``{"before", "during": [distinct torch.is_grad_enabled() values seen at the
          torch calls inside, first seen first], "after"}``.
        - ``"modules"``: ``[{"type": "module.Class", "training", "grad_enabled", "count"}]``, every module
          call during the call, aggregated.
        - ``"training"``: ``{module key: {submodule name ("" for itself): training}}`` after the call.
        - ``"global_rng"``: ``{"advanced": bool}``: whether torch's global generator changed.
        - ``"devices"``: ``{device: count}`` of the tensors (of at least one dimension) returned by the
          torch calls inside.
        - ``"calls"``: ``{event: count}`` of watched events: torch functions and tensor methods by
          ``__name__`` (``"scaled_dot_product_attention"``), module calls as ``"module:<module>.<class>"``,
          and, when a pattern starts with ``"aten."``, aten operators as ``"aten.<op>"``.

        Meta tensors come back as ``{"meta": True, "shape": [...], "dtype": "float32"}``. Example::

            r = sub.probe("attention.causal_attention", q, k, v, observe=["inputs_after", "grads"],
                          grad_inputs=[0, 1, 2], upstream=g)
            r["inputs_after"]["args"][0]     # q as the call left it
            r["grads"]["inputs"]["0"]        # d(sum(out * g)) / dq
        """
        return self._probe(
            {"target": target},
            args,
            kwargs or {},
            None,
            target,
            observe=observe,
            upstream=upstream,
            output=output,
            grad_inputs=grad_inputs,
            watch=watch,
            device=device,
            dtype=dtype,
            global_seed=global_seed,
            grad_enabled=grad_enabled,
            train=train,
            timeout=timeout,
        )

    def _probe(
        self,
        message: dict,
        args: Any,
        kwargs: dict,
        generation: int | None,
        what: str,
        *,
        observe: Sequence[str] = (),
        timeout: float | None = None,
        **options: Any,
    ) -> dict:
        unknown = set(options) - set(probes.OPTIONS)
        if unknown:
            raise TypeError(f"unknown probe options {sorted(unknown)}")
        if options.get("dtype") is not None:
            options["dtype"] = str(options["dtype"]).removeprefix("torch.")
        for key in ("grad_inputs", "watch"):
            options[key] = list(options.get(key) or [])
        observe = list(observe)
        if self._watches:  # inside watch(): this probe counts the watched events too
            options["watch"] = sorted(
                {*options["watch"], *(p for patterns, _ in self._watches for p in patterns)}
            )
            observe = [*observe, "calls"] if "calls" not in observe else observe
        options = {k: v for k, v in options.items() if v is not None and v != []}
        reply = self._request(
            {"op": "probe", **message, "observe": list(observe), "options": options},
            args,
            kwargs,
            generation,
            what=what,
            timeout=timeout,
        )
        if not isinstance(reply, dict) or "value" not in reply:
            raise CallFailed(f"{what}: the worker sent a malformed probe reply", kind="crash")
        if self._watches:
            calls = reply.get("calls")
            if not isinstance(calls, dict) or not all(
                isinstance(k, str) and type(n) is int and n >= 0 for k, n in calls.items()
            ):
                raise CallFailed(f"{what}: the worker sent a malformed probe reply", kind="crash")
            for patterns, seen in self._watches:
                for name, n in calls.items():
                    if any(fnmatch.fnmatchcase(name, p) for p in patterns):
                        seen[name] = seen.get(name, 0) + n
        return reply

    def _invoke(
        self,
        message: dict,
        args: Any,
        kwargs: Any,
        generation: int | None,
        what: str,
        timeout: float | None = None,
    ) -> Any:
        """A call or method call; inside `watch`, made as a probe that counts the watched events."""
        if not self._watches:
            return self._request(message, args, kwargs, generation, what=what, timeout=timeout)
        target = {k: v for k, v in message.items() if k != "op"}
        return self._probe(target, args, kwargs, generation, what, timeout=timeout)["value"]

    @contextlib.contextmanager
    def watch(self, patterns: Sequence[str]) -> Iterator[dict[str, int]]:
        """Count, over every `call` and `RemoteObject.call` made inside the block, the events matching
        `patterns` (see `probe`'s ``"calls"``); yields the live ``{event: count}`` dict.

        For rules such as "do not call the library attention": the suite fails the test when the count of a
        forbidden function is not zero. A submission can hide a call from any instrumentation in its own
        process, so this records what an honest mistake or a plain evasion does; it is not a sandbox."""
        seen: dict[str, int] = {}
        self._watches.append(([str(p) for p in patterns], seen))
        try:
            yield seen
        finally:
            self._watches.remove(self._watches[-1])

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
