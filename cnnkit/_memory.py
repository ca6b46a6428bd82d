"""How much memory a network needs, estimated from its shapes before anything is allocated.

A network is refused before it is built when its estimate exceeds the memory available:
a 22 GB model would otherwise go straight to the allocator, and a 313 TB one end in the
allocator's traceback. The estimate counts 4-byte float32 values:

- weights: one value per parameter; training adds the gradients (one more per parameter)
  and the optimiser's state (momentum: one more; Adam's two moments: two more);
- activations: the outputs of every layer for one sample, times the batch size, twice
  in training (the saved forward values and their gradients in the backward pass).

It is a lower bound of what PyTorch will ask for (work buffers and the allocator's caching
come on top), so a refusal is always justified, and a pass is not a promise.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

__all__ = ["MemoryEstimate", "available_memory", "estimate_memory", "format_bytes",
           "physical_memory"]

BYTES_PER_VALUE = 4  # float32
# Values kept per parameter in training, besides the weight itself: its gradient, and the
# optimiser's state (SGD with momentum: one buffer; Adam / AdamW: two moments).
_OPTIMISER_STATE = {"sgd": 1, "sgd-plain": 0, "adam": 2, "adamw": 2}


def format_bytes(count: float) -> str:
    """``1536`` -> ``'1.5 kB'``; decimal units, as disks and ``free -h --si`` count.

    Example:
        >>> format_bytes(22e9), format_bytes(3.13e14), format_bytes(512)
        ('22.0 GB', '313.0 TB', '512 B')
    """
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{int(count)} B"


def physical_memory() -> int | None:
    """Bytes of memory the machine has, or None where the system does not say.

    ``cnnkit.spec.Spec.build`` refuses a network whose weights alone exceed it (naming the
    spec path of the largest layer); the checks here are about what is *available* now.
    """
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def available_memory(device: str = "cpu") -> int | None:
    """Bytes that can still be allocated on ``device`` ("cpu", "cuda", "cuda:N"), or None
    where the system does not say.

    On the CPU: ``MemAvailable`` of ``/proc/meminfo`` (what can be had without swapping),
    capped by a cgroup (container) limit when there is one.
    """
    device = str(device)
    if device.startswith("cuda"):
        try:
            import torch

            if torch.cuda.is_available():
                index = int(device.split(":")[1]) if ":" in device else torch.cuda.current_device()
                return int(torch.cuda.mem_get_info(index)[0])
        except Exception:  # noqa: BLE001 - no driver, or a busy device: no estimate
            return None
        return None
    free = None
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        pass
    if free is None:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    limit = _cgroup_room()
    return min(free, limit) if limit is not None else free


def _cgroup_room() -> int | None:
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file) as handle:
                text = handle.read().strip()
            if text == "max":
                return None
            limit = int(text)
            if limit >= 1 << 60:  # cgroup v1 "no limit"
                return None
            with open(usage_file) as handle:
                usage = int(handle.read().strip())
            return max(limit - usage, 0)
        except (OSError, ValueError):
            continue
    return None


@dataclass(frozen=True)
class MemoryEstimate:
    """The memory a network needs, in bytes, and what it is made of.

    Attributes:
        params: the number of parameters.
        weights: bytes of the weights alone (what building the network allocates).
        training_state: bytes of gradients and optimiser state (0 when not training).
        activations: bytes of the layer outputs for ``batch_size`` samples (twice in
            training: forward values and their gradients).
        batch_size: the batch the activations are counted for.
        largest: ``(layer name, parameters)`` of the layer with the most parameters.
    """

    params: int
    weights: int
    training_state: int
    activations: int
    batch_size: int
    largest: tuple[str, int] | None = None

    @property
    def total(self) -> int:
        return self.weights + self.training_state + self.activations

    def describe(self) -> str:
        """``'66.0 GB (22.0 GB of weights, 44.0 GB of gradients and optimiser state,
        1.2 MB of activations for a batch of 64)'``."""
        parts = [f"{format_bytes(self.weights)} of weights for {self.params:,} parameters"]
        if self.training_state:
            parts.append(f"{format_bytes(self.training_state)} of gradients and optimiser state")
        if self.activations:
            parts.append(f"{format_bytes(self.activations)} of activations for a batch of "
                         f"{self.batch_size}")
        return f"{format_bytes(self.total)} ({', '.join(parts)})"


def estimate_memory(rows, *, batch_size: int = 1, training: bool = False,
                    optimizer: str = "sgd", momentum: float = 0.9) -> MemoryEstimate:
    """Estimate the memory of a network from its summary rows (no tensor is created).

    Args:
        rows: the rows of a spec (``cnnkit.spec.load(...).rows``) or of a summary: dicts or
            objects with ``output_shape``, ``params``, ``depth`` and a ``source``, ``path``
            or ``name``;
            a row whose next row is deeper is a container, counted through its children.
        batch_size: samples per step.
        training: count gradients, optimiser state and saved activations.
        optimizer: ``sgd``, ``adam`` or ``adamw`` (the state it keeps per parameter).
        momentum: SGD keeps a momentum buffer only when this is non-zero.

    Example:
        >>> rows = [{"name": "conv", "output_shape": (8, 26, 26), "params": 80, "depth": 0},
        ...         {"name": "dense", "output_shape": (10,), "params": 54090, "depth": 0}]
        >>> e = estimate_memory(rows, batch_size=64, training=True, optimizer="adam")
        >>> e.params, e.weights, e.training_state, e.largest
        (54170, 216680, 650040, ('dense', 54090))
    """
    def get(row, key, default=None):
        return row.get(key, default) if isinstance(row, dict) else getattr(row, key, default)

    rows = list(rows)
    params = 0
    values = 0
    largest = None
    for index, row in enumerate(rows):
        depth = get(row, "depth", 0) or 0
        following = get(rows[index + 1], "depth", 0) if index + 1 < len(rows) else None
        if following is not None and following > depth:
            continue  # a container: its children are counted
        count = int(get(row, "params", 0) or 0)
        params += count
        shape = get(row, "output_shape") or ()
        values += math.prod(int(v) for v in shape) if shape else 0
        if largest is None or count > largest[1]:
            largest = (str(get(row, "source") or get(row, "path") or get(row, "name") or f"row {index}"),
                       count)
    weights = params * BYTES_PER_VALUE
    if training:
        kind = "sgd-plain" if optimizer == "sgd" and not momentum else optimizer
        state = weights * (1 + _OPTIMISER_STATE.get(kind, 2))
        activations = 2 * values * batch_size * BYTES_PER_VALUE
    else:
        state = 0
        activations = values * batch_size * BYTES_PER_VALUE
    return MemoryEstimate(params, weights, state, activations, batch_size, largest)
