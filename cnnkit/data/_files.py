"""Reading the data files shipped in ``cnnkit/data/files/``, checked by SHA-256 first."""

from __future__ import annotations

import hashlib
import lzma
import threading
from pathlib import Path

from .dataset import DataFileError

__all__ = ["read_verified", "read_verified_xz"]

# Verified bytes per (path, form): hashing and decompressing happen once per process. The
# files are small (hundreds of kB); keeping their bytes costs little.
_CACHE: dict[tuple[Path, str], bytes] = {}
_LOCK = threading.Lock()


def read_verified(path: Path, sha256: str, name: str) -> bytes:
    """The bytes of a shipped file after checking its SHA-256; every failure names the file.

    Raises:
        DataFileError: the file is missing, unreadable or fails its checksum.
    """
    with _LOCK:
        key = (path, "raw")
        if key in _CACHE:
            return _CACHE[key]
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise DataFileError(
                f"The data file of {name!r} is missing: {path}. The installation of cnnkit "
                f"is incomplete; reinstall it (pip install --force-reinstall cnnkit)."
            ) from None
        except OSError as error:
            raise DataFileError(
                f"Cannot read the data file of {name!r}: {path}: {error}."
            ) from error
        digest = hashlib.sha256(raw).hexdigest()
        if digest != sha256:
            raise DataFileError(
                f"The data file of {name!r} is corrupt: {path} has SHA-256 {digest}, expected "
                f"{sha256}. Reinstall cnnkit (pip install --force-reinstall cnnkit) to "
                f"restore it."
            )
        _CACHE[key] = raw
        return raw


def read_verified_xz(path: Path, sha256: str, name: str) -> bytes:
    """The decompressed content of a shipped ``.xz`` file, checked like ``read_verified``."""
    raw = read_verified(path, sha256, name)
    with _LOCK:
        key = (path, "xz")
        if key not in _CACHE:
            try:
                _CACHE[key] = lzma.decompress(raw, format=lzma.FORMAT_XZ)
            except lzma.LZMAError as error:
                raise DataFileError(
                    f"Cannot read the data file of {name!r}: {path}: {error}."
                ) from error
        return _CACHE[key]
