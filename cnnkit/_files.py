"""Writing files the same way everywhere: atomically, with the user's permissions, and with
one clear error when the disk refuses.

Every file cnnkit leaves behind (checkpoints, configs, metrics, ONNX files) is written to a
temporary name in the same folder, flushed, fsync'ed and renamed into place (rename is
atomic on POSIX), so a reader sees the old file or the new one, never half of one. The
temporary file of :func:`tempfile.mkstemp` (and of some writers, such as safetensors) is
created with mode 0600; :func:`atomic_write` gives the final file the mode a plain
``open(path, "w")`` would have had (0666 less the umask), so that a checkpoint and the JSON
beside it are readable by the same people.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import Callable

from ._validation import CnnkitError

__all__ = ["FileWriteError", "atomic_write", "atomic_write_text", "default_file_mode",
           "fsync_dir", "sha256_file", "writing"]


class FileWriteError(CnnkitError, OSError):
    """A file or folder cannot be written (read-only place, full disk, no permission)."""


_FIXES = {
    errno.ENOSPC: "Free some space on that disk, or write somewhere else",
    errno.EDQUOT: "Free some space within your quota, or write somewhere else",
    errno.EROFS: "That file system is read-only: write somewhere else",
    errno.EACCES: "You may not write there: change its permissions, or write somewhere else",
    errno.EPERM: "You may not write there: change its permissions, or write somewhere else",
}


def _umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # the only portable way to read it is to set it
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: 0o666 less the umask.

    Example:
        >>> default_file_mode() & 0o600  # the owner can always read and write
        384
    """
    return 0o666 & ~_umask()


def fsync_dir(directory: Path) -> None:
    """Flush a folder's entry table, so that a rename in it survives a crash."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some file systems do not open folders; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _error(error: OSError, path: Path, action: str) -> FileWriteError:
    reason = error.strerror or str(error)
    fix = _FIXES.get(error.errno, "Check the path and its permissions")
    return FileWriteError(f"cannot {action} {path}: {reason}. {fix}.")


@contextlib.contextmanager
def writing(path, action: str = "write"):
    """Turn an ``OSError`` raised inside the block into a one-line :class:`FileWriteError`
    that names ``path``, the system's reason and the fix.

    Example:
        >>> with writing("/proc/no-such-place/x.json"):
        ...     open("/proc/no-such-place/x.json", "w")
        Traceback (most recent call last):
        ...
        cnnkit._files.FileWriteError: cannot write /proc/no-such-place/x.json: No such file or directory. Check the path and its permissions.
    """
    try:
        yield
    except FileWriteError:
        raise
    except OSError as error:
        raise _error(error, Path(error.filename) if error.filename else Path(path),
                     action) from None


def atomic_write(path, write: Callable[[Path], None], *, mode: int | None = None) -> Path:
    """Write ``path`` through a temporary file: ``write(tmp)`` fills it, then it is fsync'ed,
    given ``mode`` (default :func:`default_file_mode`) and renamed into place.

    Raises:
        FileWriteError: the folder cannot be written (the message names the path).

    Example:
        >>> import tempfile, json
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = atomic_write(folder / "a.json", lambda tmp: tmp.write_text(json.dumps([1])))
        >>> (folder / "a.json").read_text(), sorted(p.name for p in folder.iterdir())
        ('[1]', ['a.json'])
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with writing(path):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write(tmp)
            with open(tmp, "rb+") as handle:
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, default_file_mode() if mode is None else mode)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        fsync_dir(path.parent)
    return path


def atomic_write_text(path, text: str, *, mode: int | None = None) -> Path:
    """:func:`atomic_write` of a text file (UTF-8)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), mode=mode)


def sha256_file(path, digest=None):
    """The SHA-256 of the file at ``path`` as hex, read in 1 MiB blocks; with ``digest`` (a
    ``hashlib`` object) the file's bytes are fed into it instead and it is returned.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile(delete=False) as f:
        ...     _ = f.write(b"abc")
        >>> sha256_file(f.name)[:16]
        'ba7816bf8f01cfea'
    """
    import hashlib

    own = digest is None
    digest = hashlib.sha256() if own else digest
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest() if own else digest
