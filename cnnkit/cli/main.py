"""``cnnkit`` entry point: argparse sub-commands; user errors exit with status 2 and one line.

Example:
    >>> main(["summary", "no-such-file.yaml"])
    2
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .. import __version__
from .._validation import CnnkitError

__all__ = ["COMMANDS", "build_parser", "main"]

# One module per sub-command, each with add_parser(subparsers) and run(args) -> int.
COMMANDS = ("summary", "demo", "train", "evaluate", "predict", "experiment", "report", "inspect",
            "serve", "export", "rl")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="cnnkit", description="Convolutional neural networks: specs, summaries, training, "
                                   "evaluation and prediction.")
    parser.add_argument("--version", action="version", version=f"cnnkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMANDS:
        importlib.import_module(f"{__package__}.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``cnnkit`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status.

    A cnnkit error (bad spec, bad argument) prints ``cnnkit <command>: error: <message>`` on
    one line to stderr and returns 2, without a traceback; argparse usage errors exit 2 too.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except CnnkitError as error:
        message = " ".join(str(error).split())
        print(f"cnnkit {args.command}: error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`cnnkit summary x.yaml | head`): not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
