"""``cnnkit predict``: the class and probabilities a trained run gives to image files and
folders of images."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._weights import add_weights_argument, choose_weights

__all__ = ["FLAGS", "add_parser", "run", "predict_files", "image_files"]

# Python argument -> the flag a user of this command types (see cnnkit.cli.main).
FLAGS = {"run_dir": "RUN", "image": "IMAGE", "top": "--top", "which": "--weights"}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("predict", help="classify image files with a trained run",
                                   description="Print the predicted class and probabilities of "
                                               "each IMAGE (a file, or a folder: every image "
                                               "under it) under RUN's weights.")
    parser.add_argument("run_dir", metavar="RUN", help="a run folder made by `cnnkit train`")
    parser.add_argument("images", metavar="IMAGE", nargs="+",
                        help="image files or folders (searched recursively)")
    parser.add_argument("--top", type=int, default=3, help="probabilities shown per image")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per image (JSON Lines)")
    add_weights_argument(parser)
    parser.set_defaults(run=run)


def image_files(items) -> list[Path]:
    """The image files that ``items`` name: files as given, folders searched recursively
    (sorted), so ``predict RUN photos/`` classifies every image under ``photos/``.

    Raises:
        ArgumentError: an item that does not exist, or a folder without images.
    """
    from .._validation import ArgumentError
    from ..data.sources import IMAGE_EXTENSIONS

    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*")
                           if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                raise ArgumentError(f"folder {str(path)!r} holds no images ("
                                    f"{', '.join(IMAGE_EXTENSIONS)}). Received: image="
                                    f"{str(path)!r}.", argument="image")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise ArgumentError(f"image {str(path)!r} does not exist. Received: "
                                f"image={str(path)!r}.", argument="image")
    return files


def predict_files(run_dir, images, top: int = 3, which: str | None = None):
    """[(file, [(class name, probability), ...])] for each image (folders expanded), best
    first, under the run's ``which`` weights (None: the run's default)."""
    import torch

    from .._validation import ArgumentError, ShapeError
    from ..data.sources import read_images
    from ..runs import RunFolder, load_run_model

    if top < 1:
        raise ArgumentError(f"top must be at least 1. Received: top={top!r}.", argument="top")
    network = load_run_model(run_dir, which)
    shape = network.input_shape
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise ShapeError(f"predict reads images, but this run's input is {list(shape)} "
                         "(not 1 or 3 channels of 2-D images).")
    paths = image_files(images)
    array, _, _ = read_images(paths, size=shape[1:], mode="L" if shape[0] == 1 else "RGB")
    classes = (RunFolder(run_dir).read_yaml("config.yaml").get("data") or {}).get("classes") or []
    outputs = []
    with torch.no_grad():
        for start in range(0, len(array), 256):  # a large folder in bounded memory
            batch = torch.from_numpy(array[start:start + 256])
            outputs.append(torch.softmax(network(batch), dim=1))
    probs = torch.cat(outputs)
    k = max(1, min(top, probs.shape[1]))
    values, indices = probs.topk(k, dim=1)
    return [(str(path), [(classes[i] if i < len(classes) else str(i), float(v))
                         for v, i in zip(vs.tolist(), ix.tolist())])
            for path, vs, ix in zip(paths, values, indices)]


def run(args: argparse.Namespace) -> int:
    which = choose_weights(args.run_dir, args.which, show=not args.json).which
    for path, ranked in predict_files(args.run_dir, args.images, args.top, which):
        best, p = ranked[0]
        if args.json:
            print(json.dumps({"file": path, "class": best, "probability": round(p, 6),
                              "top": [{"class": c, "probability": round(q, 6)} for c, q in ranked],
                              "weights": which}))
            continue
        others = ", ".join(f"{name} {q:.3f}" for name, q in ranked[1:])
        print(f"{path}: {best} (p={p:.3f}){'; ' + others if others else ''}")
    return 0
