"""The user's splits: train, validation and test data as the user has them.

Three ways, in this order of precedence:

1. Separate data: ``val_data=`` / ``test_data=`` (``--val-data`` / ``--test-data``): a
   folder of images, a ``.npz`` or ``.csv`` file, a Dataset or ``(x, y)`` arrays, used
   whole.
2. A folder laid out as ``train/ val/ test/`` (``valid/`` or ``validation/`` for val),
   each with one sub-folder per class: the layout is the split. ``test/`` and ``val/`` may
   be missing; then the fractions below apply to ``train/``.
3. Fractions: ``test_fraction`` (default 0.2) of a file or folder is held out for
   testing, then ``val_fraction`` (default 0.1) of the rest for validation. A bundled
   data set has its own test split.

Class names decide labels across the splits: a ``val/`` folder whose classes are
``cat, dog`` gets the training labels of ``cat`` and ``dog`` even when the training folder
has more classes; a class the training data lacks is refused by name.

Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((50, 1, 4, 4), dtype=np.float32)
    >>> y = np.arange(50) % 2
    >>> train, val, test = load_splits((x, y), test_fraction=0.2)
    >>> len(train), val, len(test)
    (40, None, 10)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from .._validation import ArgumentError
from .dataset import Dataset, as_dataset
from .datasets import list_datasets, load_dataset
from .source import check_finite, load_data, resolve_source, with_channel_axis
from .sources import load_csv, load_image_folder, load_npz

__all__ = ["VAL_NAMES", "as_source", "folder_layout", "load_splits", "load_whole",
           "recorded_splits", "split_record"]

VAL_NAMES = ("val", "valid", "validation")


def as_source(data):
    """``(x, y)`` NumPy arrays or tensors become a Dataset; anything else is returned as
    it is (a name, a path, a Dataset, a ``(train, test)`` pair of Datasets)."""
    if (isinstance(data, (tuple, list)) and len(data) == 2
            and all(isinstance(v, (np.ndarray, torch.Tensor)) for v in data)):
        return as_dataset(*data)
    return data


def folder_layout(source) -> dict | None:
    """``{"train": path, "val": path | None, "test": path | None}`` for a folder with a
    ``train/`` sub-folder (and ``val/``, ``valid/``, ``validation/``, ``test/``); else None.

    Example:
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> for part in ("train", "valid"):
        ...     (root / part).mkdir()
        >>> sorted(k for k, v in folder_layout(root).items() if v)
        ['train', 'val']
    """
    if not isinstance(source, (str, Path)) or str(source) in list_datasets():
        return None
    path = Path(source).expanduser()
    if not (path / "train").is_dir():
        return None
    val = next((path / n for n in VAL_NAMES if (path / n).is_dir()), None)
    test = path / "test" if (path / "test").is_dir() else None
    return {"train": path / "train", "val": val, "test": test}


def load_whole(source, input_shape=None, *, on_error: str = "raise", split: str = "test",
               where: str = "data") -> Dataset:
    """All of ``source`` as one Dataset: a folder of images, a ``.npz`` / ``.csv`` file, a
    bundled name (its ``split`` part), a Dataset or ``(x, y)`` arrays.

    Raises:
        ArgumentError: a path that does not exist or has an unknown type.
    """
    source = as_source(source)
    if isinstance(source, Dataset) or (hasattr(source, "x") and hasattr(source, "y")):
        check_finite(source, where)
        return source
    text = str(source)
    if text in list_datasets():
        return with_channel_axis(load_dataset(text, split), input_shape)
    path = Path(text).expanduser()
    if not path.exists():
        raise ArgumentError(f"{where} {text!r} does not exist. Received: {where}={text!r}. Give a "
                            f"folder of images (one sub-folder per class), a .npz or a .csv file.",
                            argument=where)
    size = tuple(input_shape[1:]) if input_shape is not None and len(input_shape) == 3 else None
    mode = {1: "L", 3: "RGB"}.get(input_shape[0]) if input_shape is not None else None
    if path.is_dir():
        data = load_image_folder(path, size=size, mode=mode, on_error=on_error)
    elif path.suffix == ".npz":
        data = load_npz(path, input_shape=input_shape)
    elif path.name.endswith((".csv", ".csv.gz")):
        data = load_csv(path, input_shape=input_shape)
    else:
        raise ArgumentError(f"{where} {text!r} has an unknown type. Received: {where}={text!r}. "
                            f"Use a folder of images, a .npz or a .csv file.", argument=where)
    check_finite(data, where)
    return data


def _same_classes(part: Dataset, train: Dataset, where: str) -> Dataset:
    """``part`` with its labels renumbered to the training data's class names."""
    own, names = list(part.classes or ()), list(train.classes or ())
    if not own or not names or own == names or part.y.dtype.is_floating_point:
        return part
    unknown = [c for c in own if c not in names]
    if unknown:
        raise ArgumentError(
            f"{where} has class(es) {', '.join(map(repr, unknown))} that the training data lacks "
            f"(training classes: {', '.join(map(str, names))}). Received: {where} classes "
            f"{', '.join(map(str, own))}. Give every split the same class folders.",
            argument=where)
    mapping = torch.tensor([names.index(c) for c in own], dtype=part.y.dtype)
    return dataclasses.replace(part, y=mapping[part.y], classes=tuple(names))


def load_splits(data, input_shape=None, *, val_data=None, test_data=None,
                on_error: str = "raise", seed: int = 0, test_fraction: float = 0.2):
    """``(train, val or None, test)`` Datasets from the user's data (see the module doc).

    ``val`` is None when the validation split is to be cut from ``train`` by the Trainer
    (``val_fraction``).

    Raises:
        ArgumentError: as :func:`cnnkit.data.load_data`; a split with a class the training
            data lacks; missing ``val_data`` / ``test_data`` paths.
    """
    data = as_source(data)
    layout = folder_layout(data)
    if layout is not None:
        data = layout["train"]
        val_data = val_data if val_data is not None else layout["val"]
        test_data = test_data if test_data is not None else layout["test"]
    if test_data is not None:
        train = load_whole(data, input_shape, on_error=on_error, split="train", where="data")
        test = _same_classes(load_whole(test_data, input_shape, on_error=on_error,
                                        where="test_data"), train, "test_data")
    else:
        train, test = load_data(data, input_shape, on_error=on_error, seed=seed,
                                test_fraction=test_fraction)
    val = None
    if val_data is not None:
        val = _same_classes(load_whole(val_data, input_shape, on_error=on_error, split="test",
                                       where="val_data"), train, "val_data")
    for part, name in ((train, "data"), (val, "val_data"), (test, "test_data")):
        if part is not None and len(part) == 0:
            raise ArgumentError(f"{name} holds no samples. Give at least one.", argument=name)
    return train, val, test


def split_record(val_data, test_data) -> dict:
    """What config.yaml records of separate val / test data (absolute paths), so that
    resume and eval load the same splits."""
    out = {}
    for key, value in (("val_source", val_data), ("test_source", test_data)):
        if value is not None and isinstance(value, (str, Path)):
            out[key] = resolve_source(value)
    return out



def recorded_splits(info: dict, train: dict, input_shape=None, *, data=None):
    """``(train, val, test)`` of a run again, from config.yaml's ``data:`` (``info``) and
    ``train:`` sections; ``data`` replaces the recorded source (other data, on purpose,
    whose own test split is then used)."""
    seed = int((train or {}).get("seed", 0))
    fraction = float((train or {}).get("test_fraction", 0.2))
    if data is not None:
        return load_splits(data, input_shape, seed=seed, test_fraction=fraction)
    return load_splits(info.get("source"), input_shape, val_data=info.get("val_source"),
                       test_data=info.get("test_source"), seed=seed, test_fraction=fraction)
