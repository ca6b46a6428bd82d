"""Learning-rate schedules as pure functions of the step, so resuming needs no state."""

from __future__ import annotations

import math

from .config import TrainConfig

__all__ = ["lr_at"]


def lr_at(step: int, config: TrainConfig, steps_per_epoch: int) -> float:
    """The learning rate for optimiser step ``step`` (0-based).

    ``constant``: lr. ``step``: lr * gamma ** (epoch // step_epochs). ``cosine``: from lr to
    lr * final_lr_fraction along half a cosine. ``onecycle``: linear rise to lr over the
    first 25 % (or the warm-up), then cosine decay. A linear warm-up of ``warmup_epochs``
    comes first for every schedule.

    Example:
        >>> cfg = TrainConfig(lr=0.1, epochs=10, schedule="cosine")
        >>> lr_at(0, cfg, 100), round(lr_at(500, cfg, 100), 4), round(lr_at(999, cfg, 100), 8)
        (0.1, 0.05, 2.5e-07)
    """
    total = max(config.epochs * steps_per_epoch, 1)
    warmup = int(round(config.warmup_epochs * steps_per_epoch))
    peak, floor = config.lr, config.lr * config.final_lr_fraction
    if config.schedule == "onecycle":
        warmup = warmup or max(int(0.25 * total), 1)
    if warmup and step < warmup:
        return peak * (step + 1) / warmup
    if config.schedule == "constant":
        return peak
    if config.schedule == "step":
        return peak * config.gamma ** ((step // steps_per_epoch) // config.step_epochs)
    progress = (step - warmup) / max(total - warmup, 1)
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
