"""Locally connected map and its transpose (Goodfellow et al. 2016, eq. 9.9): fast path
against the loop oracle of cnnkit.reference.local, forward and backward in float64, 1-D
to 3-D; gradcheck; layers; shape rules; errors."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnkit import functional as CF
from cnnkit import layers as L
from cnnkit._validation import ArgumentError, ArgumentTypeError, ShapeError, to_tuple
from cnnkit.functional import shapes
from cnnkit.reference import local as ref

TOL = dict(rtol=1e-10, atol=1e-10)


def t(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


def close(actual, expected):
    actual = actual.detach().numpy() if isinstance(actual, torch.Tensor) else actual
    np.testing.assert_allclose(actual, expected, **TOL)


# (n, size, kernel, stride, padding, dilation, groups, padding_mode): every padding kind,
# strides 1-3 and mixed, dilation, channel groups, and every padding mode, in each rank.
CASES = [
    (1, (9,), (3,), 1, "valid", 1, 1, "zeros"),
    (1, (10,), (4,), 2, "same", 1, 2, "reflect"),
    (1, (7,), (3,), 1, "full", 2, 1, "zeros"),
    (1, (8,), (2,), 3, [(2, 1)], 1, 2, "circular"),
    (2, (6, 7), (3, 3), 1, "valid", 1, 1, "zeros"),
    (2, (7, 6), (3, 2), (2, 1), "same", 1, 2, "replicate"),
    (2, (5, 5), (2, 3), 1, "full", (1, 2), 1, "zeros"),
    (2, (8, 7), (3, 3), (1, 3), [(1, 0), (2, 1)], 2, 2, "reflect"),
    (2, (6, 6), (3, 3), 2, 1, 1, 1, "circular"),
    (3, (5, 4, 5), (2, 2, 3), 1, "valid", 1, 1, "zeros"),
    (3, (5, 5, 4), (3, 2, 2), (2, 1, 2), "same", 1, 2, "replicate"),
    (3, (4, 4, 4), (2, 2, 2), 1, [(1, 0), (0, 1), (1, 1)], (1, 2, 1), 1, "zeros"),
]


def _ids(case):
    n, size, kernel, stride, padding, dilation, groups, mode = case
    return f"{n}d-k{kernel}-s{stride}-p{padding}-d{dilation}-g{groups}-{mode}".replace(" ", "")


def _build(case, rng, batch=2, cin=4, cout=6, bias=True):
    n, size, kernel, stride, padding, dilation, groups, mode = case
    s, d = to_tuple(stride, n, "stride"), to_tuple(dilation, n, "dilation")
    pairs = shapes.padding_pairs(shapes.normalize_padding(padding, n), kernel, s, d, size)
    out = shapes.conv_output_shape(size, kernel, s, pairs, d)
    V = rng.standard_normal((batch, cin) + size)
    W = rng.standard_normal(shapes.locally_connected_weight_shape(cin, cout, kernel, out, groups))
    B = rng.standard_normal((cout,) + out) if bias else None
    return V, W, B, out


# The fast path orders the patch columns (tap, channel) when the batch is at least the
# filters per group, (channel, tap) otherwise: batch 2 and 6 (6 filters) take both paths.
@pytest.mark.parametrize("batch", [2, 6])
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_forward_and_backward_match_the_loop_oracle(case, batch):
    n, size, kernel, stride, padding, dilation, groups, mode = case
    rng = np.random.default_rng(zlib.crc32(_ids(case).encode()))
    V, W, B, out = _build(case, rng, batch=batch)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=mode)
    x, w, b = t(V, True), t(W, True), t(B, True)
    y = CF.locally_connected(x, w, b, **kw)
    close(y, ref.locally_connected(V, W, B, **kw))
    G = rng.standard_normal(y.shape)
    y.backward(t(G))
    close(x.grad, ref.input_grad(W, G, size, **kw))
    close(w.grad, ref.weight_grad(G, V, W.shape, **kw))
    close(b.grad, ref.bias_grad(G))


@pytest.mark.parametrize("batch", [2, 6])
@pytest.mark.parametrize("case", [c for c in CASES if c[7] == "zeros"], ids=_ids)
def test_transpose_matches_the_loop_oracle_and_is_the_adjoint(case, batch):
    n, size, kernel, stride, padding, dilation, groups, _ = case
    rng = np.random.default_rng(7)
    V, W, _, out = _build(case, rng, batch=batch, bias=False)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    Y = rng.standard_normal((batch, W.shape[n]) + out)
    Bt = rng.standard_normal((V.shape[1],) + size)
    y, w, bt = t(Y, True), t(W, True), t(Bt, True)
    z = CF.locally_connected_transpose(y, w, bt, output_size=size, **kw)
    close(z, ref.locally_connected_transpose(Y, W, Bt, output_size=size, **kw))
    # <A x, y> == <x, A^T y>: the transpose is the adjoint of the forward map.
    forward = CF.locally_connected(t(V), t(W), **kw)
    lhs = float((forward * t(Y)).sum())
    rhs = float((t(V) * CF.locally_connected_transpose(t(Y), t(W), output_size=size, **kw)).sum())
    assert math.isclose(lhs, rhs, rel_tol=1e-10, abs_tol=1e-10)
    # Backward: the transpose's input gradient is the forward map applied to the gradient.
    G = rng.standard_normal(z.shape)
    z.backward(t(G))
    close(y.grad, ref.locally_connected(G, W, None, **kw))
    close(w.grad, ref.weight_grad(Y, G, W.shape, **kw))
    close(bt.grad, G.sum(0))


def test_transpose_default_output_size_is_the_smallest():
    w = torch.randn(4, 3, 1, 3, dtype=torch.float64)  # forward: 1 -> 3 channels, 4 outputs
    y = torch.randn(2, 3, 4, dtype=torch.float64)
    z = CF.locally_connected_transpose(y, w, stride=2)
    assert z.shape == (2, 1, 9)  # (4 - 1) * 2 + 3
    close(z, ref.locally_connected_transpose(y.numpy(), w.numpy(), stride=2))
    assert CF.locally_connected_transpose(y, w, stride=2, output_size=10).shape == (2, 1, 10)


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_gradcheck(n, batch):
    size = (6, 5, 4)[:n]
    kernel = (3, 2, 2)[:n]
    out = tuple(s - k + 1 for s, k in zip(size, kernel))
    x = torch.randn(batch, 4, *size, dtype=torch.float64, requires_grad=True)
    # 2 filters per group: batch 1 and 2 take both column orders of the fast path.
    w = torch.randn(*out, 4, 2, *kernel, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, *out, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: CF.locally_connected(x, w, b, groups=2), (x, w, b))
    y = torch.randn(batch, 4, *out, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda y, w: CF.locally_connected_transpose(y, w, groups=2), (y, w))


def test_matches_the_unfold_einsum_recipe_in_float32():
    x = torch.randn(3, 5, 12, 11)
    w = torch.randn(6, 5, 7, 5, 3, 3)  # stride 2, padding (1, 0): 6x5 outputs
    out = CF.locally_connected(x, w, stride=2, padding=(1, 0))
    patches = F.unfold(x, 3, padding=(1, 0), stride=2)  # (N, C * 9, L)
    expected = torch.einsum("ncl,loc->nol", patches, w.reshape(30, 7, 45)).reshape(3, 7, 6, 5)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)


def test_noncontiguous_input_and_weight():
    x = torch.randn(2, 8, 6, 3, dtype=torch.float64).transpose(2, 3)  # (2, 8, 3, 6), strided
    w = torch.randn(2, 4, 4, 8, 3, 2, dtype=torch.float64).permute(0, 1, 2, 3, 5, 4)  # kernel 2x3
    assert not w.is_contiguous() and not x.is_contiguous()
    got = CF.locally_connected(x, w)
    close(got, ref.locally_connected(x.numpy(), w.numpy()))


def test_layer_forward_shapes_init_and_repr():
    layer = L.LocallyConnected2d(3, 8, 3, input_size=(10, 12), stride=2, padding="same")
    assert tuple(layer.weight.shape) == (5, 6, 8, 3, 3, 3)
    assert tuple(layer.bias.shape) == (8, 5, 6)
    assert layer(torch.randn(2, 3, 10, 12)).shape == (2, 8, 5, 6)
    bound = 1 / math.sqrt(3 * 9)
    assert float(layer.weight.detach().abs().max()) <= bound
    assert float(layer.weight.detach().std()) > 0.4 * bound  # really filled, not left at zero
    text = repr(layer)
    assert "input_size=(10, 12)" in text and "stride=(2, 2)" in text and "dilation" not in text
    assert sum(p.numel() for p in layer.parameters()) == shapes.locally_connected_params(
        3, 8, (3, 3), (5, 6))
    assert L.LocallyConnected1d(1, 2, 3, input_size=9, bias=False).bias is None
    assert L.LocallyConnected3d(1, 2, 2, input_size=4)(torch.randn(1, 1, 4, 4, 4)).shape == (1, 2, 3, 3, 3)


def test_layer_rejects_another_input_size_naming_both():
    layer = L.LocallyConnected2d(1, 4, 3, input_size=(8, 8))
    with pytest.raises(ShapeError, match=r"built for inputs of spatial size \(8, 8\).*Received: "
                                         r"input of spatial size \(9, 8\)"):
        layer(torch.randn(1, 1, 9, 8))


def test_function_rejects_an_input_for_another_output_size():
    w = torch.randn(4, 4, 2, 1, 3, 3)
    with pytest.raises(ShapeError, match=r"built for an output of size \(4, 4\).*input of spatial "
                                         r"size \(7, 6\) gives an output of size \(5, 4\)"):
        CF.locally_connected(torch.randn(1, 1, 7, 6), w)


def test_transpose_layer():
    up = L.LocallyConnectedTranspose2d(4, 2, 3, input_size=(4, 5), stride=2, padding=1,
                                       output_padding=1)
    assert up.out_size == (8, 10)
    assert up(torch.randn(3, 4, 4, 5)).shape == (3, 2, 8, 10)
    # Same weight, forward layer in the other direction: the maps are adjoint.
    x, y = torch.randn(1, 2, 8, 10), torch.randn(1, 4, 4, 5)
    lhs = (CF.locally_connected(x, up.weight, stride=2, padding=1) * y).sum()
    rhs = (x * CF.locally_connected_transpose(y, up.weight, stride=2, padding=1,
                                              output_size=(8, 10))).sum()
    torch.testing.assert_close(lhs, rhs, rtol=1e-4, atol=1e-4)
    with pytest.raises(ArgumentError, match=r"output_padding must be smaller than the stride"):
        L.LocallyConnectedTranspose2d(4, 2, 3, input_size=(4, 5), stride=2, output_padding=2)
    with pytest.raises(ShapeError, match=r"built for inputs of spatial size \(4, 5\)"):
        up(torch.randn(1, 4, 5, 5))


def test_transpose_rejects_an_unreachable_output_size():
    w = torch.randn(4, 3, 1, 3)
    with pytest.raises(ShapeError, match=r"output_size \(12,\) cannot be produced.*sizes 9..10"):
        CF.locally_connected_transpose(torch.randn(1, 3, 4), w, stride=2, output_size=12)


def test_argument_errors():
    x = torch.randn(1, 4, 6, 6)
    w = torch.randn(4, 4, 6, 2, 3, 3)
    with pytest.raises(ShapeError, match=r"weight of shape \(\*out_spatial, C_out, C_in / groups, "
                                         r"\*kernel\), 6 dimensions"):
        CF.locally_connected(x, torch.randn(6, 4, 3, 3))
    with pytest.raises(ShapeError, match=r"expects 2 input channels"):
        CF.locally_connected(x, w)
    with pytest.raises(ArgumentError, match=r"out_channels must be divisible by groups"):
        CF.locally_connected(x, torch.randn(4, 4, 5, 2, 3, 3), groups=2)
    with pytest.raises(ArgumentTypeError, match=r"floating-point input.*torch.int64"):
        CF.locally_connected(x.long(), w, groups=2)
    with pytest.raises(ArgumentTypeError, match=r"share dtype and device"):
        CF.locally_connected(x.double(), w, groups=2)
    with pytest.raises(ShapeError, match=r"bias must have shape \(6, 4, 4\)"):
        CF.locally_connected(x, w, torch.randn(6), groups=2)
    with pytest.raises(ArgumentError, match=r"padding_mode must be one of"):
        CF.locally_connected(x, w, groups=2, padding_mode="mirror")
    with pytest.raises(ShapeError, match=r"kernel 3 does not fit"):
        L.LocallyConnected2d(1, 2, 3, input_size=(2, 8))
    with pytest.raises(ArgumentError, match=r"in_channels must be divisible by groups"):
        L.LocallyConnected2d(3, 2, 3, input_size=8, groups=2)


def test_shape_rules():
    assert shapes.locally_connected_weight_shape(4, 6, (3,), (7,), groups=2) == (7, 6, 2, 3)
    assert shapes.locally_connected_params(4, 6, (3,), (7,), groups=2) == 7 * (6 * 2 * 3 + 6)
    assert shapes.locally_connected_flops(4, 6, (3,), (7,), 2) == 6 * 7 * 2 * 3
    for size in range(5, 12):
        out = shapes.conv_output_size(size, 3, 2, (1, 1))
        got, _ = shapes.locally_connected_transpose_sizes((out,), (3,), (2,), ((1, 1),), (1,))
        assert shapes.conv_output_size(got[0], 3, 2, (1, 1)) == out and got[0] <= size
