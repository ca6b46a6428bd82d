"""Segmentation metrics against loops over pixels written here and hand-computed cases."""

import numpy as np
import pytest
import torch

from cnnkit.metrics import SegmentationMeter, segmentation_scores


def _loop_iou(predicted, labels, k, ignore):
    iou = []
    for c in range(k):
        inter = union = 0
        for p, t in zip(predicted, labels):
            if t == ignore:
                continue
            inter += (p == c) and (t == c)
            union += (p == c) or (t == c)
        iou.append(inter / union if union else None)
    return iou


def test_hand_computed():
    # 2x3 map, classes 0..2, one ignored pixel
    labels = torch.tensor([[[0, 0, 1], [2, 2, 255]]])
    predicted = torch.tensor([[[0, 1, 1], [2, 0, 2]]])
    scores = torch.nn.functional.one_hot(predicted, 3).permute(0, 3, 1, 2).float()
    meter = SegmentationMeter(3)
    meter.update(scores, labels)
    result = meter.compute()
    # labelled: 5 pixels, correct 3. IoU: class 0: 1 / 3; class 1: 1 / 2; class 2: 1 / 2
    assert result["pixel_accuracy"] == pytest.approx(3 / 5)
    assert result["iou"] == pytest.approx([1 / 3, 1 / 2, 1 / 2])
    assert result["mean_iou"] == pytest.approx((1 / 3 + 1 / 2 + 1 / 2) / 3)
    assert result["class_accuracy"] == pytest.approx([1 / 2, 1.0, 1 / 2])
    assert result["frequency_weighted_iou"] == pytest.approx((2 / 3 + 1 / 2 + 2 / 2) / 5)
    assert result["count"] == 5


@pytest.mark.parametrize("spatial", [(17,), (6, 7), (3, 4, 5)])
def test_meter_matches_loops(spatial):
    gen = torch.Generator().manual_seed(len(spatial))
    k = 4
    scores = torch.randn(6, k, *spatial, generator=gen)
    labels = torch.randint(0, k - 1, (6, *spatial), generator=gen)  # class 3 never true
    labels[torch.rand(labels.shape, generator=gen) < 0.2] = 255
    meter = SegmentationMeter(k)
    for part in (slice(0, 1), slice(1, 6)):
        meter.update(scores[part], labels[part])
    result = meter.compute()
    predicted, flat = scores.argmax(1).reshape(-1).tolist(), labels.reshape(-1).tolist()
    expected = _loop_iou(predicted, flat, k, 255)
    assert result["iou"] == pytest.approx(expected)
    labelled = [(p, t) for p, t in zip(predicted, flat) if t != 255]
    assert result["pixel_accuracy"] == pytest.approx(np.mean([p == t for p, t in labelled]))
    assert result["mean_iou"] == pytest.approx(np.mean([v for v in expected if v is not None]))


def test_absent_class_has_no_iou():
    result = segmentation_scores(torch.tensor([[2, 0, 0], [0, 1, 0], [0, 0, 0]]))
    assert result["iou"] == [1.0, 1.0, None] and result["mean_iou"] == 1.0
