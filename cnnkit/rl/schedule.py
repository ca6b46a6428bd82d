"""The exploration rate of epsilon-greedy action selection over training steps."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._validation import ArgumentError

__all__ = ["EpsilonSchedule"]


@dataclass(frozen=True)
class EpsilonSchedule:
    """Epsilon held at ``start`` for ``delay`` steps, then linear to ``end`` over ``decay_steps``.

    Mnih et al. (2015) anneal epsilon linearly from 1.0 to 0.1 and hold it there; MinAtar's
    DQN (Young and Tian 2019) acts uniformly at random while the replay buffer fills
    (``delay`` = its replay start size, 5,000 steps) and then anneals over 100,000 steps.

    Args:
        start: epsilon during the delay and at its end.
        end: epsilon from ``delay + decay_steps`` on.
        decay_steps: steps of the linear ramp (0: jump straight to ``end``).
        delay: steps before the ramp starts.

    Raises:
        ArgumentError: a value outside [0, 1] or a negative step count.

    Example:
        >>> schedule = EpsilonSchedule(1.0, 0.1, decay_steps=100, delay=10)
        >>> [round(schedule(step), 3) for step in (0, 10, 60, 110, 1000)]
        [1.0, 1.0, 0.55, 0.1, 0.1]
    """

    start: float = 1.0
    end: float = 0.1
    decay_steps: int = 100_000
    delay: int = 0

    def __post_init__(self):
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0 <= value <= 1 or math.isnan(value):
                raise ArgumentError(f"epsilon {name} must be a number in [0, 1]. Received: "
                                    f"{name}={value!r}.", argument=name)
        for name in ("decay_steps", "delay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ArgumentError(f"{name} must be a non-negative int (steps). Received: "
                                    f"{name}={value!r}.", argument=name)

    def __call__(self, step: int) -> float:
        """Epsilon at training step ``step`` (0-based)."""
        into = step - self.delay
        if into <= 0:
            return float(self.start)
        if into >= self.decay_steps:
            return float(self.end)
        return float(self.start + (self.end - self.start) * into / self.decay_steps)
