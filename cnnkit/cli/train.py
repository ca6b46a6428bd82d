"""``cnnkit train``: train a spec on a data set and leave a run folder (or resume one)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import warnings
from pathlib import Path

import yaml

from .._validation import ArgumentError

__all__ = ["FLAGS", "add_parser", "run"]

# Command-line flags that set a TrainConfig field directly.
_FLAGS = {"epochs": int, "batch_size": int, "lr": float, "seed": int, "optimizer": str,
          "schedule": str, "device": str, "threads": int, "val_fraction": float,
          "test_fraction": float}

# Python argument -> the flag a user of this command types (see cnnkit.cli.main).
FLAGS = {"runs_root": "--runs", "name": "--name", "data": "--data", "config": "--config",
         "on_error": {"'skip'": "--skip-bad-images", "'raise'": "no --skip-bad-images"},
         "val_data": "--val-data", "test_data": "--test-data", "init_from": "--init-from"}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a network spec on a data set",
        description="Train SPEC on --data and write a run folder under --runs; "
                    "--resume RUN continues a stopped run from its last checkpoint.")
    parser.add_argument("spec", nargs="?", help="network spec (YAML file) or a zoo model name")
    parser.add_argument("--data", help="a bundled data set (`cnnkit data list`: mnist5k, "
                                       "scenes_segment, go9, ...), an image folder, a shard "
                                       "folder, .npz or .csv")
    parser.add_argument("--val-data", metavar="PATH",
                        help="separate validation data (replaces --val-fraction)")
    parser.add_argument("--test-data", metavar="PATH",
                        help="separate test data (replaces --test-fraction); a --data folder "
                             "with train/ val/ test/ sub-folders is split as laid out")
    parser.add_argument("--config", help="TrainConfig YAML file")
    _add_setting_flags(parser)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any other TrainConfig setting (YAML value), repeatable; "
                             "docs/train.md lists them all")
    parser.add_argument("--init-from", help="fine-tune: start from this run's weights (those training ended "
                             "with, as every command uses)")
    parser.add_argument("--freeze", action="append", default=[], metavar="PATTERN",
                        help="fine-tune: keep parameters matching PATTERN fixed (repeatable)")
    parser.add_argument("--runs", default="runs", help="folder for new runs (default: runs)")
    parser.add_argument("--name", help="run name (default: the spec's name)")
    parser.add_argument("--run-dir", help="exact run folder to write (new or empty)")
    parser.add_argument("--resume", metavar="RUN", help="continue RUN from its last checkpoint")
    parser.add_argument("--nproc", type=int, default=1,
                        help="processes for distributed data parallel through torchrun")
    parser.add_argument("--model", action="append", default=[], metavar="KEY=VALUE",
                        help="a zoo model's own setting (e.g. width=16), repeatable")
    parser.add_argument("--resize", type=int, nargs="+", metavar="SIZE",
                        help="resize the data's images for a zoo model (e.g. --resize 32 32)")
    parser.add_argument("--skip-bad-images", action="store_true",
                        help="leave out unreadable images (counted) instead of stopping")
    parser.set_defaults(run=run)


def _add_setting_flags(parser) -> None:
    """One flag per setting of :data:`_FLAGS`, its help the TrainConfig comment and default."""
    import dataclasses

    from ..train.config import TrainConfig, setting_help

    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    for name, kind in _FLAGS.items():
        text = setting_help(name)
        if "default" not in text:
            text = f"{text} (default: {defaults[name]})"
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=None,
                            help=text)


def _check_set_key(key: str, item: str) -> None:
    """An unknown --set key: the closest setting, and its own flag when it has one."""
    import dataclasses
    import difflib

    from ..train.config import _ALIASES, TrainConfig

    known = [f.name for f in dataclasses.fields(TrainConfig)]
    if key in known:
        return
    # Other libraries' names first (learning_rate -> lr), then a close spelling; a loose
    # match ("nosuch" -> "epochs") would mislead more than help.
    guess = _ALIASES.get(key) or next(iter(difflib.get_close_matches(key, known, 1, 0.7)), None)
    hint = f" Did you mean {guess!r}?" if guess else ""
    if guess in _FLAGS:
        hint = f" Did you mean {guess!r} (--{guess.replace('_', '-')})?"
    raise ArgumentError(f"--set {item}: {key!r} is not a training setting.{hint} Settings: "
                        f"{', '.join(known)} (docs/train.md describes each).")


def _overrides(args) -> dict:
    out = {name: getattr(args, name) for name in _FLAGS if getattr(args, name) is not None}
    for item in args.set:
        if "=" not in item:
            raise ArgumentError(f"--set takes KEY=VALUE. Received: --set {item}.")
        key, value = item.split("=", 1)
        _check_set_key(key.strip(), item)
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as error:
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            raise ArgumentError(f"--set {item}: the value is not valid YAML ({problem}). Quote "
                                f"text values, e.g. --set 'device=cuda:0'.") from None
    if args.init_from:
        out["init_from"] = args.init_from
    if args.freeze:
        out["freeze"] = args.freeze
    return out


def _flags(args) -> dict:
    return dict(getattr(args, "flags", FLAGS), run_dir="--resume" if args.resume else "--run-dir")


def _given(args) -> list[str]:
    """Flags that set up a new run, as typed."""
    given = [f"--{name.replace('_', '-')}" for name in _FLAGS if getattr(args, name) is not None]
    given += ["--set"] * bool(args.set) + ["--config"] * bool(args.config)
    given += ["--init-from"] * bool(args.init_from) + ["--freeze"] * bool(args.freeze)
    given += ["--name"] * bool(args.name) + ["--run-dir"] * bool(args.run_dir)
    given += ["--val-data"] * bool(args.val_data) + ["--test-data"] * bool(args.test_data)
    given += ["--runs"] * (args.runs != "runs") + ["--skip-bad-images"] * args.skip_bad_images
    given += ["--model"] * bool(args.model) + ["--resize"] * bool(args.resize)
    return given


def _check(args):
    """Every check that needs no data loaded, done once before any process starts.

    Returns the TrainConfig the run will have.
    """
    from ..data.source import check_source
    from ..runs import RunFolder, check_new_run_dir, run_name
    from ..train import TrainConfig, load_config

    if args.nproc < 1:
        raise ArgumentError(f"--nproc must be at least 1. Received: --nproc {args.nproc}.")
    if args.resume:
        if args.data:
            check_source(args.data)
        run = RunFolder(args.resume).require("run_dir")
        recorded = run.read_yaml("config.yaml")
        config = TrainConfig.from_dict(recorded.get("train") or {}, "config.yaml train")
        _check_resume_flags(args, config)
        _check_processes(args, config)
        return config
    if not args.spec or not args.data:
        missing = " and ".join(w for w, v in (("SPEC", args.spec), ("--data", args.data)) if not v)
        raise ArgumentError(f"train needs a spec and --data; {missing} missing. Example: "
                            "cnnkit train examples/lenet5.yaml --data mnist5k (or --resume RUN "
                            "to continue a run).")
    config = load_config(args.config)
    overrides = _overrides(args)
    if overrides:
        config = config.replace(**overrides)
    if args.name is not None:
        run_name(args.name, explicit=True)
    if args.run_dir:
        check_new_run_dir(args.run_dir)
    elif Path(args.runs).exists() and not Path(args.runs).is_dir():
        raise ArgumentError(f"--runs must be a folder, but {args.runs!r} is a file. Received: "
                            f"--runs {args.runs}. Give a folder (it is created if missing).")
    _check_processes(args, config)
    check_source(args.data)
    return config


def _check_resume_flags(args, config) -> None:
    """--resume with other flags: more --epochs continue the run; a flag that changes a
    recorded setting is refused, naming it and the recorded value; one that repeats the
    recorded value is harmless."""
    recorded = config.to_dict()
    for name in _FLAGS:
        value = getattr(args, name)
        if value is None or name == "epochs" or recorded.get(name) == value:
            continue
        flag = f"--{name.replace('_', '-')}"
        raise ArgumentError(
            f"--resume continues a run with the settings it recorded; {flag} {value} would "
            f"change {name} from {recorded.get(name)!r}. Received: --resume {args.resume} "
            f"{flag} {value}. Only --epochs may grow; start a new run for other settings "
            f"(--init-from {args.resume} starts from its weights).")
    if args.epochs is not None and args.epochs < config.epochs:
        raise ArgumentError(
            f"--resume can train more epochs, not fewer: the run is set to {config.epochs}. "
            f"Received: --epochs {args.epochs}. Give --epochs {config.epochs} or more.")
    extra = [flag for flag in _given(args)
             if flag.lstrip("-").replace("-", "_") not in _FLAGS]
    if extra:
        raise ArgumentError(
            f"--resume continues a run with the settings it recorded; {', '.join(extra)} "
            f"would change them. Received: --resume {args.resume} with {' '.join(extra)}. "
            f"Drop them, or start a new run (cnnkit train SPEC --data ...).")


def _check_processes(args, config) -> None:
    """--nproc against the batch and the machine, before torchrun starts anything."""
    if args.nproc == 1 or "WORLD_SIZE" in os.environ:
        return
    from ..data.shards import check_shard_processes

    check_shard_processes(args.data, args.nproc, config.val_fraction)
    if args.nproc > config.batch_size:
        raise ArgumentError(
            f"--nproc {args.nproc} is more than the batch size {config.batch_size}: each process "
            f"takes its share of every batch, and {args.nproc - config.batch_size} would get "
            f"none. Received: --nproc {args.nproc}, batch_size={config.batch_size}. Use "
            f"--batch-size {args.nproc} or more (a multiple of {args.nproc} splits evenly), or "
            f"fewer processes.")
    device = config.device
    import torch

    if device.startswith("cuda") or (device == "auto" and torch.cuda.is_available()):
        gpus = torch.cuda.device_count()
        if args.nproc > gpus:
            raise ArgumentError(f"--nproc {args.nproc} is more than the {gpus} GPU(s): each "
                                f"process needs its own. Received: --nproc {args.nproc}. Use "
                                f"--nproc {gpus} or less.")
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if cores and args.nproc > cores:
        warnings.warn(f"--nproc {args.nproc} is more than the {cores} CPU cores this process may "
                      f"use: the processes share cores and train slower than {cores} would.",
                      RuntimeWarning, stacklevel=2)


def _child_argv(argv: list[str]) -> list[str]:
    """The arguments after ``train``, without --nproc."""
    rest = argv[argv.index("train") + 1:] if "train" in argv else list(argv)
    out, skip = [], False
    for item in rest:
        if skip:
            skip = False
            continue
        if item == "--nproc":
            skip = True
            continue
        if item.startswith("--nproc="):
            continue
        out.append(item)
    return out


def _launch(args, config) -> int:
    """Run this command under torchrun with ``--nproc`` processes sharing one run folder.

    torchrun runs in this process with its own log quiet; each worker hands its one-line
    errors to a shared folder (``CNNKIT_ERROR_DIR``) and each distinct line is printed
    once here, instead of once per worker followed by torchrun's report.
    """
    import logging

    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser
    from torch.distributed.run import run as torchrun

    from ..runs import new_run_dir
    from ..train.api import TrainingInterrupted

    child = _child_argv(args.argv)
    run_dir = args.resume or args.run_dir
    if not run_dir:
        run_dir = str(new_run_dir(args.runs, args.name or Path(args.spec).stem))
        child += ["--run-dir", run_dir]
    launcher = get_args_parser().parse_args(
        ["--standalone", f"--nproc_per_node={args.nproc}", "--module", "cnnkit", "train", *child])
    saved = {k: os.environ.get(k) for k in ("CNNKIT_ERROR_DIR", "OMP_NUM_THREADS")}
    quiet = logging.getLogger("torch.distributed.elastic")
    level = quiet.level
    with tempfile.TemporaryDirectory(prefix="cnnkit-workers-") as errors:
        os.environ["CNNKIT_ERROR_DIR"] = errors
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        quiet.setLevel(logging.CRITICAL)
        try:
            torchrun(launcher)
            return 0
        except ChildFailedError as failure:
            lines: list[str] = []
            for file in sorted(Path(errors).glob("rank*.txt")):
                lines += [line for line in file.read_text().splitlines() if line not in lines]
            for line in lines or [f"cnnkit train: error: a training process failed "
                                  f"({failure.get_first_failure()[1].message or 'no message'})."]:
                print(line, file=sys.stderr)
            code = failure.get_first_failure()[1].exitcode
            return code if code > 0 else 1
        except KeyboardInterrupt:
            raise TrainingInterrupted(run_dir) from None
        finally:
            quiet.setLevel(level)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def run(args: argparse.Namespace) -> int:
    from ..workflow import resume_and_report, train_and_report

    args.flags = _flags(args)
    if not hasattr(args, "argv"):
        args.argv = sys.argv[1:]
    worker = "WORLD_SIZE" in os.environ
    if not worker:
        config = _check(args)
        if args.nproc != 1:
            return _launch(args, config)
    if args.resume:
        result = resume_and_report(args.resume, spec=args.spec, data=args.data,
                                   epochs=args.epochs)
    else:
        for flag, value in (("--val-data", args.val_data), ("--test-data", args.test_data)):
            if value and not Path(value).expanduser().exists():
                raise ArgumentError(f"{flag} {value!r} does not exist. Received: {flag} {value}. "
                                    f"Give a folder of images (one sub-folder per class), a .npz "
                                    f"or a .csv file.")
        from ._model_choice import choose

        spec, data = choose(args)  # a zoo model is sized for the data
        result = train_and_report(spec, data, args.config,
                                  runs_root=args.runs, run_dir=args.run_dir, name=args.name,
                                  on_error="skip" if args.skip_bad_images else "raise",
                                  val_data=args.val_data, test_data=args.test_data,
                                  **_overrides(args))
    if result.run_dir is not None and os.environ.get("RANK", "0") == "0":
        from ..train.metrics import describe_metrics

        which = getattr(result, "weights", "last")
        epoch = result.best_epoch if which == "best" else result.epochs_run
        print(f"test {describe_metrics(result.test)} with the {which} weights (epoch {epoch}); "
              f"{result.epochs_run} epochs, {result.train_seconds:.1f} s of training")
        print(f"run folder: {result.run_dir}")
        report = Path(result.run_dir) / "report" / "index.html"
        if report.exists():
            print(f"report:     {report}")
        print(f"next:       cnnkit eval {shlex.quote(str(result.run_dir))}")
    return 0
