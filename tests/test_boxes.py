"""Boxes: conversions, IoU, NMS, the YOLO grid and the R-CNN deltas against the loop
oracles of cnnkit.reference.boxes and hand-computed cases."""

import math

import numpy as np
import pytest
import torch

from cnnkit._validation import ArgumentError, ArgumentTypeError, ShapeError
from cnnkit.functional import boxes as B
from cnnkit.reference import boxes as ref

D = torch.float64


def _random_boxes(gen, count, batch=()):
    centre = torch.rand(*batch, count, 2, generator=gen, dtype=D)
    size = torch.rand(*batch, count, 2, generator=gen, dtype=D) * 0.5 + 0.01
    return torch.cat((centre - size / 2, centre + size / 2), -1)


# ---------------------------------------------------------------------------------------
# Conversions and IoU


def test_conversions_by_hand_and_round_trip():
    xyxy = torch.tensor([[0.1, 0.2, 0.5, 0.8]], dtype=D)
    cxcywh = torch.tensor([[0.3, 0.5, 0.4, 0.6]], dtype=D)
    torch.testing.assert_close(B.xyxy_to_cxcywh(xyxy), cxcywh)
    torch.testing.assert_close(B.cxcywh_to_xyxy(cxcywh), xyxy)
    gen = torch.Generator().manual_seed(0)
    boxes = _random_boxes(gen, 20, (3,))
    torch.testing.assert_close(B.cxcywh_to_xyxy(B.xyxy_to_cxcywh(boxes)), boxes)
    np.testing.assert_allclose(B.xyxy_to_cxcywh(boxes).numpy(),
                               ref.xyxy_to_cxcywh(boxes.numpy()), rtol=1e-12)
    np.testing.assert_allclose(B.box_convert(boxes, "cxcywh", "xyxy").numpy(),
                               ref.cxcywh_to_xyxy(boxes.numpy()), rtol=1e-12)


def test_iou_hand_computed():
    a = torch.tensor([[0., 0., 2., 2.]], dtype=D)
    b = torch.tensor([[1., 1., 3., 3.],     # overlap 1x1: 1 / 7
                      [0., 0., 2., 2.],     # identical: 1
                      [2., 0., 4., 2.],     # touching edge: 0
                      [0.5, 0.5, 1.5, 1.5],  # inside: 1 / 4
                      [0., 0., 2., 1.]],    # half: 2 / 4
                     dtype=D)
    expected = torch.tensor([[1 / 7, 1.0, 0.0, 0.25, 0.5]], dtype=D)
    torch.testing.assert_close(B.box_iou(a, b), expected)
    # two points: the union is empty, IoU 0 (not NaN)
    point = torch.tensor([[1., 1., 1., 1.]], dtype=D)
    assert B.box_iou(point, point).item() == 0.0


def test_iou_matches_oracle_batched():
    gen = torch.Generator().manual_seed(1)
    a, b = _random_boxes(gen, 9, (2,)), _random_boxes(gen, 7, (2,))
    out = B.box_iou(a, b)
    assert out.shape == (2, 9, 7)
    for i in range(2):
        np.testing.assert_allclose(out[i].numpy(), ref.box_iou(a[i].numpy(), b[i].numpy()),
                                   rtol=1e-12, atol=1e-15)


def test_box_errors():
    with pytest.raises(ShapeError, match=r"4 numbers in the last dimension.*boxes.shape=\(3, 5\)"):
        B.box_area(torch.zeros(3, 5))
    with pytest.raises(ArgumentTypeError, match="boxes must be a tensor"):
        B.cxcywh_to_xyxy([0, 0, 1, 1])
    with pytest.raises(ArgumentError, match="in_fmt must be 'xyxy' or 'cxcywh'. Received: in_fmt='xywh'"):
        B.box_convert(torch.zeros(1, 4), "xywh", "xyxy")


# ---------------------------------------------------------------------------------------
# Non-maximum suppression


def test_nms_hand_computed():
    boxes = torch.tensor([[0., 0., 10., 10.],    # 0: score 0.9
                          [1., 1., 11., 11.],    # 1: IoU with 0 = 81 / 119 = 0.68 -> gone
                          [20., 20., 30., 30.],  # 2: alone
                          [0., 5., 10., 15.],    # 3: IoU with 0 = 50 / 150 = 0.33 -> stays
                          [1., 6., 11., 16.]])   # 4: IoU with 3 = 0.68 -> gone (3 kept)
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5])
    assert B.nms(boxes, scores, 0.5).tolist() == [0, 2, 3]
    # a chain: 1 would suppress 2, but 1 is suppressed by 0, so 2 stays
    chain = torch.tensor([[0., 0., 10., 10.], [3., 0., 13., 10.], [6., 0., 16., 10.]])
    assert B.nms(chain, torch.tensor([3., 2., 1.]), 0.5).tolist() == [0, 2]
    # per class: the same box of another class is not suppressed
    assert B.nms(boxes[:2], scores[:2], 0.5, classes=torch.tensor([0, 1])).tolist() == [0, 1]


@pytest.mark.parametrize("seed", range(6))
def test_nms_matches_greedy_loop(seed):
    gen = torch.Generator().manual_seed(seed)
    count = 60
    boxes = _random_boxes(gen, count, (3,)).float()
    scores = torch.rand(3, count, generator=gen)
    scores[:, ::7] = 0.5  # ties keep input order
    classes = torch.randint(0, 3, (3, count), generator=gen)
    valid = scores > 0.2
    for threshold in (0.1, 0.3, 0.5, 0.7):
        keep = B.batched_nms(boxes, scores, threshold, classes=classes, valid=valid)
        for i in range(3):
            idx = valid[i].nonzero()[:, 0]
            expected = ref.nms(boxes[i][idx].numpy(), scores[i][idx].numpy(), threshold,
                               classes[i][idx].numpy())
            assert sorted(idx[expected].tolist()) == keep[i].nonzero()[:, 0].tolist()
        single = B.nms(boxes[0], scores[0], threshold)
        assert single.tolist() == ref.nms(boxes[0].numpy(), scores[0].numpy(), threshold)


def test_nms_empty_and_errors():
    assert B.nms(torch.zeros(0, 4), torch.zeros(0), 0.5).tolist() == []
    with pytest.raises(ArgumentError, match=r"iou_threshold must be in \[0, 1\]. Received: iou_threshold=1.5"):
        B.nms(torch.zeros(2, 4), torch.zeros(2), 1.5)
    with pytest.raises(ShapeError, match=r"nms takes boxes \(R, 4\) and scores \(R,\)"):
        B.nms(torch.zeros(2, 4), torch.zeros(3, 1), 0.5)


# ---------------------------------------------------------------------------------------
# YOLO grid


def _targets(gen, n, m, classes=3):
    centre = torch.rand(n, m, 2, generator=gen) * 0.8 + 0.1
    size = torch.rand(n, m, 2, generator=gen) * 0.2 + 0.02
    cls = torch.randint(0, classes, (n, m, 1), generator=gen).float()
    t = torch.cat((cls, centre, size), -1)
    t[:, m // 2:, 0] = torch.where(torch.rand(n, m - m // 2, generator=gen) < 0.5,
                                   -1.0, t[:, m // 2:, 0])
    t[t[..., 0] < 0] = torch.tensor([-1.0, 0, 0, 0, 0])
    return t


@pytest.mark.parametrize("grid", [7, (3, 5), 1])
def test_yolo_encode_matches_oracle(grid):
    gen = torch.Generator().manual_seed(2)
    targets = _targets(gen, 4, 12)
    targets[0, 0, 1:3] = 1.0           # a centre on the far edge: the last cell
    targets[0, 1, :] = torch.tensor([2, 1.0, 1.0, 0.1, 0.1])  # same cell, listed later
    rows, cols = B.grid_size(grid)
    obj, boxes, classes = B.yolo_encode(targets, grid)
    r_obj, r_boxes, r_classes = ref.yolo_encode(targets.numpy(), rows, cols)
    np.testing.assert_array_equal(obj.numpy(), r_obj)
    np.testing.assert_array_equal(classes.numpy(), r_classes)
    np.testing.assert_allclose(boxes.numpy(), r_boxes, rtol=1e-6)


def test_yolo_encode_by_hand():
    targets = torch.tensor([[[1, 0.25, 0.75, 0.2, 0.2], [0, 0.3, 0.7, 0.1, 0.1],
                             [-1, 0, 0, 0, 0]]])
    obj, boxes, classes = B.yolo_encode(targets, 2)
    # both centres fall in row 1, column 0; the first box listed keeps the cell
    assert obj[0].tolist() == [[False, False], [True, False]]
    assert classes[0].tolist() == [[-1, -1], [1, -1]]
    torch.testing.assert_close(boxes[0, 1, 0], torch.tensor([0.25, 0.75, 0.2, 0.2]))
    empty = B.yolo_encode(torch.zeros(2, 0, 5), 3)
    assert not empty[0].any() and empty[0].shape == (2, 3, 3)


def test_yolo_decode_matches_oracle():
    gen = torch.Generator().manual_seed(3)
    out = torch.randn(2, 5 * 2 + 4, 3, 4, generator=gen, dtype=D) * 0.5 + 0.4
    boxes, scores, classes = B.yolo_decode(out, 2, 4)
    r_boxes, r_scores, r_classes = ref.yolo_decode(out.numpy(), 2, 4)
    np.testing.assert_allclose(boxes.numpy(), r_boxes, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(scores.numpy(), r_scores, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(classes.numpy(), r_classes)


def test_yolo_encode_then_decode_gives_the_boxes_back():
    gen = torch.Generator().manual_seed(4)
    targets = _targets(gen, 2, 6, classes=2)
    rows, cols = 4, 4
    obj, boxes, classes = B.yolo_encode(targets, (rows, cols))
    # the perfect network output for B = 1: offsets in the cell, square roots of the size
    out = torch.zeros(2, 5 + 2, rows, cols)
    r = torch.arange(rows).view(rows, 1).float()
    c = torch.arange(cols).view(1, cols).float()
    out[:, 0] = boxes[..., 0] * cols - c
    out[:, 1] = boxes[..., 1] * rows - r
    out[:, 2:4] = boxes[..., 2:].sqrt().permute(0, 3, 1, 2)
    out[:, 4] = obj.float()
    out[:, 5:] = torch.nn.functional.one_hot(classes.clamp_min(0), 2).permute(0, 3, 1, 2).float()
    d_boxes, d_scores, d_classes = B.yolo_decode(out, 1, 2)
    keep = d_scores > 0.5
    found = d_boxes[keep]
    expected = B.cxcywh_to_xyxy(boxes[obj]).clamp(0, 1)
    torch.testing.assert_close(found, expected, atol=1e-6, rtol=0)
    assert d_classes[keep].tolist() == classes[obj].tolist()


def test_yolo_errors():
    with pytest.raises(ShapeError, match=r"\(N, 5B \+ C, rows, cols\) = \(N, 12, rows, cols\).*"
                                         r"Make the last layer a conv with 12 filters"):
        B.yolo_decode(torch.zeros(1, 13, 7, 7), 2, 2)
    with pytest.raises(ShapeError, match=r"detection targets must be \(N, M, 5\)"):
        B.yolo_encode(torch.zeros(2, 4), 7)
    with pytest.raises(ArgumentError, match="grid must be positive ints. Received: grid=0"):
        B.grid_size(0)


# ---------------------------------------------------------------------------------------
# R-CNN deltas


def test_deltas_match_oracle_and_invert():
    gen = torch.Generator().manual_seed(5)
    p, g = _random_boxes(gen, 10), _random_boxes(gen, 10)
    v = B.box_deltas(p, g)
    for i in range(10):
        np.testing.assert_allclose(v[i].numpy(), ref.box_deltas(p[i].tolist(), g[i].tolist()),
                                   rtol=1e-12)
        np.testing.assert_allclose(B.apply_deltas(p, v)[i].numpy(),
                                   ref.apply_deltas(p[i].tolist(), v[i].tolist()), rtol=1e-12)
    torch.testing.assert_close(B.apply_deltas(p, v), g)
    with pytest.raises(ArgumentError, match="positive width and height"):
        B.box_deltas(torch.tensor([0., 0., 0., 1.]), torch.tensor([0., 0., 1., 1.]))
    assert math.isfinite(float(B.apply_deltas(p[:1], torch.full((1, 4), 1e4)).max()))
