"""Loaders for a user's own data: NumPy arrays and ``.npz`` files, CSV tables and
folders of images with one sub-folder per class.

Every loader returns a ``Dataset``: float32 ``x`` with the values the files hold (8-bit
pixels / 255, 16-bit / 65535, floats as they are) and ``y`` of any kind of target
(``cnnkit.data.targets``). Unreadable
images are reported by file name; ``on_error="skip"`` leaves them out, lists them in
``Dataset.skipped`` and warns once at the end with the count.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
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
from .targets import IGNORE_INDEX

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
_GREY = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F", "La"}
# Modes with more than 8 bits per pixel: read as arrays, never through convert("L").
_WIDE = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


class SkippedFilesWarning(UserWarning):
    """Some input files could not be read and were skipped (``on_error="skip"``)."""


def _path(value, name: str) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise ArgumentTypeError(
            f"{name} must be a path (str or os.PathLike). Received: {name}={value!r} "
            f"({type(value).__name__})."
        )
    return Path(value)


@contextlib.contextmanager
def _naming(path: Path):
    """Prefix the checks' messages ("y has labels outside ...") with the file they are about."""
    try:
        yield
    except (ArgumentError, ArgumentTypeError, ShapeError) as error:
        raise type(error)(f"{path}: {error}") from None


# ----------------------------------------------------------------------------- npz

NPZ_SPLITS = ("train", "val", "test")


def load_npz(path, *, x_key: str = "x", y_key: str = "y", split: str | None = None,
             target: str | None = None, num_classes: int | None = None, classes=None,
             input_shape=None, channels_last: bool = False, scale="auto",
             ignore_index: int = IGNORE_INDEX) -> Dataset:
    """Load samples and targets from a NumPy ``.npz`` file.

    Besides ``x_key`` and ``y_key`` the file may hold row-index arrays ``train``, ``val``
    and ``test`` (a split fixed by whoever made the file) and ``classes`` (an array of
    class names). ``y`` can be any kind of target (``cnnkit.data.targets``).

    Args:
        path: the ``.npz`` file.
        x_key: name of the samples array in the file.
        y_key: name of the targets array.
        split: ``None`` or ``"all"`` for every row; ``"train"``, ``"val"`` or ``"test"``
            for the rows that the file's index array of that name lists.
        target, num_classes, classes, input_shape, channels_last, scale, ignore_index:
            as for ``as_dataset``; ``classes`` defaults to the file's ``classes`` array.

    Shape:
        ``x`` -> ``(N, C, *spatial)`` float32; ``y`` -> as ``target`` says.

    Raises:
        DataFileError: the file is missing or not a readable ``.npz``.
        ArgumentError: ``x_key`` / ``y_key`` / ``split`` not in the file (lists its
            keys); an index array with rows outside the file; labels out of range.

    Example:
        >>> import numpy as np, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "toy.npz")
        >>> np.savez(path, images=np.zeros((3, 5, 5), np.uint8), labels=[0, 1, 0])
        >>> load_npz(path, x_key="images", y_key="labels").input_shape
        (1, 5, 5)
        >>> np.savez(path, x=np.zeros((4, 6), np.float32), y=np.random.rand(4, 2),
        ...          train=[0, 1, 2], test=[3])
        >>> ds = load_npz(path, split="test")
        >>> len(ds), ds.target, ds.y.shape
        (1, 'regression', torch.Size([1, 2]))
    """
    path = _path(path, "path")
    if split is not None and split != "all":
        one_of(split, NPZ_SPLITS + ("all",), "split")
    extras = tuple(k for k in NPZ_SPLITS + ("classes",))
    arrays = read_npz_arrays(path, {"x_key": x_key, "y_key": y_key}, optional=extras)
    x, y = arrays[x_key], arrays[y_key]
    if classes is None and "classes" in arrays:
        names = arrays["classes"]
        if names.dtype.kind not in "US" or names.ndim != 1:
            raise ArgumentError(
                f"the array 'classes' in {path} must be a 1-D array of names (strings). "
                f"Received: dtype {names.dtype}, shape {names.shape}."
            )
        classes = [str(n) for n in names.tolist()]
    with _naming(path):
        full = as_dataset(x, y, target=target, num_classes=num_classes, classes=classes,
                          input_shape=input_shape, channels_last=channels_last, scale=scale,
                          ignore_index=ignore_index, name=str(path), split=split or "")
    found = [k for k in NPZ_SPLITS if k in arrays]
    info = {"splits": found}
    if split is None or split == "all":
        return dataclasses.replace(full, info=info)
    if split not in arrays:
        listed = ", ".join(repr(k) for k in found) or "none"
        raise ArgumentError(
            f"split={split!r} needs an index array {split!r} in {path}; the file's splits: "
            f"{listed}. Pass split=None for every row, or add the array."
        )
    rows = arrays[split]
    if rows.ndim != 1 or rows.dtype.kind not in "iu":
        raise ArgumentError(
            f"the split {split!r} in {path} must be a 1-D array of row indices. Received: "
            f"dtype {rows.dtype}, shape {rows.shape}."
        )
    if rows.size and (int(rows.min()) < 0 or int(rows.max()) >= len(full)):
        bad = int(rows.min()) if int(rows.min()) < 0 else int(rows.max())
        raise ArgumentError(
            f"the split {split!r} in {path} lists the row {bad}, but the file holds "
            f"{len(full)} samples (rows 0..{len(full) - 1}). Fix the index array."
        )
    subset = full[torch.from_numpy(rows.astype(np.int64))]
    return dataclasses.replace(subset, info=info)


def read_npz_arrays(path: Path, required: dict[str, str], optional=()) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file: ``required`` (argument name -> key) and those of
    ``optional`` that it holds; a missing required key lists the file's keys."""
    if not path.is_file():
        raise DataFileError(f"No such .npz file: {path}. Received: path={str(path)!r}.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            for name, key in required.items():
                if key not in keys:
                    raise ArgumentError(
                        f"{name}={key!r} is not an array in {path}. The file holds: "
                        f"{', '.join(repr(k) for k in keys)}. Pass {name}=<one of these>."
                    )
            wanted = list(required.values()) + [k for k in optional if k in keys]
            return {key: archive[key] for key in wanted}
    except ArgumentError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise DataFileError(f"Cannot read {path} as an .npz file: {error}.") from error


def read_npz(path: Path, x_key: str = "x", y_key: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """The two arrays ``x_key`` and ``y_key`` of an ``.npz`` file, checked."""
    arrays = read_npz_arrays(path, {"x_key": x_key, "y_key": y_key})
    return arrays[x_key], arrays[y_key]


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


def _column_index(column, names, n_cols: int, path: Path, arg: str) -> int:
    """The index of a column given by index (negative from the end) or header name."""
    if isinstance(column, str):
        if names is None or column not in names:
            hint = (f" The header names: {', '.join(repr(n) for n in names)}." if names else
                    " The file has no header row; pass the column index instead.")
            raise ArgumentError(f"{arg}={column!r} is not a column of {path}.{hint}")
        return names.index(column)
    if isinstance(column, int) and not isinstance(column, bool):
        if not -n_cols <= column < n_cols:
            raise ArgumentError(
                f"{arg} must index one of the {n_cols} columns of {path}. "
                f"Received: {arg}={column}."
            )
        return column % n_cols
    raise ArgumentTypeError(f"{arg} must be a column index or name. Received: {arg}={column!r}.")


def _first_non_finite(values: np.ndarray, columns: list[str], path: Path, what: str) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        raise ArgumentError(
            f"{path}: data row {row + 1}, column {columns[col]!r} holds "
            f"{float(values[row, col])!r}: {what} must be finite numbers. Fill the missing value "
            f"or remove the row."
        )


def load_csv(path, *, target_columns=None, label_column=None, target: str | None = None,
             input_shape=None, header="auto", delimiter: str = ",",
             num_classes: int | None = None, classes=None, channels_last: bool = False,
             scale="auto") -> Dataset:
    """Load a CSV table with one sample per row: target columns and feature columns.

    Every column that is not a target is a feature (a pixel, or a value of a signal).

    Args:
        path: the ``.csv`` (or ``.csv.gz``) file.
        target_columns: the target column, or a list of them (indices, negative from the
            end, or header names); default: column 0.
        label_column: one target column (the same as ``target_columns=[label_column]``).
        target: the kind of target; ``None`` infers it: one column of names or whole
            numbers is ``"class"``, one of other numbers ``"regression"``; several
            columns holding only 0 and 1 are ``"multilabel"``, other several columns
            ``"regression"``.
        input_shape: ``(C, *spatial)`` of one sample, e.g. ``(1, 28, 28)`` for 784 pixel
            columns; without it each row is a 1-D signal ``(1, L)``.
        header: ``True``, ``False`` or ``"auto"`` (a first row with a non-numeric field
            is a header).
        delimiter: the field separator.
        num_classes, classes, channels_last: as for ``as_dataset``. Class labels that
            are not numbers are class names: they are sorted and numbered from 0. For
            several target columns the class (or value) names default to the header's.
        scale: ``"auto"``: features that are all whole numbers in 0..255 are 8-bit pixels
            (divided by 255), other numbers are kept as they are; a number divides;
            ``None`` keeps every value.

    Shape:
        ``x`` -> ``(N, *input_shape)`` float32; ``y`` -> ``(N,)`` int64 classes or
        ``(N, K)`` float32 (multi-label or regression).

    Raises:
        DataFileError: the file is missing, empty or has a malformed row (row named).
        ArgumentError: unknown target column; labels out of range for ``num_classes``;
            a NaN, infinite or non-numeric target (row and column named).
        ShapeError: ``input_shape`` does not match the number of feature columns.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "toy.csv")
        >>> _ = open(path, "w").write("label,p0,p1,p2,p3\\n1,0,255,0,255\\n0,255,0,0,0\\n")
        >>> ds = load_csv(path, label_column="label", input_shape=(1, 2, 2))
        >>> ds.input_shape, ds.y.tolist(), ds.x[0, 0].tolist()
        ((1, 2, 2), [1, 0], [[0.0, 1.0], [0.0, 1.0]])
        >>> _ = open(path, "w").write("a,b,height,weight\\n0.5,-1,1.62,55.1\\n2,0.25,1.80,71.0\\n")
        >>> ds = load_csv(path, target_columns=["height", "weight"])
        >>> ds.target, ds.classes, ds.x[:, 0].tolist()
        ('regression', ('height', 'weight'), [[0.5, -1.0], [2.0, 0.25]])
    """
    path = _path(path, "path")
    if not path.is_file():
        raise DataFileError(f"No such CSV file: {path}. Received: path={str(path)!r}.")
    if header not in (True, False, "auto"):
        raise ArgumentError(f"header must be True, False or 'auto'. Received: header={header!r}.")
    if target_columns is not None and label_column is not None:
        raise ArgumentError(
            f"pass target_columns or label_column, not both. Received: "
            f"target_columns={target_columns!r}, label_column={label_column!r}."
        )
    if target is not None:
        one_of(target, ("class", "multilabel", "regression"), "target")
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
    if target_columns is None:
        arg, wanted = "label_column", [0 if label_column is None else label_column]
    elif isinstance(target_columns, (str, int)):
        arg, wanted = "target_columns", [target_columns]
    else:
        arg, wanted = "target_columns", list(target_columns)
        if not wanted:
            raise ArgumentError("target_columns must name at least one column. Received: [].")
    target_idx = [_column_index(c, names, n_cols, path, arg) for c in wanted]
    if len(set(target_idx)) != len(target_idx):
        raise ArgumentError(
            f"{arg} names a column twice. Received: {arg}={target_columns!r}."
        )
    column_names = names or [f"column {k}" for k in range(n_cols)]
    feature_idx = [k for k in range(n_cols) if k not in target_idx]
    if not feature_idx:
        raise ArgumentError(
            f"every column of {path} is a target ({arg}={wanted!r}); the samples need at "
            f"least one feature column."
        )
    skip = 1 if has_header else 0
    try:
        with _open_text(path) as handle:
            text = handle.read()
        # Two vectorised passes over the text: targets as strings, features as float32.
        labels = np.loadtxt(io.StringIO(text), delimiter=delimiter, skiprows=skip,
                            usecols=target_idx, dtype=str, ndmin=2)
        pixels = np.loadtxt(io.StringIO(text), delimiter=delimiter, skiprows=skip,
                            usecols=feature_idx, dtype=np.float32, ndmin=2)
    except ValueError as error:
        raise DataFileError(
            f"Cannot parse {path}: {error}. Every row needs {n_cols} fields separated by "
            f"{delimiter!r}; pass delimiter=... if the file uses another separator."
        ) from error
    labels = np.char.strip(labels)
    _first_non_finite(pixels, [column_names[k] for k in feature_idx], path, "features")
    target_names = [column_names[k] for k in target_idx]
    numeric = all(_is_number(v) for v in labels.ravel().tolist())
    if len(target_idx) == 1 and not numeric and target in (None, "class"):
        # Class names: sorted and numbered, or looked up in the given classes.
        values = labels[:, 0]
        names_found = sorted(set(values.tolist()))
        if classes is None:
            classes = names_found
        unknown = sorted(set(names_found) - set(map(str, classes)))
        if unknown:
            raise ArgumentError(
                f"{path} has labels {unknown[:5]} that are not in classes={list(classes)!r}. "
                f"Add them to classes or leave classes=None to use the sorted label names."
            )
        lookup = {str(c): k for k, c in enumerate(classes)}
        y = np.array([lookup[v] for v in values.tolist()], dtype=np.int64)
        kind = "class"
    else:
        if not numeric:
            row, col = next((r, c) for r in range(labels.shape[0])
                            for c in range(labels.shape[1]) if not _is_number(labels[r, c]))
            raise ArgumentError(
                f"{path}: data row {row + 1}, column {target_names[col]!r} holds "
                f"{str(labels[row, col])!r}, not a number; "
                f"{'several target columns' if len(target_idx) > 1 else f'target={target!r}'} "
                f"need numbers. Fix the value or remove the row."
            )
        values = labels.astype(np.float64)
        _first_non_finite(values, target_names, path, "targets")
        whole = bool((values == np.round(values)).all())
        zero_one = bool(((values == 0) | (values == 1)).all())
        kind = target or ("multilabel" if len(target_idx) > 1 and zero_one else
                          "class" if len(target_idx) == 1 and whole else "regression")
        if kind == "class":
            if len(target_idx) > 1:
                raise ArgumentError(
                    f"target='class' takes one label column; {arg} names {len(target_idx)}. "
                    f"Use target='multilabel' for several 0/1 columns."
                )
            y = values[:, 0]
        else:
            y = values if len(target_idx) > 1 or kind == "multilabel" else values[:, 0]
            if classes is None and (len(target_idx) > 1 or names):
                classes = target_names
    if scale == "auto" and pixels.size and bool((pixels == np.round(pixels)).all()) and \
            float(pixels.min()) >= 0 and float(pixels.max()) <= 255:
        pixels = pixels.astype(np.uint8)  # whole numbers 0..255: 8-bit pixel values
    with _naming(path):
        return as_dataset(pixels, y, target=kind, num_classes=num_classes, classes=classes,
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


def _pixels(image, mode, target) -> np.ndarray:
    """One opened image as float32 ``(C, H, W)``: 8-bit / 255, 16-bit / 65535, float kept.

    Pillow's ``convert("L")`` clips 16-bit values to 255 (a 16-bit image comes out
    white), so 16-bit and float images are read as arrays, resized in Pillow's float
    mode ``"F"`` and given channels here.
    """
    from PIL import Image

    native = image.mode
    if native in _WIDE:
        values = np.asarray(image)
        if native == "F":
            values = values.astype(np.float32)
        else:
            values = values.astype(np.float32)
            if native == "I" and values.size and (values.min() < 0 or values.max() > 65535):
                raise ValueError(
                    f"32-bit integer pixels in [{values.min():g}, {values.max():g}]; cnnkit "
                    f"reads integer images of 8 or 16 bits: save it as a 16-bit PNG or TIFF"
                )
            values = values / np.float32(65535.0)
        if target is not None and values.shape != target:
            resized = Image.fromarray(values, "F").resize((target[1], target[0]),
                                                          Image.BILINEAR)
            values = np.asarray(resized, dtype=np.float32)
        values = values[None]
        return np.repeat(values, 3, axis=0) if mode == "RGB" else values
    if mode is not None:
        converted = image.convert(mode)
    else:
        converted = image.convert("L" if _channels(native) == 1 else "RGB")
    if target is not None and converted.size != (target[1], target[0]):
        converted = converted.resize((target[1], target[0]), Image.BILINEAR)
    array = np.asarray(converted, dtype=np.uint8)
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return array.astype(np.float32) / np.float32(255.0)


def read_images(files: Sequence[Path], *, size=None, mode=None, input_shape=None,
                on_error: str = "raise", root=None):
    """Read image files into one float32 array ``(N, C, H, W)``.

    Values are kept as the files hold them: 8-bit images divided by 255, 16-bit images
    (PNG / TIFF ``I;16``) by 65535, float images (TIFF ``F``) as they are.

    Returns ``(array, kept, skipped)``: ``kept`` are the indices into ``files`` that were
    read, ``skipped`` is a list of ``(file, reason)``. Sizes and channel counts must
    agree with each other (or with ``input_shape``); ``size`` resizes (bilinear),
    ``mode`` converts (``"L"`` grey, ``"RGB"``).

    Raises:
        DataFileError: an unreadable image with ``on_error="raise"``.
        ShapeError: images that disagree in size or channels, or with ``input_shape``.

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> from PIL import Image
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "deep.png"
        >>> Image.fromarray(np.array([[0, 32768, 65535]], np.uint16)).save(path)
        >>> array, kept, skipped = read_images([path])
        >>> array.shape, array.round(4).tolist()
        ((1, 1, 1, 3), [[[[0.0, 0.5, 1.0]]]])
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
                array = _pixels(image, mode, target)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
            reason = f"{type(error).__name__}: {error}"
            if on_error == "raise":
                raise DataFileError(
                    f"Cannot read the image {path}: {reason}. Remove or replace the file, or "
                    f"pass on_error='skip' to leave unreadable images out."
                ) from error
            skipped.append((name_of(path), reason))
            continue
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
            out = np.empty((len(files), c, h, w), dtype=np.float32)
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
        out = np.empty((0, expect_c or 1, *(expect_hw or target or (0, 0))), dtype=np.float32)
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
        ``x`` -> ``(N, C, H, W)`` float32: 8-bit images / 255, 16-bit / 65535, float
        images as they are; ``y`` -> ``(N,)`` int64.

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
    x = torch.from_numpy(array)
    y = torch.from_numpy(labels[kept])
    names = classes
    if num_classes is not None and num_classes > len(classes):
        names = classes + tuple(str(k) for k in range(len(classes), num_classes))
    return Dataset(x, y, names, name=str(root), skipped=tuple(skipped))
