"""The untrusted side: the only process that imports a submission.

A fork server (``zygote``) is started once per grading run with ``python -I``, a scrubbed environment and an
empty working directory. It imports torch, numpy and this module, then waits. Its confinement *policy* (the
hidden paths, the limits, namespaces or not, where workers write) is fixed when it starts, in its command
line, and no request can change it. Requests arrive on a control channel that has no name anywhere: one end
of a socket pair inherited from the trusted side, closed in every process the zygote forks, so no worker
holds it or can reach it. A request names only the staged submission and carries four file descriptors (the
protocol socket, the output pipe, the status pipe, the reply pipe); the zygote makes the worker's private
directory, picks its user id, and forks a *supervisor*, which moves into fresh namespaces and forks the
*worker*. The worker confines itself (see ``confine.py``), then answers calls until its socket closes. The
supervisor never runs submitted code: it reports the worker's process id and, later, how it ended, on the
status pipe.

Requests (``op``): ``import`` modules, ``call`` a target ("module.attr.attr") with arguments, ``method`` of a
handle, ``probe`` (a call or method inside the kit's instrumentation, see ``probes.py``), ``collect`` the
files of an outbox folder (see ``exchange.py``), ``free`` a handle.
Replies: ``{"ok": true, "value": ...}`` or ``{"ok": false, "error": {...}}``.
Objects that cannot cross the wire stay here and travel as handles.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import socket
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import torch

from autograder import confine, exchange, probes, wire

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
            with torch.set_grad_enabled(True):  # whatever an earlier call left behind; restored after
                return fn(*self.resolve(request.get("args", [])), **self.resolve(request.get("kwargs", {})))
        if op == "method":
            obj = self.resolve(wire.Handle(request["handle"], "?"))
            fn = getattr(obj, request["name"])
            with torch.set_grad_enabled(True):
                return fn(*self.resolve(request.get("args", [])), **self.resolve(request.get("kwargs", {})))
        if op == "probe":  # a call inside the kit's instrumentation (probes.py)
            return probes.run(self, request)
        if op == "getattr":
            return getattr(self.resolve(wire.Handle(request["handle"], "?")), request["name"])
        if op == "collect":  # the files of an outbox folder, checked again on the trusted side
            return exchange.read_outbox(
                str(request["path"]), int(request["max_files"]), int(request["max_bytes"])
            )
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
            for out in (sys.stdout, sys.stderr):  # the call's output reaches the pipe before its reply
                try:
                    out.flush()
                except BaseException:  # noqa: BLE001 - the submission may have replaced or closed them
                    pass
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


def _run_worker(sock: socket.socket, policy: dict, job: dict) -> None:
    """In the worker process (PID 1 of its namespace where available): confine, then serve."""
    global _SUBMISSION_DIR
    submission = Path(job["submission"])
    _SUBMISSION_DIR = str(submission)
    workdir = Path(job["workdir"])
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
    tempfile.tempdir = str(workdir)  # the zygote's imports may have cached the grader's temporary folder
    sys.path.insert(0, str(submission))
    layers: list[str] = list(job["layers_so_far"])
    uid = job["uid"]
    procs = int(policy["max_procs"])
    if uid is None:  # not root: RLIMIT_NPROC counts every process of this user
        procs += confine.count_user_processes(os.getuid())
    confine.apply_rlimits(
        policy["cpu_seconds"], int(job["memory_bytes"]), procs, int(policy["max_file_bytes"])
    )
    layers.append("rlimits")
    hidden = [Path(p) for p in policy["hidden"]]
    if confine.apply_landlock([submission], [workdir], hidden):
        layers.append("landlock")
    if uid is not None:
        confine.drop_privileges(int(uid))
        layers.append("uid")
    confine.drop_capabilities()
    torch.set_num_threads(1)
    sock.sendall(wire.encode({"hello": layers}))
    _Worker(submission).serve(sock)


def _supervise(fds: list[int], policy: dict, job: dict) -> None:
    """In the supervisor (a child of the zygote): new namespaces, fork the worker, report how it ends."""
    proto_fd, out_fd, status_fd = fds
    os.setsid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    is_root = os.geteuid() == 0
    layers = ["namespaces"] if policy["namespaces"] and confine.isolate_namespaces(is_root) else []
    max_disk = int(policy["max_disk_bytes"])
    # the worker's total writes: a size-limited tmpfs where there is a mount namespace, else counted below
    counted = not (layers and confine.mount_quota_dir(Path(job["workdir"]), max_disk))
    layers.append("disk")
    if is_root and layers[0] == "namespaces":
        # the worker's own user id must reach the interpreter's files to import what the zygote has not
        with contextlib.suppress(OSError):
            if confine.open_path_to([Path(p) for p in job["python_dirs"]]):
                layers.append("python-view")
    if is_root:
        os.chown(job["workdir"], job["uid"], job["uid"])
    else:
        job["uid"] = None
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
            job["layers_so_far"] = layers
            _run_worker(socket.socket(fileno=3), policy, job)
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
    over_disk = False
    while True:
        try:
            done, raw = os.waitpid(pid, os.WNOHANG if counted else 0)
        except ChildProcessError:
            raw = 0
            break
        except InterruptedError:
            continue
        if done:
            break
        if not over_disk and confine.disk_usage(Path(job["workdir"]), max_disk) > max_disk:
            over_disk = True
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # the trusted side then kills the rest of its process group
        time.sleep(0.05)
    code = os.waitstatus_to_exitcode(raw)
    status.write(json.dumps({"exit": code, "over_disk": over_disk}) + "\n")
    status.close()
    os._exit(0)


def zygote(control_fd: int, policy_json: str) -> None:
    """Serve fork requests forever on the inherited control socket, under the policy given at start.

    `policy` holds the hidden paths, the limits (``cpu_seconds``, ``memory_mb``, ``max_procs``,
    ``max_file_bytes``, ``max_disk_bytes``), ``namespaces``, ``work_root`` (where worker directories are
    made), ``uid_base`` and ``preload`` (library modules imported here once, so that every worker starts
    with them). A request is ``{"submission": folder}`` with four descriptors; nothing else in it is read.
    The zygote ends when the trusted side closes its end of the channel.
    """
    policy = json.loads(policy_json)
    for name in policy.get("preload", []):  # before the memory budget is measured: workers share them
        importlib.import_module(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    control = socket.socket(fileno=control_fd)
    # a worker starts as a copy of this process, torch's reserved address space included: its memory budget
    # comes on top of what the zygote maps now (4 GB more when /proc cannot say)
    memory_bytes = (confine.vm_bytes(os.getpid()) or 4 << 30) + int(policy["memory_mb"]) * (1 << 20)
    hidden = [Path(p).resolve() for p in policy["hidden"]]
    python_dirs = [str(p) for p in confine.python_dirs(hidden)]
    served = 0
    sys.stdout.buffer.write(ZYGOTE_READY)
    sys.stdout.flush()
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(control, 1 << 16, 4)
        except OSError:
            continue
        if not msg and not fds:
            os._exit(0)  # the trusted side is gone
        try:
            if len(fds) != 4:
                raise ValueError("a request carries four descriptors")
            submission = Path(json.loads(msg.decode())["submission"]).resolve(strict=True)
            if not submission.is_dir() or any(submission == h or h.is_relative_to(submission) or
                                              submission.is_relative_to(h) for h in hidden):  # fmt: skip
                raise ValueError(f"{submission} is not a submission folder")
            served += 1
            workdir = tempfile.mkdtemp(prefix="work-", dir=policy["work_root"])
            job = {
                "submission": str(submission),
                "workdir": workdir,
                "uid": int(policy["uid_base"]) + served % 3000,
                "memory_bytes": memory_bytes,
                "python_dirs": python_dirs,
            }
            pid = os.fork()
            if pid == 0:
                try:
                    control.close()  # no process forked from here ever holds the control channel
                    os.close(fds[3])
                    _supervise(fds[:3], policy, job)
                finally:
                    os._exit(70)
            reply = {"supervisor_pid": pid, "workdir": workdir}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        if len(fds) == 4:
            with contextlib.suppress(OSError):
                os.write(fds[3], json.dumps(reply).encode() + b"\n")
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


if __name__ == "__main__":
    zygote(int(sys.argv[1]), sys.argv[2])
