"""``cnnkit eval``: a trained run's loss and its task's metrics on its test split (or other
data)."""

from __future__ import annotations

import argparse
import json

from ._weights import add_weights_argument, choose_weights

__all__ = ["FLAGS", "add_parser", "evaluate_run", "run"]

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


def evaluate_run(run_dir, data=None, which: str = "best") -> tuple[dict, str]:
    """The metrics of a run's task on its test split (or on ``data``), and what was scored.

    Returns:
        ``(metrics, shown)``: ``{"loss", "count", ...}`` (the task's metrics: accuracy,
        mean IoU, mAP, mean F1, R², PSNR, with per-class lists) and the data's name.

    Raises:
        ArgumentError: no readable run, data other than the run's own (when ``data`` is
            None and the run's data changed), data held in memory.
        ShapeError: data whose samples or targets do not fit the network.
    """
    from .._validation import ArgumentError
    from ..data.source import check_fits, check_same_data, data_identity
    from ..data.splits import recorded_splits
    from ..runs import RunFolder, load_run_model
    from ..train.api import check_task, recorded_task
    from ..train.metrics import evaluate, evaluate_task

    network = load_run_model(run_dir, which)
    recorded = RunFolder(run_dir).read_yaml("config.yaml")
    info = recorded.get("data") or {}
    if data:
        source = data  # other data, on purpose: scored as given
    else:
        source = info.get("source")
        if source is None:
            raise ArgumentError(f"run {run_dir} was trained on data held in memory, which "
                                f"it cannot load again. Give the data to evaluate on with "
                                f"--data.")
        # The run's own data: it must still be what the run was trained on.
        check_same_data(info.get("identity"), data_identity(source), run=run_dir,
                        argument=None)
    # The run's own splits again (its test fraction, seed, test folder): the figure
    # `cnnkit train` printed.
    settings = recorded.get("train") or {}
    _, _, test = recorded_splits(info, settings, tuple(network.input_shape), data=data or None)
    task = recorded_task(recorded, network, test)
    check_fits(network, test, "evaluation data", labels=task.name == "classify")
    check_task(task, network, test, "evaluation data")
    if task.name == "classify":
        metrics = evaluate(network, test.x, test.y, task.loss, topk=int(settings.get("topk", 5)))
    else:
        metrics = evaluate_task(network, test.x, test.y, task)
    return metrics, str(data or info.get("source_as_given") or source)


def run(args: argparse.Namespace) -> int:
    from ..train.metrics import describe_metrics

    choice = choose_weights(args.run_dir, args.which, show=not args.json)
    metrics, shown = evaluate_run(args.run_dir, args.data, choice.which)
    if args.json:
        print(json.dumps(dict(metrics, weights=choice.which)))
    else:
        print(f"{args.run_dir}: {describe_metrics(metrics).replace(' samples', ' test samples')} "
              f"of {shown}")
    return 0
