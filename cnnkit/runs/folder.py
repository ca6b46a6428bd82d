"""The run folder: what was trained, with what, and where its checkpoints and logs are.

```
runs/<name>-<timestamp>/
  spec.yaml  config.yaml   exactly what was trained (config.yaml also records provenance
                           and the identity of the data)
  checkpoints/             step-*.safetensors/json (last ones), best.safetensors/json
  metrics.jsonl            one line per logged step / epoch
  tb/                      TensorBoard event files
  results.json             test-set metrics at the end
  report/                  figures and index.html
  .lock                    while a process writes the run: its process id
```
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

from .._files import atomic_write_text, writing
from .._validation import ArgumentError, ArgumentTypeError
from .._version import __version__
from .lock import LOCK_NAME, lock_run

__all__ = ["RunFolder", "check_new_run_dir", "new_run_dir", "provenance", "run_name",
           "spec_digest"]


def spec_digest(spec: dict) -> str:
    """A stable hash of a canonical spec (to detect a spec changed under a resumed run).

    Example:
        >>> spec_digest({"b": 1, "a": [2]}) == spec_digest({"a": [2], "b": 1})
        True
    """
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


def provenance() -> dict:
    """Library versions, machine and command line, recorded with every run."""
    import numpy
    import torch

    info = {
        "cnnkit": __version__,
        "torch": str(torch.__version__),
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "command": " ".join(sys.argv),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    try:
        root = Path(__file__).resolve().parent.parent.parent
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5)
        if commit.returncode == 0:
            info["git_commit"] = commit.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return info


_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def run_name(name, *, explicit: bool = False) -> str:
    """The folder-name part of a run: one path component, never a path.

    A spec's ``name`` is a label: characters other than letters, digits and ``._+-``
    become ``-`` (``../../x`` -> ``x``, ``/etc/cron.d`` -> ``etc-cron.d``). A ``name``
    given explicitly (``explicit=True``) that holds a path is refused instead, since the
    caller meant a place: the place is ``runs_root``.

    Raises:
        ArgumentError: an explicit name with a path separator, or ``.`` / ``..``.

    Example:
        >>> run_name("../../x"), run_name("/abs/net"), run_name("lenet 5"), run_name("...")
        ('x', 'abs-net', 'lenet-5', 'run')
        >>> run_name("a/b", explicit=True)
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: name must be one folder name, not a path. Received: name='a/b'. Give the folder the run goes in as runs_root, and a plain name such as 'b'.
    """
    if not isinstance(name, str):
        raise ArgumentTypeError(f"name must be a str. Received: name={name!r} "
                                f"({type(name).__name__}).", argument="name")
    if explicit and ("/" in name or "\\" in name or name in (".", "..")):
        plain = run_name(Path(name.replace("\\", "/")).name)
        raise ArgumentError(
            f"name must be one folder name, not a path. Received: name={name!r}. Give the "
            f"folder the run goes in as runs_root, and a plain name such as {plain!r}.",
            argument="name")
    cleaned = _UNSAFE.sub("-", name).strip(".-")
    return cleaned[:100] or "run"


def _check_root(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise ArgumentError(
            f"runs_root must be a folder, but {str(root)!r} is a file. Received: "
            f"runs_root={str(root)!r}. Give a folder (it is created if missing).",
            argument="runs_root")


def new_run_dir(root: str | Path, name: str) -> Path:
    """Create and return a fresh ``root/<name>-<timestamp>`` folder (a suffix keeps it
    unique, even for two processes starting in the same second).

    ``name`` goes through :func:`run_name`: the folder is always directly inside ``root``.

    Raises:
        ArgumentError: ``root`` is a file.
        FileWriteError: ``root`` cannot be written.
    """
    root = Path(root)
    _check_root(root)
    stem = f"{run_name(name)}-{time.strftime('%Y%m%d-%H%M%S')}"
    with writing(root):
        root.mkdir(parents=True, exist_ok=True)
        suffix = 1
        while True:
            candidate = root / (stem if suffix == 1 else f"{stem}-{suffix}")
            try:
                candidate.mkdir()  # atomic: whoever creates it owns it
                return candidate
            except FileExistsError:
                suffix += 1


def check_new_run_dir(run_dir) -> Path:
    """Check that ``run_dir`` can hold a new run: missing, or an empty folder.

    A folder that already holds files (a finished run, a run in progress, anything else)
    is refused: training into it would mix two runs' checkpoints and metrics.

    Raises:
        ArgumentError: ``run_dir`` is a file, or a folder with files in it.
    """
    path = Path(run_dir)
    if path.exists() and not path.is_dir():
        raise ArgumentError(f"run_dir must be a folder, but {str(path)!r} is a file. Received: "
                            f"run_dir={str(path)!r}. Give a new folder.", argument="run_dir")
    if path.is_dir():
        entries = sorted(p.name for p in path.iterdir() if p.name != LOCK_NAME)
        if entries:
            what = "a run" if (path / "spec.yaml").is_file() else "files"
            shown = ", ".join(entries[:4]) + (", ..." if len(entries) > 4 else "")
            raise ArgumentError(
                f"run_dir {str(path)!r} already holds {what} ({shown}); a new run there would "
                f"mix with it. Received: run_dir={str(path)!r}. Continue that run with "
                f"resume({str(path)!r}), or give a new or empty folder.", argument="run_dir")
    return path


class RunFolder:
    """Paths and files of one run folder.

    Example:
        >>> run = RunFolder("runs/lenet5-20260101-120000")
        >>> run.checkpoints.name, run.metrics.name
        ('checkpoints', 'metrics.jsonl')
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def report(self) -> Path:
        return self.path / "report"

    @property
    def results(self) -> Path:
        return self.path / "results.json"

    def exists(self) -> bool:
        """True when the folder holds a run (its ``spec.yaml``)."""
        return (self.path / "spec.yaml").is_file()

    def require(self, argument: str = "run_dir") -> "RunFolder":
        """This folder, checked to be a run folder.

        Raises:
            ArgumentError: no ``spec.yaml`` in it (the message names ``argument``).
        """
        if not self.exists():
            where = "does not exist" if not self.path.exists() else "is not a run folder (it has no spec.yaml)"
            raise ArgumentError(
                f"{str(self.path)!r} {where}. Received: {argument}={str(self.path)!r}. Give a "
                f"folder made by training (under runs/).", argument=argument)
        return self

    def lock(self):
        """Context manager holding the run's lock (see :mod:`cnnkit.runs.lock`)."""
        return lock_run(self.path)

    def write_yaml(self, name: str, data: dict) -> None:
        """Write ``name`` atomically (temporary file, fsync, rename)."""
        atomic_write_text(self.path / name, yaml.safe_dump(data, sort_keys=False))

    def write_json(self, name: str, data: dict) -> None:
        """Write ``name`` atomically (temporary file, fsync, rename)."""
        atomic_write_text(self.path / name, json.dumps(data, indent=1))

    def read_yaml(self, name: str) -> dict:
        """A YAML file of the run, parsed.

        Raises:
            ArgumentError: the file is missing or not a YAML mapping (naming it).
        """
        file = self.path / name
        try:
            data = yaml.safe_load(file.read_text())
        except FileNotFoundError:
            raise ArgumentError(
                f"run {self.path} has no {name}: it was not written by a complete start of "
                f"training, or was deleted. Start a new run from its spec.yaml.") from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            reason = getattr(error, "strerror", None) or str(error).splitlines()[0]
            raise ArgumentError(f"{file} cannot be read: {reason}.") from None
        if not isinstance(data, dict):
            raise ArgumentError(f"{file} must hold a mapping of settings. Received: "
                                f"{type(data).__name__}.")
        return data
