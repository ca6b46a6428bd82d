"""``cnnkit train``: train a spec on a data set and leave a run folder (or resume one)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import yaml

from .._validation import ArgumentError

__all__ = ["add_parser", "run"]

# Command-line flags that set a TrainConfig field directly.
_FLAGS = {"epochs": int, "batch_size": int, "lr": float, "seed": int, "optimizer": str,
          "schedule": str, "device": str, "threads": int}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a network spec on a data set",
        description="Train SPEC on --data and write a run folder under --runs; "
                    "--resume RUN continues a stopped run from its last checkpoint.")
    parser.add_argument("spec", nargs="?", help="network spec (YAML file) or a zoo model name")
    parser.add_argument("--data", help="bundled data set name (mnist5k, digits, mnist1d), image "
                                       "folder, .npz or .csv")
    parser.add_argument("--config", help="TrainConfig YAML file")
    for name, kind in _FLAGS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=None)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any other TrainConfig setting (YAML value), repeatable")
    parser.add_argument("--init-from", help="fine-tune: start from this run's best weights")
    parser.add_argument("--freeze", action="append", default=[], metavar="PATTERN",
                        help="fine-tune: keep parameters matching PATTERN fixed (repeatable)")
    parser.add_argument("--runs", default="runs", help="folder for new runs (default: runs)")
    parser.add_argument("--name", help="run name (default: the spec's name)")
    parser.add_argument("--run-dir", help="exact run folder to write")
    parser.add_argument("--resume", metavar="RUN", help="continue RUN from its last checkpoint")
    parser.add_argument("--nproc", type=int, default=1,
                        help="processes for distributed data parallel through torchrun")
    parser.add_argument("--skip-bad-images", action="store_true",
                        help="leave out unreadable images (counted) instead of stopping")
    parser.set_defaults(run=run)


def _overrides(args) -> dict:
    out = {name: getattr(args, name) for name in _FLAGS if getattr(args, name) is not None}
    for item in args.set:
        if "=" not in item:
            raise ArgumentError(f"--set takes KEY=VALUE. Received: --set {item}.")
        key, value = item.split("=", 1)
        out[key.strip()] = yaml.safe_load(value)
    if args.init_from:
        out["init_from"] = args.init_from
    if args.freeze:
        out["freeze"] = args.freeze
    return out


def _spec_source(spec: str):
    from ..models import create_model, list_models

    if spec in list_models():
        return create_model(spec).spec()  # built again after seeding, for reproducible weights
    return spec


def _launch(args, argv) -> int:
    """Re-run this command under torchrun with ``--nproc`` processes sharing one run folder."""
    from ..train.run import new_run_dir

    if args.nproc < 1:
        raise ArgumentError(f"--nproc must be at least 1. Received: --nproc {args.nproc}.")
    run_dir = args.resume or args.run_dir or str(new_run_dir(args.runs, args.name or Path(args.spec).stem))
    child = [a for a in argv if not a.startswith("--nproc")]
    if "--nproc" in argv:
        index = argv.index("--nproc")
        child = argv[:index] + argv[index + 2:]
    if not (args.resume or args.run_dir):
        child += ["--run-dir", run_dir]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={args.nproc}", "-m", "cnnkit", "train", *child]
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    return subprocess.call(command, env=env)


def run(args: argparse.Namespace) -> int:
    from ..train import api

    argv = sys.argv[sys.argv.index("train") + 1:] if "train" in sys.argv else []
    if args.nproc != 1 and "WORLD_SIZE" not in os.environ:
        return _launch(args, argv)
    if args.resume:
        result = api.resume(args.resume, spec=args.spec, data=args.data)
    else:
        if not args.spec or not args.data:
            raise ArgumentError("train needs a spec and --data. Received: "
                                f"spec={args.spec!r}, --data={args.data!r}. Example: "
                                "cnnkit train examples/lenet5.yaml --data mnist5k")
        result = api.train(_spec_source(args.spec), args.data, args.config, runs_root=args.runs,
                           run_dir=args.run_dir, name=args.name,
                           on_error="skip" if args.skip_bad_images else "raise", **_overrides(args))
    if result.run_dir is not None and os.environ.get("RANK", "0") == "0":
        test = result.test
        acc = f"{100 * test['accuracy']:.2f}%" if "accuracy" in test else "n/a"
        print(f"test accuracy {acc} on {test['count']} samples (loss {test['loss']:.4f}); "
              f"{result.epochs_run} epochs, {result.train_seconds:.1f} s of training")
        print(f"run folder: {result.run_dir}")
        report = Path(result.run_dir) / "report" / "index.html"
        if report.exists():
            print(f"report:     {report}")
    return 0
