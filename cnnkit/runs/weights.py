"""Which weights of a run every consumer uses: one policy, said out loud.

A run keeps two sets of weights: ``last`` (the newest step checkpoint) and ``best`` (the
epoch with the best validation score). Every reader of a run (``cnnkit eval``,
``predict``, ``export``, ``inspect``, ``report``, ``serve`` and their Python functions)
defaults to **the weights training ended with**, the ones whose test figure ``cnnkit
train`` printed and ``results.json`` holds: ``best`` when early stopping restored them,
``last`` otherwise. ``results.json`` records the choice (``"weights"``); a run without it
(stopped before the end) falls back to the same rule read from its ``config.yaml``.

"best" chosen on few validation samples is mostly noise: with 24 samples one image moves
the accuracy by 4 points, so the "best" epoch is often an accident. :func:`warn_small_validation`
says so below :data:`SMALL_VALIDATION` samples.

Epochs are numbered from 1 everywhere: ``best.json``'s ``epoch``, ``results.json``'s
``best_epoch`` and the epoch lines printed during training agree.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

from .._validation import ArgumentError
from .folder import RunFolder
from .model import load_run_model, read_weights

__all__ = ["SMALL_VALIDATION", "WEIGHTS", "WeightsChoice", "default_weights", "load_weights",
           "resolve_weights", "warn_small_validation"]

WEIGHTS = ("best", "last")

# Fewer validation samples than this make "best" a noisy choice (one sample is > 1 point).
SMALL_VALIDATION = 100


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def default_weights(run_dir) -> str:
    """The weights a run's readers use when none are asked for: those training ended with.

    ``results.json``'s ``weights`` when the run finished; otherwise ``best`` when the run
    trains with early stopping (its best weights are restored at the end), else ``last``.

    Example:
        >>> import tempfile, pathlib
        >>> run = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (run / "results.json").write_text('{"weights": "best"}')
        >>> default_weights(run)
        'best'
    """
    run = RunFolder(run_dir)
    recorded = _read_json(run.results).get("weights")
    if recorded in WEIGHTS:
        return recorded
    config = {}
    if (run.path / "config.yaml").is_file():
        try:
            config = run.read_yaml("config.yaml") or {}
        except Exception:  # noqa: BLE001 - an unreadable config is reported by its readers
            config = {}
    train = config.get("train") if isinstance(config, dict) else None
    return "best" if isinstance(train, dict) and train.get("early_stopping") else "last"


@dataclass
class WeightsChoice:
    """The weights a command uses, and why: ``str()`` is the line it prints.

    Attributes:
        which: ``"best"`` or ``"last"``, the weights loaded.
        requested: what was asked for (None: the run's default).
        epoch: the epoch (from 1) the weights were saved at; None when unknown.
        batch: batches into the next epoch for a checkpoint saved mid-epoch, else 0.
        step: optimiser steps taken.
        path: the checkpoint's JSON file.
        val_count: validation samples "best" was chosen on (None: unknown).
        note: a fallback, such as "best" asked of a run without validation.
    """

    which: str
    requested: str | None
    epoch: int | None
    batch: int
    step: int | None
    path: Path | None
    val_count: int | None = None
    note: str = ""

    def __str__(self) -> str:
        where = []
        if self.epoch is not None:
            where.append(f"epoch {self.epoch}" + (f", batch {self.batch}" if self.batch else ""))
        if self.step is not None:
            where.append(f"step {self.step}")
        origin = "the run's default" if self.requested is None else "asked for"
        text = f"{self.which} ({', '.join(where + [origin])})"
        return f"{text}; {self.note}" if self.note else text


def resolve_weights(run_dir, which: str | None = None) -> WeightsChoice:
    """Which checkpoint of ``run_dir`` ``which`` means (None: :func:`default_weights`).

    ``best`` of a run without a best checkpoint (no validation split) is its last weights,
    said in ``note``.

    Raises:
        ArgumentError: ``which`` is not ``best``, ``last`` or None; not a run folder; no
            readable checkpoint.

    Example:
        >>> resolve_weights("no/such/run", "newest")
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: which must be 'best' or 'last'. Received: which='newest'. ...
    """
    if which is not None and which not in WEIGHTS:
        raise ArgumentError(f"which must be 'best' or 'last'. Received: which={which!r}. "
                            f"best: the epoch with the best validation score; last: the newest "
                            f"checkpoint.", argument="which")
    run = RunFolder(run_dir).require()
    wanted = which or default_weights(run.path)
    checkpoint = read_weights(run.path, wanted)
    results = _read_json(run.results)
    best_file = Path(checkpoint.path).name == "best.json" if checkpoint.path else False
    state = checkpoint.state
    note = ""
    if wanted == "best" and not best_file:
        note = "the run has no best checkpoint (no validation split), so these are its last weights"
    if best_file:
        epoch, batch = state.get("epoch"), 0
        val_count = state.get("val_count", results.get("val_count"))
    else:
        done, batch = state.get("epoch"), int(state.get("batch") or 0)
        # A step checkpoint records the epoch in progress (from 0) and the batch reached.
        epoch = None if done is None else (int(done) + 1 if batch else int(done))
        val_count = None
    return WeightsChoice("best" if best_file else "last", which, epoch, batch, state.get("step"),
                         checkpoint.path, val_count, note)


def warn_small_validation(count, *, which: str = "best") -> None:
    """Warn that ``best`` weights chosen on ``count`` < :data:`SMALL_VALIDATION`
    validation samples are a noisy choice.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_small_validation(24)
        >>> print(caught[0].message)  # doctest: +ELLIPSIS
        the best weights were chosen on 24 validation samples: one sample moves accuracy by 4.2 points, ...
    """
    if which != "best" or count is None or count >= SMALL_VALIDATION or count <= 0:
        return
    warnings.warn(
        f"the best weights were chosen on {count} validation samples: one sample moves accuracy "
        f"by {100 / count:.1f} points, so the best epoch may be chance. Hold out at least "
        f"{SMALL_VALIDATION} validation samples (val_fraction or val_data; --val-fraction or "
        f"--val-data on the command line), or use the last weights (--weights last).",
        UserWarning, stacklevel=2)


def load_weights(run_dir, which: str | None = None):
    """``(network, WeightsChoice)``: a run's network with the weights ``which`` names
    (None: the run's default), in eval mode."""
    choice = resolve_weights(run_dir, which)
    return load_run_model(run_dir, choice.which), choice

