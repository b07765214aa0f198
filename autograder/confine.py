"""Kernel-level confinement applied to a worker process before it runs any submitted code.

Each layer is applied when the operating system offers it, and the layers in force are reported back to the
grader, which records them in results.json:

- ``rlimits``: CPU seconds, address space, processes, file size, open files, no core dumps.
- ``namespaces``: a PID namespace (when its first process dies every process in it dies, so no daemon outlives
  the worker), a network namespace with no interfaces up (no network), fresh IPC and UTS namespaces.
  As root directly; otherwise through an unprivileged user namespace where the kernel allows one.
- ``landlock``: the file system is read-only and limited to the Python installation and the submission;
  writes only into the worker's own empty directory; the kit's own files (hidden suites, reference
  solutions) are not readable; TCP bind/connect and signals to processes outside the sandbox are denied.
- ``uid``: when the grader runs as root, the worker switches to an unprivileged user id of its own.
- ``disk``: the worker's directory is a size-limited tmpfs of its own mount namespace (where namespaces are
  available), so every write beyond the total fails; without namespaces its supervisor counts what the
  directory holds and kills the worker past the total (``disk_usage``).
- ``no_new_privs`` and an empty capability set.

This module uses only the standard library and ctypes; it is imported by the worker before the fork server
forks, so applying it costs no import time.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import sys
from collections.abc import Iterator
from pathlib import Path

_libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

PR_SET_PDEATHSIG = 1
MS_REC, MS_PRIVATE, MS_NOSUID, MS_NODEV = 0x4000, 1 << 18, 0x2, 0x4
MS_RDONLY, MS_REMOUNT, MS_BIND = 0x1, 0x20, 0x1000
PR_SET_NO_NEW_PRIVS = 38

# landlock: syscall numbers are shared by all architectures since they were added (5.13).
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_ALL_V1 = (1 << 13) - 1
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1
_READ = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _syscall(number: int, *args: object) -> int:
    result = _libc.syscall(number, *args)
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def landlock_abi() -> int:
    """The kernel's landlock ABI version, 0 when landlock is unavailable."""
    try:
        return _syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except OSError:
        return 0


def unshare(flags: int) -> None:
    if _libc.unshare(ctypes.c_int(flags)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def isolate_namespaces(is_root: bool) -> bool:
    """Move this process's future children into new PID, network, IPC and UTS namespaces, and this process
    into a mount namespace of its own (private: nothing mounted here is seen outside).

    Call before forking the worker: the worker becomes PID 1 of the new PID namespace. Returns False
    when the kernel refuses (the caller then falls back to process groups).
    """
    flags = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS
    try:
        if is_root:
            unshare(flags)
            return True
        uid, gid = os.getuid(), os.getgid()
        unshare(flags | CLONE_NEWUSER)
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
        return True
    except OSError:
        return False


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    args = [
        source.encode(),
        target.encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    ]
    if _libc.mount(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), target)


def mount_quota_dir(path: Path, max_bytes: int) -> bool:
    """Mount a tmpfs of at most `max_bytes` on `path` (inside this process's own mount namespace, after
    making every mount private so that nothing leaks out). False when the kernel refuses."""
    try:
        _mount("none", "/", None, MS_REC | MS_PRIVATE, None)
        size = max(max_bytes, 1 << 20)
        _mount("llmkit-work", str(path), "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=0700")
        return True
    except OSError:
        return False


def closed_ancestors(targets: list[Path]) -> dict[Path, set[Path]]:
    """{folder that other users cannot enter: its children on the way to the `targets`}."""
    closed: dict[Path, set[Path]] = {}
    for target in targets:
        chain = [target, *target.parents]
        for child, parent in zip(chain, chain[1:], strict=False):
            try:
                if not os.stat(parent).st_mode & 0o001:
                    closed.setdefault(parent, set()).add(child)
            except OSError:
                continue
    return closed


def open_path_to(targets: list[Path]) -> list[Path]:
    """Let another user reach `targets` (the Python installation) through folders it cannot enter (a Python
    under /root, mode 700), in this process's own mount namespace only: each such folder is covered by an
    empty read-only tmpfs (mode 755) holding bind mounts of just its children on the way to a target, so the
    rest of that folder stays invisible. Landlock still decides what may be read. Returns the folders
    covered; OSError when the kernel refuses."""
    covered: list[Path] = []
    _mount("none", "/", None, MS_REC | MS_PRIVATE, None)
    for _ in range(32):  # outermost first: a child bound back may itself be closed
        closed = closed_ancestors(targets)
        if not closed:
            return covered
        parent = min(closed, key=lambda p: len(p.parts))
        children = sorted(closed[parent])
        fds = [os.open(child, os.O_PATH | os.O_CLOEXEC) for child in children]
        try:
            _mount("llmkit-view", str(parent), "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
            for child, fd in zip(children, fds, strict=True):
                if os.path.isdir(f"/proc/self/fd/{fd}"):
                    os.mkdir(child, 0o755)
                else:
                    os.close(os.open(child, os.O_CREAT | os.O_WRONLY, 0o644))
                _mount(f"/proc/self/fd/{fd}", str(child), None, MS_BIND | MS_REC, None)
            _mount("none", str(parent), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, None)
        finally:
            for fd in fds:
                os.close(fd)
        covered.append(parent)
    raise OSError(f"too many closed folders on the way to {targets[:3]}")


def disk_usage(path: Path, limit: int = 1 << 62) -> int:
    """Bytes allocated under `path` (files and folders, not following links); stops counting past `limit`."""
    total = 0
    stack = [str(path)]
    while stack and total <= limit:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            total += max(info.st_blocks * 512, info.st_size if entry.is_file(follow_symlinks=False) else 0)
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
    return total


def vm_bytes(pid: int) -> int:
    """The virtual address space a process maps (VmSize), 0 if unknown (no /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def set_parent_death_signal(sig: int) -> None:
    _libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)


def apply_rlimits(cpu_seconds: float, memory_bytes: int, max_procs: int, max_file_bytes: int) -> None:
    """CPU time (SIGXCPU at the soft limit, SIGKILL two seconds later), address space and the rest."""
    cpu = max(1, int(cpu_seconds + 0.999))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    if hasattr(resource, "RLIMIT_NPROC"):
        resource.setrlimit(resource.RLIMIT_NPROC, (max_procs, max_procs))


def count_user_processes(uid: int) -> int:
    """Processes and threads owned by `uid` (RLIMIT_NPROC counts them all, per real user)."""
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                count += len(os.listdir(f"/proc/{entry.name}/task"))
        except OSError:
            continue
    return count


def python_dirs(hidden: list[Path]) -> list[Path]:
    """The folders of the Python installation and its import path, minus the kit's hidden ones."""
    dirs: list[Path] = []
    for entry in [*sys.path, sys.prefix, sys.base_prefix, sys.exec_prefix]:
        if entry and os.path.exists(entry):
            dirs.extend(p for p in _allow_except(Path(entry).resolve(), hidden) if p not in dirs)
    return dirs


def _read_roots(hidden: list[Path], extra: list[Path]) -> list[Path]:
    """Directories the worker may read: the Python installation and libraries, minus the kit's own."""
    roots: list[Path] = [p.resolve() for p in extra]
    for entry in [*sys.path, sys.prefix, sys.base_prefix, sys.exec_prefix]:
        if entry and os.path.exists(entry):
            roots.extend(_allow_except(Path(entry).resolve(), hidden))
    for fixed in (
        "/usr/lib",
        "/usr/lib64",
        "/lib",
        "/lib64",
        "/usr/share/zoneinfo",
        "/etc/ld.so.cache",
        "/etc/localtime",
        "/sys/devices/system/cpu",
        "/proc/cpuinfo",
        "/proc/self",
        "/dev/null",
        "/dev/urandom",
        "/dev/zero",
    ):
        path = Path(fixed)
        if path.exists():
            roots.extend(_allow_except(path.resolve(), hidden))
    return roots


def _allow_except(path: Path, hidden: list[Path]) -> list[Path]:
    """`path` itself, or, when it holds a hidden path, each of its entries that is not hidden."""
    if any(path == h or path.is_relative_to(h) for h in hidden):
        return []
    if not any(h.is_relative_to(path) for h in hidden):
        return [path]
    allowed: list[Path] = []
    try:
        children = list(path.iterdir())
    except OSError:
        return []
    for child in children:
        allowed.extend(_allow_except(child, hidden))
    return allowed


def apply_landlock(read_paths: list[Path], write_paths: list[Path], hidden: list[Path]) -> bool:
    """Restrict this process (and its future children) to reading `read_paths` plus the Python
    installation and writing only under `write_paths`. `hidden` paths stay unreadable even when they lie
    inside an allowed directory. Returns False when the kernel has no landlock."""
    abi = landlock_abi()
    if abi < 1:
        return False
    fs = _FS_ALL_V1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0)
    fs |= _FS_IOCTL_DEV if abi >= 5 else 0
    attr = _RulesetAttr(
        fs=fs,
        net=(_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0,
        scoped=(_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL) if abi >= 6 else 0,
    )
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = _syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    try:
        hidden = [h.resolve() for h in hidden]
        rules = [(p, _READ) for p in _read_roots(hidden, read_paths)]
        rules += [(p.resolve(), fs & ~(_FS_EXECUTE | _FS_IOCTL_DEV)) for p in write_paths]
        for path, access in rules:
            _add_path_rule(ruleset, path, access)
        _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        _syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    return True


def _add_path_rule(ruleset: int, path: Path, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not path.is_dir():  # files take only file rights
            access &= _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
        rule = _PathBeneath(allowed=access, parent_fd=fd)
        _syscall(
            _SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0)
        )
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def unreadable_to_others(paths: list[Path]) -> Iterator[list[Path]]:
    """Where landlock is missing but the grader is root (a container without it), take the world's read and
    search bits off the kit's secret folders while grading: the worker runs as another user, so it cannot
    read them. Yields the folders it changed (empty when landlock makes this unnecessary)."""
    if os.geteuid() != 0 or landlock_abi() >= 1:
        yield []
        return
    saved = {p: p.stat().st_mode for p in paths if p.exists()}
    try:
        for path, mode in saved.items():
            os.chmod(path, mode & ~0o007)
        yield list(saved)
    finally:
        for path, mode in saved.items():
            os.chmod(path, mode & 0o7777)


def drop_privileges(uid: int) -> None:
    """Become `uid` (root only): no supplementary groups, the same number as group id."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def drop_capabilities() -> None:
    """Empty every capability set (matters inside a user namespace, where the worker starts with all)."""
    header = _CapHeader(version=0x20080522, pid=0)
    data = (_CapData * 2)()
    _libc.capset(ctypes.byref(header), data)
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
