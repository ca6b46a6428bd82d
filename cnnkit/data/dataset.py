"""The ``Dataset`` container and the checks every loader shares.

A data set in cnnkit is two tensors and a little metadata: ``x`` float32 ``(N, C, *spatial)``
scaled to [0, 1], ``y`` int64 class indices, the class names and where it came from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .._validation import ArgumentError, ArgumentTypeError, CnnkitError, ShapeError

__all__ = ["DataFileError", "Dataset", "as_dataset", "train_test_split"]


class DataFileError(CnnkitError, OSError):
    """A data file is missing, corrupt or cannot be read; the message names the file."""


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Dataset:
    """A labelled data set held as two tensors.

    Attributes:
        x: float32 samples ``(N, C, *spatial)``, values in [0, 1]; or int64 ids
            ``(N, L)`` (token ids of a text, mu-law classes of audio) that a network
            embeds or one-hot encodes itself.
        y: int64 class indices ``(N,)`` in ``0 .. len(classes) - 1``.
        classes: class names; ``classes[k]`` names label ``k``.
        name: where the data came from (a bundled name or a path).
        split: ``"train"``, ``"test"``, ``"all"`` or ``""`` when not applicable.
        skipped: ``(file, reason)`` for every input that was skipped while loading.
        info: free-form provenance (source, licence, scaling).

    Shape:
        ``x``: ``(N, C, *spatial)``; ``y``: ``(N,)``; ``input_shape`` is ``(C, *spatial)``.

    Example:
        >>> import torch
        >>> ds = Dataset(torch.zeros(4, 1, 8, 8), torch.tensor([0, 1, 1, 0]), ("a", "b"))
        >>> ds
        Dataset(n=4, input_shape=(1, 8, 8), classes=2)
        >>> len(ds), ds.input_shape, ds.num_classes
        (4, (1, 8, 8), 2)
        >>> ds[1:3].y.tolist()
        [1, 1]
    """

    x: torch.Tensor
    y: torch.Tensor
    classes: tuple[str, ...]
    name: str = ""
    split: str = ""
    skipped: tuple[tuple[str, str], ...] = ()
    info: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one sample, ``(C, *spatial)``: what a network's ``input`` takes."""
        return tuple(self.x.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __getitem__(self, index) -> Dataset:
        """A subset by slice, index tensor or boolean mask (one indexing op, no loop)."""
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        return dataclasses.replace(self, x=self.x[index], y=self.y[index])

    def to(self, device) -> Dataset:
        """The same data set with both tensors on ``device``."""
        return dataclasses.replace(self, x=self.x.to(device), y=self.y.to(device))

    def __repr__(self) -> str:
        where = f"{self.name!r}, " if self.name else ""
        split = f"split={self.split!r}, " if self.split else ""
        return (f"Dataset({where}{split}n={len(self)}, input_shape={self.input_shape}, "
                f"classes={self.num_classes})")


# ----------------------------------------------------------------------------- checks


def to_unit(x: np.ndarray | torch.Tensor, scale, name: str = "x") -> torch.Tensor:
    """Convert samples to float32 in [0, 1].

    ``scale="auto"``: uint8 is divided by 255, uint16 by 65535, bool becomes 0/1; floats
    already in [0, 1] are kept; integral values in 0..255 (pixels read from a CSV file)
    are divided by 255. Anything else asks for an explicit ``scale``. A number divides,
    ``None`` keeps the values as they are.
    """
    t = torch.as_tensor(x) if not isinstance(x, torch.Tensor) else x
    if scale is None:
        return t.to(torch.float32)
    if scale != "auto":
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
            raise ArgumentError(
                f"scale must be 'auto', None or a positive number. Received: scale={scale!r}."
            )
        return t.to(torch.float32) / float(scale)
    if t.dtype == torch.uint8:
        return t.to(torch.float32) / 255.0
    if t.dtype == torch.bool:
        return t.to(torch.float32)
    if t.dtype in (torch.uint16, torch.int32, torch.int64, torch.int16, torch.int8):
        if t.dtype == torch.uint16:
            return t.to(torch.float32) / 65535.0
        t = t.to(torch.float32)
    elif not t.is_floating_point():
        raise ArgumentTypeError(
            f"{name} must hold numbers. Received: {name} of dtype {t.dtype}."
        )
    t = t.to(torch.float32)
    if t.numel() == 0:
        return t
    low, high = float(t.min()), float(t.max())
    if low >= 0.0 and high <= 1.0:
        return t
    if low >= 0.0 and high <= 255.0 and bool((t == t.round()).all()):
        return t / 255.0
    raise ArgumentError(
        f"{name} has values in [{low:g}, {high:g}], which scale='auto' cannot map to [0, 1] "
        f"(it handles uint8/uint16, floats in [0, 1] and integers in 0..255). Pass "
        f"scale=<the largest possible value> to divide by it, or scale=None to keep the "
        f"values as they are."
    )


def check_labels(y, num_classes: int | None, name: str = "y") -> torch.Tensor:
    """Return labels as int64 ``(N,)``, checked against ``num_classes`` when given."""
    if not isinstance(y, torch.Tensor):
        array = np.asarray(y)
        if array.dtype.kind not in "biuf":
            raise ArgumentTypeError(
                f"{name} must hold integer class indices. Received: {name} of dtype "
                f"{array.dtype} (first value {array.flat[0]!r} if any). Map names to indices "
                f"first, e.g. classes = sorted(set(names)); "
                f"{name} = [classes.index(v) for v in names]; and pass classes=classes."
                if array.size else
                f"{name} must hold integer class indices. Received: {name} of dtype "
                f"{array.dtype}."
            )
        y = torch.as_tensor(array)
    t = y
    if t.dim() != 1:
        raise ShapeError(
            f"{name} must be one label per sample, shape (N,). Received: {name} of shape "
            f"{tuple(t.shape)}. Pass class indices, not one-hot rows (use y.argmax(1))."
        )
    if t.is_floating_point():
        if t.numel() and not bool((t == t.round()).all()):
            raise ArgumentError(
                f"{name} must hold whole-number class indices. Received: {name} with "
                f"value {float(t[t != t.round()][0])!r}."
            )
    elif t.dtype == torch.bool or t.is_complex():
        raise ArgumentTypeError(
            f"{name} must hold integer class indices. Received: {name} of dtype {t.dtype}."
        )
    t = t.to(torch.int64)
    if t.numel() == 0:
        return t
    low, high = int(t.min()), int(t.max())
    if low < 0:
        raise ArgumentError(
            f"{name} must hold class indices >= 0. Received: {name} with the label {low} "
            f"(at index {int((t < 0).nonzero()[0])}). Map the labels to 0 .. K-1 first."
        )
    if num_classes is not None and high >= num_classes:
        bad = t >= num_classes
        raise ArgumentError(
            f"{name} has labels outside 0..{num_classes - 1} for num_classes={num_classes}: "
            f"found {high} ({int(bad.sum())} samples, first at index {int(bad.nonzero()[0])}). "
            f"Pass num_classes={high + 1} or fix the labels."
        )
    return t


def arrange(x: torch.Tensor, input_shape, channels_last: bool, name: str = "x") -> torch.Tensor:
    """Give samples the layout ``(N, C, *spatial)``.

    With ``input_shape`` each sample is reshaped to it. Without: ``(N, L)`` becomes
    ``(N, 1, L)``, ``(N, H, W)`` becomes ``(N, 1, H, W)``, 4-D and 5-D arrays are taken
    as ``(N, C, *spatial)`` (or ``(N, *spatial, C)`` with ``channels_last=True``).
    """
    if x.dim() < 2:
        raise ShapeError(
            f"{name} must have one row per sample, at least 2 dimensions (N, ...). "
            f"Received: {name} of shape {tuple(x.shape)}."
        )
    if input_shape is not None:
        shape = tuple(int(s) for s in input_shape)
        per_sample = int(np.prod(shape))
        have = int(np.prod(x.shape[1:]))
        if per_sample != have or not 2 <= len(shape) <= 4:
            raise ShapeError(
                f"input_shape={shape} does not fit the samples: each sample of {name} has "
                f"{have} values (shape {tuple(x.shape[1:])}) but {shape} holds {per_sample}. "
                f"Pass input_shape=(channels, *spatial) with 1 to 3 spatial sizes whose "
                f"product with the channels is {have}."
            )
        if channels_last:
            moved = x.reshape(x.shape[0], *shape[1:], shape[0])
            return moved.movedim(-1, 1).contiguous()
        return x.reshape(x.shape[0], *shape)
    if x.dim() == 2:
        return x.unsqueeze(1)
    if x.dim() == 3 and not channels_last:
        return x.unsqueeze(1)
    if x.dim() > 5:
        raise ShapeError(
            f"{name} must be (N, C, *spatial) with 1 to 3 spatial dimensions. Received: "
            f"{name} of shape {tuple(x.shape)}."
        )
    if channels_last:
        return x.movedim(-1, 1).contiguous()
    return x


def _class_names(classes, num_classes: int | None, y: torch.Tensor) -> tuple[str, ...]:
    if classes is not None:
        if isinstance(classes, str) or not isinstance(classes, Sequence):
            raise ArgumentTypeError(
                f"classes must be a sequence of names. Received: classes={classes!r}."
            )
        names = tuple(str(c) for c in classes)
        if num_classes is not None and len(names) != num_classes:
            raise ArgumentError(
                f"classes has {len(names)} names but num_classes={num_classes}. Received: "
                f"classes={classes!r}. Give one name per class."
            )
        return names
    count = num_classes if num_classes is not None else (int(y.max()) + 1 if len(y) else 0)
    return tuple(str(k) for k in range(count))


def as_dataset(x, y, *, num_classes: int | None = None, classes=None, input_shape=None,
               channels_last: bool = False, scale="auto", name: str = "",
               split: str = "") -> Dataset:
    """Build a ``Dataset`` from arrays or tensors held in memory.

    Args:
        x: samples, NumPy array or tensor, ``(N, C, *spatial)``, ``(N, H, W)`` (grey
            images), ``(N, L)`` (signals) or flat rows with ``input_shape``.
        y: class indices ``(N,)``.
        num_classes: declared number of classes; labels must be below it.
        classes: class names (their number is the number of classes).
        input_shape: ``(C, *spatial)`` to reshape each sample to.
        channels_last: samples are ``(*spatial, C)`` (as Pillow and most image arrays).
        scale: ``"auto"``, a number to divide by, or ``None`` (see ``to_unit``).
        name: a label for messages and ``repr``.
        split: which split this is, if any.

    Shape:
        ``x`` -> ``(N, C, *spatial)`` float32; ``y`` -> ``(N,)`` int64.

    Raises:
        ShapeError: ``x`` and ``y`` differ in length, or ``input_shape`` does not fit.
        ArgumentError: labels outside ``0 .. num_classes - 1``; values that cannot be
            scaled automatically.

    Example:
        >>> import numpy as np
        >>> ds = as_dataset(np.full((6, 28, 28), 255, np.uint8), [0, 1, 2, 0, 1, 2])
        >>> ds.input_shape, float(ds.x.max()), ds.classes
        ((1, 28, 28), 1.0, ('0', '1', '2'))
        >>> as_dataset(np.zeros((2, 4)), [0, 5], num_classes=3)
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: y has labels outside 0..2 for num_classes=3: found 5 (1 samples, first at index 1). Pass num_classes=6 or fix the labels.
    """
    if classes is not None and num_classes is None and not isinstance(classes, str):
        num_classes = len(classes) if isinstance(classes, Sequence) else None
    xt = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    labels = check_labels(y, num_classes)
    if xt.dim() == 0 or xt.shape[0] != labels.shape[0]:
        raise ShapeError(
            f"x and y must have one row per sample. Received: x of shape {tuple(xt.shape)} "
            f"and y of shape {tuple(labels.shape)}."
        )
    xt = arrange(to_unit(xt, scale), input_shape, channels_last)
    return Dataset(xt, labels, _class_names(classes, num_classes, labels), name=name,
                   split=split)


def train_test_split(dataset: Dataset, test_fraction: float = 0.2, *, seed: int = 0,
                     stratify: bool = True) -> tuple[Dataset, Dataset]:
    """Split a data set into train and test parts, per class when ``stratify``.

    Each class gives ``round(test_fraction * n_class)`` samples to the test part; both
    parts are then shuffled. The order is fixed by ``seed``.

    Args:
        dataset: the data set to split.
        test_fraction: share of samples for the test part, strictly between 0 and 1.
        seed: seed of the permutation.
        stratify: keep the class proportions in both parts.

    Raises:
        ArgumentError: ``test_fraction`` outside (0, 1).

    Example:
        >>> import torch
        >>> ds = as_dataset(torch.rand(10, 1, 4, 4), [0] * 5 + [1] * 5)
        >>> train, test = train_test_split(ds, 0.2)
        >>> len(train), len(test), sorted(test.y.tolist())
        (8, 2, [0, 1])
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or \
            not 0.0 < test_fraction < 1.0:
        raise ArgumentError(
            f"test_fraction must be a number strictly between 0 and 1. Received: "
            f"test_fraction={test_fraction!r}."
        )
    gen = torch.Generator().manual_seed(seed)
    y = dataset.y.cpu()
    n = len(y)
    if not stratify:
        perm = torch.randperm(n, generator=gen)
        k = int(round(test_fraction * n))
        test, train = perm[:k], perm[k:]
    else:
        # Sort a random permutation by class: within each class the order stays random,
        # then the first round(f * n_c) of each class go to the test part.
        perm = torch.randperm(n, generator=gen)
        order = perm[torch.sort(y[perm], stable=True).indices]
        counts = torch.bincount(y, minlength=1)
        starts = torch.cumsum(counts, 0) - counts
        rank = torch.arange(n) - torch.repeat_interleave(starts, counts)
        k_class = torch.round(counts.double() * test_fraction).long()
        is_test = rank < torch.repeat_interleave(k_class, counts)
        test, train = order[is_test], order[~is_test]
        test = test[torch.randperm(len(test), generator=gen)]
        train = train[torch.randperm(len(train), generator=gen)]
    device = dataset.x.device
    return (dataclasses.replace(dataset[train.to(device)], split="train"),
            dataclasses.replace(dataset[test.to(device)], split="test"))
