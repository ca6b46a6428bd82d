"""``cnnkit export``: write a trained run (or a zoo model) as an ONNX file, checked in
onnxruntime."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._weights import add_weights_argument, choose_weights

__all__ = ["FLAGS", "add_parser", "run", "load_model"]

# Python argument -> the flag a user of this command types (see cnnkit.cli.main).
FLAGS = {"path": "--out", "opset": "--opset", "atol": "--atol", "input_shape": "--input",
         "overwrite": {"False": "no --force", "True": "--force"}, "run_dir": "RUN",
         "which": "--which"}


def _shape(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.replace("x", ",").split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes such as 3,64,64; got {text!r}") from None


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="export a run or a zoo model to ONNX",
        description="Write RUN's weights (or a zoo model with random weights) as an ONNX "
                    "file with a dynamic batch dimension, run it in onnxruntime and compare "
                    "with PyTorch. Needs: pip install \"cnnkit[export]\".")
    parser.add_argument("source", metavar="RUN", help="a run folder, or a zoo model name")
    parser.add_argument("--out", help="the .onnx file to write (default: <name>.onnx)")
    add_weights_argument(parser)
    parser.add_argument("--input", type=_shape, metavar="C,H,W",
                        help="one sample's shape, replacing the model's (e.g. 3,64,64)")
    parser.add_argument("--opset", type=int, help="ONNX opset version (default: the exporter's)")
    parser.add_argument("--atol", type=float, default=1e-4,
                        help="largest difference the check accepts (default 1e-4)")
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="do not run the file in onnxruntime")
    parser.add_argument("--force", action="store_true",
                        help="replace the --out file if it exists")
    parser.set_defaults(run=run)


def load_model(source: str, which: str | None = None):
    """The Network of a run folder (its ``which`` weights), or a zoo model with random weights.

    Raises:
        ArgumentError: ``source`` is neither a run folder nor a zoo model name.
    """
    from .._validation import ArgumentError, did_you_mean
    from ..models import create_model, list_models
    from ..runs import load_run_model

    if Path(source).is_dir():
        return load_run_model(source, choose_weights(source, which).which)
    if source in list_models():
        return create_model(source).eval()
    raise ArgumentError(
        f"RUN must be a run folder or a zoo model name. Received: {source!r}, which is "
        f"neither.{did_you_mean(source, list_models())} Give a folder under runs/ made by "
        f"`cnnkit train`, or one of: {', '.join(list_models())}.")


def run(args: argparse.Namespace) -> int:
    from ..export import to_onnx
    from ..export.onnx import run_metadata

    model = load_model(args.source, args.which)
    out = args.out or f"{Path(args.source).name or 'model'}.onnx"
    metadata = run_metadata(args.source) if Path(args.source).is_dir() else None
    report = to_onnx(model, out, input_shape=args.input, opset=args.opset, check=args.check,
                     atol=args.atol, overwrite=args.force, metadata=metadata)
    print(report)
    return 0
