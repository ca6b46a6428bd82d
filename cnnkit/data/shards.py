"""Shards: pieces of a data set that is read a piece at a time.

A shard is anything with ``len()`` (its number of samples, known without reading it) and
``read(on_error) -> (x, y, skipped)``:

- :class:`TarShard`: a ``.tar`` file in the WebDataset layout: the members of one sample
  share a key (``000042.png`` + ``000042.cls``): an encoded image (PNG, JPEG, ... or a
  ``.npy`` array) and its class index as text. ``cnnkit data pack`` writes them.
- :class:`NpzShard`: one ``.npz`` file with ``x`` and ``y`` arrays.
- :class:`ImageFolderShard`: a chunk of an image folder's files
  (:func:`image_folder_shards`).

A shard folder is what ``cnnkit data pack`` writes: ``train-000000.tar`` ...,
``test-000000.tar`` ... and ``index.json``, which lists every shard with its sample count,
label counts and SHA-256, the classes and the sample shape. :func:`load_shards` opens one
for training: the train split as a :class:`ShardedDataset` (streamed by
:class:`~cnnkit.data.loader.StreamingLoader`), the test split read into memory.

8-bit images are decoded to ``uint8`` arrays and divided by 255 only once a batch is on
its device: a quarter of the memory and of the bytes moved, the same values as
:func:`~cnnkit.data.load_image_folder` gives.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import warnings
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import torch

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, one_of, positive_int
from .dataset import DataFileError, Dataset, as_dataset
from .sources import (IMAGE_EXTENSIONS, SkippedFilesWarning, _channels, _pixels, _WIDE,
                      list_image_folder, read_images, read_npz)

__all__ = [
    "INDEX_FILE",
    "ImageFolderShard",
    "NpzShard",
    "ShardedDataset",
    "TarShard",
    "image_folder_shards",
    "is_shard_folder",
    "load_shards",
    "read_index",
    "read_shard",
    "check_shard_processes",
    "shard_count",
    "training_shards",
    "training_data",
]

INDEX_FILE = "index.json"
FORMAT = "cnnkit-shards"
_ON_ERROR = ("raise", "skip")
# Extensions of a sample's image member, in the order they are looked for.
_IMAGE_EXT = tuple(e.lstrip(".") for e in IMAGE_EXTENSIONS) + ("npy",)


def read_shard(shard, on_error: str | None = None):
    """``(x, y, skipped)`` of any shard: its ``read(on_error)`` (None: the shard's own
    setting), or ``load()`` and its ``skipped`` list for shard objects of your own."""
    if hasattr(shard, "read"):
        return shard.read(on_error) if on_error is not None else shard.read()
    x, y = shard.load()
    return x, y, list(getattr(shard, "skipped", []))


def _shard_error(where, error: Exception, on_error: str, skipped: list) -> None:
    reason = f"{type(error).__name__}: {error}".rstrip(".")
    if on_error == "raise":
        raise DataFileError(
            f"Cannot read {where}: {reason}. Repair or remove it (pack the data again), or "
            f"pass on_error='skip' to leave unreadable samples out."
        ) from error
    skipped.append((str(where), reason))


# ----------------------------------------------------------------------------- tar


def _split_name(name: str) -> tuple[str, str]:
    """WebDataset's rule: the key is the path up to the first dot of the file name."""
    folder, _, base = name.rpartition("/")
    stem, dot, ext = base.partition(".")
    key = f"{folder}/{stem}" if folder else stem
    return key, ext.lower() if dot else ""


def _decode_image(data: bytes, ext: str, size, mode):
    """One sample's image as ``(C, H, W)``: uint8 for 8-bit images, float32 otherwise."""
    if ext == "npy":
        array = np.load(io.BytesIO(data), allow_pickle=False)
        if array.dtype == np.uint8 or array.dtype == np.int64:  # 8-bit pixels, token ids
            return array
        return array.astype(np.float32)
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        if image.mode in _WIDE:
            return _pixels(image, mode, size)
        target = mode or ("L" if _channels(image.mode) == 1 else "RGB")
        converted = image.convert(target) if image.mode != target else image
        if size is not None and converted.size != (size[1], size[0]):
            converted = converted.resize((size[1], size[0]), Image.BILINEAR)
        array = np.asarray(converted, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _stack(arrays: list, where) -> np.ndarray:
    first = arrays[0]
    for array in arrays[1:]:
        if array.shape != first.shape:
            raise ShapeError(
                f"{where} holds samples of shape {tuple(array.shape)} and "
                f"{tuple(first.shape)}; the samples of one data set must agree. Give the "
                f"network's input shape (size and mode) so that images are resized and "
                f"converted while they are read."
            )
    if any(a.dtype != first.dtype for a in arrays):  # 8-bit beside 16-bit or float images
        arrays = [a.astype(np.float32) / np.float32(255.0) if a.dtype == np.uint8
                  else a.astype(np.float32) for a in arrays]
    return np.stack(arrays)


def _plain_tar_members(data: bytes):
    """``[(name, bytes)]`` of a plain (uncompressed, ustar) tar held in memory, parsed
    without :mod:`tarfile` (which costs about as much per member as decoding a small
    PNG); None for anything else (compressed, pax or GNU long names, links), which
    :mod:`tarfile` reads instead.

    Raises:
        tarfile.ReadError: a header whose checksum is wrong, or data cut short.
    """
    if data[:2] == b"\x1f\x8b" or data[:3] == b"BZh" or data[:6] == b"\xfd7zXZ\x00":
        return None
    view = memoryview(data)
    members, at, end = [], 0, len(data)
    while at + 512 <= end:
        header = data[at:at + 512]
        if header.count(0) == 512:
            return members
        if header[257:262] != b"ustar":
            return None
        try:
            stored = int(header[148:156].split(b"\0", 1)[0].strip() or b"0", 8)
            size = int(header[124:136].split(b"\0", 1)[0].strip() or b"0", 8)
        except ValueError:
            raise tarfile.ReadError(f"a bad tar header at byte {at}") from None
        if stored != sum(header[:148]) + 256 + sum(header[156:]):
            raise tarfile.ReadError(f"a tar header with a bad checksum at byte {at}")
        kind = header[156:157]
        if kind not in (b"0", b"\0", b"5"):
            return None
        start = at + 512
        if start + size > end:
            raise tarfile.ReadError(f"unexpected end of data: a member of {size} bytes at "
                                    f"byte {start}, but the file ends at byte {end}")
        if kind != b"5":
            name = header[:100].split(b"\0", 1)[0].decode("utf-8", "replace")
            prefix = header[345:500].split(b"\0", 1)[0].decode("utf-8", "replace")
            members.append((f"{prefix}/{name}" if prefix else name, view[start:start + size]))
        at = start + (size + 511) // 512 * 512
    if at != end:
        raise tarfile.ReadError(f"unexpected end of data at byte {end}")
    return members


def _group(members) -> list[tuple[str, dict[str, bytes]]]:
    samples: list[tuple[str, dict[str, bytes]]] = []
    for name, data in members:
        key, ext = _split_name(name)
        if not samples or samples[-1][0] != key:
            samples.append((key, {}))
        samples[-1][1][ext] = data
    return samples


class TarShard:
    """One ``.tar`` shard in the WebDataset layout, read only when ``read()`` is called.

    Each sample is the members that share a key (``000042.png`` + ``000042.cls``): an
    image (any extension of ``IMAGE_EXTENSIONS``, or ``.npy``) and its class index as
    text (``.cls``).

    Args:
        path: the ``.tar`` file.
        length: its number of samples when known (from ``index.json``); otherwise the
            member headers are counted on first use (the data is not read).
        size: ``(height, width)`` to resize images to (bilinear); None keeps them.
        mode: ``"L"`` or ``"RGB"`` to convert images to; None keeps each image's kind.
        num_classes: labels must be below it (a sample with another label is unreadable).

    Shape:
        ``read()`` -> ``x (n, C, H, W)`` (uint8 for 8-bit images, else float32),
        ``y (n,)`` int64.

    Raises:
        DataFileError: the shard or one of its samples cannot be read (``on_error="raise"``).
        ShapeError: samples of different shapes without ``size`` and ``mode``.

    Example:
        >>> import tarfile, tempfile, io, os
        >>> import numpy as np
        >>> from PIL import Image
        >>> path = os.path.join(tempfile.mkdtemp(), "part.tar")
        >>> with tarfile.open(path, "w") as tar:
        ...     for k in range(3):
        ...         png = io.BytesIO(); Image.new("L", (4, 2), 50 * k).save(png, "PNG")
        ...         for ext, data in (("png", png.getvalue()), ("cls", str(k % 2).encode())):
        ...             info = tarfile.TarInfo(f"{k:06d}.{ext}"); info.size = len(data)
        ...             tar.addfile(info, io.BytesIO(data))
        >>> shard = TarShard(path)
        >>> x, y, skipped = shard.read()
        >>> len(shard), x.shape, x.dtype, y.tolist()
        (3, torch.Size([3, 1, 2, 4]), torch.uint8, [0, 1, 0])
    """

    def __init__(self, path, *, length: int | None = None, size=None, mode=None,
                 num_classes: int | None = None):
        if not isinstance(path, (str, PathLike)):
            raise ArgumentTypeError(f"a tar shard is a path. Received: {path!r} "
                                    f"({type(path).__name__}).")
        self.path = Path(path)
        self._len = None if length is None else int(length)
        self.size = None if size is None else tuple(int(s) for s in size)
        self.mode = mode
        self.num_classes = num_classes

    def __len__(self) -> int:
        if self._len is None:
            try:
                with tarfile.open(self.path, "r:*") as tar:
                    self._len = len({_split_name(m.name)[0] for m in tar if m.isfile()
                                     and _split_name(m.name)[1] == "cls"})
            except (OSError, tarfile.TarError, EOFError) as error:
                raise DataFileError(f"Cannot read the shard {self.path}: "
                                    f"{type(error).__name__}: {error}.") from error
        return self._len

    def _samples(self) -> list[tuple[str, dict[str, bytes]]]:
        data = self.path.read_bytes()
        fast = _plain_tar_members(data)
        if fast is not None:
            return _group(fast)
        samples: list[tuple[str, dict[str, bytes]]] = []
        with tarfile.open(self.path, "r:*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                key, ext = _split_name(member.name)
                if not samples or samples[-1][0] != key:
                    samples.append((key, {}))
                handle = tar.extractfile(member)
                samples[-1][1][ext] = handle.read() if handle is not None else b""
        return samples

    def read(self, on_error: str = "raise"):
        """``(x, y, skipped)``: the readable samples and ``(where, reason)`` of the others."""
        one_of(on_error, _ON_ERROR, "on_error")
        skipped: list[tuple[str, str]] = []
        try:
            samples = self._samples()
            if self._len is not None and len(samples) < self._len:
                # Cut short at a member boundary: the index knows how many there were.
                raise tarfile.ReadError(f"it holds {len(samples)} samples but {self._len} were "
                                        f"announced (index.json): it was cut short")
        except (OSError, tarfile.TarError, EOFError) as error:
            _shard_error(f"the shard {self.path}", error, on_error, skipped)
            return _empty(), torch.zeros(0, dtype=torch.int64), skipped
        arrays, labels = [], []
        for key, members in samples:
            try:
                arrays.append(self._decode(key, members))
                labels.append(self._label(key, members))
            except (OSError, ValueError, SyntaxError, KeyError) as error:
                if isinstance(error, ShapeError):
                    raise
                if len(arrays) > len(labels):
                    arrays.pop()
                _shard_error(f"the sample {key} of the shard {self.path}", error, on_error,
                             skipped)
        if not arrays:
            return _empty(), torch.zeros(0, dtype=torch.int64), skipped
        x = torch.from_numpy(_stack(arrays, f"the shard {self.path}"))
        return x, torch.tensor(labels, dtype=torch.int64), skipped

    def _decode(self, key, members):
        ext = next((e for e in _IMAGE_EXT if e in members), None)
        if ext is None:
            raise KeyError(f"no image member ({key}.png, .jpg, ... or .npy); it holds "
                           f"{', '.join(sorted(members)) or 'nothing'}")
        return _decode_image(members[ext], ext, self.size, self.mode)

    def _label(self, key, members) -> int:
        if "cls" not in members:
            raise KeyError(f"no label member {key}.cls")
        text = bytes(members["cls"]).decode("ascii", "replace").strip()
        try:
            label = int(text)
        except ValueError:
            raise ValueError(f"the label {text[:20]!r} in {key}.cls is not a class "
                             f"index") from None
        if label < 0 or (self.num_classes is not None and label >= self.num_classes):
            raise ValueError(f"the label {label} in {key}.cls is outside the "
                             f"{self.num_classes} classes")
        return label

    def load(self) -> tuple[torch.Tensor, torch.Tensor]:
        x, y, self.skipped = self.read("raise")
        return x, y

    def __repr__(self) -> str:
        return f"TarShard({str(self.path)!r})"


def _empty() -> torch.Tensor:
    return torch.zeros((0,), dtype=torch.uint8)


# ----------------------------------------------------------------------------- npz


def _npz_length(path: Path, key: str) -> int:
    """The first dimension of ``key`` in an ``.npz``, read from the header only."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive, archive.open(f"{key}.npy") as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _, _ = np.lib.format.read_array_header_1_0(member)
            else:
                shape, _, _ = np.lib.format.read_array_header_2_0(member)
    except KeyError:
        raise ArgumentError(f"y_key={key!r} is not an array in {path}.") from None
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DataFileError(f"Cannot read {path} as an .npz file: {error}.") from error
    return int(shape[0])


class NpzShard:
    """One ``.npz`` file of a sharded data set, read only when ``read()`` is called.

    Args:
        path: the file.
        x_key, y_key: names of the samples and labels arrays.
        input_shape, channels_last, scale, num_classes: as for ``as_dataset``.
    """

    def __init__(self, path, *, x_key: str = "x", y_key: str = "y", input_shape=None,
                 channels_last: bool = False, scale="auto", num_classes: int | None = None,
                 length: int | None = None):
        if not isinstance(path, (str, PathLike)):
            raise ArgumentTypeError(
                f"a shard must be a path to an .npz file or a shard object with load(). "
                f"Received: {path!r} ({type(path).__name__})."
            )
        self.path = Path(path)
        self.x_key, self.y_key = x_key, y_key
        self._options = dict(input_shape=input_shape, channels_last=channels_last,
                             scale=scale, num_classes=num_classes)
        self._len: int | None = length
        self.skipped: list[tuple[str, str]] = []

    def __len__(self) -> int:
        if self._len is None:
            if not self.path.is_file():
                raise DataFileError(f"No such .npz file: {self.path}.")
            self._len = _npz_length(self.path, self.y_key)
        return self._len

    def load(self) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = read_npz(self.path, self.x_key, self.y_key)
        ds = as_dataset(x, y, name=str(self.path), **self._options)
        return ds.x, ds.y

    def read(self, on_error: str = "raise"):
        """``(x, y, skipped)``; an unreadable file is one skipped entry with ``"skip"``."""
        one_of(on_error, _ON_ERROR, "on_error")
        skipped: list[tuple[str, str]] = []
        try:
            x, y = self.load()
        except DataFileError as error:
            if on_error == "raise":
                raise
            skipped.append((str(self.path), str(error)))
            return _empty(), torch.zeros(0, dtype=torch.int64), skipped
        return x, y, skipped

    def __repr__(self) -> str:
        return f"NpzShard({str(self.path)!r})"


# ----------------------------------------------------------------------------- folders


class ImageFolderShard:
    """A chunk of an image folder's files, read only when ``read()`` is called."""

    def __init__(self, files: Sequence[Path], labels: np.ndarray, classes: tuple[str, ...],
                 *, root: Path, size=None, mode=None, input_shape=None, on_error="raise"):
        self.files = list(files)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.classes = classes
        self.root = root
        self._options = dict(size=size, mode=mode, input_shape=input_shape)
        self.on_error = on_error
        self.skipped: list[tuple[str, str]] = []

    def __len__(self) -> int:
        """The number of files (an upper bound when unreadable ones are skipped)."""
        return len(self.files)

    def read(self, on_error: str | None = None):
        """``(x, y, skipped)`` of the chunk's readable images."""
        array, kept, skipped = read_images(self.files, root=self.root,
                                           on_error=on_error or self.on_error, **self._options)
        return torch.from_numpy(array), torch.from_numpy(self.labels[kept]), skipped

    def load(self) -> tuple[torch.Tensor, torch.Tensor]:
        x, y, self.skipped = self.read()
        return x, y

    def __repr__(self) -> str:
        return f"ImageFolderShard({len(self.files)} files under {str(self.root)!r})"


def image_folder_shards(root, *, chunk_size: int = 1024, seed: int = 0, size=None, mode=None,
                        input_shape=None, on_error: str = "raise") -> list[ImageFolderShard]:
    """Split an image folder (``root/<class>/<image>``) into lazily read shards.

    The file list is shuffled once with ``seed`` before it is cut into chunks of
    ``chunk_size`` files, so that every shard mixes the classes (a folder is sorted by
    class; chunks of the sorted list would each hold one class).

    Args:
        root: the folder; classes are its sorted sub-folder names.
        chunk_size: files per shard.
        seed: fixes which files go into which shard.
        size, mode, input_shape, on_error: as for ``load_image_folder``.

    Raises:
        ArgumentError: as ``load_image_folder`` for a folder without images or classes.

    Example:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> for cls in ("a", "b"):
        ...     (root / cls).mkdir()
        ...     for k in range(5):
        ...         Image.new("L", (4, 4), 40 * k).save(root / cls / f"{k}.png")
        >>> shards = image_folder_shards(root, chunk_size=4)
        >>> [len(s) for s in shards], shards[0].classes
        ([4, 4, 2], ('a', 'b'))
    """
    from .loader import _check_seed, seed_for

    positive_int(chunk_size, "chunk_size")
    files, labels, classes = list_image_folder(root)
    order = torch.randperm(len(files), generator=torch.Generator().manual_seed(
        seed_for(_check_seed(seed)))).numpy()
    shards = []
    for lo in range(0, len(files), chunk_size):
        rows = order[lo:lo + chunk_size]
        shards.append(ImageFolderShard([files[k] for k in rows], labels[rows], classes,
                                       root=Path(root), size=size, mode=mode,
                                       input_shape=input_shape, on_error=on_error))
    return shards


# ----------------------------------------------------------------------------- shard folders


def is_shard_folder(path) -> bool:
    """Whether ``path`` is a folder that ``cnnkit data pack`` wrote (it has ``index.json``).

    Example:
        >>> is_shard_folder("no/such/folder")
        False
    """
    path = Path(path)
    return path.is_dir() and (path / INDEX_FILE).is_file()


def read_index(folder) -> dict:
    """The ``index.json`` of a shard folder, checked.

    Raises:
        DataFileError: no index, or one that is not a shard index (named, with the fix).
    """
    folder = Path(folder)
    path = folder / INDEX_FILE
    try:
        index = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataFileError(f"{folder} has no {INDEX_FILE}, so it is not a shard folder. "
                            f"Write one with `cnnkit data pack SRC --out {folder}`.") from None
    except (OSError, ValueError) as error:
        raise DataFileError(f"Cannot read {path}: {error}. Pack the data again "
                            f"(`cnnkit data pack`).") from error
    splits = index.get("splits") if isinstance(index, dict) else None
    if (not isinstance(index, dict) or index.get("format") != FORMAT
            or not isinstance(splits, dict) or not isinstance(index.get("classes"), list)
            or not all(isinstance(v, list) and all(isinstance(s, dict) and "file" in s
                                                   and "samples" in s for s in v)
                       for v in splits.values())):
        raise DataFileError(f"{path} is not an index of {FORMAT} (it needs format, classes "
                            f"and splits of shards). Pack the data again (`cnnkit data pack`).")
    return index


def shard_count(source, split: str = "train") -> int | None:
    """The number of ``split`` shards of a shard folder; None for any other source.

    Example:
        >>> shard_count("digits") is None
        True
    """
    if not isinstance(source, (str, PathLike)) or not is_shard_folder(source):
        return None
    return len(read_index(source)["splits"].get(split, []))


def training_shards(count: int, val_fraction: float = 0.0) -> int:
    """Shards left for training when ``val_fraction`` of ``count`` are held out whole
    (``round(val_fraction * count)``, at least one when ``val_fraction > 0``).

    Example:
        >>> training_shards(8, 0.1), training_shards(8, 0), training_shards(20, 0.1)
        (7, 8, 18)
    """
    held = max(1, int(round(val_fraction * count))) if val_fraction and val_fraction > 0 else 0
    return count - held


def check_shard_processes(source, processes: int, val_fraction: float = 0.0) -> None:
    """Refuse more processes than a shard folder has training shards, before any starts.

    Every process reads whole shards of its own; with fewer shards than processes some
    would read nothing. Sources other than shard folders are not checked here.

    Raises:
        ArgumentError: naming the shard count and the number of processes.

    Example:
        >>> check_shard_processes("digits", 4)   # not a shard folder: nothing to check
    """
    count = shard_count(source) if source is not None else None
    if count is None or processes <= 1:
        return
    train = training_shards(count, val_fraction)
    if processes > train:
        held = f" ({count - train} of its {count} held out for validation)" if train < count \
            else ""
        raise ArgumentError(
            f"--nproc {processes} is more than the {train} training shards of {source}{held}: "
            f"each process reads whole shards of its own, so {processes - train} would read "
            f"none. Received: --nproc {processes}, {train} shards. Use --nproc {train} or "
            f"less, or pack the data into {processes} training shards or more (`cnnkit data "
            f"pack` with a smaller --shard-size).", argument="nproc")


def _open(folder: Path, entry: dict, size, mode, num_classes):
    path = folder / str(entry["file"])
    if path.parent.resolve() != folder.resolve():
        raise DataFileError(f"{folder / INDEX_FILE} names the shard {entry['file']!r} outside "
                            f"its folder. Pack the data again (`cnnkit data pack`).")
    if path.suffix == ".npz":
        return NpzShard(path, length=int(entry["samples"]), num_classes=num_classes)
    return TarShard(path, length=int(entry["samples"]), size=size, mode=mode,
                    num_classes=num_classes)


class ShardedDataset:
    """One split of a shard folder: what training streams, described without reading it.

    Args:
        folder: a folder that ``cnnkit data pack`` wrote.
        split: ``"train"`` or ``"test"``.
        input_shape: ``(C, H, W)`` a network takes: images are converted and resized to it.
        on_error: ``"raise"`` stops at a missing or unreadable shard or sample (named);
            ``"skip"`` leaves it out with a warning.

    Attributes:
        shards: the shard objects, in the index's order (missing ones left out with
            ``"skip"``).
        classes, input_shape, label_counts: from the index.

    Raises:
        DataFileError: no index; a missing shard with ``on_error="raise"``.
        ArgumentError: a split the folder does not have.

    Example:
        >>> import tempfile, torch
        >>> from cnnkit.data.pack import pack
        >>> folder = tempfile.mkdtemp() + "/shards"
        >>> _ = pack("digits", folder, shard_size=500)
        >>> train = ShardedDataset(folder)
        >>> len(train), len(train.shards), train.input_shape, len(train.classes)
        (1438, 3, (1, 8, 8), 10)
    """

    target = "class"

    def __init__(self, folder, split: str = "train", *, input_shape=None,
                 on_error: str = "raise"):
        one_of(on_error, _ON_ERROR, "on_error")
        self.folder = Path(folder)
        self.index = read_index(self.folder)
        self.split = split
        entries = self.index["splits"].get(split)
        if not entries:
            have = ", ".join(k for k, v in self.index["splits"].items() if v) or "none"
            raise ArgumentError(f"the shard folder {self.folder} has no {split!r} shards (its "
                                f"splits: {have}). Pack it again with a {split} part.",
                                argument="data")
        self.classes = tuple(str(c) for c in self.index["classes"])
        stored = self.index.get("input_shape")
        if input_shape is not None:
            shape = tuple(int(s) for s in input_shape)
        else:
            shape = tuple(stored) if stored else None
        self.input_shape = shape
        size = mode = None
        if shape is not None and len(shape) == 3 and shape[0] in (1, 3):
            size, mode = shape[1:], ("L" if shape[0] == 1 else "RGB")
        self.on_error = on_error
        self.name = str(self.folder)
        self.skipped: list[tuple[str, str]] = []
        self.shards = []
        self.label_counts = np.zeros(len(self.classes), dtype=np.int64)
        for entry in entries:
            shard = _open(self.folder, entry, size, mode, len(self.classes))
            if not shard.path.is_file():
                if on_error == "raise":
                    raise DataFileError(
                        f"The shard {shard.path} listed in {self.folder / INDEX_FILE} is "
                        f"missing. Restore it, pack the data again, or pass on_error='skip' "
                        f"to leave it out.")
                self.skipped.append((str(shard.path), "missing"))
                continue
            self.shards.append(shard)
            counts = entry.get("labels")
            if isinstance(counts, list) and len(counts) == len(self.classes):
                self.label_counts += np.asarray(counts, dtype=np.int64)
        if self.skipped:
            warnings.warn(f"Skipped {len(self.skipped)} of {len(entries)} {split} shards of "
                          f"{self.folder} that are missing: "
                          f"{', '.join(Path(p).name for p, _ in self.skipped[:5])}.",
                          SkippedFilesWarning, stacklevel=2)
        if not self.shards:
            raise DataFileError(f"none of the {len(entries)} {split} shards of {self.folder} "
                                f"exists. Pack the data again (`cnnkit data pack`).")

    def __len__(self) -> int:
        return sum(len(s) for s in self.shards)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def subset(self, shards: Sequence) -> "ShardedDataset":
        """The same split with only ``shards`` (a list of this split's shard objects)."""
        copy = object.__new__(ShardedDataset)
        copy.__dict__.update(self.__dict__)
        copy.shards = list(shards)
        return copy

    def load(self) -> Dataset:
        """Every sample of the split in memory (for a test or validation split)."""
        xs, ys, skipped = [], [], []
        for shard in self.shards:
            x, y, bad = read_shard(shard, self.on_error)
            skipped += bad
            if len(y):
                xs.append(x)
                ys.append(y)
        if not ys:
            raise DataFileError(f"no sample of the {self.split} shards of {self.folder} could "
                                f"be read (first: {skipped[0][0]}: {skipped[0][1]}).")
        if any(x.dtype != xs[0].dtype for x in xs):
            xs = [x.float() / 255 if x.dtype == torch.uint8 else x.float() for x in xs]
        x = torch.cat(xs)
        x = x.float().div_(255.0) if x.dtype == torch.uint8 else x
        if skipped:
            from .sources import warn_skipped

            warn_skipped(skipped, len(self), f"the {self.split} shards of {self.folder}")
        return Dataset(x, torch.cat(ys), self.classes, name=self.name, split=self.split,
                       skipped=tuple(self.skipped + skipped))

    def loader(self, *, batch_size: int, seed: int = 0, device=None, num_workers="auto",
               buffer_size: int = 10_000, **options):
        """A :class:`~cnnkit.data.loader.StreamingLoader` over this split's shards, sharded
        per process under torchrun."""
        from .loader import StreamingLoader

        return StreamingLoader(self.shards, batch_size=batch_size, seed=seed, device=device,
                               num_workers=num_workers, buffer_size=buffer_size,
                               on_error=self.on_error, drop_last=True, **options)

    def split_validation(self, fraction: float, seed: int = 0):
        """``(train, val)``: whole shards held out for validation, the same on every resume.

        ``round(fraction * shards)`` shards (at least one) go to validation, chosen with
        ``seed``; the validation shards are read into memory.

        Raises:
            ArgumentError: too few shards to hold any out and still train.
        """
        from .loader import seed_for

        count = len(self.shards)
        cut = count - training_shards(count, fraction)
        if cut >= count:
            raise ArgumentError(
                f"config.val_fraction {fraction:g} of the {count} training shards of "
                f"{self.folder} holds out {cut} shard(s) for validation and leaves {count - cut} "
                f"for training; validation takes whole shards. Received: val_fraction="
                f"{fraction!r}. Set val_fraction: 0, or pack the data into more shards "
                f"(a smaller --shard-size).", argument="val_fraction")
        order = torch.randperm(count, generator=torch.Generator().manual_seed(
            seed_for(seed, 0x7A1))).tolist()
        held = sorted(order[:cut])
        val = self.subset([self.shards[k] for k in held]).load()
        train = self.subset([s for k, s in enumerate(self.shards) if k not in set(held)])
        return train, val

    def __repr__(self) -> str:
        return (f"ShardedDataset({str(self.folder)!r}, split={self.split!r}, n={len(self)}, "
                f"shards={len(self.shards)})")


def load_shards(folder, input_shape=None, *, on_error: str = "raise"):
    """``(train, test)`` of a shard folder: the train split as a :class:`ShardedDataset`
    (streamed), the test split read into memory as a :class:`Dataset`.

    Raises:
        DataFileError: no index; missing or unreadable shards with ``on_error="raise"``.
        ArgumentError: a folder without a train or test part.
    """
    train = ShardedDataset(folder, "train", input_shape=input_shape, on_error=on_error)
    test = ShardedDataset(folder, "test", input_shape=input_shape, on_error=on_error).load()
    return train, test


def training_data(train_set, *, batch_size: int, seed: int = 0, val_fraction: float = 0.0,
                  device=None, num_workers="auto", shuffle: bool = True):
    """What a Trainer takes for ``train_set``: ``((x, y), None)`` for data in memory (the
    Trainer holds out ``val_fraction`` itself), ``(loader, val)`` for a
    :class:`ShardedDataset` (validation: whole shards, in memory; None without).

    Example:
        >>> from cnnkit.data import load_dataset
        >>> (x, y), val = training_data(load_dataset("digits", "train"), batch_size=64)
        >>> x.shape, val
        (torch.Size([1438, 1, 8, 8]), None)
    """
    if not isinstance(train_set, ShardedDataset):
        return (train_set.x, train_set.y), None
    val = None
    if val_fraction and val_fraction > 0:
        train_set, val = train_set.split_validation(val_fraction, seed)
    return train_set.loader(batch_size=batch_size, seed=seed, device=device,
                            num_workers=num_workers, shuffle=shuffle), val


def worker_count(setting, tasks: int, processes: int = 1) -> int:
    """Decoding processes for ``setting`` (an int, or ``"auto"``: the cores this process
    may use, shared by ``processes`` training processes, less one for training, at
    least 1, at most 8), never more than there are ``tasks``.

    Example:
        >>> worker_count(3, tasks=2), worker_count(0, tasks=5)
        (2, 0)
    """
    if setting == "auto":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        setting = max(1, min(8, cores // max(processes, 1) - 1))
    elif isinstance(setting, bool) or not isinstance(setting, int) or setting < 0:
        raise ArgumentError(f"num_workers must be a non-negative int or 'auto'. Received: "
                            f"num_workers={setting!r}.", argument="num_workers")
    return min(setting, tasks)
