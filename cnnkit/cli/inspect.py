"""``cnnkit inspect RUN --input IMAGE``: the pictures of one image going through a run."""

from __future__ import annotations

import argparse

from ._weights import add_weights_argument, choose_weights

__all__ = ["FLAGS", "add_parser", "run"]

# Python argument -> the flag a user of this command types (see cnnkit.cli.main).
FLAGS = {"run_dir": "RUN", "image": "--input", "layer": "--layer", "which": "--which"}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "inspect", help="activation, filter, saliency and receptive-field pictures of one image",
        description="Run IMAGE through RUN's network and write input.png, prediction.json, "
                    "activations.png, filters.png, saliency.png and receptive_field.png to a "
                    "folder (default RUN/inspect/<image name>).")
    parser.add_argument("run_dir", metavar="RUN", help="a run folder made by `cnnkit train`")
    parser.add_argument("--input", metavar="IMAGE", required=True, help="an image file")
    parser.add_argument("--layer", metavar="NAME", default=None,
                        help="show only this layer (e.g. layers.3 or layers[3]); an unknown "
                             "name lists the layers")
    parser.add_argument("--out", metavar="DIR", default=None, help="output folder")
    add_weights_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..inspect.report import inspect_image

    which = choose_weights(args.run_dir, args.which).which
    out = inspect_image(args.run_dir, args.input, args.out, layer=args.layer, which=which)
    prediction = (out / "prediction.json").read_text()
    import json

    info = json.loads(prediction)
    if "predicted" in info:
        best = info["probabilities"][info["predicted"]]
        print(f"{args.input}: {info['predicted']} (p={best:.3f})")
    names = sorted(p.name for p in out.iterdir())
    print(f"wrote {', '.join(names)} to {out}")
    return 0
