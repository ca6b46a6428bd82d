"""What a person reads while a network trains: one line per epoch, and a bar within it.

Each finished epoch prints one line, as Keras does::

    epoch 3/10 - 2.1s - loss 0.4123 - accuracy 0.8721 - val_loss 0.3810 - val_accuracy 0.8800 - lr 0.05 - best

on stderr (stdout stays free for a command's results) and, for a run folder, at the end of
``RUN/train.log``. The bar shows progress *within* the epoch and only where it can be
redrawn: on a terminal. When stderr is a file or a pipe (a log, CI, ``nohup``) there is no
bar and no carriage return, only the epoch lines, each flushed when written.

``progress`` (TrainConfig) switches the bar; ``quiet`` the epoch lines.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

__all__ = ["EpochPrinter", "format_epoch"]

# Keys shown first, in this order; the rest follow sorted.
_ORDER = ("loss", "accuracy", "val_loss", "val_accuracy")
_HIDDEN = ("epoch", "step", "time", "seconds", "val_count", "split", "lr", "best")


def _number(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.4f}" if 1e-3 <= abs(value) < 1e4 or value == 0 else f"{value:.3g}"


def format_epoch(record: dict, epochs: int) -> str:
    """One epoch's line from its record (``epoch`` from 1, ``seconds``, metrics, ``lr``).

    Example:
        >>> format_epoch({"epoch": 3, "seconds": 2.08, "loss": 0.41234, "val_loss": 0.381,
        ...               "val_accuracy": 0.88, "lr": 0.05, "best": True}, 10)
        'epoch 3/10 - 2.1s - loss 0.4123 - val_loss 0.3810 - val_accuracy 0.8800 - lr 0.05 - best'
    """
    parts = [f"epoch {record['epoch']}/{epochs}"]
    if "seconds" in record:
        parts.append(f"{record['seconds']:.1f}s")
    keys = [k for k in _ORDER if k in record]
    keys += sorted(k for k in record if k not in _ORDER and k not in _HIDDEN)
    parts += [f"{k} {_number(record[k])}" for k in keys]
    if "lr" in record:
        parts.append(f"lr {record['lr']:.3g}")
    if record.get("best"):
        parts.append("best")
    return " - ".join(parts)


class EpochPrinter:
    """Prints the epoch lines and draws the within-epoch bar (terminal only).

    Args:
        epochs: epochs of the whole run (the ``/10`` of each line).
        bar: draw a bar within each epoch when ``stream`` is a terminal.
        lines: print one line per epoch.
        log: a file the epoch lines are appended to as well (None: none).
        stream: where to print (default: ``sys.stderr`` at the time of printing).
    """

    def __init__(self, epochs: int, *, bar: bool = True, lines: bool = True, log=None,
                 stream=None):
        self.epochs = epochs
        self.lines = lines
        self.log = Path(log) if log is not None else None
        self._stream = stream
        self.bar_enabled = bar and self._isatty()
        self._bar = None
        self._started = time.perf_counter()

    @property
    def stream(self):
        return self._stream if self._stream is not None else sys.stderr

    def _isatty(self) -> bool:
        try:
            return bool(self.stream.isatty())
        except (AttributeError, ValueError):
            return False

    def start_epoch(self, epoch: int, total: int | None, done: int = 0) -> None:
        """Epoch ``epoch`` (from 1) begins, with ``total`` samples (None: unknown), ``done``
        of them already seen (a resumed epoch)."""
        self._started = time.perf_counter()
        if not self.bar_enabled:
            return
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, initial=done, unit="img", unit_scale=True,
                         desc=f"epoch {epoch}/{self.epochs}", leave=False, dynamic_ncols=True,
                         file=self.stream)

    def update(self, samples: int, **postfix) -> None:
        """``samples`` more seen; ``postfix`` (loss=..., ...) shown beside the bar."""
        if self._bar is None:
            return
        self._bar.update(samples)
        if postfix:
            self._bar.set_postfix({k: _number(v) for k, v in postfix.items()}, refresh=False)

    def end_epoch(self, record: dict) -> str:
        """Close the bar and print (and log) the epoch's line; returns it."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        record = dict(record)
        record.setdefault("seconds", time.perf_counter() - self._started)
        line = format_epoch(record, self.epochs)
        if self.lines:
            print(line, file=self.stream, flush=True)
        if self.log is not None:
            try:
                with open(self.log, "a") as handle:
                    handle.write(line + "\n")
            except OSError:
                pass  # the log is a convenience: metrics.jsonl holds the same numbers
        return line

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
