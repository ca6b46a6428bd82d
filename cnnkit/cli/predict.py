"""``cnnkit predict``: the class and probabilities a trained run gives to image files."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["FLAGS", "add_parser", "run", "predict_files"]

# Python argument -> the flag a user of this command types (see cnnkit.cli.main).
FLAGS = {"run_dir": "RUN", "image": "IMAGE", "top": "--top"}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("predict", help="classify image files with a trained run",
                                   description="Print the predicted class and probabilities of "
                                               "each IMAGE under RUN's best weights.")
    parser.add_argument("run_dir", metavar="RUN")
    parser.add_argument("images", metavar="IMAGE", nargs="+")
    parser.add_argument("--top", type=int, default=3, help="probabilities shown (default 3)")
    parser.set_defaults(run=run)


def predict_files(run_dir, images, top: int = 3):
    """[(file, [(class name, probability), ...])] for each image, best first."""
    import torch

    from .._validation import ArgumentError, ShapeError
    from ..data.sources import read_images
    from ..runs import RunFolder, load_run_model

    network = load_run_model(run_dir)
    shape = network.input_shape
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise ShapeError(f"predict reads images, but this run's input is {list(shape)} "
                         "(not 1 or 3 channels of 2-D images).")
    paths = [Path(p) for p in images]
    for path in paths:
        if not path.is_file():
            raise ArgumentError(f"image {str(path)!r} does not exist. Received: "
                                f"image={str(path)!r}.", argument="image")
    array, _, _ = read_images(paths, size=shape[1:], mode="L" if shape[0] == 1 else "RGB")
    classes = (RunFolder(run_dir).read_yaml("config.yaml").get("data") or {}).get("classes") or []
    with torch.no_grad():
        probs = torch.softmax(network(torch.from_numpy(array)), dim=1)
    k = max(1, min(top, probs.shape[1]))
    values, indices = probs.topk(k, dim=1)
    return [(str(path), [(classes[i] if i < len(classes) else str(i), float(v))
                         for v, i in zip(vs.tolist(), ix.tolist())])
            for path, vs, ix in zip(paths, values, indices)]


def run(args: argparse.Namespace) -> int:
    for path, ranked in predict_files(args.run_dir, args.images, args.top):
        best, p = ranked[0]
        others = ", ".join(f"{name} {q:.3f}" for name, q in ranked[1:])
        print(f"{path}: {best} (p={p:.3f}){'; ' + others if others else ''}")
    return 0
