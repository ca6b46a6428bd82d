"""One call from a spec and a data source to a finished, resumable run folder.

``train(spec, data, config)`` builds the network, checks that the data fits it, writes
the run folder (spec.yaml, config.yaml with provenance), trains, evaluates on the test
split and writes ``results.json``. ``resume(run_dir)`` continues a killed run.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import torch

from .._validation import ArgumentError, ShapeError
from .config import TrainConfig, load_config
from .metrics import evaluate
from .run import RunFolder, new_run_dir, provenance
from .trainer import TrainResult, Trainer

__all__ = ["check_fits", "finetune_model", "init_distributed", "load_data", "load_run_model",
           "resume", "train"]


def load_data(source, input_shape=None, *, on_error: str = "raise", seed: int = 0,
              test_fraction: float = 0.2):
    """(train, test) Datasets from a bundled name, a folder of images, a .npz or a .csv."""
    from .. import data as D

    if isinstance(source, tuple) and len(source) == 2:
        return source
    if hasattr(source, "x") and hasattr(source, "y"):
        return D.train_test_split(source, test_fraction, seed=seed)
    text = str(source)
    if text in D.list_datasets():
        return D.load_dataset(text, "train"), D.load_dataset(text, "test")
    path = Path(text)
    if not path.exists():
        from .._validation import did_you_mean

        raise ArgumentError(
            f"data {text!r} is neither a bundled data set nor an existing path. Received: "
            f"data={text!r}.{did_you_mean(text, D.list_datasets())} Bundled data sets: "
            f"{', '.join(D.list_datasets())}; or give a folder "
            f"of images (one sub-folder per class), a .npz or a .csv file."
        )
    size = tuple(input_shape[1:]) if input_shape is not None and len(input_shape) == 3 else None
    mode = {1: "L", 3: "RGB"}.get(input_shape[0]) if input_shape is not None else None
    if path.is_dir():
        full = D.load_image_folder(path, size=size, mode=mode, on_error=on_error)
    elif path.suffix == ".npz":
        full = D.load_npz(path, input_shape=input_shape)
    elif path.name.endswith((".csv", ".csv.gz")):
        full = D.load_csv(path, input_shape=input_shape)
    else:
        raise ArgumentError(f"data file {text!r} has an unknown type. Received: data={text!r}. "
                            "Use a folder of images, a .npz or a .csv file.")
    return D.train_test_split(full, test_fraction, seed=seed)


def check_fits(network, dataset, where: str = "data") -> None:
    """The data's sample shape and labels must fit the network's input and outputs."""
    expected = tuple(network.input_shape)
    got = tuple(dataset.x.shape[1:])
    if got != expected:
        hint = ""
        if len(got) == len(expected) and got[0] != expected[0]:
            hint = f" Convert the images to {expected[0]} channel(s) (grey: 1, RGB: 3)"
        if got[1:] != expected[1:]:
            hint += f"{' and' if hint else ''} resize them to {'x'.join(map(str, expected[1:]))}"
        raise ShapeError(
            f"{where} samples have shape {got} but the spec's input is {list(expected)}."
            f"{hint or ' Change the spec input'}, or change `input:` in the spec to {list(got)}."
        )
    outputs = network.output_shape[0] if getattr(network, "output_shape", None) else None
    if outputs is not None and dataset.y.numel() and int(dataset.y.max()) >= outputs:
        raise ShapeError(
            f"{where} has labels up to {int(dataset.y.max())} ({int(dataset.y.max()) + 1} classes) but "
            f"the network has {outputs} outputs. Received: {len(dataset.classes)} class names. Make "
            f"the last dense layer {int(dataset.y.max()) + 1} units wide."
        )


def _augmenter(items: list):
    if not items:
        return None
    from ..data import augment as A

    return A.from_config(items)


def load_run_model(run_dir, which: str = "best"):
    """The Network of a run with its ``best`` (or ``last``) weights, in eval mode."""
    from ..spec import build
    from . import checkpoint as ckpt

    run = RunFolder(run_dir)
    if not run.exists():
        raise ArgumentError(f"{run_dir} is not a run folder (it has no spec.yaml). Received: "
                            f"run={str(run_dir)!r}. Give a folder under runs/ made by `cnnkit train`.")
    network = build(run.read_yaml("spec.yaml"))
    checkpoint = None
    if which == "best" and (run.checkpoints / "best.json").exists():
        try:
            checkpoint = ckpt.read_checkpoint(run.checkpoints / "best.json")
        except ckpt.CheckpointError:
            checkpoint = None
    if checkpoint is None:
        checkpoint = ckpt.load_latest(run.checkpoints)
    if checkpoint is None:
        raise ArgumentError(f"run {run_dir} has no readable checkpoint yet. Resume it with "
                            f"`cnnkit train --resume {run_dir}`.")
    network.load_state_dict(checkpoint.prefixed("model"))
    return network.eval()


def finetune_model(network, source_run, *, freeze=()):
    """Start ``network`` from another run's weights (fine-tuning, as in the Wikipedia
    article "Convolutional neural network").

    Every tensor whose name and shape match is copied; the rest (typically a classifier
    head resized for a new number of classes) keeps its fresh initialisation.
    Returns the names of the tensors that were not copied.
    """
    source = load_run_model(source_run).state_dict()
    own = network.state_dict()
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


def train(spec, data, config=None, *, runs_root="runs", run_dir=None, name=None,
          on_error: str = "raise", **overrides) -> TrainResult:
    """Train ``spec`` on ``data`` and leave a run folder; returns the TrainResult.

    Args:
        spec: a spec file, YAML text, dict, or Network.
        data: a bundled data set name, a path, a Dataset or a (train, test) pair.
        config: a TrainConfig, a dict or a YAML file; ``overrides`` change single settings.
        runs_root: where new run folders go; ``run_dir`` names one exactly.
    """
    from ..spec import Network, build

    config = load_config(config)
    if overrides:
        config = config.replace(**overrides)
    rank, _ = init_distributed()
    torch.manual_seed(config.seed)  # every process builds the same initial weights
    # A built Network is trained as it is (its weights kept); anything else is built here.
    network = spec if isinstance(spec, Network) else build(spec)
    canonical = network.spec()
    train_set, test_set = load_data(data, network.input_shape, on_error=on_error, seed=config.seed)
    check_fits(network, train_set, "training data")
    fresh = []
    if config.init_from:
        fresh = finetune_model(network, config.init_from)
    run_path = Path(run_dir) if run_dir else new_run_dir(runs_root, name or network.name or "run")
    if rank == 0:
        _prepare_run(run_path, canonical, config, data, train_set, fresh)
    trainer = Trainer(network, config, (train_set.x, train_set.y), run_dir=run_path, spec=canonical,
                      loss=network.loss or "softmax_cross_entropy", augment=_augmenter(config.augment))
    result = trainer.fit()
    return _finish(trainer, result, test_set)


def resume(run_dir, *, spec=None, data=None) -> TrainResult:
    """Continue a run from its last good checkpoint (the same weights as if never stopped).

    ``spec`` (optional) must be the run's own: a changed spec is refused.
    """
    from ..spec import build

    run = RunFolder(run_dir)
    if not run.exists():
        raise ArgumentError(f"{run_dir} is not a run folder (no spec.yaml). Received: --resume {run_dir}.")
    recorded = run.read_yaml("config.yaml")
    config = TrainConfig.from_dict(recorded["train"])
    init_distributed()
    torch.manual_seed(config.seed)
    network = build(spec if spec is not None else run.read_yaml("spec.yaml"))
    source = data if data is not None else recorded["data"]["source"]
    train_set, test_set = load_data(source, network.input_shape, seed=config.seed)
    trainer = Trainer(network, config, (train_set.x, train_set.y), run_dir=run.path,
                      spec=network.spec(),
                      loss=network.loss or "softmax_cross_entropy", augment=_augmenter(config.augment))
    result = trainer.fit(resume=True)
    return _finish(trainer, result, test_set)


def _prepare_run(run_path, canonical, config, data, train_set, fresh):
    run = RunFolder(run_path)
    run.write_yaml("spec.yaml", canonical)
    run.write_yaml("config.yaml", {
        "train": config.to_dict(),
        "data": {"source": str(data) if not hasattr(data, "x") else getattr(data, "name", "array"),
                 "train_samples": len(train_set), "classes": list(train_set.classes),
                 "input_shape": list(train_set.input_shape)},
        "finetune": {"from": config.init_from, "fresh_tensors": fresh} if config.init_from else None,
        "provenance": provenance(),
    })


def _finish(trainer: Trainer, result: TrainResult, test_set) -> TrainResult:
    test = evaluate(trainer.model, test_set.x.to(trainer.device), test_set.y.to(trainer.device),
                    trainer.loss, topk=trainer.config.topk, device=trainer.device)
    result.test = test
    if trainer.writer_enabled:
        payload: dict[str, Any] = {"test": test, "val": result.val, "epochs": result.epochs_run,
                                   "steps": result.steps, "train_seconds": result.train_seconds,
                                   "best_epoch": result.best_epoch, "stopped_early": result.stopped_early}
        tmp = trainer.run.path / ".results.json.tmp"
        tmp.write_text(json.dumps(payload, indent=1))
        os.replace(tmp, trainer.run.path / "results.json")
        if trainer.config.report:
            _write_report(trainer, test_set)
    return result


def _write_report(trainer: Trainer, test_set) -> None:
    """report/index.html of the finished run (cnnkit.inspect.report).

    The run is complete and saved before this; a report that cannot be drawn is a warning,
    not a failed run, and ``cnnkit report RUN`` rebuilds it.
    """
    from ..inspect.report import build_report

    try:
        build_report(trainer.run.path, network=trainer.model, test=test_set)
    except Exception as error:  # noqa: BLE001 - see the docstring
        warnings.warn(f"the run in {trainer.run.path} finished, but its report could not be "
                      f"written ({type(error).__name__}: {error}). Rebuild it with "
                      f"`cnnkit report {trainer.run.path}`.", RuntimeWarning, stacklevel=3)
