"""Refuse, before anything is allocated, a network that cannot train in the memory there is.

The estimate (:mod:`cnnkit._memory`) comes from the spec's inferred shapes: weights,
gradients and optimiser state per parameter, and every layer's output for a batch, twice.
"""

from __future__ import annotations

from .._memory import MemoryEstimate, available_memory, estimate_memory, format_bytes
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
            largest layer and the fix.

    Example:
        >>> import torch
        >>> from cnnkit.spec import load
        >>> from cnnkit.train import TrainConfig
        >>> huge = load({"input": [3, 224, 224], "layers": ["flatten", {"dense": 1000000}]})
        >>> check_memory(huge, TrainConfig(), torch.device("cpu"))
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: this network needs about 1.8 TB (602.1 GB of weights ...) to train, but ... available here. layers[1] alone holds 150,529,000,000 parameters: ...
    """
    estimate = estimate_memory(spec.rows, batch_size=config.batch_size, training=True,
                               optimizer=config.optimizer, momentum=config.momentum)
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
