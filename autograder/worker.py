"""The untrusted side: the only process that imports a submission.

A fork server (``zygote``) is started once per grading run with ``python -I``, a scrubbed environment and an
empty working directory. It imports torch, numpy and this module, then waits. For each worker the trusted
side sends it a request with three file descriptors (the protocol socket, the output pipe, the status pipe);
the zygote forks a *supervisor*, which moves into fresh namespaces and forks the *worker*. The worker confines
itself (see ``confine.py``), then answers calls until its socket closes. The supervisor never runs submitted
code: it reports the worker's process id and, later, how it ended, on the status pipe.

Requests (``op``): ``import`` modules, ``call`` a target ("module.attr.attr") with arguments, ``method`` of a
handle, ``free`` a handle. Replies: ``{"ok": true, "value": ...}`` or ``{"ok": false, "error": {...}}``.
Objects that cannot cross the wire stay here and travel as handles.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import sys
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import torch

from autograder import confine, wire

ZYGOTE_READY = b"zygote-ready\n"
_SUBMISSION_DIR = ""
_TRACE_LIMIT = 4000


# ---------------------------------------------------------------------------------------------- worker


class _Worker:
    def __init__(self, submission: Path) -> None:
        self.submission = submission
        self.handles: dict[int, Any] = {}
        self.next_id = 1

    def export(self, value: Any, depth: int = 0) -> Any:
        """Plain data stays plain; anything else is kept here and sent as a handle."""
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, torch.Tensor):
            return value.detach().as_subclass(torch.Tensor)
        if isinstance(value, np.ndarray | np.generic):
            return value
        if depth < 8 and isinstance(value, list | tuple):
            return [self.export(v, depth + 1) for v in value]
        if depth < 8 and isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {k: self.export(v, depth + 1) for k, v in value.items()}
        hid = self.next_id
        self.next_id += 1
        self.handles[hid] = value
        return wire.Handle(hid, type(value).__name__)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, wire.Handle):
            if value.id not in self.handles:
                raise LookupError(f"handle {value.id} ({value.type_name}) was freed or never existed")
            return self.handles[value.id]
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def target(self, dotted: str) -> Any:
        module_name, _, rest = dotted.partition(".")
        obj = importlib.import_module(module_name)
        for part in rest.split(".") if rest else []:
            obj = getattr(obj, part)
        return obj

    def handle(self, request: dict) -> Any:
        op = request.get("op")
        if op == "import":
            problems = {}
            for name in request.get("modules", []):
                try:
                    importlib.import_module(name)
                except BaseException as exc:  # noqa: BLE001 - report every failure, even SystemExit
                    problems[name] = _describe(exc)
            return problems
        if op == "call":
            fn = self.target(request["target"])
            return fn(*self.resolve(request.get("args", [])), **self.resolve(request.get("kwargs", {})))
        if op == "method":
            obj = self.resolve(wire.Handle(request["handle"], "?"))
            fn = getattr(obj, request["name"])
            return fn(*self.resolve(request.get("args", [])), **self.resolve(request.get("kwargs", {})))
        if op == "getattr":
            return getattr(self.resolve(wire.Handle(request["handle"], "?")), request["name"])
        if op == "free":
            self.handles.pop(request["handle"], None)
            return None
        raise ValueError(f"unknown op {op!r}")

    def serve(self, sock: socket.socket) -> None:
        stream = sock.makefile("rwb", buffering=1 << 16)
        while True:
            try:
                request = wire.read_frame(stream)
            except EOFError:
                return
            try:
                reply = {"ok": True, "value": self.export(self.handle(request))}
                frame = wire.encode(reply)
            except BaseException as exc:  # noqa: BLE001 - student code may raise anything
                if isinstance(exc, KeyboardInterrupt):
                    raise
                frame = wire.encode({"ok": False, "error": _describe(exc)})
            stream.write(frame)
            stream.flush()


def _describe(exc: BaseException) -> dict:
    """The exception as plain data: type, message and the submission's part of the traceback."""
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if "autograder" not in Path(f.filename).parts
    ]
    trace = "".join(traceback.format_list(frames[-8:]))
    if _SUBMISSION_DIR:  # "model.py", not the staging folder the grader happened to use
        trace = trace.replace(_SUBMISSION_DIR + os.sep, "")
    message = str(exc)
    return {
        "type": type(exc).__name__,
        "message": message[:2000],
        "trace": trace[-_TRACE_LIMIT:],
    }


# ---------------------------------------------------------------------------------------------- zygote


def _run_worker(sock: socket.socket, request: dict) -> None:
    """In the worker process (PID 1 of its namespace where available): confine, then serve."""
    global _SUBMISSION_DIR
    submission = Path(request["submission"])
    _SUBMISSION_DIR = str(submission)
    workdir = Path(request["workdir"])
    os.environ.clear()
    os.environ.update(
        {
            "HOME": str(workdir),
            "TMPDIR": str(workdir),
            "LANG": "C.UTF-8",
            "PATH": "/usr/bin:/bin",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYTHONHASHSEED": "0",
        }
    )
    os.chdir(workdir)
    sys.path.insert(0, str(submission))
    layers: list[str] = list(request.get("layers_so_far", []))
    uid = request.get("uid")
    procs = int(request["max_procs"])
    if uid is None:  # not root: RLIMIT_NPROC counts every process of this user
        procs += confine.count_user_processes(os.getuid())
    confine.apply_rlimits(
        request["cpu_seconds"], int(request["memory_bytes"]), procs, int(request["max_file_bytes"])
    )
    layers.append("rlimits")
    hidden = [Path(p) for p in request["hidden"]]
    if confine.apply_landlock([submission], [workdir], hidden):
        layers.append("landlock")
    if uid is not None:
        confine.drop_privileges(int(uid))
        layers.append("uid")
    confine.drop_capabilities()
    torch.set_num_threads(1)
    sock.sendall(wire.encode({"hello": layers}))
    _Worker(submission).serve(sock)


def _supervise(conn: socket.socket, fds: list[int], request: dict) -> None:
    """In the supervisor (a child of the zygote): new namespaces, fork the worker, report how it ends."""
    proto_fd, out_fd, status_fd = fds
    conn.close()
    os.setsid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    is_root = os.geteuid() == 0
    layers = ["namespaces"] if request.get("namespaces", True) and confine.isolate_namespaces(is_root) else []
    if is_root:
        workdir = Path(request["workdir"])
        os.chown(workdir, int(request["uid"]), int(request["uid"]))
    else:
        request["uid"] = None
    status = os.fdopen(status_fd, "w", buffering=1)
    pid = os.fork()
    if pid == 0:
        try:
            status.close()
            confine.set_parent_death_signal(signal.SIGKILL)
            os.dup2(out_fd, 1)
            os.dup2(out_fd, 2)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(proto_fd, 3)
            os.closerange(4, 1 << 16)
            sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
            request["layers_so_far"] = layers
            _run_worker(socket.socket(fileno=3), request)
            code = 0
        except BaseException:  # noqa: BLE001 - the worker must never return into the zygote's loop
            traceback.print_exc()
            code = 70
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    os.close(proto_fd)
    os.close(out_fd)
    status.write(json.dumps({"worker_pid": pid}) + "\n")
    while True:
        try:
            _, raw = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            raw = 0
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(raw)
    status.write(json.dumps({"exit": code}) + "\n")
    status.close()
    os._exit(0)


def zygote(listen_fd: int) -> None:
    """Serve fork requests forever on the inherited listening socket."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    listener = socket.socket(fileno=listen_fd)
    sys.stdout.buffer.write(ZYGOTE_READY)
    sys.stdout.flush()
    while True:
        conn, _ = listener.accept()
        try:
            msg, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
            if len(fds) != 3:
                for fd in fds:
                    os.close(fd)
                conn.close()
                continue
            request = json.loads(msg.decode())
            pid = os.fork()
            if pid == 0:
                listener.close()
                try:
                    _supervise(conn, fds, request)
                finally:
                    os._exit(70)
            for fd in fds:
                os.close(fd)
            conn.sendall(json.dumps({"supervisor_pid": pid}).encode())
        except (OSError, ValueError):
            pass
        finally:
            conn.close()


if __name__ == "__main__":
    zygote(int(sys.argv[1]))
