"""The ``Dataset`` container and the checks every loader shares.

A data set in cnnkit is two tensors and a little metadata: ``x`` the samples
``(N, C, *spatial)`` (float32, values as the source gave them: 8-bit pixels divided by 255,
16-bit by 65535, floats kept) or int64 token ids ``(N, L)``; ``y`` the targets, whose kind
``target`` names (``class``, ``multilabel``, ``regression``, ``segmentation``,
``detection``: see ``cnnkit.data.targets``); the class names and where it came from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .._validation import ArgumentError, ArgumentTypeError, CnnkitError, ShapeError, one_of
from .targets import IGNORE_INDEX, TARGETS, check_targets, class_count, infer_target, names_for

__all__ = ["DataFileError", "Dataset", "as_dataset", "train_test_split"]

SCALES = ("auto", "tokens")


class DataFileError(CnnkitError, OSError):
    """A data file is missing, corrupt or cannot be read; the message names the file."""


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Dataset:
    """A data set held as two tensors: samples ``x`` and targets ``y``.

    Attributes:
        x: samples ``(N, C, *spatial)`` float32 with the values the source gave (see
            ``as_dataset``'s ``scale``), or int64 ids ``(N, L)`` (token ids of a text,
            mu-law classes of audio) that a network embeds or one-hot encodes itself.
        y: targets, one row per sample; their kind is ``target`` (the table in
            ``cnnkit.data.targets``): int64 ``(N,)`` class indices, float32 ``(N, K)``
            0/1 multi-label rows or regression values, int64 ``(N, *spatial)`` label maps,
            float32 ``(N, M, 5)`` boxes ``[class, cx, cy, w, h]`` padded with class -1.
        classes: class names; ``classes[k]`` names label ``k`` (for regression: optional
            names of the K values).
        name: where the data came from (a bundled name or a path).
        split: ``"train"``, ``"test"``, ``"all"`` or ``""`` when not applicable.
        skipped: ``(file, reason)`` for every input that was skipped while loading.
        info: free-form provenance (source, licence, scaling).
        target: what ``y`` holds; inferred from its dtype and shape when not given
            (``cnnkit.data.targets.infer_target``).
        ignore_index: the label of unlabelled positions in segmentation targets (255,
            the value PNG label maps use); a loss leaves those positions out.

    Shape:
        ``x``: ``(N, C, *spatial)`` or ``(N, L)`` token ids; ``y``: ``(N, *target_shape)``;
        ``input_shape`` is ``x.shape[1:]``.

    Raises:
        ShapeError: ``x`` and ``y`` differ in length; a label map's size differs from
            the samples'.
        ArgumentError: an unknown ``target``.

    Example:
        >>> import torch
        >>> ds = Dataset(torch.zeros(4, 1, 8, 8), torch.tensor([0, 1, 1, 0]), ("a", "b"))
        >>> ds
        Dataset(n=4, input_shape=(1, 8, 8), classes=2)
        >>> len(ds), ds.input_shape, ds.num_classes, ds.target
        (4, (1, 8, 8), 2, 'class')
        >>> ds[1:3].y.tolist()
        [1, 1]
        >>> Dataset(torch.zeros(4, 1, 8, 8), torch.zeros(4, 8, 8, dtype=torch.long) + 2, ()).target
        'segmentation'
    """

    x: torch.Tensor
    y: torch.Tensor
    classes: tuple[str, ...]
    name: str = ""
    split: str = ""
    skipped: tuple[tuple[str, str], ...] = ()
    info: dict[str, Any] = dataclasses.field(default_factory=dict)
    target: str = ""
    ignore_index: int = IGNORE_INDEX

    def __post_init__(self) -> None:
        # Cheap checks of shapes only: values are checked once, by as_dataset / loaders.
        if not self.target:
            object.__setattr__(self, "target", infer_target(self.y))
        one_of(self.target, TARGETS, "target")
        if self.target == "regression" and self.y.dim() == 1:
            object.__setattr__(self, "y", self.y.unsqueeze(1))
        x, y = self.x, self.y
        if x.dim() == 0 or y.dim() == 0 or x.shape[0] != y.shape[0]:
            raise ShapeError(
                f"x and y must have one row per sample. Received: x of shape "
                f"{tuple(x.shape)} and y of shape {tuple(y.shape)}."
            )
        if self.target == "segmentation":
            # Integer sequences may come without a channel axis, (N, L), or with one.
            spatial = tuple(x.shape[1:] if self.is_tokens and x.dim() == 2 else x.shape[2:])
            if tuple(y.shape[1:]) != spatial:
                raise ShapeError(
                    f"segmentation targets must label every position of the samples: y of "
                    f"shape {tuple(y.shape)} needs (N, {', '.join(map(str, spatial))}) for x "
                    f"of shape {tuple(x.shape)}. Resize the label maps to the samples' size."
                )

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def is_tokens(self) -> bool:
        """Whether ``x`` holds integer token ids ``(N, L)`` rather than float samples."""
        return not self.x.is_floating_point()

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one sample, ``(C, *spatial)``: what a network's ``input`` takes."""
        return tuple(self.x.shape[1:])

    @property
    def target_shape(self) -> tuple[int, ...]:
        """The shape of one sample's target: ``()``, ``(K,)``, ``(*spatial)`` or ``(M, 5)``."""
        return tuple(self.y.shape[1:])

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
        kind = f", target={self.target!r}" if self.target != "class" else ""
        count = (f", classes={self.num_classes}"
                 if self.target != "regression" or self.classes else "")
        return (f"Dataset({where}{split}n={len(self)}, input_shape={self.input_shape}"
                f"{kind}{count})")


# ----------------------------------------------------------------------------- checks


def scale_inputs(x: np.ndarray | torch.Tensor, scale, name: str = "x") -> torch.Tensor:
    """Samples as float32 (or int64 token ids), keeping the values the source gave.

    ``scale="auto"``: uint8 is divided by 255 and uint16 by 65535 (pixels of 8- and
    16-bit images to [0, 1]); bool becomes 0/1; floats are kept as they are (signed
    signals stay signed: the network's normalisation layer centres and scales them);
    other integer types holding values in 0..255 are 8-bit pixels stored wider (a NumPy
    array of Python ints) and are divided by 255. ``scale="tokens"``: integer token ids,
    kept as int64. A number divides; ``None`` keeps the values as float32.

    Raises:
        ArgumentError: integers outside 0..255 with ``scale="auto"``; negative token
            ids; NaN or infinite values; a bad ``scale``.
    """
    t = torch.as_tensor(x) if not isinstance(x, torch.Tensor) else x
    if t.is_complex():
        raise ArgumentTypeError(f"{name} must hold numbers. Received: {name} of dtype {t.dtype}.")
    if scale == "tokens":
        if t.is_floating_point() or t.dtype == torch.bool:
            raise ArgumentTypeError(
                f"scale='tokens' needs integer token ids. Received: {name} of dtype "
                f"{t.dtype}. Map words to ids first, or leave scale='auto' for numbers."
            )
        t = t.to(torch.int64)
        if t.numel() and int(t.min()) < 0:
            raise ArgumentError(
                f"token ids must be >= 0. Received: {name} with the id {int(t.min())}."
            )
        return t
    if scale is not None and scale != "auto":
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
            raise ArgumentError(
                f"scale must be 'auto', 'tokens', None or a positive number. Received: "
                f"scale={scale!r}."
            )
    if t.is_floating_point() and t.numel():
        bad = ~torch.isfinite(t)
        if bool(bad.any()):
            first = int(bad.reshape(bad.shape[0], -1).any(1).nonzero()[0]) if t.dim() else 0
            raise ArgumentError(
                f"{name} has {int(bad.sum())} NaN or infinite values (first in sample "
                f"{first}). Remove those samples or fill the missing values."
            )
    if scale is None:
        return t.to(torch.float32)
    if scale != "auto":
        return t.to(torch.float32) / float(scale)
    if t.dtype == torch.uint8:
        return t.to(torch.float32) / 255.0
    if t.dtype == torch.uint16:
        return t.to(torch.float32) / 65535.0
    if t.dtype == torch.bool or t.is_floating_point():
        return t.to(torch.float32)
    if t.numel() == 0:
        return t.to(torch.float32)
    low, high = int(t.min()), int(t.max())
    if low >= 0 and high <= 255:
        return t.to(torch.float32) / 255.0
    raise ArgumentError(
        f"{name} holds integers in [{low}, {high}], which scale='auto' does not know how to "
        f"read (it divides uint8 and 0..255 by 255, uint16 by 65535). Pass scale=<the "
        f"largest possible value> to divide by it, scale=None to keep the values as "
        f"numbers, or scale='tokens' for token ids."
    )


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


def _class_names(classes, num_classes: int | None, y: torch.Tensor, target: str,
                 ignore_index: int) -> tuple[str, ...]:
    """Checked class names: one per class (or, for regression, per value if given)."""
    names = names_for(classes, 0) if classes is not None else None
    if target == "regression":
        if names is not None and y.dim() == 2 and len(names) != y.shape[1]:
            raise ArgumentError(
                f"classes names the regression values: it needs {y.shape[1]} names, one per "
                f"column of y. Received: classes={classes!r}."
            )
        return names or ()
    if names is not None:
        if num_classes is not None and len(names) != num_classes:
            raise ArgumentError(
                f"classes has {len(names)} names but num_classes={num_classes}. Received: "
                f"classes={classes!r}. Give one name per class."
            )
        return names
    count = num_classes if num_classes is not None else class_count(y, target, ignore_index)
    return names_for(None, count)


def as_dataset(x, y, *, target: str | None = None, num_classes: int | None = None,
               classes=None, input_shape=None, channels_last: bool = False, scale="auto",
               ignore_index: int = IGNORE_INDEX, name: str = "", split: str = "") -> Dataset:
    """Build a ``Dataset`` from arrays or tensors held in memory.

    Args:
        x: samples, NumPy array or tensor, ``(N, C, *spatial)``, ``(N, H, W)`` (grey
            images), ``(N, L)`` (signals, or token ids with ``scale="tokens"``) or flat
            rows with ``input_shape``.
        y: targets, one row per sample, of the kind ``target`` names (the table in
            ``cnnkit.data.targets``).
        target: ``"class"``, ``"multilabel"``, ``"regression"``, ``"segmentation"``,
            ``"detection"``, or ``None`` to infer it from ``y``'s dtype and shape.
        num_classes: declared number of classes; labels must be below it.
        classes: class names (their number is the number of classes); for regression,
            optional names of the values.
        input_shape: ``(C, *spatial)`` to reshape each sample to.
        channels_last: samples are ``(*spatial, C)`` (as Pillow and most image arrays).
        scale: ``"auto"`` (uint8 / 255, uint16 / 65535, floats kept), ``"tokens"``
            (integer ids kept as int64), a number to divide by, or ``None`` (values kept
            as float32); see ``scale_inputs``.
        ignore_index: the label of unlabelled positions in segmentation targets.
        name: a label for messages and ``repr``.
        split: which split this is, if any.

    Shape:
        ``x`` -> ``(N, C, *spatial)`` float32 (``(N, L)`` int64 for tokens); ``y`` -> as
        the kind of target says: ``(N,)`` int64 class indices, ``(N, K)`` float32,
        ``(N, *spatial)`` int64 label maps, ``(N, M, 5)`` float32 boxes.

    Raises:
        ShapeError: ``x`` and ``y`` differ in length, ``input_shape`` does not fit, a
            label map's size differs from the samples'.
        ArgumentError: labels outside ``0 .. num_classes - 1``; NaN or infinite values;
            integer samples that ``scale="auto"`` cannot read; invalid boxes.

    Example:
        >>> import numpy as np
        >>> ds = as_dataset(np.full((6, 28, 28), 255, np.uint8), [0, 1, 2, 0, 1, 2])
        >>> ds.input_shape, float(ds.x.max()), ds.classes
        ((1, 28, 28), 1.0, ('0', '1', '2'))
        >>> signed = as_dataset(np.array([[-2.5, 3.0]]), [[0.1, 0.2]], classes=["a", "b"])
        >>> signed.x.tolist(), signed.target, signed.classes
        ([[[-2.5, 3.0]]], 'regression', ('a', 'b'))
        >>> as_dataset(np.zeros((2, 4)), [0, 5], num_classes=3)
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: y has labels outside 0..2 for num_classes=3: found 5 (1 samples, first at index 1). Pass num_classes=6 or fix the labels.
    """
    if classes is not None and num_classes is None and not isinstance(classes, str) and \
            isinstance(classes, Sequence) and target != "regression":
        num_classes = len(classes)  # for regression, classes names the values instead
    if not isinstance(x, torch.Tensor):
        array = np.asarray(x)
        if array.dtype.kind not in "biuf":
            raise ArgumentTypeError(
                f"x must hold numbers. Received: x of dtype {array.dtype}. Convert text to "
                f"token ids and pass scale='tokens', or load images with load_image_folder."
            )
        xt = torch.as_tensor(array)
    else:
        xt = x
    labels, kind = check_targets(y, target, num_classes=num_classes, ignore_index=ignore_index)
    if xt.dim() == 0 or xt.shape[0] != labels.shape[0]:
        raise ShapeError(
            f"x and y must have one row per sample. Received: x of shape {tuple(xt.shape)} "
            f"and y of shape {tuple(labels.shape)}."
        )
    xt = scale_inputs(xt, scale)
    if scale == "tokens":
        if xt.dim() != 2 or input_shape is not None or channels_last:
            raise ShapeError(
                f"token ids must be (N, L): one row of ids per sample. Received: x of shape "
                f"{tuple(xt.shape)}{' and input_shape' if input_shape is not None else ''}"
                f"{' and channels_last' if channels_last else ''}."
            )
    else:
        xt = arrange(xt, input_shape, channels_last)
    names = _class_names(classes, num_classes if kind != "regression" else None, labels,
                         kind, ignore_index)
    return Dataset(xt, labels, names, name=name, split=split, target=kind,
                   ignore_index=ignore_index)


def train_test_split(dataset: Dataset, test_fraction: float = 0.2, *, seed: int = 0,
                     stratify: bool | None = None) -> tuple[Dataset, Dataset]:
    """Split a data set into train and test parts, per class for class targets.

    With stratification each class gives ``round(test_fraction * n_class)`` samples to
    the test part; without, ``round(test_fraction * N)`` random samples go there. Both
    parts are then shuffled. The order is fixed by ``seed``. Every kind of target
    splits; only single class labels stratify (multi-label rows, label maps, boxes and
    regression values have no one class per sample).

    Args:
        dataset: the data set to split.
        test_fraction: share of samples for the test part, strictly between 0 and 1.
        seed: seed of the permutation.
        stratify: keep the class proportions in both parts; ``None`` (default): for
            ``target="class"`` only.

    Raises:
        ArgumentError: ``test_fraction`` outside (0, 1); ``stratify=True`` for targets
            other than single class labels.

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
    if stratify is None:
        stratify = dataset.target == "class"
    elif stratify and dataset.target != "class":
        raise ArgumentError(
            f"stratify=True needs one class label per sample, but this data set's target is "
            f"{dataset.target!r}. Pass stratify=False (or leave it None) to split at random."
        )
    gen = torch.Generator().manual_seed(seed)
    n = len(dataset)
    if not stratify:
        perm = torch.randperm(n, generator=gen)
        k = int(round(test_fraction * n))
        test, train = perm[:k], perm[k:]
    else:
        y = dataset.y.cpu()
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
