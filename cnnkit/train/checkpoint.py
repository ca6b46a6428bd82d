"""Atomic, checksummed checkpoints: safetensors tensors plus a JSON state, never pickles.

A checkpoint ``step-00001200`` is two files in ``checkpoints/``:

``step-00001200.safetensors``  model weights (``model.*``), optimiser tensors (``optim.*``)
                               and RNG states (``rng.*``)
``step-00001200.json``         epoch, step, optimiser hyper-parameters, schedule position,
                               early-stopping state, and the SHA-256 of the tensor file

Each file is written to a temporary name, flushed and fsync'ed, then renamed into place
(rename is atomic on POSIX), and the directory is fsync'ed. The JSON goes last: it is the
commit mark. A reader trusts only a checkpoint whose JSON exists and whose tensor file
matches the recorded checksum; if the newest fails, it falls back to the previous good
one and says so. ``best.safetensors`` / ``best.json`` hold the best weights the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from .._validation import CnnkitError

__all__ = ["CheckpointError", "Checkpoint", "find_checkpoints", "load_latest", "read_checkpoint",
           "save_checkpoint", "sha256_file"]

_STEP = re.compile(r"^step-(\d{8})\.json$")


class CheckpointError(CnnkitError, RuntimeError):
    """A checkpoint cannot be read (missing, truncated, or failing its checksum)."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(tmp)
    with open(tmp, "rb+") as handle:
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _atomic_write_json(path: Path, payload: dict) -> None:
    _atomic_write(path, lambda tmp: tmp.write_text(json.dumps(payload, indent=1, sort_keys=True)))


class Checkpoint(dict):
    """A loaded checkpoint: ``tensors`` (dict name -> tensor) and ``state`` (JSON dict)."""

    @property
    def tensors(self) -> dict[str, torch.Tensor]:
        return self["tensors"]

    @property
    def state(self) -> dict[str, Any]:
        return self["state"]

    def prefixed(self, prefix: str) -> dict[str, torch.Tensor]:
        """Tensors under ``prefix.`` with the prefix removed."""
        cut = len(prefix) + 1
        return {k[cut:]: v for k, v in self.tensors.items() if k.startswith(prefix + ".")}


def save_checkpoint(directory: Path, name: str, tensors: dict[str, torch.Tensor],
                    state: dict[str, Any]) -> Path:
    """Write ``name.safetensors`` and then ``name.json`` atomically; return the JSON path."""
    directory.mkdir(parents=True, exist_ok=True)
    tensor_path = directory / f"{name}.safetensors"
    # safetensors wants contiguous tensors that do not share memory.
    flat = {k: v.detach().contiguous().clone() if v.dtype != torch.uint8 else v.contiguous()
            for k, v in tensors.items()}
    _atomic_write(tensor_path, lambda tmp: save_file(flat, str(tmp)))
    payload = dict(state, tensors_file=tensor_path.name, sha256=sha256_file(tensor_path))
    json_path = directory / f"{name}.json"
    _atomic_write_json(json_path, payload)
    return json_path


def read_checkpoint(json_path: Path) -> Checkpoint:
    """Read and verify one checkpoint; raise CheckpointError naming the file on any fault."""
    try:
        state = json.loads(Path(json_path).read_text())
    except (OSError, ValueError) as error:
        raise CheckpointError(f"checkpoint {json_path} cannot be read: {error}.") from error
    tensor_path = Path(json_path).with_name(state.get("tensors_file", ""))
    if not tensor_path.is_file():
        raise CheckpointError(f"checkpoint {json_path} names {tensor_path.name}, which is missing.")
    actual = sha256_file(tensor_path)
    if actual != state.get("sha256"):
        raise CheckpointError(
            f"checkpoint {tensor_path} fails its checksum (expected {state.get('sha256', '?')[:12]}..., "
            f"found {actual[:12]}...): the file is damaged or half-written."
        )
    try:
        tensors = load_file(str(tensor_path))
    except Exception as error:  # safetensors raises its own error types
        raise CheckpointError(f"checkpoint {tensor_path} cannot be parsed: {error}.") from error
    return Checkpoint(tensors=tensors, state=state)


def find_checkpoints(directory: Path) -> list[Path]:
    """Step checkpoints in ``directory``, newest first (by step number)."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if _STEP.match(p.name)]
    return sorted(found, key=lambda p: int(_STEP.match(p.name).group(1)), reverse=True)


def load_latest(directory: Path) -> Checkpoint | None:
    """The newest checkpoint that verifies; warns about each newer one skipped."""
    for json_path in find_checkpoints(directory):
        try:
            return read_checkpoint(json_path)
        except CheckpointError as error:
            warnings.warn(f"{error} Falling back to the previous checkpoint.", stacklevel=2)
    return None


def prune(directory: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` step checkpoints (JSON first, so none is half-kept)."""
    for json_path in find_checkpoints(directory)[keep:]:
        tensor_path = json_path.with_suffix(".safetensors")
        json_path.unlink(missing_ok=True)
        tensor_path.unlink(missing_ok=True)


def step_name(step: int) -> str:
    return f"step-{step:08d}"
