"""Every kind of target: inference, checks with their pinned errors, indexing, device moves
and splitting; token-id samples."""

import numpy as np
import pytest
import torch

from cnnkit import ArgumentError, ArgumentTypeError, ShapeError
from cnnkit.data import (IGNORE_INDEX, TARGETS, BatchLoader, Dataset, as_dataset,
                         check_targets, infer_target, train_test_split)

rng = np.random.default_rng(0)


def _kinds(n=20):
    """One small data set of every kind of target, with known values."""
    x = rng.random((n, 1, 6, 6)).astype(np.float32)
    boxes = np.zeros((n, 3, 5), np.float32)
    boxes[:, :, 0] = -1
    boxes[:, 0] = (2, 0.5, 0.5, 0.4, 0.2)
    boxes[::2, 1] = (0, 0.25, 0.75, 0.5, 0.5)
    return {
        "class": (x, np.arange(n) % 3),
        "multilabel": (x, (rng.random((n, 4)) > 0.5).astype(np.int64)),
        "regression": (x, rng.normal(size=(n, 2))),
        "segmentation": (x, rng.integers(0, 3, size=(n, 6, 6))),
        "detection": (x, boxes),
    }


# ----------------------------------------------------------------------------- inference


@pytest.mark.parametrize("y, kind", [
    (torch.tensor([0, 3, 1]), "class"),
    (np.array([0, 1, 1], np.uint8), "class"),
    (torch.tensor([0.5, -1.0]), "regression"),
    (torch.tensor([[0, 1, 1], [1, 0, 0]]), "multilabel"),
    (torch.tensor([[0.0, 1.0], [1.0, 1.0]]), "multilabel"),
    (torch.tensor([[True, False]]), "multilabel"),
    (torch.tensor([[0.2, 1.0], [1.0, 3.0]]), "regression"),
    (torch.zeros(2, 5, 5, dtype=torch.long) + 4, "segmentation"),
    (torch.tensor([[0, 2, 2, 1]]), "segmentation"),           # labels of a 1-D signal
    (torch.zeros(2, 4, 4, 4, dtype=torch.uint8) + 7, "segmentation"),
    (torch.zeros(3, 6, 5), "detection"),
    (torch.rand(3, 6, 4), "regression"),                       # a dense float map
])
def test_infer_target(y, kind):
    assert infer_target(y) == kind


@pytest.mark.parametrize("kind", TARGETS)
def test_as_dataset_infers_each_kind_with_its_dtype_and_shape(kind):
    x, y = _kinds()[kind]
    ds = as_dataset(x, y)
    assert ds.target == kind
    dtype = torch.int64 if kind in ("class", "segmentation") else torch.float32
    assert ds.y.dtype == dtype
    assert ds.y.shape == torch.Size(y.shape)
    assert torch.equal(ds.y, torch.as_tensor(y).to(dtype))
    expected_classes = {"class": 3, "multilabel": 4, "regression": 0, "segmentation": 3,
                        "detection": 3}[kind]
    assert ds.num_classes == expected_classes


@pytest.mark.parametrize("kind", TARGETS)
def test_getitem_to_and_loader_keep_every_kind(kind):
    x, y = _kinds()[kind]
    ds = as_dataset(x, y)
    part = ds[torch.tensor([3, 1])]
    assert part.target == kind and part.classes == ds.classes
    assert torch.equal(part.y, ds.y[[3, 1]]) and torch.equal(part.x, ds.x[[3, 1]])
    assert torch.equal(ds[2].y, ds.y[2:3]) and torch.equal(ds[-1].y, ds.y[-1:])
    assert torch.equal(ds[ds.x[:, 0, 0, 0] > 0.5].y, ds.y[ds.x[:, 0, 0, 0] > 0.5])
    moved = ds.to("cpu")
    assert moved.target == kind and moved.y.device.type == "cpu"
    seen = torch.cat([yb for _, yb in BatchLoader(ds, batch_size=7, seed=1)])
    assert seen.shape == ds.y.shape
    assert sorted(map(str, seen.tolist())) == sorted(map(str, ds.y.tolist()))


@pytest.mark.parametrize("kind", TARGETS)
def test_train_test_split_every_kind(kind):
    x, y = _kinds(40)[kind]
    ds = as_dataset(x, y)
    train, test = train_test_split(ds, 0.25, seed=5)
    assert (len(train), len(test)) == (30, 10)
    assert (train.target, test.target) == (kind, kind)
    # A partition of the samples, each with its own target.
    rows = lambda d: {(tuple(a.flatten().tolist()), tuple(b.flatten().tolist()))
                      for a, b in zip(d.x, d.y)}
    assert rows(train) | rows(test) == rows(ds) and not rows(train) & rows(test)
    again = train_test_split(ds, 0.25, seed=5)[1]
    assert torch.equal(again.y, test.y)


def test_split_stratifies_classes_only():
    x, y = _kinds(40)["class"]
    test = train_test_split(as_dataset(x, y), 0.25)[1]
    assert test.y.bincount().tolist() == [round(c * 0.25) for c in np.bincount(y)]
    x, y = _kinds(40)["regression"]
    with pytest.raises(ArgumentError, match=r"stratify=True needs one class label per sample, "
                                            r"but this data set's target is 'regression'. "
                                            r"Pass stratify=False"):
        train_test_split(as_dataset(x, y), 0.25, stratify=True)


def test_regression_single_value_becomes_a_column():
    ds = as_dataset(np.zeros((3, 4), np.float32), [0.5, 1.5, -2.0])
    assert ds.target == "regression" and ds.y.shape == (3, 1)
    direct = Dataset(torch.zeros(3, 1, 4), torch.tensor([0.5, 1.5, -2.0]), ())
    assert direct.y.shape == (3, 1) and direct.target == "regression"


def test_target_override_and_names():
    x = np.zeros((2, 4), np.float32)  # two 1-D signals of length 4
    binary_tags = np.array([[0, 1, 1, 0], [1, 1, 0, 0]])
    assert as_dataset(x, binary_tags).target == "multilabel"       # the guess
    tags = as_dataset(x, binary_tags, target="segmentation")        # what it is
    assert tags.target == "segmentation" and tags.y.dtype == torch.int64
    assert tags.classes == ("0", "1")
    flags = as_dataset(x, np.array([[0.0, 1.0], [1.0, 0.0]]), target="regression",
                       classes=["left", "right"])
    assert flags.target == "regression" and flags.classes == ("left", "right")
    whole = as_dataset(x, np.array([1.0, 0.0]), target="class", classes=["a", "b"])
    assert whole.y.dtype == torch.int64 and whole.y.tolist() == [1, 0]


def test_repr_names_the_target():
    x, y = _kinds(4)["detection"]
    assert repr(as_dataset(x, y, name="boxes")) == (
        "Dataset('boxes', n=4, input_shape=(1, 6, 6), target='detection', classes=3)")
    x, y = _kinds(4)["regression"]
    assert repr(as_dataset(x, y)) == "Dataset(n=4, input_shape=(1, 6, 6), target='regression')"


def test_unknown_target():
    with pytest.raises(ArgumentError, match=r"target must be one of 'class', 'multilabel', "
                                            r"'regression', 'segmentation', 'detection'. "
                                            r"Received: target='boxes'"):
        as_dataset(np.zeros((1, 4)), [0], target="boxes")
    with pytest.raises(ArgumentError, match=r"target must be one of .*Received: target='seg'"):
        Dataset(torch.zeros(1, 1, 4), torch.zeros(1), (), target="seg")


# ----------------------------------------------------------------------------- errors


def test_nan_and_inf_targets():
    with pytest.raises(ArgumentError, match=r"y has 2 NaN or infinite values \(first in sample "
                                            r"1\). Remove those samples or fill"):
        as_dataset(np.zeros((3, 4)), [[0.5], [np.nan], [np.inf]])
    boxes = np.zeros((2, 1, 5), np.float32)
    boxes[1, 0] = (0, np.nan, 0.5, 0.1, 0.1)
    with pytest.raises(ArgumentError, match=r"y has 1 NaN or infinite values \(first in sample 1"):
        as_dataset(np.zeros((2, 1, 4, 4)), boxes, target="detection")
    with pytest.raises(ArgumentError, match=r"y has 1 NaN or infinite values"):
        as_dataset(np.zeros((2, 4)), [0.0, np.nan], target="class")


def test_nan_samples():
    x = np.zeros((3, 4), np.float32)
    x[2, 1] = np.inf
    with pytest.raises(ArgumentError, match=r"x has 1 NaN or infinite values \(first in sample "
                                            r"2\)"):
        as_dataset(x, [0, 1, 0])


def test_multilabel_errors():
    with pytest.raises(ArgumentError, match=r"y must hold only 0 and 1 for target='multilabel'. "
                                            r"Received: y with value 2 \(in sample 1\)"):
        as_dataset(np.zeros((2, 4)), [[0, 1], [2, 0]], target="multilabel")
    with pytest.raises(ShapeError, match=r"y has 2 columns but num_classes=3"):
        as_dataset(np.zeros((2, 4)), [[0, 1], [1, 0]], num_classes=3)
    with pytest.raises(ShapeError, match=r"y must be \(N, K\) rows of 0/1"):
        as_dataset(np.zeros((2, 4)), [0, 1], target="multilabel")


def test_segmentation_errors():
    x = np.zeros((2, 1, 3, 3), np.float32)
    maps = np.zeros((2, 3, 3), np.int64)
    maps[1, 2, 0] = 5
    with pytest.raises(ArgumentError, match=r"y has the label 5 \(in sample 1\), outside the "
                                            r"classes 0..2 and not the ignore value 255. Fix "
                                            r"the label map, add the class, or pass "
                                            r"ignore_index=5"):
        as_dataset(x, maps, classes=["sky", "road", "car"])
    maps[1, 2, 0] = IGNORE_INDEX  # an ignored pixel is fine
    ds = as_dataset(x, maps, classes=["sky", "road", "car"])
    assert ds.ignore_index == 255 and int(ds.y.max()) == 255
    maps[0, 0, 0] = -1
    with pytest.raises(ArgumentError, match=r"y has the label -1 \(in sample 0\)"):
        as_dataset(x, maps)
    custom = as_dataset(x, maps, ignore_index=-1)
    assert custom.ignore_index == -1 and custom.num_classes == 256
    with pytest.raises(ShapeError, match=r"segmentation targets must label every position of "
                                         r"the samples: y of shape \(2, 4, 4\) needs \(N, 3, 3\) "
                                         r"for x of shape \(2, 1, 3, 3\). Resize the label maps"):
        as_dataset(x, np.zeros((2, 4, 4), np.int64), target="segmentation")
    with pytest.raises(ArgumentError, match=r"ignore_index=1 is also a class"):
        as_dataset(x, np.zeros((2, 3, 3), np.int64), num_classes=3, ignore_index=1,
                   target="segmentation")


def _boxes(*rows):
    return np.array([list(rows)], np.float32)


@pytest.mark.parametrize("row, message", [
    ((0, 0.5, 0.5, 0.0, 0.2), r"y has a box with non-positive size \(w=0, h=0.2, in sample 0\)"),
    ((0, 0.5, 0.5, 0.3, -0.1), r"non-positive size \(w=0.3, h=-0.1"),
    ((0, 0.9, 0.5, 0.4, 0.2), r"y has a box outside the image \(cx, cy, w, h = \[0.9, 0.5, 0.4, "
                              r"0.2\], in sample 0\): boxes are normalised, every edge must lie "
                              r"in \[0, 1\]"),
    ((0, 0.5, 0.05, 0.2, 0.2), r"a box outside the image"),
    ((4, 0.5, 0.5, 0.2, 0.2), r"y has the box class 4 \(in sample 0\), outside the classes 0..2 "
                              r"and not -1 \(padding\)"),
    ((-2, 0.5, 0.5, 0.2, 0.2), r"the box class -2"),
    ((0.5, 0.5, 0.5, 0.2, 0.2), r"the class 0.5 \(in sample 0\); the first column of a box must "
                                r"be a whole-number class index"),
])
def test_detection_errors(row, message):
    with pytest.raises(ArgumentError, match=message):
        as_dataset(np.zeros((1, 1, 4, 4)), _boxes(row), target="detection", num_classes=3)


def test_detection_padding_and_tolerance():
    # Edges a rounding error outside [0, 1] are accepted; padding rows become one form.
    y = _boxes((1, 0.123457, 0.5, 0.246915, 1.0), (-1, 7.0, 7.0, 0.0, 3.0))
    ds = as_dataset(np.zeros((1, 1, 4, 4)), y)
    assert ds.target == "detection"
    assert ds.y[0, 1].tolist() == [-1.0, 0.0, 0.0, 0.0, 0.0]
    with pytest.raises(ShapeError, match=r"y must be \(N, M, 5\) boxes \[class, cx, cy, w, h\]"):
        as_dataset(np.zeros((1, 1, 4, 4)), np.zeros((1, 2, 4)), target="detection")


# ----------------------------------------------------------------------------- tokens


def test_token_ids():
    ids = np.array([[3, 14, 15, 0], [9, 2, 6, 5]])
    ds = as_dataset(ids, [1, 0], scale="tokens")
    assert ds.x.dtype == torch.int64 and ds.input_shape == (4,) and ds.is_tokens
    assert torch.equal(ds.x, torch.from_numpy(ids))
    assert ds[1:].x.tolist() == [[9, 2, 6, 5]]
    tags = as_dataset(ids, np.array([[0, 1, 2, 0], [2, 2, 1, 0]]), scale="tokens",
                      target="segmentation")
    assert tags.target_shape == (4,)
    direct = Dataset(torch.from_numpy(ids), torch.tensor([1, 0]), ("neg", "pos"))
    assert direct.is_tokens and direct.target == "class"
    with pytest.raises(ArgumentTypeError, match=r"scale='tokens' needs integer token ids. "
                                                r"Received: x of dtype torch.float32"):
        as_dataset(np.zeros((2, 4), np.float32), [0, 1], scale="tokens")
    with pytest.raises(ArgumentError, match=r"token ids must be >= 0. Received: x with the id -1"):
        as_dataset(np.array([[1, -1]]), [0], scale="tokens")
    with pytest.raises(ShapeError, match=r"token ids must be \(N, L\)"):
        as_dataset(np.zeros((2, 3, 4), np.int64), [0, 1], scale="tokens")


def test_check_targets_types():
    with pytest.raises(ArgumentTypeError, match=r"ignore_index must be an int. Received: "
                                                r"ignore_index=2.5"):
        check_targets([0, 1], ignore_index=2.5)
    with pytest.raises(ArgumentTypeError, match=r"must hold real numbers for "
                                                r"target='regression'"):
        check_targets(torch.tensor([[True]]), "regression")
