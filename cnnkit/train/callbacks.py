"""Callbacks: code of your own that runs at points of training, as in Keras and Lightning.

A callback subclasses :class:`Callback` and overrides any of its hooks; pass a list to
``Trainer(..., callbacks=[...])`` or ``train(..., callbacks=[...])``. Each hook gets the
:class:`~cnnkit.train.trainer.Trainer` (its ``model``, ``optimizer``, ``config``,
``epoch``, ``step``, ``history``); setting ``trainer.stop_training = True`` ends training
after the current epoch.

The library's own early stopping and best checkpoint (``early_stopping``, ``patience``,
``monitor``, ``min_delta`` of TrainConfig) follow the same rule as :class:`EarlyStopping`
(:func:`improved`) and live in the checkpoint, so that a killed run resumes them exactly;
:class:`EarlyStopping` and :class:`ModelCheckpoint` are the same behaviour as callbacks
for your own monitors and folders.

Hooks:
    - ``on_train_begin(trainer)`` and ``on_train_end(trainer, result)``
    - ``on_epoch_begin(trainer, epoch)``: ``epoch`` from 1
    - ``on_step(trainer, logs)``: after each optimiser step; ``logs`` holds ``step``,
      ``epoch``, ``batch``, ``lr`` and ``loss`` (a 0-d tensor: ``float()`` waits for the
      device, so read it only every so many steps)
    - ``on_epoch_end(trainer, logs)``: the epoch's record: ``epoch``, ``step``, ``loss``,
      ``accuracy``, ``val_loss``, ``val_accuracy``..., ``lr``, ``seconds``
    - ``on_checkpoint(trainer, path, kind)``: after a checkpoint was written (``kind``
      ``"step"`` or ``"best"``; ``path`` its JSON file)

Example:
    >>> import torch, torch.nn as nn
    >>> from cnnkit.train import TrainConfig, Trainer
    >>> class Count(Callback):
    ...     steps = 0
    ...     def on_step(self, trainer, logs):
    ...         self.steps += 1
    >>> x = torch.randn(64, 1, 4, 4); y = (x.mean((1, 2, 3)) > 0).long()
    >>> count = Count()
    >>> _ = Trainer(nn.Sequential(nn.Flatten(), nn.Linear(16, 2)),
    ...             TrainConfig(epochs=2, batch_size=16, val_fraction=0, quiet=True),
    ...             (x, y), callbacks=[count]).fit()
    >>> count.steps
    8
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from .._validation import ArgumentError, ArgumentTypeError

__all__ = ["CSVLogger", "Callback", "CallbackList", "EarlyStopping", "LambdaCallback",
           "ModelCheckpoint", "history_csv", "improved"]


def improved(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    """Whether ``value`` beats ``best`` by more than ``min_delta`` (``mode`` ``"max"`` or
    ``"min"``); the first value always does.

    Example:
        >>> improved(0.91, 0.90, "max"), improved(0.91, 0.90, "max", min_delta=0.02)
        (True, False)
    """
    if best is None:
        return True
    return value > best + min_delta if mode == "max" else value < best - min_delta


def _mode_of(monitor: str) -> str:
    return "min" if "loss" in monitor or "error" in monitor else "max"


class Callback:
    """Base class: every hook does nothing. Override the ones you need."""

    def on_train_begin(self, trainer) -> None:
        pass

    def on_epoch_begin(self, trainer, epoch: int) -> None:
        pass

    def on_step(self, trainer, logs: dict) -> None:
        pass

    def on_epoch_end(self, trainer, logs: dict) -> None:
        pass

    def on_checkpoint(self, trainer, path: Path, kind: str) -> None:
        pass

    def on_train_end(self, trainer, result) -> None:
        pass


class CallbackList(Callback):
    """Calls each hook of every callback in order.

    Raises:
        ArgumentTypeError: an item that has none of the hooks.
    """

    def __init__(self, callbacks=()):
        callbacks = list(callbacks or ())
        hooks = [name for name in vars(Callback) if name.startswith("on_")]
        for index, item in enumerate(callbacks):
            if not any(callable(getattr(item, name, None)) for name in hooks):
                raise ArgumentTypeError(
                    f"callbacks[{index}] has none of the hooks {', '.join(hooks)}. Received: "
                    f"{type(item).__name__}. Subclass cnnkit.train.Callback.", argument="callbacks")
        self.callbacks = callbacks

    def __bool__(self) -> bool:
        return bool(self.callbacks)

    def _call(self, name: str, *args) -> None:
        for item in self.callbacks:
            hook = getattr(item, name, None)
            if hook is not None:
                hook(*args)

    def on_train_begin(self, trainer):
        self._call("on_train_begin", trainer)

    def on_epoch_begin(self, trainer, epoch):
        self._call("on_epoch_begin", trainer, epoch)

    def on_step(self, trainer, logs):
        self._call("on_step", trainer, logs)

    def on_epoch_end(self, trainer, logs):
        self._call("on_epoch_end", trainer, logs)

    def on_checkpoint(self, trainer, path, kind):
        self._call("on_checkpoint", trainer, path, kind)

    def on_train_end(self, trainer, result):
        self._call("on_train_end", trainer, result)


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda t, logs: ...)``.

    Raises:
        ArgumentError: a keyword that is not a hook (the closest one named).
    """

    def __init__(self, **hooks):
        from .._validation import did_you_mean

        names = [name for name in vars(Callback) if name.startswith("on_")]
        for key, function in hooks.items():
            if key not in names:
                raise ArgumentError(f"LambdaCallback has no hook {key!r}.{did_you_mean(key, names)} "
                                    f"Hooks: {', '.join(names)}.", argument=key)
            setattr(self, key, function)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs (Goodfellow et al.
    2016, sec. 7.8), optionally putting the best epoch's weights back at the end.

    Args:
        monitor: a key of the epoch record (``val_loss``, ``val_accuracy``, ``loss``...).
        patience: epochs without improvement before stopping.
        min_delta: smallest change that counts as an improvement.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (``min`` for losses, else ``max``).
        restore_best_weights: load the best epoch's weights when training ends.

    Raises:
        ArgumentError: a patience below 1, a negative min_delta, an unknown mode.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ArgumentError(f"patience must be an int of at least 1. Received: "
                                f"patience={patience!r}.", argument="patience")
        if not isinstance(min_delta, (int, float)) or not min_delta >= 0:
            raise ArgumentError(f"min_delta must be a non-negative number. Received: "
                                f"min_delta={min_delta!r}.", argument="min_delta")
        if mode not in ("auto", "min", "max"):
            raise ArgumentError(f"mode must be 'auto', 'min' or 'max'. Received: mode={mode!r}.",
                                argument="mode")
        self.monitor, self.patience, self.min_delta = monitor, patience, float(min_delta)
        self.mode = _mode_of(monitor) if mode == "auto" else mode
        self.restore_best_weights = restore_best_weights
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self._weights: dict | None = None

    def on_epoch_end(self, trainer, logs):
        if self.monitor not in logs:
            raise ArgumentError(
                f"EarlyStopping monitors {self.monitor!r}, which the epoch record does not hold. "
                f"Received: monitor={self.monitor!r}. Keys: {', '.join(sorted(logs))}.",
                argument="monitor")
        value = float(logs[self.monitor])
        if math.isfinite(value) and improved(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = value, logs["epoch"], 0
            if self.restore_best_weights:
                self._weights = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                trainer.stop_training = True

    def on_train_end(self, trainer, result):
        if self.restore_best_weights and self._weights is not None:
            trainer.model.load_state_dict(self._weights)


class ModelCheckpoint(Callback):
    """Write the model's weights to ``folder`` as checksummed safetensors checkpoints
    (``epoch-0003.safetensors`` + ``.json``), every ``every`` epochs or, with
    ``monitor``, only when it improves (``best.safetensors``).

    Args:
        folder: where to write (created if missing).
        monitor: a key of the epoch record; None: save every ``every`` epochs.
        mode: ``"min"``, ``"max"`` or ``"auto"``.
        every: epochs between checkpoints when ``monitor`` is None.

    Raises:
        ArgumentError: ``every`` below 1.
    """

    def __init__(self, folder, monitor: str | None = None, mode: str = "auto", every: int = 1):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ArgumentError(f"every must be an int of at least 1. Received: every={every!r}.",
                                argument="every")
        self.folder = Path(folder)
        self.monitor = monitor
        self.mode = _mode_of(monitor or "") if mode == "auto" else mode
        self.every = every
        self.best: float | None = None
        self.saved: list[Path] = []

    def on_epoch_end(self, trainer, logs):
        from ..runs import checkpoint as ckpt

        epoch = logs["epoch"]
        if self.monitor is not None:
            if self.monitor not in logs:
                raise ArgumentError(f"ModelCheckpoint monitors {self.monitor!r}, which the epoch "
                                    f"record does not hold. Keys: {', '.join(sorted(logs))}.",
                                    argument="monitor")
            if not improved(float(logs[self.monitor]), self.best, self.mode):
                return
            self.best, name = float(logs[self.monitor]), "best"
        elif epoch % self.every:
            return
        else:
            name = f"epoch-{epoch:04d}"
        self.folder.mkdir(parents=True, exist_ok=True)
        tensors = {f"model.{k}": v for k, v in trainer.model.state_dict().items()}
        path = ckpt.save_checkpoint(self.folder, name, tensors,
                                    {"epoch": epoch, "step": logs.get("step"),
                                     "metrics": {k: v for k, v in logs.items()
                                                 if isinstance(v, (int, float))}})
        self.saved.append(path)
        trainer.callbacks.on_checkpoint(trainer, path, "callback")


class CSVLogger(Callback):
    """Append each epoch's record to a CSV file (header from the first epoch), as Keras's
    ``CSVLogger``; a run folder gets ``RUN/history.csv`` from ``csv_log: true``.

    Args:
        path: the CSV file; its folder is created.
        append: keep rows already in the file (a resumed run); else start it afresh.
    """

    def __init__(self, path, append: bool = False):
        self.path = Path(path)
        self.append = append
        self._fields: list[str] | None = None

    def on_train_begin(self, trainer):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.append and self.path.exists():
            self.path.unlink()
        if self.path.exists():
            with open(self.path, newline="") as handle:
                header = next(csv.reader(handle), None)
            self._fields = header or None

    def on_epoch_end(self, trainer, logs: dict[str, Any]):
        row = {k: v for k, v in logs.items() if isinstance(v, (int, float, str))}
        if self._fields is None:
            self._fields = list(row)
        new = not self.path.exists() or self.path.stat().st_size == 0
        with open(self.path, "a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=self._fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)


def history_csv(history: list[dict]) -> str:
    """The epoch records as CSV text: one row per epoch, the columns of every record.

    Example:
        >>> print(history_csv([{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25, "val_loss": 0.3}]).strip())
        epoch,loss,val_loss
        1,0.5,
        2,0.25,0.3
    """
    import io

    fields: list[str] = []
    for record in history:
        fields += [k for k in record if k not in fields and isinstance(record[k], (int, float, str))]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for record in history:
        writer.writerow(record)
    return out.getvalue()
