"""The run-folder lock: one process writes a run folder at a time.

A process that writes a run (training, resuming) holds ``RUN/.lock``: a file with its
process id, locked with ``fcntl.flock``. The operating system drops the lock when the
process ends, however it ends (SIGKILL included), so a lock file left by a dead process
is stale and the next process takes it over, saying so. A second process that finds the
lock held stops at once with the holder's process id, instead of both writing
``metrics.jsonl`` and the checkpoints in turn.

The lock is re-entrant within a process (``train()`` holds it and the Trainer it runs
asks for it again); other processes are kept out.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import warnings
from pathlib import Path

from .._files import writing
from .._validation import CnnkitError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: O_EXCL lock file with the process id
    fcntl = None

__all__ = ["LOCK_NAME", "RunLockedError", "StaleLockWarning", "lock_run", "read_lock"]

LOCK_NAME = ".lock"

_HELD: dict[Path, list] = {}  # resolved run path -> [file descriptor, depth]
_GUARD = threading.Lock()


class RunLockedError(CnnkitError, RuntimeError):
    """Another running process holds the run folder."""


class StaleLockWarning(UserWarning):
    """A lock left by a process that no longer runs was taken over."""


def read_lock(run_dir) -> dict:
    """``{"pid": int, "host": str}`` of the lock file of ``run_dir`` (empty when none)."""
    try:
        text = (Path(run_dir) / LOCK_NAME).read_text()
    except OSError:
        return {}
    info = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        info[key.strip()] = value.strip()
    if "pid" in info:
        try:
            info["pid"] = int(info["pid"])
        except ValueError:
            info.pop("pid")
    return info


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def _locked_error(path: Path, info: dict) -> RunLockedError:
    who = f"process {info['pid']}" if "pid" in info else "another process"
    host = info.get("host")
    where = f" on {host}" if host and host != socket.gethostname() else ""
    return RunLockedError(
        f"run folder {path} is in use by {who}{where}, which is writing it. Wait for it to "
        f"finish (or stop it), or train into another folder.")


def _take_over_notice(path: Path, info: dict) -> None:
    if info.get("pid") and info["pid"] != os.getpid():
        warnings.warn(f"run folder {path} had a lock of process {info['pid']}, which no longer "
                      f"runs; it is taken over by process {os.getpid()}.", StaleLockWarning,
                      stacklevel=4)


def _acquire(path: Path) -> int:
    lock_path = path / LOCK_NAME
    record = f"pid={os.getpid()}\nhost={socket.gethostname()}\n".encode()
    with writing(lock_path):
        path.mkdir(parents=True, exist_ok=True)
        if fcntl is None:  # pragma: no cover
            return _acquire_exclusive(path, lock_path, record)
        while True:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise _locked_error(path, read_lock(path)) from None
            # The holder may have removed the file between our open and our lock: then we
            # hold a lock on a file nobody else can find. Start again on the new one.
            try:
                same = os.fstat(fd).st_ino == os.stat(lock_path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            _take_over_notice(path, read_lock(path))
            os.ftruncate(fd, 0)
            os.pwrite(fd, record, 0)
            return fd


def _acquire_exclusive(path: Path, lock_path: Path, record: bytes) -> int:  # pragma: no cover
    for _ in range(2):
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            info = read_lock(path)
            if "pid" in info and _alive(info["pid"]):
                raise _locked_error(path, info) from None
            _take_over_notice(path, info)
            lock_path.unlink(missing_ok=True)
            continue
        os.write(fd, record)
        return fd
    raise _locked_error(path, read_lock(path))


def _release(path: Path, fd: int) -> None:
    try:
        (path / LOCK_NAME).unlink(missing_ok=True)  # while still held: see _acquire
    except OSError:
        pass  # a read-only folder keeps a stale lock file; the next process takes it over
    finally:
        os.close(fd)  # drops the flock


@contextlib.contextmanager
def lock_run(run_dir):
    """Hold the lock of ``run_dir`` for the duration of the block (re-entrant).

    Raises:
        RunLockedError: another live process holds it (the message names its process id).
        FileWriteError: the folder cannot be written.

    Example:
        >>> import tempfile
        >>> run = Path(tempfile.mkdtemp())
        >>> with lock_run(run):
        ...     read_lock(run)["pid"] == os.getpid()
        True
        >>> (run / LOCK_NAME).exists()
        False
    """
    path = Path(run_dir).resolve()
    with _GUARD:
        held = _HELD.get(path)
        if held is not None:
            held[1] += 1
        else:
            _HELD[path] = [_acquire(path), 1]
    try:
        yield path
    finally:
        with _GUARD:
            held = _HELD[path]
            held[1] -= 1
            if held[1] == 0:
                del _HELD[path]
                _release(path, held[0])
