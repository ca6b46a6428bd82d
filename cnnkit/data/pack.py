"""Write a data set as shards: ``.tar`` files in the WebDataset layout, or ``.npz`` files,
with an ``index.json`` (``cnnkit data pack``).

A sample of a ``.tar`` shard is two members that share a key: the encoded image
(``000042.png``: an image folder's files are copied byte for byte; arrays of 8-bit values
are written as PNG; other arrays as ``.npy``) and its class index as text
(``000042.cls``). Shards are written to a temporary name and renamed; the index goes last
and lists every shard's file, sample count, label counts, size and SHA-256, so that a
folder with an index is complete. The same input and seed give the same bytes.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import numpy as np
import torch

from .._files import atomic_write_text, sha256_file
from .._validation import ArgumentError, ArgumentTypeError, one_of, positive_int
from .dataset import DataFileError, Dataset, train_test_split
from .shards import FORMAT, INDEX_FILE, _decode_image, is_shard_folder
from .sources import list_image_folder, warn_skipped

__all__ = ["FORMATS", "ShardWriter", "pack"]

FORMATS = ("tar", "npz")


class ShardWriter:
    """Cut a stream of samples into shards of ``shard_size`` samples named
    ``{prefix}-000000.tar`` (or ``.npz``) in ``folder``.

    Args:
        folder: where the shards go (it must exist).
        prefix: the split's name, the start of each file name.
        shard_size: samples per shard (the last one may hold fewer).
        num_classes: labels must be below it; the index counts each class per shard.
        format: ``"tar"`` (``add_encoded``: encoded members) or ``"npz"`` (``add_array``).

    Example:
        >>> import tempfile
        >>> writer = ShardWriter(tempfile.mkdtemp(), "train", shard_size=2, num_classes=3)
        >>> for k in range(3):
        ...     writer.add_encoded({"npy": b"..."}, label=k)
        >>> [(e["file"], e["samples"], e["labels"]) for e in writer.close()]
        [('train-000000.tar', 2, [1, 1, 0]), ('train-000001.tar', 1, [0, 0, 1])]
    """

    def __init__(self, folder, prefix: str, *, shard_size: int, num_classes: int,
                 format: str = "tar"):
        self.folder = Path(folder)
        self.prefix = prefix
        self.shard_size = positive_int(shard_size, "shard_size")
        self.num_classes = num_classes
        self.format = one_of(format, FORMATS, "format")
        self.entries: list[dict] = []
        self._count = 0          # samples written, over all shards (the next key)
        self._tar = None
        self._arrays: list[tuple[np.ndarray, int]] = []
        self._labels = np.zeros(num_classes, dtype=np.int64)
        self._in_shard = 0

    def _name(self) -> str:
        return f"{self.prefix}-{len(self.entries):06d}.{self.format}"

    def add_encoded(self, members: dict[str, bytes], label: int) -> None:
        """One sample of a ``.tar`` shard: ``{extension: bytes}`` and its class index."""
        if self._tar is None:
            self._path = self.folder / (self._name() + ".tmp")
            self._tar = tarfile.open(self._path, "w", format=tarfile.USTAR_FORMAT)
        key = f"{self._count:06d}"
        for ext, data in [*members.items(), ("cls", str(int(label)).encode())]:
            info = tarfile.TarInfo(f"{key}.{ext}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0  # the same bytes every time
            self._tar.addfile(info, io.BytesIO(data))
        self._added(label)

    def add_array(self, x: np.ndarray, label: int) -> None:
        """One sample of an ``.npz`` shard."""
        self._arrays.append((x, int(label)))
        self._added(label)

    def _added(self, label: int) -> None:
        self._labels[int(label)] += 1
        self._count += 1
        self._in_shard += 1
        if self._in_shard == self.shard_size:
            self._finish_shard()

    def _finish_shard(self) -> None:
        if self._in_shard == 0:
            return
        final = self.folder / self._name()
        if self.format == "tar":
            self._tar.close()
            self._tar = None
            tmp = self._path
        else:
            tmp = self.folder / (final.name + ".tmp")
            with open(tmp, "wb") as handle:
                np.savez(handle, x=np.stack([a for a, _ in self._arrays]),
                         y=np.asarray([label for _, label in self._arrays], dtype=np.int64))
            self._arrays = []
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, final)
        self.entries.append({"file": final.name, "samples": self._in_shard,
                             "labels": self._labels.tolist(), "bytes": final.stat().st_size,
                             "sha256": sha256_file(final)})
        self._labels[:] = 0
        self._in_shard = 0

    def close(self) -> list[dict]:
        """Write the last shard; the index entries of every shard."""
        self._finish_shard()
        return self.entries


def _eight_bit(x: torch.Tensor) -> bool:
    """Whether float values are exactly k / 255 (8-bit pixels as loaders scale them)."""
    if not x.is_floating_point() or x.numel() == 0:
        return x.dtype == torch.uint8
    q = torch.round(x * 255.0)
    return bool(((q >= 0) & (q <= 255)).all()) and torch.equal(q / 255.0, x)


def _encode_dataset(data: Dataset, writer: ShardWriter, order) -> str:
    """Write a Dataset's samples in ``order``; returns the encoding used."""
    x = data.x
    png = (_eight_bit(x) and x.dim() == 4 and x.shape[1] in (1, 3) and writer.format == "tar")
    from PIL import Image

    pixels = torch.round(x * 255.0).to(torch.uint8) if png or (
        writer.format == "npz" and _eight_bit(x)) else x
    for k in order.tolist():
        label = int(data.y[k])
        if writer.format == "npz":
            writer.add_array(pixels[k].numpy(), label)
            continue
        buffer = io.BytesIO()
        if png:
            sample = pixels[k].numpy()
            image = (Image.fromarray(sample[0], "L") if sample.shape[0] == 1
                     else Image.fromarray(sample.transpose(1, 2, 0), "RGB"))
            image.save(buffer, "PNG")
            writer.add_encoded({"png": buffer.getvalue()}, label)
        else:
            np.save(buffer, x[k].numpy(), allow_pickle=False)
            writer.add_encoded({"npy": buffer.getvalue()}, label)
    if writer.format == "npz":
        return "npz"
    return "png" if png else "npy"


def _check_out(out) -> Path:
    if not isinstance(out, (str, os.PathLike)):
        raise ArgumentTypeError(f"out must be a folder path. Received: out={out!r}.",
                                argument="out")
    folder = Path(out)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        what = "a file" if not folder.is_dir() else "a folder that holds files"
        raise ArgumentError(f"out {str(folder)!r} is {what}; shards go into a new or empty "
                            f"folder. Received: out={str(folder)!r}. Give another folder.",
                            argument="out")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _split_files(labels: np.ndarray, test_fraction: float, seed: int):
    """Row indices of the train and test parts, as ``train_test_split`` splits a Dataset."""
    rows = Dataset(torch.arange(len(labels), dtype=torch.float32)[:, None],
                   torch.from_numpy(labels), ())
    if not test_fraction:
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
        return order, torch.zeros(0, dtype=torch.long)
    train, test = train_test_split(rows, test_fraction, seed=seed)
    return train.x[:, 0].long(), test.x[:, 0].long()


def _pack_folder(root: Path, folder: Path, *, shard_size, test_fraction, seed, format,
                 on_error):
    files, labels, classes = list_image_folder(root)
    parts = dict(zip(("train", "test"), _split_files(labels, test_fraction, seed)))
    splits, skipped, shapes = {}, [], set()
    for split, rows in parts.items():
        if not len(rows):
            continue
        writer = ShardWriter(folder, split, shard_size=shard_size, num_classes=len(classes),
                             format=format)
        for k in rows.tolist():
            path = files[k]
            ext = path.suffix.lower().lstrip(".")
            try:
                data = path.read_bytes()
                array = _decode_image(data, ext, None, None)  # proves it decodes
            except (OSError, ValueError, SyntaxError) as error:
                reason = f"{type(error).__name__}: {error}"
                if on_error == "raise":
                    raise DataFileError(
                        f"Cannot read the image {path}: {reason}. Remove or replace the file, "
                        f"or pass on_error='skip' to leave unreadable images out.") from error
                skipped.append((str(path.relative_to(root)), reason))
                continue
            shapes.add(tuple(array.shape))
            if format == "npz":
                writer.add_array(array, int(labels[k]))
            else:
                writer.add_encoded({ext: data}, int(labels[k]))
        splits[split] = writer.close()
    warn_skipped(skipped, len(files), root)
    shape = list(shapes.pop()) if len(shapes) == 1 else None
    return splits, list(classes), shape, "files" if format == "tar" else "npz", skipped


def _pack_data(source, folder: Path, *, shard_size, test_fraction, seed, format, on_error):
    from .source import load_data

    if test_fraction:
        train, test = load_data(source, on_error=on_error, seed=seed,
                                test_fraction=test_fraction)
        parts = {"train": train, "test": test}
    else:
        from .source import _load_path

        parts = {"train": _load_path(Path(str(source)), str(source), None, on_error)}
    if parts["train"].target != "class":
        raise ArgumentError(f"pack writes class labels (.cls members), but {source!r} has "
                            f"{parts['train'].target} targets. Received: source="
                            f"{str(source)!r}. Pack data with one class label per sample.",
                            argument="source")
    classes = list(parts["train"].classes) or [str(k) for k in
                                               range(int(parts["train"].y.max()) + 1)]
    splits, encoding = {}, "npz"
    for split, data in parts.items():
        writer = ShardWriter(folder, split, shard_size=shard_size, num_classes=len(classes),
                             format=format)
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
        encoding = _encode_dataset(data, writer, order)
        splits[split] = writer.close()
    return splits, classes, list(parts["train"].input_shape), encoding, []


def pack(source, out, *, shard_size: int = 1000, test_fraction: float = 0.2, seed: int = 0,
         format: str = "tar", on_error: str = "raise") -> dict:
    """Write ``source`` as shards in the new folder ``out``; returns the index.

    Args:
        source: a folder of images (one sub-folder per class), a ``.npz`` or ``.csv`` file,
            or a bundled data set name (its own train / test split).
        out: a new or empty folder.
        shard_size: samples per shard.
        test_fraction: share of the samples written as ``test-*`` shards (0: none), split
            per class with ``seed`` as :func:`~cnnkit.data.load_data` splits.
        seed: fixes the split and the order of the samples in the shards (shuffled, so
            that every shard mixes the classes).
        format: ``"tar"`` (WebDataset layout) or ``"npz"``.
        on_error: ``"raise"`` stops at an unreadable image (named); ``"skip"`` leaves it
            out and warns.

    Returns:
        The index written to ``out/index.json``.

    Raises:
        ArgumentError: ``out`` holds files; a source without class labels; bad settings.
        DataFileError: an unreadable image with ``on_error="raise"``.

    Example:
        >>> import tempfile, json, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "digits"
        >>> index = pack("digits", out, shard_size=1000)
        >>> [(s, [e["samples"] for e in v]) for s, v in index["splits"].items()]
        [('train', [1000, 438]), ('test', [359])]
        >>> sorted(p.name for p in out.iterdir())
        ['index.json', 'test-000000.tar', 'train-000000.tar', 'train-000001.tar']
    """
    positive_int(shard_size, "shard_size")
    one_of(format, FORMATS, "format")
    one_of(on_error, ("raise", "skip"), "on_error")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or \
            not 0 <= test_fraction < 1:
        raise ArgumentError(f"test_fraction must be in [0, 1). Received: "
                            f"test_fraction={test_fraction!r}.", argument="test_fraction")
    if isinstance(source, (str, os.PathLike)):
        from .source import check_source

        check_source(source)
        if is_shard_folder(source):
            raise ArgumentError(f"source {str(source)!r} is a shard folder already (it has "
                                f"{INDEX_FILE}): train from it as it is. Received: source="
                                f"{str(source)!r}.", argument="source")
    folder = _check_out(out)
    options = dict(shard_size=shard_size, test_fraction=test_fraction, seed=seed,
                   format=format, on_error=on_error)
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        splits, classes, shape, encoding, skipped = _pack_folder(Path(source), folder,
                                                                 **options)
    else:
        splits, classes, shape, encoding, skipped = _pack_data(source, folder, **options)
    index = {"format": FORMAT, "version": 1, "classes": classes, "input_shape": shape,
             "encoding": encoding, "source": str(source), "seed": seed,
             "shard_size": shard_size, "test_fraction": test_fraction, "splits": splits,
             "skipped": [list(item) for item in skipped]}
    atomic_write_text(folder / INDEX_FILE, json.dumps(index, indent=1) + "\n")
    return index
