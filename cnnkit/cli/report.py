"""``cnnkit report RUN``: (re)build a run's ``report/index.html``."""

from __future__ import annotations

import argparse

from ._weights import add_weights_argument, choose_weights

__all__ = ["FLAGS", "add_parser", "run"]

# Python argument -> the flag a user of this command types (see cnnkit.cli.main).
FLAGS = {"run_dir": "RUN", "which": "--which"}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "report", help="build a run's report/index.html",
        description="Write RUN/report/index.html: learning curves, summary table, the "
                    "pictures of the run's task (confusion matrix; masks, boxes, "
                    "reconstructions, predicted against true, per-label precision and recall), "
                    "filters, activations and saliency of a few test samples; one "
                    "self-contained HTML file (images inlined) that opens offline.")
    parser.add_argument("run_dir", metavar="RUN", help="a run folder made by `cnnkit train`")
    add_weights_argument(parser)
    parser.add_argument("--examples", type=int, default=4,
                        help="test images shown with their maps (default 4)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .._validation import ArgumentError
    from ..inspect.report import build_report

    if args.examples < 1:
        raise ArgumentError(f"--examples must be at least 1. Received: --examples {args.examples}.")
    which = choose_weights(args.run_dir, args.which).which
    path = build_report(args.run_dir, which=which, examples=args.examples)
    print(f"report: {path}")
    return 0
