"""Refuse, before anything is allocated, a network that cannot train in the memory there is.

The estimate (:mod:`cnnkit._memory`) comes from the spec's inferred shapes: weights,
gradients and optimiser state per parameter, and every layer's output for a batch, twice.
"""

from __future__ import annotations

from .._memory import (MemoryEstimate, available_memory, estimate_memory, format_bytes,
                       physical_memory)
from .._validation import ArgumentError

__all__ = ["check_memory"]


def check_memory(spec, config, device) -> MemoryEstimate:
    """Estimate what training ``spec`` with ``config`` needs and refuse it when the
    estimate is more than the memory available on ``device``.

    Args:
        spec: a loaded :class:`cnnkit.spec.Spec` (shapes inferred, nothing built).
        config: the TrainConfig (batch size, optimiser).
        device: the ``torch.device`` training will use.

    Returns:
        The estimate.

    Raises:
        ArgumentError: with the estimate, what it is made of, the memory available, the
            largest layer and the fix. (Weights larger than the whole machine are left to
            ``Spec.build()``, which refuses them naming the spec path.)

    Example:
        >>> import torch
        >>> from cnnkit._memory import available_memory
        >>> from cnnkit.spec import load
        >>> from cnnkit.train import TrainConfig
        >>> units = available_memory() // 4 // 2 // 64 // 1_000_000 * 1_000_000  # weights: half
        >>> big = load({"input": [1, 8, 8], "layers": ["flatten", {"dense": units}]})
        >>> check_memory(big, TrainConfig(), torch.device("cpu"))
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: this network needs about ... (... of weights ...) to train, but ... available here. layers[1] alone holds ... parameters: ...
    """
    estimate = estimate_memory(spec.rows, batch_size=config.batch_size, training=True,
                               optimizer=config.optimizer, momentum=config.momentum)
    physical = physical_memory()
    if device.type == "cpu" and physical is not None and estimate.weights > physical:
        # Weights larger than the machine: Spec.build() refuses them itself, naming the spec
        # path of the largest layer, before allocating anything.
        return estimate
    free = available_memory(str(device))
    if free is None or estimate.total <= free:
        return estimate
    where = "on the GPU" if device.type == "cuda" else "here"
    largest = ""
    if estimate.largest and estimate.largest[1] > estimate.params / 2:
        name, count = estimate.largest
        largest = (f" {name} alone holds {count:,} parameters: a dense layer after a large "
                   f"volume is the usual cause (pool or stride more before it).")
    fix = (" Lower batch_size." if estimate.activations > estimate.weights + estimate.training_state
           else " Make the network smaller (fewer filters or units).")
    raise ArgumentError(
        f"this network needs about {estimate.describe()} to train, but "
        f"{format_bytes(free)} of memory is available {where}.{largest}{fix}",
        argument="spec")
