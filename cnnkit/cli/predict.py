"""``cnnkit predict``: what a trained run predicts for image files (or ``.npy`` samples),
in the terms of its task: classes, labels, values, masks, reconstructions or boxes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._weights import add_weights_argument, choose_weights

__all__ = ["FLAGS", "add_parser", "image_files", "predict_files", "predict_inputs", "read_inputs",
           "run"]

# Python argument -> the flag a user of this command types (see cnnkit.cli.main).
FLAGS = {"run_dir": "RUN", "image": "IMAGE", "top": "--top", "out": "--out",
         "min_score": "--min-score", "which": "--weights"}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict", help="predict with a trained run (classes, labels, values, masks, boxes)",
        description="Print what RUN's weights predict for each IMAGE (an image file, a "
                    "folder: every image under it, or a .npy file of one sample or a batch): the top classes (classify), the "
                    "labels present (multilabel), the values (regress), the pixels per class "
                    "(segment; --out writes the masks as PNG), the PSNR of the reconstruction "
                    "(reconstruct; --out writes it as PNG) or the boxes left after non-maximum "
                    "suppression (detect).")
    parser.add_argument("run_dir", metavar="RUN", help="a run folder made by `cnnkit train`")
    parser.add_argument("images", metavar="IMAGE", nargs="+",
                        help="image files or folders (searched recursively), or .npy files")
    parser.add_argument("--top", type=int, default=3, help="probabilities shown per image")
    parser.add_argument("--min-score", type=float, default=0.5, dest="min_score",
                        help="detect: the lowest score of a box shown (default 0.5)")
    parser.add_argument("--out", help="segment, reconstruct: folder for the PNG outputs")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per input (JSON Lines)")
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


def read_inputs(paths, shape, integers: bool = False):
    """The samples of image files (resized and converted to ``shape``) or ``.npy`` files
    (one sample ``shape`` or a batch ``(N, *shape)``), as one float tensor, and a name
    for each sample. With ``integers``, ``.npy`` files of integers stay int64 (token ids,
    mu-law codes, for a network that takes them).

    Raises:
        ArgumentError: a missing file.
        ShapeError: a ``.npy`` sample of another shape; images for a network that does not
            take 2-D images of 1 or 3 channels.
    """
    import numpy as np
    import torch

    from .._validation import ArgumentError, ShapeError
    from ..data.sources import read_images

    paths = image_files(paths)
    parts, names = [], []
    images = [p for p in paths if p.suffix.lower() != ".npy"]
    if images and (len(shape) != 3 or shape[0] not in (1, 3)):
        raise ShapeError(f"predict reads images, but this run's input is {list(shape)} "
                         "(not 1 or 3 channels of 2-D images). Give its samples as .npy files.")
    for path in paths:
        if path.suffix.lower() == ".npy":
            array = np.load(path, allow_pickle=False)
            if tuple(array.shape) == tuple(shape):
                array = array[None]
            if tuple(array.shape[1:]) != tuple(shape):
                raise ShapeError(
                    f"{path} holds an array of shape {tuple(array.shape)}; this run takes "
                    f"samples of shape {tuple(shape)} (one) or (N, {', '.join(map(str, shape))}) "
                    f"(a batch). Save the samples in that shape.", argument="image")
            kind = np.int64 if integers and np.issubdtype(array.dtype, np.integer) else np.float32
            parts.append(torch.from_numpy(np.ascontiguousarray(array, dtype=kind)))
            names += [str(path)] if len(array) == 1 else [f"{path}[{i}]" for i in range(len(array))]
        else:
            array, _, _ = read_images([path], size=shape[1:], mode="L" if shape[0] == 1 else "RGB")
            parts.append(torch.from_numpy(array))
            names.append(str(path))
    return torch.cat(parts), names


def _run_task(run_dir, network):
    from ..runs import RunFolder
    from ..train.api import recorded_task

    recorded = RunFolder(run_dir).read_yaml("config.yaml")
    classes = list((recorded.get("data") or {}).get("classes") or [])
    return recorded_task(recorded, network, None), classes


def _name(classes, index):
    return classes[index] if 0 <= index < len(classes) else str(index)


def predict_inputs(run_dir, images, *, top: int = 3, min_score: float = 0.5, out=None,
                   which: str | None = None):
    """One record per input sample: ``{"input", "task", ...}`` with the task's prediction.

    classify: ``top`` as ``[(class, probability)]``; multilabel: ``labels`` present
    ``[(label, probability)]``; regress: ``values`` ``{name: value}``; segment:
    ``pixels`` per class (and ``mask``, the PNG written under ``out``); reconstruct:
    ``psnr`` of the reconstruction against the input (and ``image``, its PNG); detect:
    ``boxes`` ``[(class, score, [x0, y0, x1, y1])]`` in pixels, after NMS, with a score of
    at least ``min_score``.
    """
    import torch

    from .._validation import ArgumentError
    from ..runs import load_run_model

    if top < 1:
        raise ArgumentError(f"top must be at least 1. Received: top={top!r}.", argument="top")
    network = load_run_model(run_dir, which or "best")
    task, classes = _run_task(run_dir, network)
    # Integers as they are where a part of the network takes them (an embedding's token
    # ids, WaveNet's mu-law codes): index_input on its class.
    integers = any(getattr(type(m), "index_input", False) for m in network.modules())
    x, names = read_inputs(images, network.input_shape, integers)
    with torch.no_grad():  # a large folder in bounded memory
        outputs = torch.cat([network(x[i:i + 256]) for i in range(0, len(x), 256)])
        found = task.predict(outputs)
    if out is not None:
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise ArgumentError(f"--out must be a folder. Received: --out {out}, a file.",
                                argument="out")
        out.mkdir(parents=True, exist_ok=True)
    records = []
    for i, name in enumerate(names):
        record = {"file": name, "task": task.name}
        if task.name == "classify":
            probs = found["probabilities"][i]
            values, indices = probs.topk(max(1, min(top, probs.numel())))
            record["top"] = [(_name(classes, int(k)), float(v)) for v, k in zip(values, indices)]
        elif task.name == "multilabel":
            probs = found["probabilities"][i]
            record["labels"] = [(_name(classes, k), float(p)) for k, p in enumerate(probs.tolist())
                                if bool(found["labels"][i][k])]
        elif task.name == "regress":
            values = found["values"][i].flatten().tolist()
            record["values"] = {_name(classes, k): v for k, v in enumerate(values)}
        elif task.name == "segment":
            mask = found["mask"][i]
            counts = torch.bincount(mask.flatten(), minlength=outputs.shape[1])
            record["pixels"] = {_name(classes, k): int(c) for k, c in enumerate(counts) if c}
            if out is not None and mask.dim() == 2:
                record["mask"] = str(_save_png(out / f"{Path(name).stem}-mask.png",
                                               mask.to(torch.uint8)))
        elif task.name == "reconstruct":
            image = found["reconstruction"][i]
            mse = float((image - x[i]).square().mean())
            record["psnr"] = min(100.0, 10 * torch.log10(torch.tensor(task.data_range ** 2 /
                                                                      max(mse, 1e-30))).item())
            if out is not None and image.dim() == 3 and image.shape[0] in (1, 3):
                pixels = (image.clamp(0, 1) * 255).round().to(torch.uint8)
                record["image"] = str(_save_png(out / f"{Path(name).stem}-reconstruction.png",
                                                pixels.permute(1, 2, 0).squeeze(-1)))
        elif task.name == "detect":
            h, w = network.input_shape[1:] if len(network.input_shape) == 3 else (1, 1)
            scale = torch.tensor([w, h, w, h], dtype=torch.float32)
            record["boxes"] = [
                (_name(classes, int(c)), float(s), [round(float(v), 1) for v in b * scale])
                for b, s, c, ok in zip(found["boxes"][i], found["scores"][i],
                                       found["classes"][i], found["valid"][i])
                if bool(ok) and float(s) >= min_score]
        records.append(record)
    return records


def _save_png(path: Path, array) -> Path:
    from PIL import Image

    from .._files import writing

    with writing(path):
        Image.fromarray(array.cpu().numpy()).save(path)
    return path


def predict_files(run_dir, images, top: int = 3, which: str | None = None):
    """[(file, [(class name, probability), ...])] for each image (folders expanded) of a
    classifier, best first, under the run's ``which`` weights (None: the run's default)."""
    return [(r["file"], r["top"]) for r in predict_inputs(run_dir, images, top=top, which=which)]


def _line(record) -> str:
    kind = record["task"]
    if kind == "classify":
        (best, p), *rest = record["top"]
        others = ", ".join(f"{name} {q:.3f}" for name, q in rest)
        return f"{best} (p={p:.3f}){'; ' + others if others else ''}"
    if kind == "multilabel":
        return ", ".join(f"{name} {p:.3f}" for name, p in record["labels"]) or "no label"
    if kind == "regress":
        return ", ".join(f"{name}={v:.4g}" for name, v in record["values"].items())
    if kind == "segment":
        text = ", ".join(f"{name}: {n}" for name, n in record["pixels"].items())
        return f"pixels per class {text}" + (f"; mask {record['mask']}" if "mask" in record else "")
    if kind == "reconstruct":
        return (f"PSNR {record['psnr']:.2f} dB against the input"
                + (f"; {record['image']}" if "image" in record else ""))
    boxes = "; ".join(f"{name} {s:.2f} at [{', '.join(f'{v:g}' for v in b)}]"
                      for name, s, b in record["boxes"])
    return f"{len(record['boxes'])} boxes" + (f": {boxes}" if boxes else "")


def _json(record, which) -> str:
    if record["task"] == "classify":  # the class first, as for every classifier
        (best, p), *_ = record["top"]
        record = {"file": record["file"], "task": "classify", "class": best,
                  "probability": round(p, 6),
                  "top": [{"class": c, "probability": round(q, 6)} for c, q in record["top"]]}
    return json.dumps(dict(record, weights=which))


def run(args: argparse.Namespace) -> int:
    which = choose_weights(args.run_dir, args.which, show=not args.json).which
    for record in predict_inputs(args.run_dir, args.images, top=args.top,
                                 min_score=args.min_score, out=args.out, which=which):
        print(_json(record, which) if args.json else f"{record['file']}: {_line(record)}")
    return 0
