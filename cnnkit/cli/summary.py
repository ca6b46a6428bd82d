"""``cnnkit summary SPEC``: print the summary table of a spec file or a zoo model."""

from __future__ import annotations

import argparse
import os

from .._validation import ArgumentError, did_you_mean

__all__ = ["FLAGS", "add_parser", "parse_shape", "run"]

# Python argument -> the flag a user of this command types (see cnnkit.cli.main).
FLAGS = {"input_shape": "--input"}


def parse_shape(text: str, name: str = "--input") -> tuple[int, ...]:
    """``"3,32,32"`` -> ``(3, 32, 32)``.

    Raises:
        ArgumentError: anything but comma-separated positive ints.

    Example:
        >>> parse_shape("1, 28,28")
        (1, 28, 28)
    """
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if not shape or any(size < 1 for size in shape):
        raise ArgumentError(
            f"{name} must be comma-separated positive ints, channels first (e.g. {name} "
            f"3,32,32). Received: {name} {text!r}.")
    return shape


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "summary", help="print a network's layers, shapes, receptive fields, parameters",
        description="Print the summary table of a spec (YAML file) or a zoo model: one row per "
                    "layer with output shape, receptive field, jump, start, parameters and "
                    "multiply-adds.")
    parser.add_argument("spec", metavar="SPEC", help="a spec file (.yaml) or a zoo model name")
    parser.add_argument("--input", metavar="C,H,W", type=str, default=None,
                        help="input shape replacing the spec's (channels first)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..inspect import summary
    from ..models import create_model, list_models
    from ..spec import load

    shape = parse_shape(args.input) if args.input is not None else None
    target = args.spec
    if not os.path.exists(target) and not target.endswith((".yaml", ".yml")) and target in list_models():
        print(summary(create_model(target), shape))
        return 0
    if not os.path.exists(target) and not target.endswith((".yaml", ".yml")):
        raise ArgumentError(
            f"{target!r} is neither a spec file nor a zoo model.{did_you_mean(target, list_models())} "
            f"Zoo models: {', '.join(list_models())}. Received: SPEC={target!r}.")
    print(summary(load(target, input=shape)))
    return 0
