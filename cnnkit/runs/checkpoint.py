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

import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from .._files import atomic_write, atomic_write_text, sha256_file, writing
from .._validation import CnnkitError

__all__ = ["CheckpointError", "Checkpoint", "find_checkpoints", "load_latest", "load_state",
           "prune", "read_checkpoint", "save_checkpoint", "sha256_file", "step_name"]

_STEP = re.compile(r"^step-(\d{8})\.json$")


class CheckpointError(CnnkitError, RuntimeError):
    """A checkpoint cannot be read (missing, truncated, or failing its checksum)."""


def _atomic_write_json(path: Path, payload: dict) -> None:
    atomic_write_text(path, json.dumps(payload, indent=1, sort_keys=True))


class Checkpoint(dict):
    """A loaded checkpoint: ``tensors`` (dict name -> tensor), ``state`` (JSON dict) and
    ``path`` (its JSON file)."""

    @property
    def path(self) -> Path | None:
        return self.get("path")

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
    directory = Path(directory)
    with writing(directory):
        directory.mkdir(parents=True, exist_ok=True)
    tensor_path = directory / f"{name}.safetensors"
    # safetensors wants contiguous tensors that do not share memory.
    flat = {k: v.detach().contiguous().clone() if v.dtype != torch.uint8 else v.contiguous()
            for k, v in tensors.items()}
    atomic_write(tensor_path, lambda tmp: save_file(flat, str(tmp)))
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
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {json_path} must hold a JSON object. Received: "
                              f"{type(state).__name__}.")
    name = state.get("tensors_file")
    # The JSON may have been edited or crafted: it may only name a file beside it.
    if not (isinstance(name, str) and name.endswith(".safetensors") and Path(name).name == name
            and "\\" not in name and not name.startswith(".")):
        raise CheckpointError(
            f"checkpoint {json_path} names tensors_file={name!r}, which is not a plain "
            f".safetensors file name in {Path(json_path).parent}: refused.")
    tensor_path = Path(json_path).with_name(name)
    if not tensor_path.is_file():
        raise CheckpointError(f"checkpoint {json_path} names {tensor_path.name}, which is missing.")
    actual = sha256_file(tensor_path)
    if not isinstance(state.get("sha256"), str) or actual != state.get("sha256"):
        raise CheckpointError(
            f"checkpoint {tensor_path} fails its checksum (expected {str(state.get('sha256', '?'))[:12]}..., "
            f"found {actual[:12]}...): the file is damaged or half-written."
        )
    try:
        tensors = load_file(str(tensor_path))
    except Exception as error:  # safetensors raises its own error types
        raise CheckpointError(f"checkpoint {tensor_path} cannot be parsed: {error}.") from error
    return Checkpoint(tensors=tensors, state=state, path=Path(json_path))


def find_checkpoints(directory: Path) -> list[Path]:
    """Step checkpoints in ``directory``, newest first (by step number)."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if _STEP.match(p.name)]
    return sorted(found, key=lambda p: int(_STEP.match(p.name).group(1)), reverse=True)


def load_latest(directory: Path, errors: list | None = None) -> Checkpoint | None:
    """The newest checkpoint that verifies; warns about each newer one skipped.

    Args:
        directory: the ``checkpoints/`` folder.
        errors: a list that receives the message of every checkpoint that failed.

    Returns:
        The checkpoint, or None when there is none or none verifies.
    """
    found = find_checkpoints(Path(directory))
    for index, json_path in enumerate(found):
        try:
            return read_checkpoint(json_path)
        except CheckpointError as error:
            if errors is not None:
                errors.append(str(error))
            then = ("Falling back to the previous checkpoint." if index + 1 < len(found)
                    else "No older checkpoint is left.")
            warnings.warn(f"{error} {then}", stacklevel=2)
    return None


def load_state(module: torch.nn.Module, tensors: dict[str, torch.Tensor], where) -> None:
    """Load ``tensors`` into ``module`` after checking every name and shape.

    A checkpoint's checksum proves the file is the one written, not that it fits this
    network; a tensor of the wrong shape is named here instead of in PyTorch's message.

    Raises:
        CheckpointError: a tensor missing, unexpected or of another shape (named).
    """
    own = module.state_dict()
    missing = [k for k in own if k not in tensors]
    extra = [k for k in tensors if k not in own]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"lacks {', '.join(missing[:4])}{', ...' if len(missing) > 4 else ''}")
        if extra:
            parts.append(f"has {', '.join(extra[:4])}{', ...' if len(extra) > 4 else ''} "
                         f"that the network does not")
        raise CheckpointError(f"checkpoint {where} does not fit the network: it "
                              f"{' and '.join(parts)}. It belongs to another spec.")
    for key, value in own.items():
        got = tensors[key]
        if tuple(got.shape) != tuple(value.shape):
            raise CheckpointError(
                f"checkpoint {where} holds {key} of shape {tuple(got.shape)}, but the network's "
                f"{key} has shape {tuple(value.shape)}. It belongs to another spec, or was "
                f"edited.")
    module.load_state_dict(tensors)


def prune(directory: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` step checkpoints (JSON first, so none is half-kept)."""
    for json_path in find_checkpoints(directory)[keep:]:
        tensor_path = json_path.with_suffix(".safetensors")
        json_path.unlink(missing_ok=True)
        tensor_path.unlink(missing_ok=True)


def step_name(step: int) -> str:
    return f"step-{step:08d}"
