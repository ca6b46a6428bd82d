"""What a data set's ``y`` holds, and the checks each kind of target gets.

Five kinds of target, named by ``Dataset.target``:

=================  ======================  =========  ==========================================
target             ``y`` shape             dtype      values
=================  ======================  =========  ==========================================
``class``          ``(N,)``                int64      class indices ``0 .. K-1``
``multilabel``     ``(N, K)``              float32    0 or 1: is class ``k`` present
``regression``     ``(N, K)`` or           float32    any finite numbers; one value per sample
                   ``(N, *dense)``                    is kept as ``(N, 1)``
``segmentation``   ``(N, *spatial)``       int64      a class index per position, or the
                                                      ignore value (255 by default)
``detection``      ``(N, M, 5)``           float32    ``[class, cx, cy, w, h]`` per box,
                                                      normalised to [0, 1]; rows with class
                                                      -1 are padding
=================  ======================  =========  ==========================================

The ignore value of segmentation is 255 because that is what PNG label maps use for
"unlabelled" (PASCAL VOC marks object borders with it); a loss skips those positions.

When no target is named, ``infer_target`` decides from dtype and shape: integer ``(N,)``
is ``class``; float ``(N,)`` is ``regression``; ``(N, M, 5)`` float is ``detection``; a
2-D ``y`` holding only 0 and 1 is ``multilabel``; other integer ``y`` of 2 to 4
dimensions is ``segmentation``; other float ``y`` is ``regression``. Pass ``target=``
where this guess is wrong (a binary per-position labelling of 1-D signals, for instance,
looks multi-label).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, one_of

__all__ = ["BOX_TOLERANCE", "IGNORE_INDEX", "TARGETS", "check_targets", "infer_target"]

TARGETS = ("class", "multilabel", "regression", "segmentation", "detection")
IGNORE_INDEX = 255
# Normalised box edges may pass 0 or 1 by this much: coordinates rounded to six decimals
# (as YOLO label files are written) can land a few millionths outside.
BOX_TOLERANCE = 1e-5


def _as_tensor(y, name: str) -> torch.Tensor:
    if isinstance(y, torch.Tensor):
        return y
    array = np.asarray(y)
    if array.dtype.kind not in "biuf":
        first = f" (first value {array.flat[0].item()!r})" if array.size else ""
        raise ArgumentTypeError(
            f"{name} must hold numbers (class indices or target values). Received: {name} "
            f"of dtype {array.dtype}{first}. "
            f"Map names to indices first, e.g. classes = sorted(set(names)); "
            f"{name} = [classes.index(v) for v in names]; and pass classes=classes."
        )
    return torch.as_tensor(array)


def _only_zero_one(t: torch.Tensor) -> bool:
    return t.numel() > 0 and bool(((t == 0) | (t == 1)).all())


def infer_target(y) -> str:
    """The kind of target ``y`` most likely holds, from its dtype and shape.

    Example:
        >>> import torch
        >>> infer_target(torch.tensor([0, 2, 1])), infer_target(torch.rand(4, 3))
        ('class', 'regression')
        >>> infer_target(torch.tensor([[0, 1], [1, 1]]))
        'multilabel'
        >>> infer_target(torch.full((2, 8, 8), 3))
        'segmentation'
        >>> infer_target(torch.zeros(2, 6, 5))
        'detection'
    """
    t = _as_tensor(y, "y")
    is_float = t.is_floating_point()
    if t.dim() <= 1:
        return "regression" if is_float else "class"
    if is_float and t.dim() == 3 and t.shape[-1] == 5:
        return "detection"
    if t.dim() == 2 and _only_zero_one(t):
        return "multilabel"
    if is_float:
        return "regression"
    return "segmentation"


def _first_bad(mask: torch.Tensor) -> int:
    """The sample index of the first True in ``mask`` (any shape, samples first)."""
    return int(mask.reshape(mask.shape[0], -1).any(1).nonzero()[0])


def _check_finite(t: torch.Tensor, name: str) -> None:
    if t.is_floating_point() and t.numel():
        bad = ~torch.isfinite(t)
        if bool(bad.any()):
            raise ArgumentError(
                f"{name} has {int(bad.sum())} NaN or infinite values (first in sample "
                f"{_first_bad(bad)}). Remove those samples or fill the missing targets."
            )


def _check_whole(t: torch.Tensor, what: str, name: str) -> torch.Tensor:
    """Integer-valued ``t`` as int64; floats must be whole numbers."""
    if t.dtype == torch.bool or t.is_complex():
        raise ArgumentTypeError(
            f"{name} must hold integer {what}. Received: {name} of dtype {t.dtype}."
        )
    if t.is_floating_point():
        _check_finite(t, name)
        if t.numel() and not bool((t == t.round()).all()):
            raise ArgumentError(
                f"{name} must hold whole-number {what}. Received: {name} with value "
                f"{float(t[t != t.round()][0])!r}."
            )
    return t.to(torch.int64)


def _check_class(t: torch.Tensor, num_classes, name: str) -> torch.Tensor:
    if t.dim() != 1:
        raise ShapeError(
            f"{name} must be one label per sample, shape (N,), for target='class'. Received: "
            f"{name} of shape {tuple(t.shape)}. Pass class indices, not one-hot rows (use "
            f"y.argmax(1)), or target='multilabel' for rows of 0/1."
        )
    t = _check_whole(t, "class indices", name)
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


def _check_multilabel(t: torch.Tensor, num_classes, name: str) -> torch.Tensor:
    if t.dim() != 2:
        raise ShapeError(
            f"{name} must be (N, K) rows of 0/1, one column per class, for "
            f"target='multilabel'. Received: {name} of shape {tuple(t.shape)}."
        )
    _check_finite(t, name)
    if t.numel() and not _only_zero_one(t):
        bad = (t != 0) & (t != 1)
        raise ArgumentError(
            f"{name} must hold only 0 and 1 for target='multilabel'. Received: {name} with "
            f"value {float(t[bad][0]):g} (in sample {_first_bad(bad)}). Use target="
            f"'regression' for other values."
        )
    if num_classes is not None and t.shape[1] != num_classes:
        raise ShapeError(
            f"{name} has {t.shape[1]} columns but num_classes={num_classes}. Received: {name} "
            f"of shape {tuple(t.shape)}. Give one 0/1 column per class."
        )
    return t.to(torch.float32)


def _check_regression(t: torch.Tensor, name: str) -> torch.Tensor:
    if t.dtype == torch.bool or t.is_complex():
        raise ArgumentTypeError(
            f"{name} must hold real numbers for target='regression'. Received: {name} of "
            f"dtype {t.dtype}."
        )
    _check_finite(t, name)  # before float32: a float64 too large for it is not "inf" here
    t = t.to(torch.float32)
    # One value per sample becomes (N, 1): what a network with one output unit gives, so
    # that a loss never broadcasts (N,) against (N, 1) into (N, N).
    return t.unsqueeze(1) if t.dim() == 1 else t


def _check_segmentation(t: torch.Tensor, num_classes, ignore_index: int,
                        name: str) -> torch.Tensor:
    if not 2 <= t.dim() <= 4:
        raise ShapeError(
            f"{name} must be (N, *spatial) class indices with 1 to 3 spatial dimensions for "
            f"target='segmentation'. Received: {name} of shape {tuple(t.shape)}."
        )
    t = _check_whole(t, "class indices", name)
    labelled = t[t != ignore_index]
    if labelled.numel() == 0:
        return t
    low, high = int(labelled.min()), int(labelled.max())
    top = num_classes - 1 if num_classes is not None else None
    if low < 0 or (top is not None and high > top):
        value = low if low < 0 else high
        bad = (t == value)
        where = bad.reshape(bad.shape[0], -1).any(1).nonzero()[0]
        limit = f"0..{top}" if top is not None else "0 or more"
        raise ArgumentError(
            f"{name} has the label {value} (in sample {int(where)}), outside the classes "
            f"{limit} and not the ignore value {ignore_index}. Fix the label map, add the "
            f"class, or pass ignore_index={value} if it marks unlabelled positions."
        )
    if top is not None and 0 <= ignore_index <= top:
        raise ArgumentError(
            f"ignore_index={ignore_index} is also a class (there are {num_classes} classes, "
            f"0..{top}). Pass an ignore_index outside 0..{top}, e.g. -1."
        )
    return t


def _check_detection(t: torch.Tensor, num_classes, name: str) -> torch.Tensor:
    if t.dim() != 3 or t.shape[-1] != 5:
        raise ShapeError(
            f"{name} must be (N, M, 5) boxes [class, cx, cy, w, h] for target='detection', "
            f"padded with class -1. Received: {name} of shape {tuple(t.shape)}."
        )
    if not t.is_floating_point():
        t = t.to(torch.float32)
    _check_finite(t, name)
    t = t.to(torch.float32).clone()
    cls = t[..., 0]
    if not bool((cls == cls.round()).all()):
        bad = cls != cls.round()
        raise ArgumentError(
            f"{name} has the class {float(cls[bad][0])!r} (in sample {_first_bad(bad)}); the "
            f"first column of a box must be a whole-number class index, or -1 for padding."
        )
    real = cls >= 0
    top = num_classes - 1 if num_classes is not None else None
    bad = (cls < -1) | ((cls > top) if top is not None else torch.zeros_like(real))
    if bool(bad.any()):
        limit = f"0..{top}" if top is not None else "0 or more"
        raise ArgumentError(
            f"{name} has the box class {int(cls[bad][0])} (in sample {_first_bad(bad)}), "
            f"outside the classes {limit} and not -1 (padding). Fix the class or add it."
        )
    cx, cy, w, h = t[..., 1], t[..., 2], t[..., 3], t[..., 4]
    flat = (w <= 0) | (h <= 0)
    if bool((flat & real).any()):
        bad = flat & real
        raise ArgumentError(
            f"{name} has a box with non-positive size (w={float(w[bad][0]):g}, "
            f"h={float(h[bad][0]):g}, in sample {_first_bad(bad)}). Width and height must be "
            f"> 0; drop empty boxes or mark the row as padding with class -1."
        )
    tol = BOX_TOLERANCE
    out = ((cx - w / 2 < -tol) | (cy - h / 2 < -tol) | (cx + w / 2 > 1 + tol) |
           (cy + h / 2 > 1 + tol)) & real
    if bool(out.any()):
        i = out.nonzero()[0]
        box = [round(float(v), 6) for v in t[i[0], i[1], 1:]]
        raise ArgumentError(
            f"{name} has a box outside the image (cx, cy, w, h = {box}, in sample "
            f"{int(i[0])}): boxes are normalised, every edge must lie in [0, 1]. Clip the "
            f"box to the image or divide by the image's width and height."
        )
    t[~real] = torch.tensor([-1.0, 0.0, 0.0, 0.0, 0.0])  # one form for every padding row
    return t


def check_targets(y, target: str | None = None, *, num_classes: int | None = None,
                  ignore_index: int = IGNORE_INDEX, name: str = "y") -> tuple[torch.Tensor, str]:
    """Check ``y`` as targets of one kind and give it that kind's dtype and shape.

    Args:
        y: targets, NumPy array, tensor or nested lists, one row per sample.
        target: one of ``TARGETS``, or ``None`` to infer it (``infer_target``).
        num_classes: number of classes (``class``, ``multilabel``, ``segmentation``,
            ``detection``); indices must be below it, multi-label rows must have it.
        ignore_index: the label of unlabelled positions (``segmentation``).
        name: how messages call ``y``.

    Returns:
        ``(y, target)``: ``y`` as the dtype and shape the table in this module gives.

    Raises:
        ArgumentError: labels out of range, NaN or infinite values, boxes outside the
            image or of non-positive size, values other than 0/1 for multi-label rows.
        ShapeError: a shape that the kind of target cannot have.
        ArgumentTypeError: ``y`` does not hold numbers.

    Example:
        >>> y, kind = check_targets([[0, 1, 1], [1, 0, 0]])
        >>> kind, y.dtype
        ('multilabel', torch.float32)
        >>> check_targets([0.5, 1.5])[0].shape
        torch.Size([2, 1])
        >>> check_targets([[[0, 0.5, 0.5, 0.0, 0.2]]], "detection")
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: y has a box with non-positive size (w=0, h=0.2, in sample 0). Width and height must be > 0; drop empty boxes or mark the row as padding with class -1.
    """
    t = _as_tensor(y, name)
    if target is None:
        target = infer_target(t)
    one_of(target, TARGETS, "target")
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise ArgumentTypeError(
            f"ignore_index must be an int. Received: ignore_index={ignore_index!r}."
        )
    if target == "class":
        return _check_class(t, num_classes, name), target
    if target == "multilabel":
        return _check_multilabel(t, num_classes, name), target
    if target == "regression":
        return _check_regression(t, name), target
    if target == "segmentation":
        return _check_segmentation(t, num_classes, ignore_index, name), target
    return _check_detection(t, num_classes, name), target


def class_count(y: torch.Tensor, target: str, ignore_index: int = IGNORE_INDEX) -> int:
    """The number of classes that checked targets ``y`` show (largest index + 1)."""
    if y.numel() == 0:
        return 0
    if target == "class":
        return int(y.max()) + 1
    if target == "multilabel":
        return int(y.shape[1])
    if target == "segmentation":
        labelled = y[y != ignore_index]
        return int(labelled.max()) + 1 if labelled.numel() else 0
    if target == "detection":
        return int(y[..., 0].max()) + 1
    return 0


def names_for(classes, count: int) -> tuple[str, ...]:
    """Class names: ``classes`` checked, or ``'0' .. 'count-1'``."""
    if classes is None:
        return tuple(str(k) for k in range(count))
    if isinstance(classes, str) or not isinstance(classes, Sequence):
        raise ArgumentTypeError(
            f"classes must be a sequence of names. Received: classes={classes!r}."
        )
    return tuple(str(c) for c in classes)
