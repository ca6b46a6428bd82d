"""A memory budget shared by the viewer's requests: each reserves the bytes it will need
(a request body, a decoded image, a parsed JSON document) before it allocates them.

The viewer's memory then stays under the process's idle size plus the budget however many
requests arrive at once: a request that does not fit waits a little for others to finish,
and is refused (the server answers 503 with Retry-After) if none do in time. A request that
could never fit, even alone, is refused at once.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

__all__ = ["DEFAULT_MEMORY_BUDGET", "Busy", "MemoryBudget", "OverBudget"]

DEFAULT_MEMORY_BUDGET = 256 * 1024 * 1024   # bytes (256 MiB)


class OverBudget(Exception):
    """``needed`` bytes are more than the whole budget: the request can never run."""

    def __init__(self, needed: int, total: int, what: str):
        super().__init__(f"{what} needs {needed / 2 ** 20:,.1f} MiB of memory; the viewer's "
                         f"memory budget is {total / 2 ** 20:,.0f} MiB")
        self.needed, self.total, self.what = needed, total, what


class Busy(Exception):
    """Not enough of the budget came free in time: try again later."""

    def __init__(self, needed: int, what: str):
        super().__init__(f"the viewer is busy: {what} needs {needed / 2 ** 20:,.1f} MiB of "
                         f"memory that other requests hold")
        self.needed, self.what = needed, what


class MemoryBudget:
    """Bytes that requests may hold at once; thread-safe.

    Args:
        total: the budget in bytes (at least 1 MiB).
        wait: seconds :meth:`acquire` waits by default for the bytes to come free.

    Raises:
        ValueError: a budget under 1 MiB, or a negative wait.

    Example:
        >>> budget = MemoryBudget(8 * 2 ** 20)
        >>> with budget.reserve(6 * 2 ** 20, "an image"):
        ...     budget.free
        2097152
        >>> budget.try_acquire(9 * 2 ** 20)
        False
    """

    def __init__(self, total: int = DEFAULT_MEMORY_BUDGET, wait: float = 5.0):
        if isinstance(total, bool) or not isinstance(total, int) or total < 2 ** 20:
            raise ValueError(f"memory budget must be an int of at least 1 MiB (1048576 bytes). "
                             f"Received: {total!r}.")
        if not wait >= 0:
            raise ValueError(f"wait must be a number of seconds >= 0. Received: {wait!r}.")
        self.total = total
        self.wait = wait
        self._used = 0
        self._peak = 0
        self._changed = threading.Condition()

    @property
    def free(self) -> int:
        """Bytes not reserved now."""
        with self._changed:
            return self.total - self._used

    @property
    def peak(self) -> int:
        """The most bytes reserved at once so far."""
        with self._changed:
            return self._peak

    def try_acquire(self, nbytes: int) -> bool:
        """Reserve ``nbytes`` if they are free now; never waits."""
        with self._changed:
            if self._used + nbytes > self.total:
                return False
            self._take(nbytes)
            return True

    def acquire(self, nbytes: int, what: str, timeout: float | None = None) -> None:
        """Reserve ``nbytes``, waiting up to ``timeout`` seconds (None: :attr:`wait`) for
        them to come free.

        Raises:
            OverBudget: ``nbytes`` exceeds the whole budget.
            Busy: they did not come free in time.
        """
        if nbytes > self.total:
            raise OverBudget(nbytes, self.total, what)
        deadline = time.monotonic() + (self.wait if timeout is None else timeout)
        with self._changed:
            while self._used + nbytes > self.total:
                left = deadline - time.monotonic()
                if left <= 0 or not self._changed.wait(left):
                    if self._used + nbytes > self.total:
                        raise Busy(nbytes, what)
            self._take(nbytes)

    def release(self, nbytes: int) -> None:
        """Give back ``nbytes`` reserved before."""
        with self._changed:
            self._used = max(0, self._used - nbytes)
            self._changed.notify_all()

    @contextmanager
    def reserve(self, nbytes: int, what: str, timeout: float | None = None):
        """``acquire`` for the ``with`` block, released after it."""
        self.acquire(nbytes, what, timeout)
        try:
            yield
        finally:
            self.release(nbytes)

    def _take(self, nbytes: int) -> None:
        self._used += nbytes
        self._peak = max(self._peak, self._used)
