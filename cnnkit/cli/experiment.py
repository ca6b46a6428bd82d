"""``cnnkit experiment``: run one of the source material's claims and print its table."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def _list(experiments) -> int:
    """Print each experiment's name and the first line of its description."""
    import sys

    width = max(len(name) for name in experiments)
    for name in sorted(experiments):
        doc = sys.modules[experiments[name].__module__].__doc__ or ""
        first = doc.strip().splitlines()[0] if doc.strip() else ""
        print(f"{name:<{width}}  {first}")
    print("run one with: cnnkit experiment NAME [--epochs N] [--seed S]")
    return 0


def add_parser(subparsers) -> None:
    from ..experiments import EXPERIMENTS

    parser = subparsers.add_parser("experiment", help="run a claim of the source material as an experiment",
                                   description="Run an experiment and print its table.")
    parser.add_argument("name", nargs="?", choices=sorted(EXPERIMENTS),
                        help="the experiment to run; without one, list them")
    parser.add_argument("--epochs", type=int, default=8, help="epochs per row (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="seed of data order and weights")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .._validation import ArgumentError
    from ..experiments import EXPERIMENTS

    if args.name is None:
        return _list(EXPERIMENTS)
    if args.epochs < 1:
        raise ArgumentError(f"--epochs must be a positive int. Received: --epochs {args.epochs}.")
    import sys

    module = sys.modules[EXPERIMENTS[args.name].__module__]
    print((module.__doc__ or args.name).splitlines()[0])
    EXPERIMENTS[args.name](epochs=args.epochs, seed=args.seed)
    return 0
