"""The task losses (MSE, smooth L1, per-pixel cross-entropy with ignored pixels, YOLO v1,
Fast R-CNN) against the loop oracles of cnnkit.reference.losses: forward, backward
(the fast path's gradient against central differences of the oracle) and gradcheck."""

import numpy as np
import pytest
import torch

from cnnkit._validation import ArgumentError, ShapeError
from cnnkit.functional import boxes as B
from cnnkit.functional import losses as CL
from cnnkit.reference import losses as ref
from cnnkit.reference.gradcheck import numeric_gradient

D = torch.float64
TOL = dict(rtol=1e-10, atol=1e-12)
NUMERIC = dict(rtol=1e-5, atol=1e-7)


def _grad(fn, x):
    x = x.clone().requires_grad_()
    fn(x).backward()
    return x.grad.numpy()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_and_smooth_l1_match_oracles(reduction):
    gen = torch.Generator().manual_seed(0)
    yhat, y = torch.randn(4, 3, 2, generator=gen, dtype=D) * 2, torch.randn(4, 3, 2, generator=gen, dtype=D)
    np.testing.assert_allclose(CL.mse_loss(yhat, y, reduction=reduction).numpy(),
                               ref.mse_loss(yhat.numpy(), y.numpy(), reduction), **TOL)
    for beta in (1.0, 0.5):
        np.testing.assert_allclose(
            CL.smooth_l1_loss(yhat, y, beta=beta, reduction=reduction).numpy(),
            ref.smooth_l1_loss(yhat.numpy(), y.numpy(), beta, reduction), **TOL)
    g = _grad(lambda v: CL.smooth_l1_loss(v, y), yhat)
    np.testing.assert_allclose(g, numeric_gradient(lambda v: ref.smooth_l1_loss(v, y.numpy()),
                                                   yhat.numpy()), **NUMERIC)
    assert torch.autograd.gradcheck(lambda v: CL.smooth_l1_loss(v, y), yhat.clone().requires_grad_())
    g = _grad(lambda v: CL.mse_loss(v, y), yhat)
    np.testing.assert_allclose(g, numeric_gradient(lambda v: ref.mse_loss(v, y.numpy()),
                                                   yhat.numpy()), **NUMERIC)
    assert torch.autograd.gradcheck(lambda v: CL.mse_loss(v, y), yhat.clone().requires_grad_())


def test_smooth_l1_by_hand():
    # |x| < 1: 0.5 x^2; otherwise |x| - 0.5
    out = CL.smooth_l1_loss(torch.tensor([0.0, 0.5, -0.5, 1.0, -2.0, 3.0]), torch.zeros(6),
                            reduction="none")
    torch.testing.assert_close(out, torch.tensor([0.0, 0.125, 0.125, 0.5, 1.5, 2.5]))


@pytest.mark.parametrize("spatial", [(5,), (3, 4), (2, 2, 3)])
def test_per_pixel_cross_entropy_skips_the_ignore_label(spatial):
    gen = torch.Generator().manual_seed(len(spatial))
    logits = torch.randn(2, 4, *spatial, generator=gen, dtype=D)
    labels = torch.randint(0, 4, (2, *spatial), generator=gen)
    labels[torch.rand(labels.shape, generator=gen) < 0.3] = 255
    weight = torch.tensor([1.0, 2.0, 0.5, 1.5], dtype=D)
    for w in (None, weight):
        for reduction in ("mean", "sum", "none"):
            out = CL.softmax_cross_entropy(logits, labels, ignore_index=255, weight=w,
                                           reduction=reduction)
            expected = ref.softmax_cross_entropy_ignore(logits.numpy(), labels.numpy(), 255,
                                                        None if w is None else w.numpy(), reduction)
            np.testing.assert_allclose(out.numpy(), expected, **TOL)
    g = _grad(lambda v: CL.softmax_cross_entropy(v, labels, ignore_index=255, weight=weight), logits)
    np.testing.assert_allclose(g, numeric_gradient(
        lambda v: ref.softmax_cross_entropy_ignore(v, labels.numpy(), 255, weight.numpy()),
        logits.numpy()), **NUMERIC)
    assert torch.autograd.gradcheck(
        lambda v: CL.softmax_cross_entropy(v, labels, ignore_index=255), logits.clone().requires_grad_())


def test_cross_entropy_every_pixel_ignored_is_zero_with_zero_gradient():
    logits = torch.randn(1, 3, 2, 2, dtype=D, requires_grad=True)
    loss = CL.softmax_cross_entropy(logits, torch.full((1, 2, 2), 255), ignore_index=255)
    loss.backward()
    assert loss.item() == 0.0 and not logits.grad.any()


def test_cross_entropy_errors_name_the_ignore_value():
    with pytest.raises(ArgumentError, match=r"labels must lie in \[0, 3\) for 3 classes \(besides "
                                            r"the ignore value 255\). Received: labels from 0 to 7"):
        CL.softmax_cross_entropy(torch.zeros(1, 3, 2), torch.tensor([[7, 0]]), ignore_index=255)
    with pytest.raises(ShapeError, match=r"weight must hold one weight per class, shape \(3,\)"):
        CL.softmax_cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), weight=torch.ones(2))


# ---------------------------------------------------------------------------------------
# YOLO v1


def _detection_targets(gen, n, m, classes):
    centre = torch.rand(n, m, 2, generator=gen, dtype=D) * 0.8 + 0.1
    size = torch.rand(n, m, 2, generator=gen, dtype=D) * 0.3 + 0.05
    cls = torch.randint(0, classes, (n, m, 1), generator=gen).to(D)
    t = torch.cat((cls, centre, size), -1)
    t[:, -1] = torch.tensor([-1.0, 0, 0, 0, 0], dtype=D)  # one padding row per image
    return t


@pytest.mark.parametrize("seed, grid, boxes_per_cell", [(0, (4, 4), 2), (1, (3, 5), 1), (2, (2, 2), 3)])
def test_yolo_loss_matches_oracle_forward_and_backward(seed, grid, boxes_per_cell):
    gen = torch.Generator().manual_seed(seed)
    classes = 3
    targets = _detection_targets(gen, 2, 5, classes)
    out = torch.rand(2, 5 * boxes_per_cell + classes, *grid, generator=gen, dtype=D) * 0.8 + 0.1
    for reduction in ("mean", "sum", "none"):
        loss, parts = CL.yolo_v1_loss(out, targets, boxes_per_cell=boxes_per_cell,
                                      reduction=reduction, parts=True)
        expected, expected_parts = ref.yolo_v1_loss(out.numpy(), targets.numpy(), boxes_per_cell,
                                                    reduction=reduction)
        np.testing.assert_allclose(loss.numpy(), expected, **TOL)
        for key in expected_parts:
            np.testing.assert_allclose(parts[key].numpy(), expected_parts[key], **TOL)
    g = _grad(lambda v: CL.yolo_v1_loss(v, targets, boxes_per_cell=boxes_per_cell), out)
    numeric = numeric_gradient(
        lambda v: ref.yolo_v1_loss(v, targets.numpy(), boxes_per_cell)[0], out.numpy())
    # The confidence target (the IoU) is held constant in the fast path; the oracle's numeric
    # gradient moves it, so compare every output except the responsible predictors' boxes.
    obj, _, _ = B.yolo_encode(targets, grid)
    mask = np.ones_like(g, dtype=bool)
    for b in range(boxes_per_cell):
        mask[:, 5 * b:5 * b + 4][np.broadcast_to(obj.numpy()[:, None], mask[:, 5 * b:5 * b + 4].shape)] = False
    np.testing.assert_allclose(g[mask], numeric[mask], **NUMERIC)


def test_yolo_loss_gradcheck_where_the_iou_is_zero():
    # The confidence target (the IoU) is held constant. With one predictor per cell and
    # zero-size predicted boxes the IoU is 0 and stays 0 to first order, so gradcheck's
    # central differences see the same function: every output is checked.
    gen = torch.Generator().manual_seed(5)
    targets = _detection_targets(gen, 2, 3, 2)
    out = torch.rand(2, 5 + 2, 3, 3, generator=gen, dtype=D) * 0.5 + 0.2
    out[:, 2:4] = 0.0
    assert torch.autograd.gradcheck(lambda v: CL.yolo_v1_loss(v, targets, boxes_per_cell=1),
                                    out.clone().requires_grad_())


def test_yolo_loss_hand_computed_with_two_predictors():
    # One object in cell (0, 0) of a 2x2 grid: cx = cy = 0.25 (offsets 0.5, 0.5), w = h = 0.25.
    out = torch.zeros(1, 5 * 2 + 1, 2, 2, dtype=D)
    # predictor 0 is the exact box with confidence 0.5; predictor 1 is off to the side
    out[0, 0:5, 0, 0] = torch.tensor([0.5, 0.5, 0.5, 0.5, 0.5], dtype=D)
    out[0, 5:10, 0, 0] = torch.tensor([0.0, 0.0, 0.1, 0.1, 0.4], dtype=D)
    out[0, 10, 0, 0] = 0.7  # class probability
    out[0, 4, 1, 1] = 0.2   # a confident predictor in an empty cell
    targets = torch.tensor([[[0, 0.25, 0.25, 0.25, 0.25]]], dtype=D)
    loss, parts = CL.yolo_v1_loss(out, targets, parts=True)
    # responsible: predictor 0 (IoU 1): coord 0, size 0, object (0.5 - 1)^2 = 0.25;
    # no_object: 0.5 * (0.4^2 + 0.2^2) = 0.1; class (0.7 - 1)^2 = 0.09
    expected = {"coord": 0.0, "size": 0.0, "object": 0.25, "no_object": 0.1, "class": 0.09}
    for key, value in expected.items():
        assert parts[key].item() == pytest.approx(value, abs=1e-12), key
    assert loss.item() == pytest.approx(0.44, abs=1e-12)


def test_yolo_loss_errors():
    with pytest.raises(ShapeError, match=r"at least 11 channels. Received: outputs of shape \(1, 10, 7, 7\)"):
        CL.yolo_v1_loss(torch.zeros(1, 10, 7, 7), torch.zeros(1, 1, 5))
    with pytest.raises(ShapeError, match=r"detection targets must be \(2, M, 5\)"):
        CL.yolo_v1_loss(torch.zeros(2, 13, 7, 7), torch.zeros(2, 4))


# ---------------------------------------------------------------------------------------
# Fast R-CNN


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_fast_rcnn_loss_matches_oracle(reduction):
    gen = torch.Generator().manual_seed(7)
    rois, classes = 12, 3
    logits = torch.randn(rois, classes + 1, generator=gen, dtype=D)
    deltas = torch.randn(rois, 4 * classes, generator=gen, dtype=D)
    labels = torch.randint(-1, classes + 1, (rois,), generator=gen)
    targets = torch.randn(rois, 4, generator=gen, dtype=D)
    out = CL.fast_rcnn_loss(logits, deltas, labels, targets, lambda_loc=2.0, reduction=reduction)
    expected = ref.fast_rcnn_loss(logits.numpy(), deltas.numpy(), labels.numpy(), targets.numpy(),
                                  2.0, reduction)
    np.testing.assert_allclose(out.numpy(), expected, **TOL)
    both = torch.cat((logits.flatten(), deltas.flatten()))

    def fast(v):
        return CL.fast_rcnn_loss(v[:logits.numel()].view_as(logits),
                                 v[logits.numel():].view_as(deltas), labels, targets)

    def slow(v):
        return ref.fast_rcnn_loss(v[:logits.numel()].reshape(logits.shape),
                                  v[logits.numel():].reshape(deltas.shape), labels.numpy(),
                                  targets.numpy())

    np.testing.assert_allclose(_grad(fast, both), numeric_gradient(slow, both.numpy()), **NUMERIC)
    assert torch.autograd.gradcheck(fast, both.clone().requires_grad_())


def test_fast_rcnn_loss_errors():
    with pytest.raises(ShapeError, match=r"box_deltas must be \(R, 4K\) = \(2, 8\) for 2 object classes"):
        CL.fast_rcnn_loss(torch.zeros(2, 3), torch.zeros(2, 12), torch.zeros(2, dtype=torch.long),
                          torch.zeros(2, 4))
    with pytest.raises(ArgumentError, match=r"labels must lie in -1 .. 2 \(-1 ignored, 0 background\). "
                                            r"Received: labels from 0 to 3"):
        CL.fast_rcnn_loss(torch.zeros(2, 3), torch.zeros(2, 8), torch.tensor([0, 3]), torch.zeros(2, 4))


@pytest.mark.parametrize("bg_iou", [(0.0, 0.5), (0.1, 0.5)])
def test_match_rois_matches_oracle(bg_iou):
    gen = torch.Generator().manual_seed(8)
    targets = _detection_targets(gen, 3, 4, 3)
    targets[2, :] = torch.tensor([-1.0, 0, 0, 0, 0], dtype=D)  # an image without objects
    # RoIs: jittered copies of the truth and random boxes
    truth = B.cxcywh_to_xyxy(targets[..., 1:])
    jitter = truth + torch.randn(truth.shape, generator=gen, dtype=D) * 0.03
    centre = torch.rand(3, 20, 2, generator=gen, dtype=D)
    size = torch.rand(3, 20, 2, generator=gen, dtype=D) * 0.4 + 0.05
    rois = torch.cat((jitter,
                      torch.cat((centre - size / 2, centre + size / 2), -1)), 1)
    rois = torch.cat((torch.minimum(rois[..., :2], rois[..., 2:]) - 0.01,
                      torch.maximum(rois[..., :2], rois[..., 2:]) + 0.01), -1)
    labels, deltas = CL.match_rois(rois, targets, bg_iou=bg_iou)
    r_labels, r_deltas = ref.match_rois(rois.numpy(), targets.numpy(), bg_iou=bg_iou)
    np.testing.assert_array_equal(labels.numpy(), r_labels)
    np.testing.assert_allclose(deltas.numpy(), r_deltas, rtol=1e-10, atol=1e-12)
    assert (labels >= 1).any() and (labels[2] == (0 if bg_iou[0] == 0 else -1)).all()


def test_roi_detection_loss_unpacks_and_matches():
    gen = torch.Generator().manual_seed(9)
    classes = 2
    targets = _detection_targets(gen, 2, 3, classes)
    rois = B.cxcywh_to_xyxy(targets[..., 1:]).clamp(0, 1)
    rois[:, -1] = torch.tensor([0.0, 0.0, 0.3, 0.3], dtype=D)
    scores = torch.randn(2, 3, 5 * classes + 1, generator=gen, dtype=D)
    out = torch.cat((scores, rois), -1)
    loss = CL.roi_detection_loss(out, targets)
    labels, deltas = ref.match_rois(rois.numpy(), targets.numpy())
    expected = ref.fast_rcnn_loss(scores[..., :3].reshape(-1, 3).numpy(),
                                  scores[..., 3:].reshape(-1, 8).numpy(), labels.reshape(-1),
                                  deltas.reshape(-1, 4))
    assert loss.item() == pytest.approx(expected, rel=1e-10)
    with pytest.raises(ShapeError, match=r"\(N, R, 5 \(K \+ 1\)\)"):
        CL.roi_detection_loss(torch.zeros(2, 3, 11), targets)


def test_loss_registry_names():
    assert set(CL.LOSSES) >= {"softmax_cross_entropy", "sigmoid_cross_entropy", "euclidean",
                              "mse", "smooth_l1", "yolo", "fast_rcnn"}
    with pytest.raises(ArgumentError, match="Did you mean 'smooth_l1'"):
        CL.loss_function("smoth_l1")
