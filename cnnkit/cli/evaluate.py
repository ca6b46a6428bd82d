"""``cnnkit eval``: a trained run's loss and accuracy on its test split (or other data)."""

from __future__ import annotations

import argparse
import json

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("eval", help="evaluate a run on its test data",
                                   description="Evaluate RUN's best (or last) weights.")
    parser.add_argument("run_dir", metavar="RUN")
    parser.add_argument("--data", help="data to evaluate on (default: the run's data set)")
    parser.add_argument("--which", choices=("best", "last"), default="best")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..train import api
    from ..train.metrics import evaluate
    from ..train.run import RunFolder
    from ..functional.losses import loss_function

    network = api.load_run_model(args.run_dir, args.which)
    recorded = RunFolder(args.run_dir).read_yaml("config.yaml")
    source = args.data or recorded["data"]["source"]
    _, test = api.load_data(source, network.input_shape, seed=recorded["train"]["seed"])
    api.check_fits(network, test, "evaluation data")
    loss = loss_function(network.loss or "softmax_cross_entropy")
    metrics = evaluate(network, test.x, test.y, loss)
    if args.json:
        print(json.dumps(metrics))
    else:
        acc = f"accuracy {100 * metrics['accuracy']:.2f}%, " if "accuracy" in metrics else ""
        print(f"{args.run_dir}: {acc}loss {metrics['loss']:.4f} on {metrics['count']} test samples "
              f"of {source}")
    return 0
