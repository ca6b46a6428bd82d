"""TrainConfig: every training setting in one typed place, readable from YAML.

A run records its config next to its spec (``config.yaml``), so that a run folder says
exactly what was trained.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .._validation import ArgumentError, ArgumentTypeError, SpecError, did_you_mean, one_of

__all__ = ["TrainConfig", "load_config", "setting_help"]

OPTIMIZERS = ("sgd", "adam", "adamw")
# Names other libraries use for the same setting, so that the error can point at ours.
_ALIASES = {"learning_rate": "lr", "num_epochs": "epochs", "batchsize": "batch_size",
            "lr_schedule": "schedule", "scheduler": "schedule", "optim": "optimizer",
            "decay": "weight_decay", "clip_grad_norm": "grad_clip", "warmup": "warmup_epochs"}
SCHEDULES = ("constant", "step", "cosine", "onecycle")
# val_accuracy stands for the task's monitored metric (mean IoU, mAP, R², PSNR) in tasks
# other than classify; any other val_<metric> of the task may be named.
MONITORS = ("val_accuracy", "val_loss")


@dataclass
class TrainConfig:
    """Settings of a training run. Units are in the comments.

    Example:
        >>> cfg = TrainConfig(epochs=3, lr=0.05)
        >>> cfg.optimizer, cfg.batch_size
        ('sgd', 64)
        >>> TrainConfig.from_dict({"epochs": 2, "learning_rate": 0.1})
        Traceback (most recent call last):
        ...
        cnnkit._validation.SpecError: config.learning_rate: unknown setting. Did you mean 'lr'? ...
    """

    # schedule of the run
    epochs: int = 10                      # passes over the training set
    batch_size: int = 64                  # images per optimiser step (over all processes)
    seed: int = 0                         # seeds weights, order, augmentation, dropout
    shuffle: bool = True                  # a new sample order every epoch; false: the data's own order
    # optimiser
    optimizer: str = "sgd"                # sgd | adam | adamw
    lr: float = 0.05                      # peak learning rate
    momentum: float = 0.9                 # sgd only
    nesterov: bool = False                # sgd only
    betas: tuple[float, float] = (0.9, 0.999)   # adam / adamw
    weight_decay: float = 0.0             # decoupled decay (adamw) / torch's weight_decay (sgd, adam)
    schedule: str = "constant"            # constant | step | cosine | onecycle
    step_epochs: int = 10                 # step schedule: epochs between decays
    gamma: float = 0.1                    # step schedule: decay factor
    warmup_epochs: float = 0.0            # linear warm-up from 0, in epochs (fractions allowed)
    final_lr_fraction: float = 0.0        # cosine / onecycle: last lr as a fraction of lr
    # regularisation (Wikipedia, "Convolutional neural network")
    l1: float = 0.0                       # L1 penalty on weights (not biases)
    l2: float = 0.0                       # L2 penalty 0.5 * l2 * ||w||^2 on weights; l1 and l2 together = elastic net
    penalty_multipliers: dict = field(default_factory=dict)   # {"layers.0.*": 0.5}: per-layer scale of l1 / l2
    max_norm: float | None = None         # clamp each filter's / unit's weight norm to this after each step
    grad_clip: float | None = None        # clip the global gradient norm to this
    label_smoothing: float = 0.0          # softmax cross-entropy only
    augment: list = field(default_factory=list)   # e.g. [{translate: 2}, {elastic: {alpha: 8, sigma: 3}}]
    # validation and early stopping
    val_fraction: float = 0.1             # share of the training set held out for validation
    test_fraction: float = 0.2            # share of a file or folder held out for testing (not bundled sets)
    early_stopping: bool = False          # stop when monitor has not improved for patience epochs; keep the best weights
    patience: int = 5                     # epochs without improvement before stopping
    monitor: str = "val_accuracy"         # val_accuracy (the task's own metric for other tasks) | val_loss | val_<metric>
    min_delta: float = 0.0                # smallest change that counts as an improvement
    topk: int = 5                         # also report top-k accuracy (when k < classes)
    # inputs and task (docs/tasks.md)
    standardize: bool = True              # fit per-channel mean / std on the training split, applied at the network's front
    task_settings: dict = field(default_factory=dict)  # the task's own settings, e.g. {noise: 0.3} (reconstruct), {nms_iou: 0.4} (detect)
    # fine-tuning (Wikipedia, "Convolutional neural network")
    init_from: str | None = None          # a run folder whose weights start this run
    freeze: list = field(default_factory=list)    # parameter-name patterns kept fixed ("layers.0.*")
    # machine
    device: str = "auto"                  # auto | cpu | cuda | cuda:N
    amp: bool = False                     # bf16 autocast, GPU only
    channels_last: bool = False           # memory format for 2-D convolutions
    compile: bool = False                 # torch.compile the model (pays off on long runs)
    threads: int | None = None            # CPU threads (default: torch's choice)
    # logging and checkpoints
    log_every: int = 20                   # steps between metrics.jsonl lines
    checkpoint_every: int = 0             # steps between checkpoints (0: at the end of each epoch)
    keep_checkpoints: int = 2             # step checkpoints kept (older ones are deleted)
    progress: bool = True                 # progress bar within each epoch (on a terminal only)
    quiet: bool = False                   # no line per epoch on stderr (RUN/train.log still gets them)
    report: bool = True                   # `cnnkit train` / cnnkit.train_and_report: write report/index.html

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check every setting; errors name the setting and say the fix."""
        _int(self, "epochs", 1)
        _int(self, "batch_size", 1)
        _int(self, "seed", 0)
        _int(self, "patience", 1)
        _int(self, "topk", 1)
        _int(self, "log_every", 1)
        _int(self, "checkpoint_every", 0)
        _int(self, "keep_checkpoints", 1)
        _int(self, "step_epochs", 1)
        if self.threads is not None:
            _int(self, "threads", 1)
        for name in ("nesterov", "early_stopping", "amp", "channels_last", "compile", "progress",
                     "report", "quiet", "standardize", "shuffle"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise ArgumentTypeError(f"config.{name} must be true or false. Received: "
                                        f"{name}={value!r} ({type(value).__name__}).")
        for name in ("optimizer", "schedule", "monitor", "device"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise ArgumentTypeError(f"config.{name} must be a string. Received: "
                                        f"{name}={value!r} ({type(value).__name__}).")
        one_of(self.optimizer, OPTIMIZERS, "config.optimizer")
        one_of(self.schedule, SCHEDULES, "config.schedule")
        if not self.monitor.startswith("val_"):
            one_of(self.monitor, MONITORS, "config.monitor")
        if not _number(self.lr) or not self.lr > 0 or not math.isfinite(self.lr):
            raise ArgumentError(
                f"config.lr must be a positive number. Received: lr={self.lr!r}. "
                "Typical values: 0.01 to 0.1 for sgd, 1e-3 for adam."
            )
        for name in ("momentum", "weight_decay", "l1", "l2", "label_smoothing", "gamma",
                     "warmup_epochs", "final_lr_fraction", "min_delta"):
            value = getattr(self, name)
            if not _number(value) or not value >= 0 or not math.isfinite(value):
                raise ArgumentError(f"config.{name} must be a non-negative number. Received: {name}={value!r}.")
        if not _number(self.val_fraction) or not 0 <= self.val_fraction < 1:
            raise ArgumentError(f"config.val_fraction must be in [0, 1). Received: val_fraction={self.val_fraction!r}.")
        if not _number(self.test_fraction) or not 0 < self.test_fraction < 1:
            raise ArgumentError(f"config.test_fraction must be in (0, 1). Received: "
                                f"test_fraction={self.test_fraction!r}. Give separate test data "
                                f"(test_data) to use all of the data for training.")
        if self.early_stopping and self.val_fraction == 0:
            raise ArgumentError("config.early_stopping needs a validation split. Received: val_fraction=0. "
                                "Set val_fraction (e.g. 0.1).")
        for name in ("max_norm", "grad_clip"):
            value = getattr(self, name)
            if value is not None and (not _number(value) or not value > 0):
                raise ArgumentError(f"config.{name} must be positive or null. Received: {name}={value!r}.")
        if not 0 <= self.label_smoothing < 1:
            raise ArgumentError(f"config.label_smoothing must be in [0, 1). Received: label_smoothing={self.label_smoothing!r}.")
        self._check_optimizer_settings()
        self._check_collections()

    def _check_optimizer_settings(self) -> None:
        betas = self.betas
        if (isinstance(betas, (str, bytes)) or not isinstance(betas, (list, tuple))
                or len(betas) != 2 or not all(_number(b) and 0 <= b < 1 for b in betas)):
            raise ArgumentError(f"config.betas must be two numbers in [0, 1), such as [0.9, 0.999]. "
                                f"Received: betas={betas!r}.")
        self.betas = tuple(float(b) for b in betas)
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        # A setting the chosen optimiser ignores is a mistake in the config, not a no-op.
        if self.optimizer == "sgd" and self.betas != defaults["betas"]:
            raise ArgumentError(
                f"config.betas is a setting of adam and adamw; optimizer is 'sgd', which has no "
                f"betas. Received: betas={list(self.betas)!r}, optimizer='sgd'. Set optimizer: "
                f"adam (or adamw), or remove betas (sgd takes momentum).")
        if self.optimizer != "sgd":
            for name in ("momentum", "nesterov"):
                if getattr(self, name) != defaults[name]:
                    raise ArgumentError(
                        f"config.{name} is a setting of sgd; optimizer is {self.optimizer!r}, "
                        f"which has none. Received: {name}={getattr(self, name)!r}, "
                        f"optimizer={self.optimizer!r}. Set optimizer: sgd, or remove {name} "
                        f"({self.optimizer} takes betas).")
        if self.nesterov and not self.momentum:
            raise ArgumentError("config.nesterov needs momentum. Received: nesterov=True, "
                                "momentum=0. Set momentum (e.g. 0.9), or nesterov: false.")

    def _check_collections(self) -> None:
        for name in ("augment", "freeze"):
            value = getattr(self, name)
            if not isinstance(value, list):
                raise ArgumentTypeError(f"config.{name} must be a list. Received: {name}={value!r} "
                                        f"({type(value).__name__}).")
        if not all(isinstance(p, str) for p in self.freeze):
            raise ArgumentTypeError(f"config.freeze must be a list of parameter-name patterns "
                                    f"(strings). Received: freeze={self.freeze!r}.")
        if not isinstance(self.penalty_multipliers, dict) or not all(
                isinstance(k, str) and _number(v) and v >= 0
                for k, v in self.penalty_multipliers.items()):
            raise ArgumentTypeError(
                f"config.penalty_multipliers must map parameter-name patterns to non-negative "
                f"numbers, such as {{'layers.0.*': 0.5}}. Received: "
                f"penalty_multipliers={self.penalty_multipliers!r}.")
        if not isinstance(self.task_settings, dict) or not all(
                isinstance(k, str) for k in self.task_settings):
            raise ArgumentTypeError(
                f"config.task_settings must map a task's setting names to values, such as "
                f"{{'noise': 0.3}}. Received: task_settings={self.task_settings!r}.")
        if self.init_from is not None and not isinstance(self.init_from, str):
            raise ArgumentTypeError(f"config.init_from must be a run folder (a string) or null. "
                                    f"Received: init_from={self.init_from!r}.")

    @classmethod
    def from_dict(cls, values: dict[str, Any], path: str = "config") -> "TrainConfig":
        """Build from a dict (e.g. parsed YAML); unknown keys name the closest setting."""
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise SpecError(f"a config must be a mapping of settings. Received: {type(values).__name__}.", path)
        _check_keys(values, path)
        return cls(**values)

    def replace(self, **changes) -> "TrainConfig":
        """A copy with some settings changed (checked again); unknown names are refused
        as in :meth:`from_dict`."""
        _check_keys(changes, "config")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        return out


def _check_keys(values: dict, path: str) -> None:
    known = [f.name for f in dataclasses.fields(TrainConfig)]
    for key in values:
        if key not in known:
            hint = (f" Did you mean {_ALIASES[key]!r}?" if key in _ALIASES
                    else did_you_mean(str(key), known))
            raise SpecError(f"unknown setting.{hint} Valid settings: {', '.join(known)}.",
                            f"{path}.{key}")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _int(config, name, low):
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"config.{name} must be an int. Received: {name}={value!r}.")
    if value < low:
        raise ArgumentError(f"config.{name} must be at least {low}. Received: {name}={value!r}.")


def load_config(source: str | Path | dict | None) -> TrainConfig:
    """Read a TrainConfig from a YAML file, YAML text, a dict or None (the defaults)."""
    if source is None:
        return TrainConfig()
    if isinstance(source, TrainConfig):
        return source
    if isinstance(source, dict):
        return TrainConfig.from_dict(source)
    path = Path(source)
    text = str(source)
    looks_like_file = isinstance(source, Path) or (
        "\n" not in text and (path.suffix in (".yaml", ".yml") or ":" not in text))
    if path.is_file() or looks_like_file:
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise ArgumentError(f"config file {text!r} does not exist. Received: config={text!r}. "
                                f"Give a YAML file of TrainConfig settings.",
                                argument="config") from None
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise ArgumentError(f"config file {text!r} cannot be read: {reason}. Received: "
                                f"config={text!r}.", argument="config") from None
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(f"invalid YAML{where}: {getattr(error, 'problem', error)}.", str(source)) from error
    return TrainConfig.from_dict(values or {})


def setting_help(name: str) -> str:
    """The comment beside setting ``name`` in :class:`TrainConfig` (its one documentation,
    shown by ``cnnkit train --help`` and docs/train.md).

    Example:
        >>> setting_help("epochs")
        'passes over the training set'
    """
    import inspect
    import re

    for line in inspect.getsource(TrainConfig).splitlines():
        match = re.match(rf"\s+{re.escape(name)}:[^#]*#\s*(.*)$", line)
        if match:
            return match.group(1).strip()
    return ""
