"""Atomic, checksummed files of an RL run folder: safetensors + JSON, never pickles.

The same scheme as the trainer's checkpoints (docs/design.md, "Runs"): each file is written
to a temporary name, fsync'ed and renamed; the JSON goes last and records the SHA-256 of
the tensor file, so a reader trusts a checkpoint only when both are there and agree.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .._validation import CnnkitError

__all__ = ["CheckpointError", "atomic_write_text", "latest_checkpoint", "prune_checkpoints",
           "read_checkpoint", "write_checkpoint"]

_STEP = re.compile(r"^step-(\d{9})\.json$")


class CheckpointError(CnnkitError, RuntimeError):
    """A checkpoint cannot be read (missing, truncated, or failing its checksum)."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(tmp)
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new, never half."""
    _atomic(Path(path), lambda tmp: tmp.write_text(text))


def write_checkpoint(directory: Path, name: str, tensors: dict[str, torch.Tensor],
                     state: dict) -> Path:
    """Write ``name.safetensors`` then ``name.json`` (the commit mark); the JSON's path."""
    directory.mkdir(parents=True, exist_ok=True)
    tensor_path = directory / f"{name}.safetensors"
    flat = {key: value.detach().contiguous().clone() for key, value in tensors.items()}
    _atomic(tensor_path, lambda tmp: save_file(flat, str(tmp)))
    payload = dict(state, tensors_file=tensor_path.name, sha256=_sha256(tensor_path))
    json_path = directory / f"{name}.json"
    atomic_write_text(json_path, json.dumps(payload, indent=1, sort_keys=True))
    return json_path


def read_checkpoint(json_path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """The tensors and the state of one checkpoint, after checking its checksum."""
    try:
        state = json.loads(Path(json_path).read_text())
    except (OSError, ValueError) as error:
        raise CheckpointError(f"checkpoint {json_path} cannot be read: {error}.") from error
    tensor_path = Path(json_path).with_name(str(state.get("tensors_file", "")))
    if not tensor_path.is_file():
        raise CheckpointError(f"checkpoint {json_path} names {tensor_path.name}, which is missing.")
    if _sha256(tensor_path) != state.get("sha256"):
        raise CheckpointError(f"checkpoint {tensor_path} fails its checksum: the file is "
                              f"damaged or half-written.")
    try:
        tensors = load_file(str(tensor_path))
    except Exception as error:  # safetensors raises its own error types
        raise CheckpointError(f"checkpoint {tensor_path} cannot be parsed: {error}.") from error
    return tensors, state


def _step_checkpoints(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if _STEP.match(p.name)]
    return sorted(found, key=lambda p: p.name, reverse=True)


def latest_checkpoint(directory: Path):
    """``(tensors, state)`` of the newest step checkpoint that verifies, or None."""
    for json_path in _step_checkpoints(directory):
        try:
            return read_checkpoint(json_path)
        except CheckpointError as error:
            warnings.warn(f"{error} Falling back to the previous checkpoint.", stacklevel=2)
    return None


def prune_checkpoints(directory: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` step checkpoints (the JSON first)."""
    for json_path in _step_checkpoints(directory)[keep:]:
        json_path.unlink(missing_ok=True)
        json_path.with_suffix(".safetensors").unlink(missing_ok=True)
