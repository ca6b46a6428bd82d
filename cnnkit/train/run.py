"""The run folder: what was trained, with what, and where its checkpoints and logs are.

```
runs/<name>-<timestamp>/
  spec.yaml  config.yaml   exactly what was trained (config.yaml also records provenance)
  checkpoints/             step-*.safetensors/json (last ones), best.safetensors/json
  metrics.jsonl            one line per logged step / epoch
  tb/                      TensorBoard event files
  report/                  figures and index.html
```
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import yaml

__all__ = ["RunFolder", "new_run_dir", "provenance", "spec_digest"]


def spec_digest(spec: dict) -> str:
    """A stable hash of a canonical spec (to detect a spec changed under a resumed run)."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


def provenance() -> dict:
    """Library versions, machine and command line, recorded with every run."""
    import numpy
    import torch

    import cnnkit

    info = {
        "cnnkit": cnnkit.__version__,
        "torch": str(torch.__version__),
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "command": " ".join(sys.argv),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    try:
        root = Path(cnnkit.__file__).resolve().parent.parent
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5)
        if commit.returncode == 0:
            info["git_commit"] = commit.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def new_run_dir(root: str | Path, name: str) -> Path:
    """A fresh ``root/<name>-<timestamp>`` folder (a suffix keeps it unique)."""
    root = Path(root)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = root / f"{name}-{stamp}"
    suffix = 1
    while candidate.exists():
        suffix += 1
        candidate = root / f"{name}-{stamp}-{suffix}"
    return candidate


class RunFolder:
    """Paths and files of one run folder."""

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

    def exists(self) -> bool:
        return (self.path / "spec.yaml").is_file()

    def write_yaml(self, name: str, data: dict) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / f".{name}.tmp"
        tmp.write_text(yaml.safe_dump(data, sort_keys=False))
        os.replace(tmp, self.path / name)

    def read_yaml(self, name: str) -> dict:
        return yaml.safe_load((self.path / name).read_text())
