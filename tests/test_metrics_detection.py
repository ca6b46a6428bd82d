"""VOC mAP against an independent implementation written here from the VOC devkit's
description (Everingham et al. 2010, section 4.2 and 4.4: detections ranked by confidence
over the whole set, each assigned to the ground truth box of highest overlap, a true
positive if that overlap is at least 0.5 and the box was not taken; all-point interpolated
AP), and hand-computed cases."""

import numpy as np
import pytest
import torch

from cnnkit.functional.boxes import cxcywh_to_xyxy
from cnnkit.metrics import DetectionMeter, voc_ap
from cnnkit.reference.boxes import iou


def _devkit_ap(detections, truths, cls, threshold=0.5):
    """detections: (image, score, class, box); truths: (image, class, box). One class."""
    gt = {}
    for image, k, box in truths:
        if k == cls:
            gt.setdefault(image, []).append(box)
    taken = {image: [False] * len(boxes) for image, boxes in gt.items()}
    npos = sum(len(b) for b in gt.values())
    mine = sorted([d for d in detections if d[2] == cls], key=lambda d: -d[1])
    tp, fp = [], []
    for image, _, _, box in mine:
        ovmax, jmax = -1.0, -1
        for j, g in enumerate(gt.get(image, [])):
            ov = iou(box, g)
            if ov > ovmax:
                ovmax, jmax = ov, j
        if ovmax >= threshold and not taken[image][jmax]:
            taken[image][jmax] = True
            tp.append(1)
            fp.append(0)
        else:
            tp.append(0)
            fp.append(1)
    if npos == 0:
        return None
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    rec = tp / npos
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def test_voc_ap_hand_computed():
    # 2 objects; ranked detections TP, FP, TP: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1
    # interpolated: 1 on [0, 1/2], 2/3 on (1/2, 1] -> AP = 1/2 + 1/3
    assert voc_ap(torch.tensor([0.5, 0.5, 1.0]), torch.tensor([1.0, 0.5, 2 / 3])) == pytest.approx(5 / 6)
    # a late FP after full recall does not lower AP
    assert voc_ap(torch.tensor([1.0, 1.0]), torch.tensor([1.0, 0.5])) == pytest.approx(1.0)


def test_meter_hand_computed_duplicates_and_misses():
    meter = DetectionMeter(num_classes=2)
    targets = torch.tensor([[[0, 0.25, 0.25, 0.5, 0.5], [1, 0.75, 0.75, 0.5, 0.5], [-1, 0, 0, 0, 0]]])
    boxes = torch.tensor([[[0.0, 0.0, 0.5, 0.5],     # class 0, TP
                           [0.0, 0.0, 0.5, 0.5],     # class 0, duplicate: FP
                           [0.5, 0.5, 1.0, 1.0],     # class 0 on the class-1 box: FP
                           [0.55, 0.5, 1.0, 1.0]]])  # class 1, IoU 0.9: TP
    scores = torch.tensor([[0.9, 0.95, 0.5, 0.3]])
    classes = torch.tensor([[0, 0, 0, 1]])
    meter.update(boxes, scores, classes, torch.ones(1, 4, dtype=torch.bool), targets)
    result = meter.compute()
    # class 0 ranking: 0.95 (TP, the first to take the box), 0.9 (FP), 0.5 (FP): AP 1
    assert result["average_precision"] == [1.0, 1.0]
    assert result["precision"][0] == pytest.approx(1 / 3)
    assert result["objects"] == 2 and result["detections"] == 4


@pytest.mark.parametrize("seed", range(4))
def test_meter_matches_the_devkit_loop(seed):
    gen = torch.Generator().manual_seed(seed)
    images, m, d, k = 12, 4, 15, 3
    centre = torch.rand(images, m, 2, generator=gen) * 0.6 + 0.2
    size = torch.rand(images, m, 2, generator=gen) * 0.3 + 0.1
    cls = torch.randint(0, k, (images, m, 1), generator=gen).float()
    targets = torch.cat((cls, centre, size), -1)
    targets[torch.rand(images, m, generator=gen) < 0.3] = torch.tensor([-1.0, 0, 0, 0, 0])
    truth = cxcywh_to_xyxy(targets[..., 1:])
    # detections: noisy copies of the truth (some duplicated) and random boxes
    pick = torch.randint(0, m, (images, d), generator=gen)
    boxes = truth.gather(1, pick[..., None].expand(images, d, 4)) + 0.05 * torch.randn(images, d, 4, generator=gen)
    random = torch.rand(images, d, 2, generator=gen)
    boxes = torch.where(torch.rand(images, d, 1, generator=gen) < 0.3,
                        torch.cat((random * 0.5, random * 0.5 + 0.3), -1), boxes)
    boxes = torch.cat((torch.minimum(boxes[..., :2], boxes[..., 2:]), torch.maximum(boxes[..., :2], boxes[..., 2:])), -1)
    classes = torch.where(torch.rand(images, d, generator=gen) < 0.8,
                          targets[..., 0].long().gather(1, pick).clamp_min(0),
                          torch.randint(0, k, (images, d), generator=gen))
    scores = torch.rand(images, d, generator=gen)
    valid = torch.rand(images, d, generator=gen) < 0.8
    meter = DetectionMeter(k)
    for part in (slice(0, 5), slice(5, 12)):
        meter.update(boxes[part], scores[part], classes[part], valid[part], targets[part])
    result = meter.compute()
    detections = [(i, float(scores[i, j]), int(classes[i, j]), boxes[i, j].tolist())
                  for i in range(images) for j in range(d) if valid[i, j]]
    truths = [(i, int(targets[i, j, 0]), truth[i, j].tolist())
              for i in range(images) for j in range(m) if targets[i, j, 0] >= 0]
    expected = [_devkit_ap(detections, truths, c) for c in range(k)]
    assert result["average_precision"] == pytest.approx(expected, abs=1e-9)
    assert result["mAP"] == pytest.approx(np.mean([e for e in expected if e is not None]), abs=1e-9)
    assert 0.0 < result["mAP"] < 1.0
