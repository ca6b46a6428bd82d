"""Loaders for a user's own data: NumPy arrays and ``.npz`` files, CSV tables and
folders of images with one sub-folder per class.

Every loader returns a ``Dataset`` (float32 ``x`` in [0, 1], int64 ``y``). Unreadable
images are reported by file name; ``on_error="skip"`` leaves them out, lists them in
``Dataset.skipped`` and warns once at the end with the count.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, one_of, to_tuple
from .dataset import DataFileError, Dataset, as_dataset

__all__ = [
    "IMAGE_EXTENSIONS",
    "SkippedFilesWarning",
    "list_image_folder",
    "load_csv",
    "load_image_folder",
    "load_npz",
    "read_images",
]

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".pgm", ".png", ".ppm", ".tif",
                    ".tiff", ".webp")
_MODES = ("L", "RGB")
_ON_ERROR = ("raise", "skip")
_GREY = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F", "La"}


class SkippedFilesWarning(UserWarning):
    """Some input files could not be read and were skipped (``on_error="skip"``)."""


def _path(value, name: str) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise ArgumentTypeError(
            f"{name} must be a path (str or os.PathLike). Received: {name}={value!r} "
            f"({type(value).__name__})."
        )
    return Path(value)


# ----------------------------------------------------------------------------- npz


def load_npz(path, *, x_key: str = "x", y_key: str = "y", num_classes: int | None = None,
             classes=None, input_shape=None, channels_last: bool = False,
             scale="auto") -> Dataset:
    """Load samples and labels from a NumPy ``.npz`` file.

    Args:
        path: the ``.npz`` file.
        x_key: name of the samples array in the file.
        y_key: name of the labels array.
        num_classes, classes, input_shape, channels_last, scale: as for ``as_dataset``.

    Shape:
        ``x`` -> ``(N, C, *spatial)`` float32 in [0, 1]; ``y`` -> ``(N,)`` int64.

    Raises:
        DataFileError: the file is missing or not a readable ``.npz``.
        ArgumentError: ``x_key`` / ``y_key`` not in the file (lists its keys); labels
            out of range for ``num_classes``.

    Example:
        >>> import numpy as np, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "toy.npz")
        >>> np.savez(path, images=np.zeros((3, 5, 5), np.uint8), labels=[0, 1, 0])
        >>> load_npz(path, x_key="images", y_key="labels").input_shape
        (1, 5, 5)
    """
    path = _path(path, "path")
    x, y = read_npz(path, x_key, y_key)
    return as_dataset(x, y, num_classes=num_classes, classes=classes, input_shape=input_shape,
                      channels_last=channels_last, scale=scale, name=str(path))


def read_npz(path: Path, x_key: str = "x", y_key: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """The two arrays ``x_key`` and ``y_key`` of an ``.npz`` file, checked."""
    if not path.is_file():
        raise DataFileError(f"No such .npz file: {path}. Received: path={str(path)!r}.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            for key, name in ((x_key, "x_key"), (y_key, "y_key")):
                if key not in keys:
                    raise ArgumentError(
                        f"{name}={key!r} is not an array in {path}. The file holds: "
                        f"{', '.join(repr(k) for k in keys)}. Pass {name}=<one of these>."
                    )
            return archive[x_key], archive[y_key]
    except ArgumentError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise DataFileError(f"Cannot read {path} as an .npz file: {error}.") from error


# ----------------------------------------------------------------------------- csv


def _open_text(path: Path):
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_csv(path, *, label_column=0, input_shape=None, header="auto", delimiter: str = ",",
             num_classes: int | None = None, classes=None, channels_last: bool = False,
             scale="auto") -> Dataset:
    """Load a CSV table with one sample per row: a label column and pixel columns.

    Args:
        path: the ``.csv`` (or ``.csv.gz``) file.
        label_column: index of the label column (negative counts from the end, ``-1`` is
            the last), or its name when the file has a header.
        input_shape: ``(C, *spatial)`` of one sample, e.g. ``(1, 28, 28)`` for 784 pixel
            columns; without it each row is a 1-D signal ``(1, L)``.
        header: ``True``, ``False`` or ``"auto"`` (a first row with a non-numeric field
            is a header).
        delimiter: the field separator.
        num_classes, classes, channels_last, scale: as for ``as_dataset``. Labels that
            are not numbers are class names: they are sorted and numbered from 0.

    Shape:
        ``x`` -> ``(N, *input_shape)`` float32 in [0, 1]; ``y`` -> ``(N,)`` int64.

    Raises:
        DataFileError: the file is missing, empty or has a malformed row (row named).
        ArgumentError: unknown ``label_column``; labels out of range for ``num_classes``.
        ShapeError: ``input_shape`` does not match the number of pixel columns.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "toy.csv")
        >>> _ = open(path, "w").write("label,p0,p1,p2,p3\\n1,0,255,0,255\\n0,255,0,0,0\\n")
        >>> ds = load_csv(path, label_column="label", input_shape=(1, 2, 2))
        >>> ds.input_shape, ds.y.tolist(), ds.x[0, 0].tolist()
        ((1, 2, 2), [1, 0], [[0.0, 1.0], [0.0, 1.0]])
    """
    path = _path(path, "path")
    if not path.is_file():
        raise DataFileError(f"No such CSV file: {path}. Received: path={str(path)!r}.")
    if header not in (True, False, "auto"):
        raise ArgumentError(f"header must be True, False or 'auto'. Received: header={header!r}.")
    try:
        with _open_text(path) as handle:
            first = next(csv.reader(handle, delimiter=delimiter), None)
    except (OSError, UnicodeDecodeError, EOFError) as error:
        raise DataFileError(f"Cannot read {path} as a CSV file: {error}.") from error
    if not first:
        raise DataFileError(f"{path} is empty: a CSV file needs one row per sample.")
    has_header = (header is True or
                  (header == "auto" and not all(_is_number(f) for f in first)))
    names = [f.strip() for f in first] if has_header else None
    n_cols = len(first)
    if isinstance(label_column, str):
        if names is None or label_column not in names:
            hint = (f" The header names: {', '.join(repr(n) for n in names)}." if names else
                    " The file has no header row; pass the column index instead.")
            raise ArgumentError(
                f"label_column={label_column!r} is not a column of {path}.{hint}"
            )
        label_index = names.index(label_column)
    elif isinstance(label_column, int) and not isinstance(label_column, bool):
        if not -n_cols <= label_column < n_cols:
            raise ArgumentError(
                f"label_column must index one of the {n_cols} columns of {path}. "
                f"Received: label_column={label_column}."
            )
        label_index = label_column % n_cols
    else:
        raise ArgumentTypeError(
            f"label_column must be a column index or name. Received: "
            f"label_column={label_column!r}."
        )
    pixel_cols = [k for k in range(n_cols) if k != label_index]
    skip = 1 if has_header else 0
    try:
        with _open_text(path) as handle:
            text = handle.read()
        # Two vectorised passes over the text: labels as strings, pixels as float32.
        labels = np.loadtxt(io.StringIO(text), delimiter=delimiter, skiprows=skip,
                            usecols=[label_index], dtype=str, ndmin=1)
        pixels = np.loadtxt(io.StringIO(text), delimiter=delimiter, skiprows=skip,
                            usecols=pixel_cols, dtype=np.float32, ndmin=2)
    except ValueError as error:
        raise DataFileError(
            f"Cannot parse {path}: {error}. Every row needs {n_cols} fields separated by "
            f"{delimiter!r}; pass delimiter=... if the file uses another separator."
        ) from error
    labels = np.char.strip(labels)
    if all(_is_number(v) for v in labels[:1000]) and all(_is_number(v) for v in labels):
        y = labels.astype(np.float64)
    else:
        names_found = sorted(set(labels.tolist()))
        if classes is None:
            classes = names_found
        unknown = sorted(set(names_found) - set(map(str, classes)))
        if unknown:
            raise ArgumentError(
                f"{path} has labels {unknown[:5]} that are not in classes={list(classes)!r}. "
                f"Add them to classes or leave classes=None to use the sorted label names."
            )
        lookup = {str(c): k for k, c in enumerate(classes)}
        y = np.array([lookup[v] for v in labels.tolist()], dtype=np.int64)
    return as_dataset(pixels, y, num_classes=num_classes, classes=classes,
                      input_shape=input_shape, channels_last=channels_last, scale=scale,
                      name=str(path))


# ----------------------------------------------------------------------------- images


def list_image_folder(root) -> tuple[list[Path], np.ndarray, tuple[str, ...]]:
    """List a folder with one sub-folder per class: ``(files, labels, classes)``.

    Classes are the sub-folder names, sorted; files are sorted within each class. Files
    whose extension is not an image's (``IMAGE_EXTENSIONS``) and hidden files are
    ignored.

    Raises:
        DataFileError: ``root`` is not a folder.
        ArgumentError: no class sub-folders, no images, or only one class.
    """
    root = _path(root, "root")
    if not root.is_dir():
        raise DataFileError(f"No such folder: {root}. Received: root={str(root)!r}.")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files: list[Path] = []
    labels: list[int] = []
    classes: list[str] = []
    for class_dir in class_dirs:
        found = sorted(p for p in class_dir.rglob("*")
                       if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                       and not any(part.startswith(".") for part in p.relative_to(root).parts))
        if not found:
            continue
        labels.extend([len(classes)] * len(found))
        classes.append(class_dir.name)
        files.extend(found)
    if not files:
        loose = [p.name for p in root.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS][:3]
        hint = (f" Images lie directly in {root} ({', '.join(loose)}, ...): move them into "
                f"one sub-folder per class." if loose else "")
        raise ArgumentError(
            f"The folder {root} holds no images in class sub-folders (root/<class>/<image>, "
            f"extensions {', '.join(IMAGE_EXTENSIONS)}).{hint}"
        )
    if len(classes) < 2:
        raise ArgumentError(
            f"The folder {root} holds images of only one class ({classes[0]!r}); a "
            f"classifier needs at least two. Add one sub-folder per class: "
            f"{root}/<class name>/<image files>."
        )
    return files, np.asarray(labels, dtype=np.int64), tuple(classes)


def _channels(mode: str) -> int:
    return 1 if mode in _GREY else 3


def _describe(size, channels) -> str:
    return f"{channels}x{size[1]}x{size[0]} ({'grey' if channels == 1 else 'RGB'})"


def read_images(files: Sequence[Path], *, size=None, mode=None, input_shape=None,
                on_error: str = "raise", root=None):
    """Read image files into one uint8 array ``(N, C, H, W)``.

    Returns ``(array, kept, skipped)``: ``kept`` are the indices into ``files`` that were
    read, ``skipped`` is a list of ``(file, reason)``. Sizes and channel counts must
    agree with each other (or with ``input_shape``); ``size`` resizes, ``mode`` converts.
    """
    one_of(on_error, _ON_ERROR, "on_error")
    if mode is not None:
        one_of(mode, _MODES, "mode")
    target = None if size is None else to_tuple(size, 2, "size")  # (H, W)
    expect_c = expect_hw = None
    if input_shape is not None:
        shape = tuple(input_shape)
        if len(shape) != 3:
            raise ArgumentError(
                f"input_shape for images must be (channels, height, width). Received: "
                f"input_shape={input_shape!r}."
            )
        expect_c, expect_hw = int(shape[0]), (int(shape[1]), int(shape[2]))
        if expect_c not in (1, 3):
            raise ArgumentError(
                f"input_shape must have 1 (grey) or 3 (RGB) channels for images. Received: "
                f"input_shape={input_shape!r}."
            )
    from PIL import Image, UnidentifiedImageError

    out = None
    kept: list[int] = []
    skipped: list[tuple[str, str]] = []
    first_name = None

    def name_of(path: Path) -> str:
        return str(path.relative_to(root)) if root is not None else str(path)

    for index, path in enumerate(files):
        try:
            with Image.open(path) as image:
                image.load()
                native = image.mode
                if mode is not None:
                    converted = image.convert(mode)
                else:
                    converted = image.convert("L" if _channels(native) == 1 else "RGB")
                if target is not None and converted.size != (target[1], target[0]):
                    converted = converted.resize((target[1], target[0]), Image.BILINEAR)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
            reason = f"{type(error).__name__}: {error}"
            if on_error == "raise":
                raise DataFileError(
                    f"Cannot read the image {path}: {reason}. Remove or replace the file, or "
                    f"pass on_error='skip' to leave unreadable images out."
                ) from error
            skipped.append((name_of(path), reason))
            continue
        array = np.asarray(converted, dtype=np.uint8)
        array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
        c, h, w = array.shape
        if expect_c is not None and (c, (h, w)) != (expect_c, expect_hw):
            fixes = []
            if (h, w) != expect_hw:
                fixes.append(f"size={expect_hw} to resize")
            if c != expect_c:
                fixes.append(f"mode={'L' if expect_c == 1 else 'RGB'!r} to convert")
            raise ShapeError(
                f"The image {path} is {_describe((w, h), c)} but input_shape={tuple(input_shape)} "
                f"expects {_describe((expect_hw[1], expect_hw[0]), expect_c)}. Pass "
                f"{' and '.join(fixes)} every image."
            )
        if out is None:
            out = np.empty((len(files), c, h, w), dtype=np.uint8)
            first_name = path
        elif out.shape[1:] != (c, h, w):
            fc, fh, fw = out.shape[1:]
            fixes = []
            if (h, w) != (fh, fw):
                fixes.append(f"size=({fh}, {fw}) to resize")
            if c != fc:
                fixes.append("mode='L' or mode='RGB' to convert")
            raise ShapeError(
                f"The image {path} is {_describe((w, h), c)} but {first_name} is "
                f"{_describe((fw, fh), fc)}; images of one data set must agree. Pass "
                f"{' and '.join(fixes)} every image."
            )
        out[len(kept)] = array
        kept.append(index)
    if out is None:
        out = np.empty((0, expect_c or 1, *(expect_hw or target or (0, 0))), dtype=np.uint8)
    return out[:len(kept)], kept, skipped


def warn_skipped(skipped, total: int, where) -> None:
    """One warning at the end of a load that skipped files (count and the first few)."""
    if not skipped:
        return
    shown = "; ".join(f"{name} ({reason})" for name, reason in skipped[:5])
    more = f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
    warnings.warn(
        f"Skipped {len(skipped)} of {total} images in {where} that could not be read: "
        f"{shown}{more}. The list is in Dataset.skipped.",
        SkippedFilesWarning, stacklevel=3,
    )


def load_image_folder(root, *, size=None, mode=None, input_shape=None,
                      on_error: str = "raise", num_classes: int | None = None) -> Dataset:
    """Load a folder of images with one sub-folder per class (``root/<class>/<image>``).

    Args:
        root: the folder. Classes are its sub-folder names, sorted alphabetically.
        size: ``(height, width)`` or one int to resize every image to (bilinear).
        mode: ``"L"`` (grey, 1 channel) or ``"RGB"`` (3 channels) to convert every image;
            ``None`` keeps each image's own kind, which must then agree.
        input_shape: ``(C, H, W)`` the images must have (after ``size`` / ``mode``);
            an image that does not fit is an error that says both shapes.
        on_error: ``"raise"`` stops at the first unreadable image (named); ``"skip"``
            leaves such images out, warns once with the count and lists them in
            ``Dataset.skipped``.
        num_classes: declared number of classes; the folder must not have more.

    Shape:
        ``x`` -> ``(N, C, H, W)`` float32 in [0, 1]; ``y`` -> ``(N,)`` int64.

    Raises:
        ArgumentError: no images; only one class; more classes than ``num_classes``.
        ShapeError: an image's size or channels do not fit ``input_shape`` or the others.
        DataFileError: an unreadable image with ``on_error="raise"``.

    Example:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> for cls in ("cat", "dog"):
        ...     (root / cls).mkdir()
        ...     Image.new("RGB", (12, 10), (255, 0, 0)).save(root / cls / "a.png")
        >>> ds = load_image_folder(root, size=8, mode="L")
        >>> ds.classes, ds.input_shape, ds.y.tolist()
        (('cat', 'dog'), (1, 8, 8), [0, 1])
    """
    files, labels, classes = list_image_folder(root)
    if num_classes is not None and len(classes) > num_classes:
        raise ArgumentError(
            f"The folder {root} has {len(classes)} classes ({', '.join(classes)}) but "
            f"num_classes={num_classes}. Pass num_classes={len(classes)} or remove folders."
        )
    array, kept, skipped = read_images(files, size=size, mode=mode, input_shape=input_shape,
                                       on_error=on_error, root=Path(root))
    if not kept:
        raise DataFileError(
            f"None of the {len(files)} images in {root} could be read (first: "
            f"{skipped[0][0]}: {skipped[0][1]}). Check that the files are images."
        )
    warn_skipped(skipped, len(files), root)
    x = torch.from_numpy(array).to(torch.float32).div_(255.0)
    y = torch.from_numpy(labels[kept])
    names = classes
    if num_classes is not None and num_classes > len(classes):
        names = classes + tuple(str(k) for k in range(len(classes), num_classes))
    return Dataset(x, y, names, name=str(root), skipped=tuple(skipped))
