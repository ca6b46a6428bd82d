"""RoI max pooling: the worked example of the Wikipedia article "Convolutional neural
network", the loop oracle, per-box adaptive pooling."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnkit._validation import ArgumentError, ArgumentTypeError, ShapeError, SpecError
from cnnkit.functional.shapes import roi_pool_output_shape
from cnnkit.functional.roi_pool import roi_bins, roi_max_pool
from cnnkit.layers import RoIMaxPool
from cnnkit.reference import roi_pool as ref

D = torch.float64

# The 8x8 input of the RoI pooling figure of the Wikipedia article "Convolutional neural network",
# "pooled to size 2x2. In this example region proposal (an input parameter) has size 7x5."
FIGURE_INPUT = """
0.88 0.44 0.14 0.16 0.37 0.77 0.96 0.27
0.19 0.45 0.57 0.16 0.63 0.29 0.71 0.70
0.66 0.26 0.82 0.64 0.54 0.73 0.59 0.26
0.85 0.34 0.76 0.84 0.29 0.75 0.62 0.25
0.32 0.74 0.21 0.39 0.34 0.03 0.33 0.48
0.20 0.14 0.16 0.13 0.73 0.65 0.96 0.32
0.19 0.69 0.09 0.86 0.88 0.07 0.01 0.48
0.83 0.24 0.97 0.04 0.24 0.35 0.50 0.91
"""
# The figure's proposal: 7 wide (x 0..6) and 5 tall (y 3..7), inclusive corners.
FIGURE_BOX = [[0, 0, 3, 6, 7]]


def _figure_input():
    rows = [[float(v) for v in line.split()] for line in FIGURE_INPUT.strip().splitlines()]
    return torch.tensor(rows, dtype=D).view(1, 1, 8, 8)


def test_figure_example_partition_bins_reproduce_the_figure():
    # The figure splits the 5 rows 2 + 3 and the 7 columns 3 + 4.
    x = _figure_input().requires_grad_()
    y = roi_max_pool(x, torch.tensor(FIGURE_BOX, dtype=D), 2, bins="partition")
    torch.testing.assert_close(y, torch.tensor([[[[0.85, 0.84], [0.97, 0.96]]]], dtype=D))
    y.sum().backward()
    winners = {(3, 0), (3, 3), (7, 2), (5, 6)}  # (row, column) of 0.85, 0.84, 0.97, 0.96
    assert {tuple(p) for p in x.grad[0, 0].nonzero().tolist()} == winners


def test_figure_example_fast_rcnn_bins():
    # Fast R-CNN: rows [3, 6) and [5, 8), columns [0, 4) and [3, 7): bins share row 5 and
    # column 3, so 0.96 (row 5, column 6) wins both right-hand bins.
    x = _figure_input().requires_grad_()
    y = roi_max_pool(x, torch.tensor(FIGURE_BOX, dtype=D), (2, 2))
    torch.testing.assert_close(y, torch.tensor([[[[0.85, 0.96], [0.97, 0.96]]]], dtype=D))
    y.sum().backward()
    assert x.grad[0, 0, 5, 6] == 2  # one element, the maximum of two bins
    expected, argmax = ref.roi_max_pool(x.detach().numpy(), FIGURE_BOX, (2, 2))
    np.testing.assert_array_equal(y.detach().numpy(), expected)


def _boxes(count, size, batch, scale, generator):
    """Random in-image boxes (b, low corner, high corner), last dimension first."""
    d = len(size)
    image = torch.tensor(list(reversed(size)), dtype=D) / scale
    a = torch.rand(count, d, generator=generator, dtype=D) * (image - 1)
    b = torch.rand(count, d, generator=generator, dtype=D) * (image - 1)
    index = torch.randint(0, batch, (count, 1), generator=generator).to(D)
    return torch.cat([index, torch.minimum(a, b), torch.maximum(a, b)], dim=1)


CASES = [
    # (spatial size, output size, spatial scale)
    ((9, 11), (2, 2), 1.0),
    ((9, 11), (3, 2), 0.5),
    ((10, 8), (7, 7), 0.25),  # bins smaller than a cell: repeated cells
    ((12,), (4,), 1.0),
    ((5, 6, 4), (2, 3, 2), 1.0),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("bins", ["fast_rcnn", "partition"])
def test_matches_oracle_forward_and_backward(case, bins):
    size, output_size, scale = case
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, *size, dtype=D, generator=g).requires_grad_()
    boxes = _boxes(6, size, 2, scale, g)
    boxes[0] = torch.tensor([1] + [0.0] * len(size) + [(w - 1) / scale for w in reversed(size)])
    y = roi_max_pool(x, boxes, output_size, scale, bins)
    assert y.shape == roi_pool_output_shape(6, 3, output_size, len(size))
    expected, argmax = ref.roi_max_pool(x.detach().numpy(), boxes.numpy(), output_size, scale, bins)
    np.testing.assert_array_equal(y.detach().numpy(), expected)
    grad = torch.randn_like(y)
    y.backward(grad)
    np.testing.assert_allclose(x.grad.numpy(),
                               ref.roi_max_pool_backward(x.detach().numpy(), grad.numpy(), argmax),
                               atol=1e-12)


def test_fast_rcnn_bins_equal_per_box_adaptive_max_pooling():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 4, 20, 24, generator=g)
    boxes = _boxes(10, (20, 24), 3, 1 / 8, g)
    y = roi_max_pool(x, boxes, (5, 4), 1 / 8)
    for k, box in enumerate(boxes.tolist()):
        b, (x1, y1, x2, y2) = int(box[0]), [int(np.floor(v / 8 + 0.5)) for v in box[1:]]
        crop = x[b, :, y1:y2 + 1, x1:x2 + 1]
        torch.testing.assert_close(y[k], F.adaptive_max_pool2d(crop, (5, 4)))


def test_partition_bins_of_a_small_box_can_be_empty():
    x = torch.randn(1, 2, 6, 6, dtype=D, requires_grad=True)
    box = torch.tensor([[0, 2, 2, 3, 3]], dtype=D)  # 2 x 2 cells into 3 x 3 bins
    y = roi_max_pool(x, box, 3, bins="partition")
    expected, _ = ref.roi_max_pool(x.detach().numpy(), box.numpy(), (3, 3), bins="partition")
    np.testing.assert_array_equal(y.detach().numpy(), expected)
    assert (y[0, :, 0, :] == 0).all() and (y[0, :, :, 0] == 0).all()  # empty bins give 0
    y.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_box_ending_one_cell_past_the_map_is_clipped():
    # A 50-wide map for an 803-pixel image at 1/16: x2 = 802 rounds to cell 50.
    x = torch.randn(1, 2, 10, 50, dtype=D)
    box = torch.tensor([[0, 700, 0, 802, 150]], dtype=D)
    y = roi_max_pool(x, box, 3, 1 / 16)
    expected, _ = ref.roi_max_pool(x.numpy(), box.numpy(), (3, 3), 1 / 16)
    np.testing.assert_array_equal(y.numpy(), expected)


def test_gradcheck():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 2, 7, 9, dtype=D, generator=g).requires_grad_()
    boxes = _boxes(4, (7, 9), 2, 1.0, g)
    assert torch.autograd.gradcheck(lambda x: roi_max_pool(x, boxes, (3, 2)), (x,))


def test_no_boxes_and_integer_boxes():
    x = torch.randn(2, 3, 8, 8)
    assert roi_max_pool(x, torch.zeros(0, 5), 7).shape == (0, 3, 7, 7)
    y = roi_max_pool(x, torch.tensor([[1, 0, 0, 7, 7]]), 1)
    torch.testing.assert_close(y.flatten(), x[1].amax(dim=(1, 2)))


@pytest.mark.parametrize("box,message", [
    ([0, 0, 0, 20, 5], r"boxes\[0\] = \[0.0, 0.0, 0.0, 20.0, 5.0\] lies outside the image.*8 x 8 cells"),
    ([0, -1, 0, 3, 3], r"lies partly outside the image \(negative coordinate\)"),
    ([0, 4, 0, 2, 3], r"is empty or inverted.*x1 <= x2"),
    ([0, 0, 5, 3, 2], r"is empty or inverted"),
    ([2, 0, 0, 3, 3], r"batch index outside 0..1.*holds 2 images"),
    ([0.5, 0, 0, 3, 3], r"batch index outside 0..1 \(or not an integer\)"),
    ([0, float("nan"), 0, 3, 3], r"non-finite coordinate"),
])
def test_box_errors(box, message):
    x = torch.randn(2, 1, 8, 8)
    boxes = torch.tensor([[0, 0, 0, 1, 1], box], dtype=torch.float32)[1:]
    with pytest.raises(ArgumentError, match=message):
        roi_max_pool(x, boxes, 2)


def test_argument_errors():
    x = torch.randn(1, 1, 8, 8)
    with pytest.raises(ShapeError, match=r"boxes must have shape \(K, 5\): \(batch_index, x1, y1, x2, y2\)"):
        roi_max_pool(x, torch.zeros(3, 4), 2)
    with pytest.raises(ArgumentTypeError, match="boxes must be a tensor"):
        roi_max_pool(x, [[0, 0, 0, 1, 1]], 2)
    with pytest.raises(ArgumentError, match="spatial_scale must be positive"):
        roi_max_pool(x, torch.zeros(1, 5), 2, spatial_scale=0)
    with pytest.raises(ArgumentError, match="bins must be one of 'fast_rcnn', 'partition'"):
        roi_max_pool(x, torch.zeros(1, 5), 2, bins="caffe")
    with pytest.raises(ArgumentError, match=r"boxes\[1\].*\(2 boxes in all\)"):
        roi_max_pool(x, torch.tensor([[0, 0, 0, 1, 1], [0, 0, 0, 9, 9], [0, 0, 0, 9, 9.]]), 2)


def test_roi_bins_and_layer():
    index, starts, ends = roi_bins(torch.tensor(FIGURE_BOX, dtype=D), (8, 8), 2, bins="partition")
    assert starts[0].tolist() == [[3, 5]] and ends[0].tolist() == [[5, 8]]  # rows 2 + 3
    assert starts[1].tolist() == [[0, 3]] and ends[1].tolist() == [[3, 7]]  # columns 3 + 4
    pool = RoIMaxPool(7, spatial_scale=1 / 16)
    assert repr(pool) == "RoIMaxPool(output_size=(7, 7), spatial_scale=0.0625)"
    boxes = torch.tensor([[0, 0, 0, 99, 49], [1, 10, 10, 60, 30.]])
    assert pool(torch.randn(2, 3, 4, 7), boxes).shape == (2, 3, 7, 7)
    assert RoIMaxPool(3, dims=1)(torch.randn(1, 2, 9), torch.tensor([[0, 1, 7.]])).shape == (1, 2, 3)


# ---- roi_pool, the spec layer: fixed regions, grids stacked -------------------------------

from cnnkit import spec as S  # noqa: E402
from cnnkit.layers import FixedRoIMaxPool  # noqa: E402

FIXED_CASES = [  # (input size, boxes, output size, spatial scale)
    ((9,), [[0, 8], [3, 5], [2, 2]], (3,), 1.0),
    ((7, 9), [[0, 0, 8, 6], [2, 1, 5, 3], [4, 4, 4, 4]], (2, 3), 1.0),
    ((6, 10), [[0, 0, 19, 11], [4, 2, 13, 9]], (3, 2), 0.5),
    ((4, 5, 6), [[0, 0, 0, 5, 4, 3], [1, 2, 1, 3, 3, 2]], (2, 2, 2), 1.0),
]


@pytest.mark.parametrize("size, boxes, output_size, scale", FIXED_CASES)
@pytest.mark.parametrize("bins", ["fast_rcnn", "partition"])
def test_fixed_regions_match_the_oracle_forward_and_backward(size, boxes, output_size, scale,
                                                             bins):
    torch.manual_seed(0)
    x = torch.randn(3, 2, *size, dtype=torch.float64, requires_grad=True)
    layer = FixedRoIMaxPool(boxes, output_size, scale, bins, dims=len(size))
    y = layer(x)
    want = ref.fixed_roi_max_pool(x.detach().numpy(), boxes, output_size, scale, bins)
    np.testing.assert_allclose(y.detach().numpy(), want, rtol=0, atol=0)
    # Backward: each grid's gradient reaches its bin's maximum, as the per-box oracle says.
    g = torch.randn_like(y)
    y.backward(g)
    expected = np.zeros(x.shape)
    k, n1 = len(boxes), output_size[0]
    grids = g.view(3, 2, k, n1, *output_size[1:]).numpy()
    for b in range(3):
        for i, box in enumerate(boxes):
            _, argmax = ref.roi_max_pool(x.detach().numpy(), np.array([[b, *box]]), output_size,
                                         scale, bins)
            expected += ref.roi_max_pool_backward(x.detach().numpy(), grids[b][:, i][None],
                                                  argmax)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_fixed_regions_gradcheck():
    torch.manual_seed(1)
    # Distinct values: max pooling is differentiable away from ties.
    x = torch.randperm(2 * 2 * 6 * 7).view(2, 2, 6, 7).double().div(10).requires_grad_()
    layer = FixedRoIMaxPool([[0, 0, 6, 5], [1, 2, 4, 4]], (2, 2))
    assert torch.autograd.gradcheck(layer, (x,))


def test_fixed_regions_in_a_spec_score_every_region_with_the_same_weights():
    layers = [{"roi_pool": {"boxes": [[0, 0, 7, 7], [8, 8, 15, 15], [8, 0, 15, 7]],
                            "output_size": 2}},
              {"conv": {"filters": 6, "kernel": 2, "stride": 2, "activation": "relu"}},
              {"conv": {"filters": 3, "kernel": 1}}]
    net = S.build({"name": "regions", "input": [1, 16, 16], "layers": layers})
    assert net.output_shape == (3, 3, 1)       # 3 scores for each of the 3 regions
    torch.manual_seed(0)
    x = torch.rand(2, 1, 16, 16)
    # The bottom-right quarter moved to the top-left quarter of another image gets, as
    # region 0, the scores it got as region 1: one head for all regions.
    moved = torch.zeros_like(x)
    moved[:, :, :8, :8] = x[:, :, 8:, 8:]
    with torch.no_grad():
        assert torch.equal(net(x)[:, :, 1], net(moved)[:, :, 0])
    assert S.build(net.spec()).spec() == net.spec()
    assert net.spec()["layers"][0]["roi_pool"]["boxes"] == layers[0]["roi_pool"]["boxes"]


@pytest.mark.parametrize("boxes, message", [
    ([[0, 0, 9, 3]], r"layers\[0\]\.roi_pool\.boxes: boxes\[0\]=\[0, 0, 9, 3\] reaches past "
                     r"the input: at spatial_scale=1 it covers cells x 0\.\.9, y 0\.\.3, and "
                     r"the input has x 0\.\.7, y 0\.\.7 \(8x8\)\. Keep every box on the input"),
    ([[0, 0, 3]], r"boxes\[0\] must be 4 numbers \[x1, y1, x2, y2\] for a 2-D input\. "
                  r"Received: boxes\[0\]=\[0, 0, 3\]"),
    ([[3, 0, 1, 3]], r"boxes\[0\] is inverted"),
    ([[0, -1, 3, 3]], r"boxes\[0\] must be finite and non-negative"),
    ([], r"boxes must hold at least one box"),
    ("all", r"boxes must be a list of boxes, each \[x1, y1, x2, y2\]"),
])
def test_fixed_region_errors_name_the_spec_path(boxes, message):
    with pytest.raises(SpecError, match=message):
        S.build({"name": "bad", "input": [1, 8, 8],
                 "layers": [{"roi_pool": {"boxes": boxes, "output_size": 2}}]})
