"""Timing helpers for the benchmarks: alternate contenders, report medians and ratios.

Contenders run in the same process, interleaved round by round, so that a change in
machine load hits both alike; the median over rounds discards outliers.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def interleaved_medians(contenders: dict[str, Callable[[], None]], rounds: int = 30,
                        inner: int = 5, warmup: int = 3) -> dict[str, float]:
    """Median seconds per call of each contender, measured in alternating rounds."""
    for fn in contenders.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            samples[name].append((time.perf_counter() - start) / inner)
    return {name: statistics.median(values) for name, values in samples.items()}
