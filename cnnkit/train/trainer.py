"""The Trainer: back-propagation with every regulariser of the Wikipedia article
"Convolutional neural network", and runs that resume.

With a fixed seed on the CPU, a run killed at any moment and resumed with
``Trainer.fit(resume=True)`` ends with the same weights, bit for bit, as a run never
interrupted: checkpoints hold the model, the optimiser, the step, the position in the
epoch and every random state, and data order and learning rate are pure functions of
(seed, epoch) and step.
"""

from __future__ import annotations

import contextlib
import copy
import fnmatch
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn

from .._validation import ArgumentError, CnnkitError, ShapeError
from ..data.loader import BatchLoader, seed_for
from ..functional.losses import loss_function
from ..runs import checkpoint as ckpt
from ..runs.folder import RunFolder, spec_digest
from .._files import atomic_write_text
from .batches import IterableBatches, evaluate_batches, is_batch_iterable
from .callbacks import CallbackList, history_csv, improved
from .config import TrainConfig
from .metrics import MetricsLog, evaluate, evaluate_task, scalar_metrics
from .progress import EpochPrinter
from .regularizers import apply_max_norm, penalized_weights, weight_penalty
from .schedules import lr_at
from .tensorboard import EventWriter, log_epoch

__all__ = ["DIVERGENCE_FACTOR", "NothingToResume", "TrainResult", "Trainer", "TrainingDiverged",
           "ended_with", "resolve_device"]


# A logged loss above this many times the first one (or above it, when the first is below 1)
# means the run has diverged: Goodfellow et al. (2016, sec. 8.2.4) on exploding gradients.
DIVERGENCE_FACTOR = 1e4
# Validation metrics where less is better; every other one (accuracy, IoU, mAP, F1, R²,
# PSNR) is better higher.
LOWER_IS_BETTER = ("val_loss", "val_mse", "val_rmse", "val_mae")


class TrainingDiverged(CnnkitError, RuntimeError):
    """The loss became NaN or infinite, or grew without bound; the last good checkpoint is
    kept."""


class NothingToResume(CnnkitError, RuntimeError):
    """A run's checkpoints exist but none can be read, so it cannot continue."""


@dataclass
class TrainResult:
    """What a finished (or stopped) run reached.

    ``model`` is the trained network, ``test_set`` the test split it was scored on and
    ``config`` the TrainConfig (:func:`cnnkit.train.api.train` fills them), for a report
    built from memory.
    """

    run_dir: Path | None
    epochs_run: int
    steps: int
    train_seconds: float
    best_epoch: int | None = None
    best_metric: float | None = None
    stopped_early: bool = False
    val: dict = field(default_factory=dict)
    history: list = field(default_factory=list)
    test: dict = field(default_factory=dict)
    model: Any = field(default=None, repr=False)
    test_set: Any = field(default=None, repr=False)
    config: Any = field(default=None, repr=False)
    weights: str = "last"         # the weights the model holds: "best" (restored) or "last"


def ended_with(config: TrainConfig, result: TrainResult) -> str:
    """``"best"`` when early stopping restored the best epoch's weights, else ``"last"``."""
    return "best" if config.early_stopping and result.best_epoch is not None else "last"


def resolve_device(name: str) -> torch.device:
    """``auto`` -> the GPU if there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ArgumentError(f"config.device asks for {name!r} but no GPU is available. Received: "
                            f"device={name!r}. Use device: cpu or auto.")
    return device


def _distributed():
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class Trainer:
    """Train a model on tensors held on the device, batched by index.

    Args:
        model: any ``nn.Module`` (a cnnkit Network or plain PyTorch).
        config: a :class:`TrainConfig`.
        train: ``(x, y)`` training tensors or NumPy arrays (x ``(N, C, *spatial)``, y
            labels), a data set with ``.x`` and ``.y``, or any iterable of ``(x, y)``
            batches: a ``DataLoader``, a list, a function returning an iterator
            (:mod:`cnnkit.train.batches`; ``batch_size`` and ``val_fraction`` are then
            the iterable's business); or a :class:`~cnnkit.data.StreamingLoader` for data
            larger than memory (each process streams its own shards; its position goes
            into the checkpoints, and its batch size and seed must be the config's).
        val: optional validation data of the same kinds (else ``config.val_fraction`` of
            train; with a streaming loader, give ``val`` or set ``val_fraction`` to 0).
        loss: ``softmax_cross_entropy`` (default), ``sigmoid_cross_entropy``, ``euclidean``,
            or a callable ``loss(output, target)``.
        run_dir: the run folder to write (None: nothing is written).
        spec: the canonical spec (recorded; a resumed run checks it did not change).
        augment: a callable ``augment(x, generator) -> x`` applied to training batches.
        extra_provenance: recorded in config.yaml (data set name, ...).
        task: a :class:`cnnkit.tasks.Task`: its loss trains (``loss`` is then ignored), its
            ``prepare`` makes each batch's inputs and targets (the clean input for
            reconstruction), its metrics are the validation's, and its monitored metric
            chooses the best epoch (``monitor: val_accuracy`` stands for it). None: the loss
            alone, accuracy for class targets.
        callbacks: :class:`~cnnkit.train.callbacks.Callback` objects whose hooks run
            during training; ``trainer.stop_training = True`` stops after the epoch.

    Example:
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> x = torch.randn(512, 1, 6, 6); y = (x.mean((1, 2, 3)) > 0).long()
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(36, 2))
        >>> cfg = TrainConfig(epochs=5, lr=0.1, batch_size=32, progress=False, val_fraction=0.25)
        >>> result = Trainer(model, cfg, (x, y)).fit()
        >>> result.val["accuracy"] > 0.8
        True
    """

    def __init__(self, model: nn.Module, config: TrainConfig, train, val=None, *,
                 loss: str | Callable = "softmax_cross_entropy", run_dir=None,
                 spec: dict | None = None, augment: Callable | None = None,
                 extra_provenance: dict | None = None, callbacks=(), task=None):
        self.config = config
        self.task = task
        self.device = resolve_device(config.device)
        if config.threads:
            torch.set_num_threads(config.threads)
        self.rank, self.world = _distributed()
        self.model = model.to(self.device)
        if config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        if task is not None:
            loss = task.loss_name
        self.loss_name = loss if isinstance(loss, str) else getattr(loss, "__name__", "custom")
        self.base_loss = loss_function(loss) if isinstance(loss, str) else loss
        self.spec = spec
        self.augment = augment
        self.extra_provenance = extra_provenance or {}
        self.run = RunFolder(run_dir) if run_dir is not None else None
        self.writer_enabled = self.run is not None and self.rank == 0
        self.callbacks = CallbackList(callbacks)
        self.stop_training = False  # a callback sets it to end training after this epoch
        self.val_batches = val if is_batch_iterable(val) else None
        # A streaming loader (cnnkit.data.StreamingLoader) brings each process its own share.
        self.streaming = bool(getattr(train, "per_rank", False))
        if self.streaming:
            self.train_x = self.train_y = None
            self.val_x, self.val_y = _streaming_val(train, val, config, self.device,
                                                    self.val_batches is not None)
            self.loader = train
            self.batch_size = config.batch_size
        elif is_batch_iterable(train):
            self.train_x = self.train_y = None
            if self.val_batches is None and val is not None:
                self.val_x, self.val_y = (t.to(self.device) for t in _as_xy(val, "val"))
            else:
                self.val_x = self.val_y = None
            self.loader = IterableBatches(train, self.device)
            self.batch_size = config.batch_size
        else:
            self.train_x, self.train_y, self.val_x, self.val_y = self._split(
                train, None if self.val_batches is not None else val)
            # The order of epoch e is a pure function of (seed, e): resuming needs no RNG
            # state. The last, smaller batch is trained too, unless it has fewer samples
            # than there are processes (each takes a share, and none may be empty).
            rest = len(self.train_x) % self.batch_size
            self.loader = BatchLoader(self.train_x, self.train_y, batch_size=self.batch_size,
                                      shuffle=config.shuffle, drop_last=0 < rest < self.world,
                                      seed=config.seed)
        self._apply_freeze()
        self.weights = penalized_weights(self.model, config.penalty_multipliers)
        self.optimizer = self._make_optimizer()
        self.net = self._wrap_for_training()
        self.steps_per_epoch = _length(self.loader, config)
        self._length_known = not hasattr(self.loader, "length") or self.loader.length() is not None
        # progress state (all of it goes into checkpoints)
        self.epoch = 0            # epoch in progress
        self.batch = 0            # next batch within that epoch
        self.step = 0             # optimiser steps taken
        self.best_metric: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0
        self.history: list[dict] = []
        self.train_seconds = 0.0
        self.first_loss: float | None = None  # the first logged loss: divergence is measured to it
        self._reset_running()

    def _reset_running(self) -> None:
        # Sums since the last metrics line; in checkpoints, so that the first line after a
        # resume averages the same steps as it would have without the interruption.
        self._losses: list[torch.Tensor] = []
        self._correct = torch.zeros((), device=self.device)
        self._seen = 0

    # ----------------------------------------------------------------- set-up
    def _split(self, train, val):
        x, y = _as_xy(train, "train")
        if val is not None:
            vx, vy = _as_xy(val, "val")
        elif self.config.val_fraction > 0 and self.val_batches is None:
            # A fixed, seeded split: the same samples are held out on every resume.
            order = torch.randperm(len(x), generator=torch.Generator().manual_seed(self.config.seed))
            n = len(x)
            cut = int(round(n * self.config.val_fraction))
            vx, vy = x[order[:cut]], y[order[:cut]]
            x, y = x[order[cut:]], y[order[cut:]]
            if cut == 0 or cut == n:
                raise ArgumentError(
                    f"config.val_fraction {self.config.val_fraction:g} of {n} training samples "
                    f"leaves {cut} for validation and {n - cut} for training; both need at "
                    f"least one. Received: val_fraction={self.config.val_fraction!r}. Set "
                    f"val_fraction: 0 (no validation), or give more data.")
        else:
            vx = vy = None
        if self.world > self.config.batch_size:
            raise ArgumentError(
                f"config.batch_size {self.config.batch_size} is smaller than the {self.world} "
                f"processes: each process takes its share of a batch, and some would get none. "
                f"Received: batch_size={self.config.batch_size} with {self.world} processes. "
                f"Use a batch_size of at least {self.world} (a multiple of it splits evenly), or "
                f"fewer processes.")
        self.batch_size = self.config.batch_size
        if len(x) < self.config.batch_size and self.world == 1:
            # One batch of everything is what a larger batch means; say so, once.
            warnings.warn(f"batch_size {self.config.batch_size} is larger than the {len(x)} "
                          f"training samples: each step trains on all {len(x)}.",
                          UserWarning, stacklevel=3)
            self.batch_size = len(x)
        elif len(x) < self.config.batch_size:
            raise ArgumentError(
                f"config.batch_size {self.config.batch_size} is larger than the {len(x)} training "
                f"samples. Received: batch_size={self.config.batch_size}. Use a smaller batch."
            )
        move = lambda t: None if t is None else t.to(self.device)  # noqa: E731
        return move(x), move(y), move(vx), move(vy)

    def _apply_freeze(self):
        patterns = list(self.config.freeze)
        if not patterns:
            return
        names = [name for name, _ in self.model.named_parameters()]
        for pattern in patterns:
            matched = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
            if not matched:
                raise ArgumentError(
                    f"config.freeze pattern {pattern!r} matches no parameter. Received: "
                    f"freeze={patterns!r}. Parameter names: {', '.join(names[:12])}"
                    f"{', ...' if len(names) > 12 else ''}."
                )
            for name, param in self.model.named_parameters():
                if name in matched:
                    param.requires_grad_(False)

    def _make_optimizer(self) -> torch.optim.Optimizer:
        cfg = self.config
        params = [p for p in self.model.parameters() if p.requires_grad]
        if not params:
            raise ArgumentError("every parameter is frozen: nothing to train. Received: "
                                f"freeze={list(cfg.freeze)!r}.")
        # foreach=True: one multi-tensor kernel per step instead of one per parameter.
        if cfg.optimizer == "sgd":
            return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                                   weight_decay=cfg.weight_decay, foreach=True)
        if cfg.optimizer == "adam":
            return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay,
                                    foreach=True)
        return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay,
                                 foreach=True)

    def _wrap_for_training(self) -> nn.Module:
        net = self.model
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(net)
        if self.config.compile:
            net = torch.compile(net)
        return net

    def loss(self, output, target):
        if self.task is not None:
            return self.task.loss(output, target)
        if self.loss_name == "softmax_cross_entropy" and self.config.label_smoothing:
            return self.base_loss(output, target, label_smoothing=self.config.label_smoothing)
        return self.base_loss(output, target)

    # ------------------------------------------------------------ checkpoints
    def _state(self) -> tuple[dict, dict]:
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        opt = self.optimizer.state_dict()
        for index, entry in opt["state"].items():
            for key, value in entry.items():
                if torch.is_tensor(value):
                    tensors[f"optim.{index}.{key}"] = value
        tensors["rng.torch"] = torch.get_rng_state()  # dropout and other in-model sampling
        if torch.cuda.is_available() and self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        state = {
            "epoch": self.epoch, "batch": self.batch, "step": self.step,
            "best_metric": self.best_metric, "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs, "history": self.history,
            "train_seconds": self.train_seconds,
            "optim_groups": opt["param_groups"],
            "optim_scalars": {str(i): {k: v for k, v in e.items() if not torch.is_tensor(v)}
                              for i, e in opt["state"].items()},
            "spec_digest": spec_digest(self.spec) if self.spec else None,
            "config": self.config.to_dict(),
            "first_loss": self.first_loss,
            "loader": self.loader.state_dict() if self.streaming else None,
            "running": {"losses": [float(v) for v in self._losses], "correct": int(self._correct),
                        "seen": self._seen},
        }
        return tensors, state

    def save_checkpoint(self) -> Path | None:
        if not self.writer_enabled:
            return None
        tensors, state = self._state()
        path = ckpt.save_checkpoint(self.run.checkpoints, ckpt.step_name(self.step), tensors, state)
        ckpt.prune(self.run.checkpoints, self.config.keep_checkpoints)
        return path

    def _save_best(self):
        if not self.writer_enabled:
            return
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        ckpt.save_checkpoint(self.run.checkpoints, "best", tensors,
                             {"epoch": self.epoch + 1, "step": self.step, "metric": self.best_metric,
                              "monitor": self.monitor, "val_count": self._val_count})

    def restore(self, checkpoint: ckpt.Checkpoint) -> None:
        """Load a checkpoint's full training state (weights, optimiser, RNGs, position)."""
        state = checkpoint.state
        if self.spec and state.get("spec_digest") and state["spec_digest"] != spec_digest(self.spec):
            raise ArgumentError(
                "the spec changed since this run's checkpoints were written, so they do not fit it. "
                f"Received: a spec whose digest {spec_digest(self.spec)[:12]} differs from the "
                f"run's {state['spec_digest'][:12]}. Start a new run, or restore the run's spec.yaml."
            )
        ckpt.load_state(self.model, checkpoint.prefixed("model"), checkpoint.path)
        own = {i: p for i, p in enumerate(p for group in self.optimizer.param_groups
                                           for p in group["params"])}
        opt_state: dict[int, dict[str, Any]] = {}
        for index, scalars in state.get("optim_scalars", {}).items():
            opt_state[int(index)] = dict(scalars)
        for key, value in checkpoint.prefixed("optim").items():
            index, name = key.split(".", 1)
            param = own.get(int(index))
            if param is None or (value.dim() > 0 and tuple(value.shape) != tuple(param.shape)):
                raise ckpt.CheckpointError(
                    f"checkpoint {checkpoint.path} holds optimiser state optim.{key} of shape "
                    f"{tuple(value.shape)}, which fits no parameter of the network"
                    f"{f' (shape {tuple(param.shape)})' if param is not None else ''}. It "
                    f"belongs to another configuration, or was edited.")
            opt_state.setdefault(int(index), {})[name] = value.to(self.device)
        self.optimizer.load_state_dict({"state": opt_state, "param_groups": state["optim_groups"]})
        torch.set_rng_state(checkpoint.tensors["rng.torch"])
        if "rng.cuda" in checkpoint.tensors and self.device.type == "cuda":
            torch.cuda.set_rng_state(checkpoint.tensors["rng.cuda"], self.device)
        for name in ("epoch", "batch", "step", "best_metric", "best_epoch", "bad_epochs",
                     "history", "train_seconds"):
            setattr(self, name, state[name])
        self.first_loss = state.get("first_loss")
        if self.streaming and state.get("loader"):
            # The position in the shard order: refused if the shards or processes changed.
            self.loader.load_state_dict(state["loader"])
        running = state.get("running") or {}
        self._reset_running()
        self._losses = [torch.tensor(v, dtype=torch.float32, device=self.device)
                        for v in running.get("losses", [])]
        self._correct = torch.tensor(float(running.get("correct", 0)), device=self.device)
        self._seen = int(running.get("seen", 0))

    # -------------------------------------------------------------- training
    def fit(self, resume: bool = False) -> TrainResult:
        """Train for ``config.epochs`` (or until early stopping); returns a TrainResult.

        The run folder is locked meanwhile (:mod:`cnnkit.runs.lock`): a second process
        writing it stops with the first one's process id.

        Raises:
            RunLockedError: another process writes the run folder.
            NothingToResume: ``resume`` and every checkpoint is damaged.
            TrainingDiverged: the loss became NaN or infinite, or grew without bound.
        """
        held = self.run.lock() if self.writer_enabled else contextlib.nullcontext()
        with held:
            return self._fit(resume)

    def _fit(self, resume: bool) -> TrainResult:
        cfg = self.config
        log = MetricsLog(self.run.metrics) if self.writer_enabled else None
        if resume and self.run is not None:
            self._resume(log)
        elif log is not None and (log.records() or ckpt.find_checkpoints(self.run.checkpoints)):
            raise ArgumentError(
                f"run_dir {str(self.run.path)!r} already holds a run's checkpoints and metrics; "
                f"a new run there would mix with them. Received: run_dir="
                f"{str(self.run.path)!r}, resume=False. Continue it with fit(resume=True), or "
                f"give another run_dir.", argument="run_dir")
        writer = EventWriter(self.run.path / "tb") if self.writer_enabled else None
        self.callbacks.on_train_begin(self)
        try:
            self._loop(log, writer)
        finally:
            if writer is not None:
                writer.close()
            self._printer.close()
        if self.val_x is not None and cfg.early_stopping and self.best_epoch is not None:
            best = self.run.checkpoints / "best.json" if self.writer_enabled else None
            if best is not None and best.exists():
                self.model.load_state_dict(ckpt.read_checkpoint(best).prefixed("model"))
            elif self._best_weights is not None:
                self.model.load_state_dict(self._best_weights)
        val = self._validate() or {}
        result = TrainResult(self.run.path if self.run else None, self.epoch, self.step,
                             self.train_seconds, self.best_epoch, self.best_metric,
                             self.bad_epochs >= cfg.patience and cfg.early_stopping, val,
                             self.history)
        result.weights = ended_with(cfg, result)
        self.callbacks.on_train_end(self, result)
        return result

    _best_weights = None
    _val_count = None
    _printer = EpochPrinter(1, bar=False, lines=False)

    def _validate(self) -> dict | None:
        """Metrics on the validation data (tensors or batches); None without any."""
        if self.val_batches is not None:
            result = evaluate_batches(self.model, self.val_batches, self.loss, topk=self.config.topk,
                                      device=self.device, transform=self._input_transform)
        elif self.val_x is not None:
            result = self.evaluate(self.val_x, self.val_y)
        else:
            return None
        self._val_count = result.get("count")
        return result

    def _resume(self, log: MetricsLog | None) -> None:
        errors: list[str] = []
        latest = ckpt.load_latest(self.run.checkpoints, errors)
        if latest is not None:
            self.restore(latest)
        elif errors:
            # Starting again from step 0 would append a second run to metrics.jsonl and
            # leave the damaged files in place: refuse, and say what was found.
            raise NothingToResume(
                f"run {self.run.path} cannot be resumed: every checkpoint is damaged "
                f"({len(errors)} found; newest: {errors[0].rstrip('.')}). Start a new run from its "
                f"spec.yaml, or move checkpoints/ and metrics.jsonl away to train this folder "
                f"again from step 0.")
        if log is not None:
            # Lines logged after the checkpoint are logged again (all of them when the run
            # stopped before its first checkpoint): the file reads as one run.
            log.truncate_after(self.step)

    def train_epochs(self, count: int = 1) -> int:
        """Run ``count`` more epochs without logging or checkpoints; returns images seen.

        For benchmarks and interactive use. ``config.epochs`` grows by ``count``, which
        stretches schedules that depend on the total (cosine, onecycle).
        """
        before = self.step
        self.config = self.config.replace(epochs=self.epoch + count)
        self._loop(None, None)
        return (self.step - before) * self.config.batch_size

    @property
    def monitor(self) -> str:
        """The validation metric that chooses the best epoch: ``config.monitor``, where
        ``val_accuracy`` stands for the task's own metric (``val_mean_iou``, ``val_mAP``,
        ``val_r2``, ``val_psnr``) in tasks other than classification."""
        if (self.task is not None and self.config.monitor == "val_accuracy"
                and self.task.monitor != "accuracy"):
            return f"val_{self.task.monitor}"
        return self.config.monitor

    def evaluate(self, x, y) -> dict:
        if self.task is not None and self.task.name != "classify":
            return evaluate_task(self.model, x, y, self.task, device=self.device,
                                 transform=self._input_transform)
        return evaluate(self.model, x, y, self.loss, topk=self.config.topk, device=self.device,
                        transform=self._input_transform)

    def _input_transform(self, x):
        return x.contiguous(memory_format=torch.channels_last) if self.config.channels_last and x.dim() == 4 else x

    def _make_printer(self, log) -> EpochPrinter:
        cfg = self.config
        talk = self.rank == 0 and (log is not None or self.run is None)
        return EpochPrinter(cfg.epochs, bar=cfg.progress and talk, lines=talk and not cfg.quiet,
                            log=self.run.path / "train.log" if self.writer_enabled and log else None)

    def _loop(self, log, writer):
        cfg = self.config
        amp = cfg.amp and self.device.type == "cuda"
        self._printer = printer = self._make_printer(log)
        self.stop_training = False
        while self.epoch < cfg.epochs:
            if cfg.early_stopping and self.bad_epochs >= cfg.patience:
                break
            if self.stop_training:
                break
            self.net.train()
            self.loader.set_epoch(self.epoch, self.batch)
            self.callbacks.on_epoch_begin(self, self.epoch + 1)
            known = self.steps_per_epoch if self._length_known else None
            printer.start_epoch(self.epoch + 1, None if known is None else _samples(self, known),
                                _samples(self, self.batch) if known else 0)
            if self.batch == 0:
                self._reset_running()
            # The epoch's own sums, for its line (on the device: no wait per step).
            epoch_loss = torch.zeros((), device=self.device)
            epoch_correct = torch.zeros((), device=self.device)
            epoch_count, epoch_labels = 0, 0
            started = time.perf_counter()
            for xb, yb in self.loader:
                # A streaming batch is this process's share already: the global batch
                # is world times larger.
                seen = len(yb) * (self.world if self.streaming else 1)
                if self.world > 1 and not self.streaming:  # each process: its share of the batch
                    xb, yb = xb[self.rank::self.world], yb[self.rank::self.world]
                if self.augment is not None:
                    # Seeded per (seed, epoch, batch, rank): stateless, so resuming needs no RNG state.
                    generator = torch.Generator(device=xb.device)
                    generator.manual_seed(seed_for(cfg.seed, self.epoch, self.batch, self.rank))
                    xb = self.augment(xb, generator)
                if self.task is not None:
                    # The task's inputs and targets (a denoising autoencoder's noise, drawn
                    # from its own stateless per-batch seed).
                    noise = torch.Generator(device=xb.device)
                    noise.manual_seed(seed_for(cfg.seed + 1, self.epoch, self.batch, self.rank))
                    xb, yb = self.task.prepare(xb, yb, generator=noise)
                xb = self._input_transform(xb)
                lr = lr_at(self.step, cfg, self.steps_per_epoch)
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=amp):
                    out = self.net(xb)
                    loss = self.loss(out, yb)
                total = loss
                penalty = weight_penalty(self.weights, cfg.l1, cfg.l2)
                if penalty is not None:
                    total = loss + penalty
                self.optimizer.zero_grad(set_to_none=True)
                total.backward()
                if cfg.grad_clip:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                self.optimizer.step()
                if cfg.max_norm:
                    apply_max_norm(self.weights, cfg.max_norm)
                self._losses.append(loss.detach())
                epoch_loss += loss.detach().float() * len(yb)
                epoch_count += len(yb)
                if out.dim() >= 2 and not yb.dtype.is_floating_point:
                    correct = (out.detach().argmax(1) == yb).sum()
                    self._correct += correct
                    epoch_correct += correct
                    epoch_labels += yb.numel()
                self._seen += yb.numel()  # labels, not samples: per-pixel targets count each pixel
                self.step += 1
                self.batch += 1
                printer.update(seen)
                if self.callbacks:
                    self.callbacks.on_step(self, {"step": self.step, "epoch": self.epoch + 1,
                                                  "batch": self.batch, "lr": lr, "loss": loss.detach()})
                if self.step % cfg.log_every == 0 or (self._length_known
                                                      and self.batch == self.steps_per_epoch):
                    self._log_train(self._losses, self._correct, self._seen, lr, log, writer, printer)
                    self._reset_running()
                if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                    self.train_seconds += time.perf_counter() - started
                    started = time.perf_counter()
                    self.save_checkpoint()
            if self._losses and not self._length_known:  # the end of an epoch of unknown length
                self._log_train(self._losses, self._correct, self._seen,
                                lr_at(max(self.step - 1, 0), cfg, self.steps_per_epoch), log, writer,
                                printer)
                self._reset_running()
            if self.batch == 0:
                raise ArgumentError("the training data gave no batch in this epoch: nothing to "
                                    "train on. Received: an empty iterable of batches.", argument="train")
            self.train_seconds += time.perf_counter() - started
            train_part = {}
            if epoch_count:
                train_part["loss"] = float(epoch_loss) / epoch_count
                if epoch_labels:
                    train_part["accuracy"] = float(epoch_correct) / epoch_labels
            self._end_epoch(log, writer, train_part, time.perf_counter() - started,
                            lr_at(max(self.step - 1, 0), cfg, self.steps_per_epoch))

    def _log_train(self, losses, correct, seen, lr, log, writer, bar):
        values = torch.stack(losses)
        finite = torch.isfinite(values)
        if not bool(finite.all()):
            first_bad = int((~finite).nonzero()[0])
            bad_step = self.step - len(losses) + first_bad + 1
            last = ckpt.find_checkpoints(self.run.checkpoints) if self.run else []
            kept = f" The last good checkpoint is {last[0]}." if last else ""
            raise TrainingDiverged(
                f"the loss became {float(values[first_bad])} at step {bad_step} (epoch "
                f"{self.epoch + 1}); training stopped.{kept} Lower the learning rate (lr={lr:g}), "
                f"set grad_clip, or check the data for NaN or infinite values."
            )
        mean_loss = float(values.mean())
        if self.first_loss is None:
            self.first_loss = mean_loss
        limit = DIVERGENCE_FACTOR * max(self.first_loss, 1.0)
        if not math.isfinite(mean_loss) or mean_loss > limit:
            last = ckpt.find_checkpoints(self.run.checkpoints) if self.run else []
            kept = f" The last good checkpoint is {last[0]}." if last else ""
            raise TrainingDiverged(
                f"the loss grew from {self.first_loss:.4g} (first logged) to {mean_loss:.4g} by "
                f"step {self.step} (epoch {self.epoch + 1}): training diverged and stopped.{kept} "
                f"Lower the learning rate (lr={lr:g}), set grad_clip, or normalise the inputs "
                f"and targets.")
        accuracy = float(correct) / max(seen, 1)
        if bar is not None:
            bar.update(0, loss=mean_loss, acc=accuracy, lr=lr)
        if log is not None:
            log.append({"split": "train", "step": self.step, "epoch": self.epoch + 1, "loss": mean_loss,
                        "accuracy": accuracy, "lr": lr, "time": time.time()})
        if writer is not None:
            writer.scalars(self.step, {"train/loss": mean_loss, "train/accuracy": accuracy, "train/lr": lr})

    def _end_epoch(self, log, writer, train_part=None, seconds=None, lr=None):
        cfg = self.config
        record = {"epoch": self.epoch + 1, "step": self.step}
        best = False
        val = self._validate()
        if val is not None:
            val = scalar_metrics(val)
            record.update({f"val_{k}": v for k, v in val.items() if k != "count"})
            monitor = self.monitor
            metric = record.get(monitor)
            if metric is None:
                monitor, metric = "val_loss", record["val_loss"]
            better = improved(metric, self.best_metric,
                              "min" if monitor in LOWER_IS_BETTER else "max", cfg.min_delta)
            if better:
                best = True
                self.best_metric, self.best_epoch, self.bad_epochs = metric, self.epoch + 1, 0
                self._best_weights = copy.deepcopy(self.model.state_dict())
                self._save_best()
            else:
                self.bad_epochs += 1
        # Train metrics of the epoch go into history (Keras's History), not the val line of
        # metrics.jsonl, whose train lines already hold them per logging window.
        full = dict(record, **(train_part or {}))
        if lr is not None:
            full["lr"] = lr
        if seconds is not None:
            full["seconds"] = round(seconds, 3)
        self.history.append(full)
        self._printer.end_epoch(dict(full, best=best))
        if self.writer_enabled and log is not None:
            atomic_write_text(self.run.path / "history.csv", history_csv(self.history))
        self.callbacks.on_epoch_end(self, dict(full))
        if log is not None:
            log.append(dict(record, split="val", time=time.time()))
        if writer is not None:
            writer.scalars(self.step, {f"val/{k[4:]}": v for k, v in record.items() if k.startswith("val_")})
            log_epoch(writer, self.model, self.step,
                      None if self.train_x is None else self.train_x[:1], hparams=cfg.to_dict())
        self.epoch += 1
        self.batch = 0
        if not cfg.checkpoint_every or self.epoch == cfg.epochs or self.stop_training:
            path = self.save_checkpoint()
            if path is not None:
                self.callbacks.on_checkpoint(self, path, "step")


def _length(loader, config) -> int:
    """Batches per epoch; 1 for an iterable of unknown length, refused where a schedule
    needs the count."""
    length = loader.length() if hasattr(loader, "length") else len(loader)
    if length is not None:
        return length
    if config.schedule != "constant" or config.warmup_epochs:
        raise ArgumentError(
            f"config.schedule {config.schedule!r} (and warm-up) needs the number of batches per "
            f"epoch, but the training batches have no len(). Received: schedule="
            f"{config.schedule!r}, warmup_epochs={config.warmup_epochs!r}. Give a DataLoader or "
            f"a list (they have a length), or schedule: constant without warm-up.",
            argument="schedule")
    return 1


def _samples(trainer, batches: int) -> int:
    """Samples in the first ``batches`` batches of an epoch (the last one may be smaller)."""
    total = len(trainer.train_x) if trainer.train_x is not None else None
    done = batches * trainer.batch_size
    return min(done, total) if total is not None else done


def _as_xy(data, name):
    if hasattr(data, "x") and hasattr(data, "y"):
        return data.x, data.y
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
        if not (torch.is_tensor(x) and torch.is_tensor(y)):
            x, y = torch.as_tensor(x), torch.as_tensor(y)
        if len(x) != len(y):
            raise ShapeError(f"{name}: x and y must have the same number of samples. Received: "
                             f"{len(x)} inputs and {len(y)} labels.")
        return x, y
    raise ArgumentError(f"{name} must be (x, y) tensors or a data set with .x and .y. "
                        f"Received: {type(data).__name__}.")


def _streaming_val(loader, val, config, device, batches: bool = False):
    """Validation tensors beside a streaming loader: given, never cut from the stream
    (None when there is none, or when ``val`` is an iterable of batches)."""
    from ..data.loader import check_streaming

    check_streaming(loader, batch_size=config.batch_size, seed=config.seed,
                    val_fraction=config.val_fraction, val=val, device=device)
    if val is None or batches:
        return None, None
    vx, vy = _as_xy(val, "val")
    return vx.to(device), vy.to(device)
