"""One call from a spec and a data source to a finished, resumable run folder.

``train(spec, data, config)`` builds the network (after checking that it fits in memory),
checks that the data fits it, writes the run folder (spec.yaml, config.yaml with
provenance and the data's identity), trains, evaluates on the test split and writes
``results.json``. ``resume(run_dir)`` continues a stopped run on the same data.

Neither draws the report: that is :func:`cnnkit.inspect.report.build_report`, which
``cnnkit train`` and :func:`cnnkit.train_and_report` call after training. The result
carries the trained model and the test split (``result.model``, ``result.test_set``), so
the report needs to load nothing again::

    from cnnkit.inspect.report import build_report
    result = train("examples/lenet5.yaml", "mnist5k", {"epochs": 10})
    build_report(result.run_dir, network=result.model, test=result.test_set)
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import torch

from .._validation import ArgumentError, CnnkitError
from ..data.source import (check_fits, check_same_data, check_trainable, data_identity,
                           resolve_source)
from ..data.shards import ShardedDataset, training_data
from ..data.splits import as_source, load_splits, recorded_splits, split_record
from ..runs.folder import RunFolder, check_new_run_dir, new_run_dir, provenance, run_name
from ..runs.model import load_run_model
from ..runs.weights import warn_small_validation
from .config import TrainConfig, load_config
from .memory import check_memory
from ..tasks import make_task, resolve_task
from .trainer import TrainResult, Trainer, ended_with, resolve_device

__all__ = ["TrainingInterrupted", "check_augment", "check_task", "finetune_model", "init_distributed",
           "recorded_task", "resume", "run_task", "standardized", "train"]


class TrainingInterrupted(KeyboardInterrupt):
    """Training was interrupted (Ctrl-C); ``run_dir`` resumes from its last checkpoint.

    A KeyboardInterrupt still, so that code that stops on Ctrl-C keeps stopping.
    """

    def __init__(self, run_dir):
        self.run_dir = Path(run_dir) if run_dir is not None else None
        super().__init__(f"training interrupted; the run in {self.run_dir} continues from its "
                         f"last checkpoint with resume({str(self.run_dir)!r}).")


# Tasks whose targets are positions in the input: moving the input alone would misalign them.
_SPATIAL_TARGETS = ("segment", "detect")


def check_augment(task, items) -> None:
    """Refuse augmentation for tasks whose targets move with the input.

    The augmentations (translate, crop, flip, rotate, affine, elastic) move the input only;
    a label map or a box would no longer fit it, and the network would learn the misfit.
    A regression's targets may or may not move with the input, so it gets a warning.

    Raises:
        ArgumentError: ``augment`` with task ``segment`` or ``detect``.
    """
    if not items:
        return
    if task.name in _SPATIAL_TARGETS:
        raise ArgumentError(
            f"augment moves the inputs only, and task {task.name!r} has targets that are "
            f"positions in the input (label maps or boxes), which would no longer fit. "
            f"Received: augment={items!r}. Leave augment out (--set augment=[]) for this task.",
            argument="augment")
    if task.name == "regress":
        import warnings

        warnings.warn(f"augment moves the inputs only: with task 'regress' the targets stay as "
                      f"they are, so they must not depend on where things are in the input "
                      f"(augment={items!r}).", UserWarning, stacklevel=3)


def _augmenter(items: list):
    if not items:
        return None
    from ..data import augment as A

    return A.from_config(items)


def finetune_model(network, source_run, *, freeze=()):
    """Start ``network`` from another run's weights (fine-tuning, as in the Wikipedia
    article "Convolutional neural network").

    Every tensor whose name and shape match is copied; the rest (typically a classifier
    head resized for a new number of classes) keeps its fresh initialisation.
    Returns the names of the tensors that were not copied.
    """
    source = load_run_model(source_run).state_dict()
    own = network.state_dict()
    # The input statistics are this data's, fitted on its training split: never copied.
    source = {k: v for k, v in source.items() if not k.startswith("standardize.")}
    fresh = [k for k, v in own.items() if k not in source or source[k].shape != v.shape]
    own.update({k: v for k, v in source.items() if k in own and own[k].shape == v.shape})
    network.load_state_dict(own)
    return fresh


def init_distributed() -> tuple[int, int]:
    """Join the process group torchrun set up (gloo on the CPU, nccl on GPUs); (rank, world)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend)
    return dist.get_rank(), world


def _build(spec, config: TrainConfig):
    """The Network of ``spec``, after checking that training it fits in memory; a plain
    ``nn.Module`` as it is."""
    from ..spec import Network, load

    if isinstance(spec, torch.nn.Module) and not isinstance(spec, Network):
        return spec  # any PyTorch model: no spec to check or record
    if isinstance(spec, Network):  # trained as it is, its weights kept
        check_memory(load(spec.spec()), config, resolve_device(config.device))
        return spec
    loaded = load(spec)
    check_memory(loaded, config, resolve_device(config.device))
    return loaded.build()


def train(spec, data, config=None, *, runs_root="runs", run_dir=None, name=None,
          on_error: str = "raise", val_data=None, test_data=None, callbacks=(),
          **overrides) -> TrainResult:
    """Train ``spec`` on ``data`` and leave a run folder; returns the TrainResult.

    Args:
        spec: a spec file, YAML text, dict, Network, or any ``torch.nn.Module`` (its run
            folder then has no spec.yaml: the commands that rebuild a network from it,
            such as ``cnnkit eval``, need a spec).
        data: a bundled data set name, a path (a folder with ``train/ val/ test/`` is
            taken as split), a Dataset, ``(x, y)`` NumPy arrays or tensors, or a
            (train, test) pair of Datasets; see :mod:`cnnkit.data.splits`.
        val_data: separate validation data (replaces ``val_fraction``).
        test_data: separate test data (replaces ``test_fraction``).
        callbacks: :class:`~cnnkit.train.callbacks.Callback` objects.
        config: a TrainConfig, a dict or a YAML file; ``overrides`` change single settings.
        runs_root: where new run folders go (``runs_root/<name>-<timestamp>``).
        run_dir: the exact run folder instead: it must be new or empty.
        name: the run's name (one folder name; default: the spec's name).
        on_error: ``"skip"`` leaves unreadable images of a folder out.

    The run's task (docs/tasks.md) is the spec's ``task:``, else its loss's, else the
    data's kind of target; the training targets are checked against the network's output
    before anything is written. With ``config.standardize`` (the default) the per-channel
    mean and standard deviation of the training split become the spec's ``standardize``
    front, so the run's spec.yaml and every consumer of its model apply them.

    Returns:
        The :class:`TrainResult`, with the trained ``model`` and the ``test_set``;
        ``result.test`` holds the task's metrics on the test split.

    Raises:
        ArgumentError: a run_dir that already holds files, a runs_root that is a file, a
            name that is a path, data that cannot train (see :func:`cnnkit.data.load_data`),
            a network too large for the memory available; a task that does not fit the
            loss or the data; target values the task cannot take (NaN, labels outside
            the classes, boxes outside the image or of no size).
        ShapeError: targets whose shape does not fit the network's output.
        RunLockedError: another process writes the run folder.
        TrainingDiverged: the loss became NaN or infinite, or grew without bound.
        TrainingInterrupted: Ctrl-C; the run resumes from its last checkpoint.
    """
    config = load_config(config)
    if overrides:
        config = config.replace(**overrides)
    rank, _ = init_distributed()
    if name is not None:
        name = run_name(name, explicit=True)
    if rank == 0 and run_dir is not None:
        check_new_run_dir(run_dir)  # before the slow part; again under the lock below
    elif rank == 0:
        root = Path(runs_root)
        if root.exists() and not root.is_dir():
            raise ArgumentError(f"runs_root must be a folder, but {str(root)!r} is a file. "
                                f"Received: runs_root={str(root)!r}. Give a folder (it is "
                                f"created if missing).", argument="runs_root")
    torch.manual_seed(config.seed)  # every process builds the same initial weights
    network = _build(spec, config)
    plain = not callable(getattr(network, "spec", None))
    data = as_source(data)
    train_set, val_set, test_set = load_splits(
        data, getattr(network, "input_shape", None), val_data=val_data, test_data=test_data,
        on_error=on_error, seed=config.seed, test_fraction=config.test_fraction)
    # A shard folder streamed from disk holds class labels and is never in memory whole:
    # its task is decided without its targets, and it is not standardised.
    streamed = isinstance(train_set, ShardedDataset)
    task = run_task(network, None if streamed else train_set, config)
    if not plain:
        check_fits(network, train_set, "training data", labels=task.name == "classify")
        if not streamed:
            check_task(task, network, train_set)
    if task.name == "classify":
        check_trainable(train_set, getattr(network, "loss", None))
    check_augment(task, config.augment)
    if config.standardize and not plain and not streamed:
        network = standardized(network, train_set)
    canonical = None if plain else network.spec()
    fresh = []
    if config.init_from:
        fresh = finetune_model(network, config.init_from)
    if run_dir is not None:
        run_path = Path(run_dir)
    elif rank == 0:
        run_path = new_run_dir(runs_root, name or getattr(network, "name", None)
                               or type(network).__name__.lower())
    else:
        run_path = None  # only rank 0 writes; torchrun users name the folder for every rank
    held = RunFolder(run_path).lock() if rank == 0 else contextlib.nullcontext()
    with held:
        if rank == 0:
            check_new_run_dir(run_path)
            _prepare_run(run_path, canonical, config, data, train_set, fresh,
                         split_record(val_data, test_data), task)
        trainer = Trainer(network, config, *_training_data(train_set, val_set, config),
                          run_dir=run_path, spec=canonical,
                          loss=getattr(network, "loss", None) or "softmax_cross_entropy",
                          augment=_augmenter(config.augment), callbacks=callbacks, task=task)
        try:
            result = trainer.fit()
        except KeyboardInterrupt:
            raise TrainingInterrupted(run_path) from None
        return _finish(trainer, result, test_set)


def resume(run_dir, *, spec=None, data=None, callbacks=(), **changes) -> TrainResult:
    """Continue a run from its last good checkpoint (the same weights as if never stopped).

    Args:
        run_dir: the run folder.
        spec: optional; must be the run's own: a changed spec is refused.
        data: optional; must be the data the run recorded (its SHA-256 is compared). By
            default the run's own source: its bundled name or absolute path.
        callbacks: :class:`~cnnkit.train.callbacks.Callback` objects.
        changes: settings to change; only ``epochs`` (more of them) continues the same
            run. Any other setting that differs from the recorded one is refused by name:
            it would make the run something other than what its folder says.

    Raises:
        ArgumentError: not a run folder, no ``config.yaml``, data other than the run's,
            fewer epochs, a changed setting other than ``epochs``.
        RunLockedError: another process writes the run folder.
        NothingToResume: every checkpoint is damaged.
        TrainingInterrupted: Ctrl-C; the run resumes again from its last checkpoint.
    """
    from ..spec import load

    run = RunFolder(run_dir).require("run_dir")
    rank, _ = init_distributed()
    held = run.lock() if rank == 0 else contextlib.nullcontext()
    with held:
        recorded = run.read_yaml("config.yaml")
        if not isinstance(recorded.get("train"), dict):
            raise ArgumentError(f"{run.path / 'config.yaml'} has no train: section of settings, "
                                f"so the run cannot continue. Start a new run from its spec.yaml.")
        config = TrainConfig.from_dict(recorded["train"], "config.yaml train")
        config = resumed_config(config, changes, run.path)
        if config.epochs != recorded["train"].get("epochs"):
            run.write_yaml("config.yaml", dict(recorded, train=config.to_dict()))
        info = recorded.get("data") or {}
        source = data if data is not None else info.get("source")
        if source is None:
            raise ArgumentError(
                f"run {run.path} was trained on data held in memory "
                f"({info.get('name') or 'unnamed'}), which it cannot load again. Pass the same "
                f"data as data=.", argument="data")
        if info.get("identity"):
            check_same_data(info["identity"], data_identity(source), run=run.path,
                            argument="data" if data is not None else None, given=data)
        torch.manual_seed(config.seed)
        own = run.read_yaml("spec.yaml")
        loaded = load(spec if spec is not None else own)
        if spec is not None and loaded.standardize is None and isinstance(own, dict) \
                and own.get("standardize") is not None:
            # The statistics were fitted when the run started: the spec as written holds
            # none, and the run's own numbers belong to it.
            loaded = load({**loaded.to_dict(), "standardize": own["standardize"]})
        check_memory(loaded, config, resolve_device(config.device))
        network = loaded.build()
        # The same data (checked above): the same train / validation / test splits.
        train_set, val_set, test_set = recorded_splits(dict(info, source=source),
                                                       config.to_dict(), network.input_shape)
        task = recorded_task(recorded, network, train_set, config)
        trainer = Trainer(network, config, *_training_data(train_set, val_set, config),
                          run_dir=run.path,
                          spec=network.spec(), loss=network.loss or "softmax_cross_entropy",
                          augment=_augmenter(config.augment), callbacks=callbacks, task=task)
        try:
            result = trainer.fit(resume=True)
        except KeyboardInterrupt:
            raise TrainingInterrupted(run.path) from None
        return _finish(trainer, result, test_set)


def _training_data(train_set, val_set, config: TrainConfig):
    """``(train, val)`` for the Trainer: tensors, or a streaming loader over a shard folder's
    train split (:mod:`cnnkit.data.shards`), validated on ``val_set`` or on whole shards
    held out by ``val_fraction``."""
    options = dict(batch_size=config.batch_size, seed=config.seed, shuffle=config.shuffle,
                   device=resolve_device(config.device))
    if val_set is None:
        return training_data(train_set, val_fraction=config.val_fraction, **options)
    train, _ = training_data(train_set, val_fraction=0, **options)
    return train, (val_set.x, val_set.y)


def run_task(network, train_set, config: TrainConfig):
    """The task a run trains: the spec's ``task:``, else its loss, else the data's targets
    (:func:`cnnkit.tasks.resolve_task`), with ``config.task_settings``.

    Raises:
        ArgumentError: a task that does not fit the loss or the data's kind of target; a
            setting the task does not have.
    """
    settings = dict(config.task_settings)
    name = getattr(network, "task", None)
    loss = getattr(network, "loss", None)
    task = resolve_task(name, loss, train_set)  # the name only: settings are checked below
    if task.name == "classify" and config.label_smoothing:
        settings.setdefault("label_smoothing", config.label_smoothing)
    if task.name == "classify":
        settings.setdefault("topk", (config.topk,))
    if task.name == "segment":
        settings.setdefault("ignore_index", int(getattr(train_set, "ignore_index", 255)))
    return make_task(task.name, loss=task.loss_name, **settings)


def check_task(task, network, dataset, where: str = "training data") -> None:
    """``task.check`` of the network's output against the data's targets (the inputs, for
    reconstruction), with the data's number of classes.

    Raises:
        ShapeError: targets that do not fit the network's output (both shapes, the fix).
        ArgumentError: target values the task cannot take (NaN, labels outside the
            classes, boxes outside the image or of non-positive size).
    """
    output = getattr(network, "output_shape", None)
    if output is None:
        return
    targets = dataset.x if task.name == "reconstruct" else dataset.y
    classes = len(dataset.classes) if task.name in ("classify", "segment", "detect",
                                                   "multilabel") and dataset.classes else None
    if task.name == "classify" and classes is not None:
        classes = None  # check_fits has named the labels beyond the outputs already
    try:
        task.check(tuple(output), targets, classes)
    except CnnkitError as error:
        if where == "training data":
            raise
        raise type(error)(f"{where}: {error}", argument=getattr(error, "argument", None)) from None


def standardized(network, train_set):
    """``network`` with the per-channel mean and standard deviation of ``train_set`` at its
    front (the spec's top-level ``standardize``), its weights kept.

    Unchanged when the spec has its statistics already (a ``standardize`` key, or a
    standardize layer first), when the inputs are token ids, or when the network is not a
    spec-built Network.
    """
    from ..data.stats import fit_channel_stats
    from ..layers import Standardize
    from ..spec import Network, load

    if not isinstance(network, Network) or network.standardize is not None:
        return network
    if not train_set.x.is_floating_point() or train_set.x.dim() < 3:
        return network
    first = network.layers[0] if len(network.layers) else None
    if isinstance(first, Standardize):
        return network
    mean, std = fit_channel_stats(train_set.x)
    canonical = network.spec()
    canonical["standardize"] = {"mean": mean.tolist(), "std": std.tolist()}
    fitted = load(canonical).build()
    state = fitted.state_dict()
    state.update(network.state_dict())
    fitted.load_state_dict(state)
    return fitted.train(network.training)


def recorded_task(recorded: dict, network, dataset, config: TrainConfig | None = None):
    """The task a run recorded in its config.yaml (``task:``), or, for a run written
    before tasks were recorded, the one :func:`run_task` decides."""
    from ..tasks import task_from_dict

    record = recorded.get("task") if isinstance(recorded, dict) else None
    if isinstance(record, dict):
        return task_from_dict(record)
    if config is None:
        config = TrainConfig.from_dict(recorded.get("train") or {}, "config.yaml train")
    return run_task(network, dataset, config)


def resumed_config(config: TrainConfig, changes: dict, run_path) -> TrainConfig:
    """``config`` with ``changes`` that a resume may make: more ``epochs``. A setting
    that differs from the recorded one is refused by name (the first of them).

    Example:
        >>> resumed_config(TrainConfig(epochs=2), {"epochs": 5}, "runs/a").epochs
        5
        >>> resumed_config(TrainConfig(lr=0.05), {"lr": 1000.0}, "runs/a")
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: resume('runs/a') continues the run with the settings it recorded; lr=1000.0 would change lr from 0.05. ...
    """
    recorded = config.to_dict()
    for key, value in changes.items():
        if key == "epochs" or value is None:
            continue
        if key in recorded and recorded[key] == value:
            continue
        was = f" from {recorded[key]!r}" if key in recorded else ""
        raise ArgumentError(
            f"resume({str(run_path)!r}) continues the run with the settings it recorded; "
            f"{key}={value!r} would change {key}{was}. Only epochs may grow. Start a new run "
            f"to train with other settings (init_from={str(run_path)!r} starts from its "
            f"weights).", argument=key)
    epochs = changes.get("epochs")
    if epochs is None or epochs == config.epochs:
        return config
    if isinstance(epochs, int) and not isinstance(epochs, bool) and epochs < config.epochs:
        raise ArgumentError(
            f"resume({str(run_path)!r}) can train more epochs, not fewer: the run is set to "
            f"{config.epochs}. Received: epochs={epochs!r}. Give at least {config.epochs}; "
            f"the last checkpoint of an earlier epoch is in checkpoints/.", argument="epochs")
    if config.schedule in ("cosine", "onecycle"):
        import warnings

        warnings.warn(f"the {config.schedule} schedule follows the total number of epochs: from "
                      f"here on it stretches over {epochs} instead of {config.epochs}.",
                      UserWarning, stacklevel=3)
    return config.replace(epochs=epochs)


def _data_record(data, train_set) -> dict:
    """The ``data:`` section of config.yaml."""
    in_memory = not isinstance(data, (str, Path))
    record: dict[str, Any] = {
        # What resume and eval load: a bundled name, or the path made absolute.
        "source": None if in_memory else resolve_source(data),
        # What the user typed, for the reader (a relative path stays relative here).
        "source_as_given": None if in_memory else str(data),
    }
    if in_memory:
        record["name"] = getattr(data, "name", "") or "memory"
    if isinstance(getattr(train_set, "info", None), dict) and train_set.info.get("scale"):
        record["scale"] = train_set.info["scale"]  # how the source's values were scaled
    record.update({"identity": data_identity(data), "train_samples": len(train_set),
                   "classes": list(train_set.classes),
                   "input_shape": list(train_set.input_shape)})
    return record


def _prepare_run(run_path, canonical, config, data, train_set, fresh, splits=None, task=None):
    run = RunFolder(run_path)
    if canonical is not None:
        run.write_yaml("spec.yaml", canonical)
    run.write_yaml("config.yaml", {
        "train": config.to_dict(),
        "task": task.to_dict() if task is not None else None,
        "data": dict(_data_record(data, train_set), **(splits or {})),
        "finetune": {"from": config.init_from, "fresh_tensors": fresh} if config.init_from else None,
        "provenance": provenance(),
    })


def _finish(trainer: Trainer, result: TrainResult, test_set) -> TrainResult:
    test = trainer.evaluate(test_set.x.to(trainer.device), test_set.y.to(trainer.device))
    result.test = test
    result.model = trainer.model
    result.test_set = test_set
    result.config = trainer.config
    # The weights the test figure belongs to: every reader of the run defaults to them.
    weights = ended_with(trainer.config, result)
    result.weights = weights
    if weights == "best":
        warn_small_validation(result.val.get("count"))
    if trainer.writer_enabled:
        trainer.run.write_json("results.json", {
            "test": test, "val": result.val, "epochs": result.epochs_run, "steps": result.steps,
            "train_seconds": result.train_seconds, "best_epoch": result.best_epoch,
            "stopped_early": result.stopped_early, "weights": weights,
            "val_count": result.val.get("count")})
    return result
