"""Tiled convolution (Goodfellow et al. 2016, eq. 9.10): fast path against the loop oracle of
cnnkit.reference.tiled, forward and backward in float64, 1-D to 3-D; t = 1 is a
convolution, t = output size the locally connected layer; gradcheck; layer; errors."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

from cnnkit import functional as CF
from cnnkit import layers as L
from cnnkit._validation import ArgumentError, ShapeError, to_tuple
from cnnkit.functional import shapes
from cnnkit.reference import tiled as ref

TOL = dict(rtol=1e-10, atol=1e-10)


def t(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


def close(actual, expected):
    actual = actual.detach().numpy() if isinstance(actual, torch.Tensor) else actual
    np.testing.assert_allclose(actual, expected, **TOL)


# (n, size, kernel, stride, padding, dilation, groups, padding_mode, tiles): tiles that
# divide the output and tiles that do not, a different t per axis, every padding kind.
CASES = [
    (1, (9,), (3,), 1, "valid", 1, 1, "zeros", (2,)),
    (1, (10,), (4,), 2, "same", 1, 2, "reflect", (3,)),
    (1, (7,), (3,), 1, "full", 2, 1, "circular", (4,)),
    (2, (6, 7), (3, 3), 1, "valid", 1, 1, "zeros", (2, 2)),
    (2, (7, 6), (3, 2), (2, 1), "same", 1, 2, "replicate", (2, 3)),
    (2, (5, 5), (2, 3), 1, "full", (1, 2), 1, "zeros", (3, 1)),
    (2, (8, 7), (3, 3), (1, 3), [(1, 0), (2, 1)], 2, 2, "reflect", (4, 2)),
    (3, (5, 4, 5), (2, 2, 3), 1, "valid", 1, 1, "zeros", (2, 1, 3)),
    (3, (5, 5, 4), (3, 2, 2), (2, 1, 2), "same", 1, 2, "replicate", (2, 2, 2)),
]


def _ids(case):
    return "-".join(str(v) for v in case).replace(" ", "")


def _out(case):
    n, size, kernel, stride, padding, dilation = case[:6]
    s, d = to_tuple(stride, n, "stride"), to_tuple(dilation, n, "dilation")
    pairs = shapes.padding_pairs(shapes.normalize_padding(padding, n), kernel, s, d, size)
    return shapes.conv_output_shape(size, kernel, s, pairs, d)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_forward_and_backward_match_the_loop_oracle(case):
    n, size, kernel, stride, padding, dilation, groups, mode, tiles = case
    rng = np.random.default_rng(zlib.crc32(_ids(case).encode()))
    V = rng.standard_normal((2, 4) + size)
    W = rng.standard_normal(shapes.tiled_weight_shape(4, 6, kernel, tiles, groups))
    B = rng.standard_normal((6,) + tiles)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=mode)
    x, w, b = t(V, True), t(W, True), t(B, True)
    y = CF.tiled_conv(x, w, b, **kw)
    close(y, ref.tiled_conv(V, W, B, **kw))
    G = rng.standard_normal(y.shape)
    y.backward(t(G))
    close(x.grad, ref.input_grad(W, G, size, **kw))
    close(w.grad, ref.weight_grad(G, V, W.shape, **kw))
    close(b.grad, ref.bias_grad(G, tiles))


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_one_tile_is_an_ordinary_convolution(case):
    n, size, kernel, stride, padding, dilation, groups, mode, _ = case
    x = torch.randn(2, 4, *size, dtype=torch.float64)
    w = torch.randn(6, 2 if groups == 2 else 4, *kernel, dtype=torch.float64)
    b = torch.randn(6, dtype=torch.float64)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=mode)
    tiled = CF.tiled_conv(x, w.view(*([1] * n), *w.shape), b.view(6, *([1] * n)), **kw)
    close(tiled, CF.conv(x, w, b, **kw).numpy())
    close(CF.tiled_conv(x, w.view(*([1] * n), *w.shape), b, **kw), CF.conv(x, w, b, **kw).numpy())


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_tiles_equal_to_the_output_size_are_the_locally_connected_layer(case):
    n, size, kernel, stride, padding, dilation, groups, mode, _ = case
    out = _out(case)
    x = torch.randn(2, 4, *size, dtype=torch.float64, requires_grad=True)
    w = torch.randn(*shapes.tiled_weight_shape(4, 6, kernel, out, groups), dtype=torch.float64,
                    requires_grad=True)
    b = torch.randn(6, *out, dtype=torch.float64, requires_grad=True)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=mode)
    tiled = CF.tiled_conv(x, w, b, **kw)
    local = CF.locally_connected(x, w, b, **kw)  # the same weight tensor, no remapping
    close(tiled, local.detach().numpy())
    g = torch.randn_like(tiled)
    for a, c in zip(torch.autograd.grad(tiled, (x, w, b), g), torch.autograd.grad(local, (x, w, b), g)):
        close(a, c.numpy())


def test_tiled_weight_expanded_per_location_is_the_locally_connected_weight():
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64)
    w = torch.randn(2, 3, 5, 3, 3, 3, dtype=torch.float64)
    out = (7, 6)
    expanded = CF.tiled_as_locally_connected(w, out)
    assert expanded.shape == (7, 6, 5, 3, 3, 3)
    assert torch.equal(expanded[5, 4], w[1, 1])  # location (5, 4) uses stack (5 % 2, 4 % 3)
    close(CF.tiled_conv(x, w), CF.locally_connected(x, expanded).numpy())


@pytest.mark.parametrize("n", [1, 2, 3])
def test_gradcheck(n):
    size = (7, 6, 4)[:n]
    tiles = (2, 3, 1)[:n]
    x = torch.randn(1, 4, *size, dtype=torch.float64, requires_grad=True)
    w = torch.randn(*tiles, 2, 2, *(2,) * n, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, *tiles, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, w, b: CF.tiled_conv(x, w, b, stride=2, padding="same", groups=2), (x, w, b))


def test_layer():
    layer = L.TiledConv2d(3, 8, 3, tiles=(2, 3), padding="same")
    assert tuple(layer.weight.shape) == (2, 3, 8, 3, 3, 3) and tuple(layer.bias.shape) == (8, 2, 3)
    assert layer(torch.randn(2, 3, 10, 9)).shape == (2, 8, 10, 9)
    assert layer(torch.randn(1, 3, 5, 7)).shape == (1, 8, 5, 7)  # any input size
    assert "tiles=(2, 3)" in repr(layer) and "padding='same'" in repr(layer)
    assert sum(p.numel() for p in layer.parameters()) == shapes.tiled_params(3, 8, (3, 3), (2, 3))
    assert L.TiledConv1d(1, 2, 3, tiles=4)(torch.randn(1, 1, 9)).shape == (1, 2, 7)
    assert L.TiledConv3d(1, 2, 2, tiles=2, bias=False)(torch.randn(1, 1, 4, 4, 4)).shape == (1, 2, 3, 3, 3)


def test_tiles_out_of_range_errors():
    x = torch.randn(1, 1, 6, 6)
    with pytest.raises(ShapeError, match=r"tiles 5 along spatial dimension 1 exceeds the output size 4.*"
                                         r"Received: tiles=\(2, 5\), output size=\(4, 4\)"):
        CF.tiled_conv(x, torch.randn(2, 5, 1, 1, 3, 3))
    with pytest.raises(ArgumentError, match=r"tiles must be positive.*Received: tiles=0"):
        L.TiledConv2d(1, 1, 3, tiles=0)
    with pytest.raises(ShapeError, match=r"tiles 5 along spatial dimension 0 exceeds the output size 4"):
        L.TiledConv2d(1, 1, 3, tiles=5, input_size=(6, 6))
    layer = L.TiledConv2d(1, 1, 3, tiles=5)
    with pytest.raises(ShapeError, match=r"exceeds the output size 4"):
        layer(x)
    with pytest.raises(ArgumentError, match=r"tiles must be at least 1"):
        shapes.check_tiles(0, (3,))


def test_argument_errors():
    x = torch.randn(1, 4, 6, 6)
    with pytest.raises(ShapeError, match=r"weight \(\*t, C_out, C_in / groups, \*kernel\)"):
        CF.tiled_conv(x, torch.randn(2, 4, 3, 3))
    with pytest.raises(ShapeError, match=r"bias must have shape \(2, 2, 2\) \(tiled like the kernels\)"):
        CF.tiled_conv(x, torch.randn(2, 2, 2, 4, 3, 3), torch.randn(2, 3, 3))
    with pytest.raises(ArgumentError, match=r"out_channels must be divisible by groups"):
        CF.tiled_conv(x, torch.randn(2, 2, 3, 2, 3, 3), groups=2)
    with pytest.raises(ShapeError, match=r"expects 8 input channels"):
        CF.tiled_conv(x, torch.randn(2, 2, 2, 4, 3, 3), groups=2)
