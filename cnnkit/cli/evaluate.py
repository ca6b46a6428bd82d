"""``cnnkit eval``: a trained run's loss and accuracy on its test split (or other data)."""

from __future__ import annotations

import argparse
import json

from ._weights import add_weights_argument, choose_weights

__all__ = ["FLAGS", "add_parser", "run"]

# Python argument -> the flag a user of this command types (see cnnkit.cli.main).
FLAGS = {"run_dir": "RUN", "data": "--data", "which": "--which"}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("eval", help="evaluate a run on its test data",
                                   description="Evaluate RUN's weights (by default those training ended "
                                               "with: the same test figure `cnnkit train` printed).")
    parser.add_argument("run_dir", metavar="RUN")
    parser.add_argument("--data", help="data to evaluate on (default: the run's data set)")
    add_weights_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .._validation import ArgumentError
    from ..data.source import check_fits, check_same_data, data_identity
    from ..data.splits import recorded_splits
    from ..functional.losses import loss_function
    from ..runs import RunFolder, load_run_model
    from ..train.metrics import evaluate

    choice = choose_weights(args.run_dir, args.which, show=not args.json)
    network = load_run_model(args.run_dir, choice.which)
    recorded = RunFolder(args.run_dir).read_yaml("config.yaml")
    info = recorded.get("data") or {}
    if args.data:
        source = args.data  # other data, on purpose: scored as given
    else:
        source = info.get("source")
        if source is None:
            raise ArgumentError(f"run {args.run_dir} was trained on data held in memory, which "
                                f"it cannot load again. Give the data to evaluate on with "
                                f"--data.")
        # The run's own data: it must still be what the run was trained on.
        check_same_data(info.get("identity"), data_identity(source), run=args.run_dir,
                        argument=None)
    # The run's own splits again (its test fraction, seed, test folder): the figure
    # `cnnkit train` printed.
    settings = recorded.get("train") or {}
    _, _, test = recorded_splits(info, settings, tuple(network.input_shape),
                                 data=args.data or None)
    check_fits(network, test, "evaluation data")
    loss = loss_function(network.loss or "softmax_cross_entropy")
    metrics = evaluate(network, test.x, test.y, loss, topk=int(settings.get("topk", 5)))
    if args.json:
        print(json.dumps(dict(metrics, weights=choice.which)))
    else:
        shown = args.data or info.get("source_as_given") or source
        acc = f"accuracy {100 * metrics['accuracy']:.2f}%, " if "accuracy" in metrics else ""
        print(f"{args.run_dir}: {acc}loss {metrics['loss']:.4f} on {metrics['count']} test samples "
              f"of {shown}")
    return 0
