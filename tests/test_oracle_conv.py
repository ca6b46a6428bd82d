"""The convolution fast path (cnnkit.functional, cnnkit.layers) against the loop oracles of
cnnkit.reference.conv (Goodfellow et al. 2016, eq. 9.4-9.13), forward and backward, in float64."""

from __future__ import annotations

import itertools
import math
import zlib

import numpy as np
import pytest
import torch

from cnnkit import functional as CF
from cnnkit import layers as L
from cnnkit._validation import ArgumentError, ShapeError
from cnnkit.reference import conv as ref

TOL = dict(rtol=1e-10, atol=1e-10)


def t(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


def close(actual, expected):
    actual = actual.detach().numpy() if isinstance(actual, torch.Tensor) else actual
    np.testing.assert_allclose(actual, expected, **TOL)


# ---------------------------------------------------------------------------------------
# The grid. Each case: (n, cin, cout, size, kernel, stride, padding, dilation, groups,
# padding_mode, flip, bias). Shapes come from a seeded RNG so that different cases see
# different (small) sizes; the settings under test are enumerated explicitly.

STRIDES = {"1": 1, "2": 2, "3": 3, "mixed": None}  # None: a different stride per axis
PADDINGS = ["valid", "same", "full", "int", "ints", "pairs"]


def _padding(kind, n, rng):
    if kind in ("valid", "same", "full"):
        return kind
    if kind == "int":
        return int(rng.integers(1, 3))
    if kind == "ints":
        return [int(p) for p in rng.integers(0, 3, size=n)]
    # asymmetric (lo, hi) pairs, at least one axis really asymmetric
    pairs = [(int(lo), int(hi)) for lo, hi in rng.integers(0, 3, size=(n, 2))]
    if all(lo == hi for lo, hi in pairs):
        pairs[0] = (pairs[0][0], pairs[0][0] + 1)
    return pairs


def _case(n, stride, padding, rng, *, mode="zeros", groups=None, dilation=None, flip=None,
          bias=None):
    stride = tuple(int(s) for s in rng.integers(1, 4, size=n)) if stride is None else stride
    if dilation is None:
        dilation = int(rng.choice([1, 2]))
    group_kind = groups if groups is not None else str(rng.choice(["1", "2", "depthwise"]))
    if group_kind == "1":
        groups, cin, cout = 1, int(rng.integers(1, 4)), int(rng.integers(1, 4))
    elif group_kind == "2":
        groups, cin, cout = 2, 2 * int(rng.integers(1, 3)), 2 * int(rng.integers(1, 3))
    else:  # depthwise: one group per input channel, a depth multiplier of 1 or 2
        cin = int(rng.integers(2, 4))
        groups, cout = cin, cin * int(rng.integers(1, 3))
    max_k = {1: 4, 2: 3, 3: 2}[n]
    kernel = tuple(int(k) for k in rng.integers(1, max_k + 1, size=n))
    pad = _padding(padding, n, rng)
    # Big enough for the widest dilated kernel and for reflect padding (pad < size).
    low = max((k - 1) * dilation + 2 for k in kernel) + 1
    size = tuple(int(w) for w in rng.integers(low, low + {1: 6, 2: 4, 3: 2}[n], size=n))
    flip = bool(rng.integers(0, 2)) if flip is None else flip
    bias = str(rng.choice(["shared", "untied", "none"])) if bias is None else bias
    return (n, cin, cout, size, kernel, stride, pad, dilation, groups, mode, flip, bias)


def _grid():
    rng = np.random.default_rng(2024)
    cases, ids = [], []
    for n, (sname, s), padding in itertools.product((1, 2, 3), STRIDES.items(), PADDINGS):
        cases.append(_case(n, s, padding, rng))
        ids.append(f"{n}d-s{sname}-{padding}")
    for n, mode, padding, s in itertools.product(
            (1, 2, 3), ("reflect", "replicate", "circular"), ("same", "int", "pairs"), (1, 2)):
        cases.append(_case(n, s, padding, rng, mode=mode))
        ids.append(f"{n}d-{mode}-{padding}-s{s}")
    for n, groups, dilation, flip in itertools.product(
            (1, 2, 3), ("1", "2", "depthwise"), (1, 2), (False, True)):
        cases.append(_case(n, int(rng.integers(1, 3)), str(rng.choice(PADDINGS)), rng,
                           groups=groups, dilation=dilation, flip=flip))
        ids.append(f"{n}d-g{groups}-d{dilation}-{'conv' if flip else 'xcorr'}")
    for n, bias in itertools.product((1, 2, 3), ("shared", "untied", "none")):
        cases.append(_case(n, 2, "same", rng, bias=bias))
        ids.append(f"{n}d-bias-{bias}")
    return cases, ids


CASES, IDS = _grid()


def _oracle_all(V, K, b, G, case):
    n, cin, cout, size, kernel, stride, pad, dilation, groups, mode, flip, bias = case
    kw = dict(stride=stride, padding=pad, dilation=dilation, groups=groups,
              padding_mode=mode, flip=flip)
    Z = ref.conv(V, K, b, **kw)
    dV = ref.input_grad(K, G, size, **kw)
    dK = ref.kernel_grad(G, V, kernel, **kw)
    db = None if b is None else ref.bias_grad(G, untied=(bias == "untied"))
    return Z, dV, dK, db


def _random_inputs(case, rng):
    n, cin, cout, size, kernel, stride, pad, dilation, groups, mode, flip, bias = case
    V = rng.standard_normal((2, cin) + size)
    K = rng.standard_normal((cout, cin // groups) + kernel)
    out = ref.output_size(size, kernel, stride, ref.resolve_padding(pad, size, kernel, stride,
                                                                     dilation), dilation)
    b = {"shared": rng.standard_normal(cout), "untied": rng.standard_normal((cout,) + out),
         "none": None}[bias]
    G = rng.standard_normal((2, cout) + out)
    return V, K, b, G


def test_grid_size_and_coverage():
    # The grid is what the docstring promises: every rank, stride, padding kind and mode.
    assert 150 <= len(CASES) <= 400
    assert {c[0] for c in CASES} == {1, 2, 3}
    assert {c[9] for c in CASES} == {"zeros", "reflect", "replicate", "circular"}
    assert {c[11] for c in CASES} == {"shared", "untied", "none"}
    assert any(c[8] == c[1] and c[8] > 1 for c in CASES)  # depthwise
    assert any(isinstance(c[5], tuple) and len(set(c[5])) > 1 for c in CASES)  # mixed strides


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv_matches_oracle_forward_and_backward(case):
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    n, cin, cout, size, kernel, stride, pad, dilation, groups, mode, flip, bias = case
    V, K, b, G = _random_inputs(case, rng)
    x, w = t(V, True), t(K, True)
    bt = None if b is None else t(b, True)
    out = CF.conv(x, w, bt, stride=stride, padding=pad, dilation=dilation, groups=groups,
                  padding_mode=mode, flip=flip)
    out.backward(t(G))
    Z, dV, dK, db = _oracle_all(V, K, b, G, case)
    close(out, Z)
    close(x.grad, dV)
    close(w.grad, dK)
    if b is not None:
        close(bt.grad, db)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_rank_aliases_match_conv(n):
    rng = np.random.default_rng(n)
    V = rng.standard_normal((1, 2) + (5,) * n)
    K = rng.standard_normal((3, 2) + (2,) * n)
    fn = {1: CF.conv1d, 2: CF.conv2d, 3: CF.conv3d}[n]
    close(fn(t(V), t(K), stride=2, padding="same"), ref.conv(V, K, stride=2, padding="same"))


# ---------------------------------------------------------------------------------------
# 'same' with a stride: which side gets the extra pixel.

@pytest.mark.parametrize("size,kernel,stride,expected", [
    (7, 2, 2, (0, 1)),   # out 4, total 1
    (9, 4, 2, (1, 2)),   # out 5, total 3
    (6, 3, 1, (1, 1)),   # stride 1, odd kernel: symmetric
    (6, 2, 1, (0, 1)),   # stride 1, even kernel: extra after
    (9, 3, 3, (0, 0)),   # windows tile exactly: no padding
])
def test_same_padding_puts_the_extra_pixel_on_the_high_side(size, kernel, stride, expected):
    assert ref.resolve_padding("same", (size,), (kernel,), (stride,)) == (expected,)
    rng = np.random.default_rng(size * 10 + kernel)
    V = rng.standard_normal((1, 1, size))
    K = rng.standard_normal((1, 1, kernel))
    fast = CF.conv(t(V), t(K), stride=stride, padding="same")
    assert fast.shape[-1] == math.ceil(size / stride)
    close(fast, ref.conv(V, K, stride=stride, padding=(expected,)))
    lo, hi = expected
    if lo != hi:  # the mirror image would differ: the side is really pinned
        mirrored = ref.conv(V, K, stride=stride, padding=((hi, lo),))
        assert not np.allclose(fast.numpy(), mirrored)


def test_same_high_side_in_2d_with_mixed_strides():
    rng = np.random.default_rng(5)
    V = rng.standard_normal((1, 2, 7, 8))
    K = rng.standard_normal((3, 2, 2, 3))
    fast = CF.conv(t(V), t(K), stride=(2, 3), padding="same")
    assert tuple(fast.shape[2:]) == (4, 3)
    close(fast, ref.conv(V, K, stride=(2, 3), padding=((0, 1), (0, 1))))


# ---------------------------------------------------------------------------------------
# Transposed convolution: h of eq 9.13, with every valid output size.

def _valid_sizes(w_in, kernel, stride, padding, dilation):
    """Every forward input size whose convolution has ``w_in`` outputs (1-D)."""
    sizes = []
    for w in range(1, (w_in + 1) * stride + (kernel - 1) * dilation + 8):
        pairs = ref.resolve_padding(padding if isinstance(padding, str) else [padding], (w,),
                                    (kernel,), (stride,), (dilation,))
        if ref.output_size((w,), (kernel,), (stride,), pairs, (dilation,)) == (w_in,):
            sizes.append(w)
    return sizes


def _transpose_cases():
    rng = np.random.default_rng(99)
    cases = []
    for n, stride, padding in itertools.product(
            (1, 2, 3), (1, 2, 3), ("valid", "same", "full", "int", "pairs")):
        kernel = tuple(int(k) for k in rng.integers(1, {1: 5, 2: 4, 3: 3}[n], size=n))
        dilation = int(rng.choice([1, 2]))
        groups = int(rng.choice([1, 2]))
        if padding == "int":
            pad = int(rng.integers(0, 2))
        elif padding == "pairs":
            pad = [(int(lo), int(hi)) for lo, hi in rng.integers(0, 2, size=(n, 2))]
            pad[0] = (0, 1)
        else:
            pad = padding
        cases.append((n, kernel, stride, pad, dilation, groups, bool(rng.integers(0, 2))))
    return cases


def _per_axis_sizes(case, size_in):
    n, kernel, stride, pad, dilation, groups, flip = case
    pairs = _axis_pad(pad, n)
    return [_valid_sizes(size_in[axis], kernel[axis], stride,
                         pairs if isinstance(pairs, str) else pairs[axis], dilation)
            for axis in range(n)]


def _axis_pad(pad, n):
    if isinstance(pad, str):
        return pad
    if isinstance(pad, int):
        return [(pad, pad)] * n
    return pad


@pytest.mark.parametrize("case", _transpose_cases(), ids=lambda c: f"{c[0]}d-s{c[2]}-{c[3]}")
def test_conv_transpose_matches_oracle_for_every_valid_output_size(case):
    n, kernel, stride, pad, dilation, groups, flip = case
    rng = np.random.default_rng(len(str(case)) + stride)
    size_in = [int(w) for w in rng.integers(2, {1: 5, 2: 4, 3: 3}[n] + 1, size=n)]
    # Large padding can make small sizes unreachable (every output is at least 1 + P - E
    # wide); grow those axes until all S preimages exist.
    per_axis = _per_axis_sizes(case, size_in)
    for axis in range(n):
        while len(per_axis[axis]) < stride and size_in[axis] < 12:
            size_in[axis] += 1
            per_axis = _per_axis_sizes(case, size_in)
    size_in = tuple(size_in)
    cin, cout = 2 * groups, groups * int(rng.integers(1, 3))
    X = rng.standard_normal((2, cin) + size_in)
    K = rng.standard_normal((cin, cout // groups) + kernel)
    b = rng.standard_normal(cout)
    assert all(len(s) == stride for s in per_axis), per_axis  # S sizes map onto one
    if n == 3:  # keep 3-D small: vary all axes together
        targets = [tuple(s[i] for s in per_axis) for i in range(stride)]
    else:
        targets = list(itertools.product(*per_axis))
    padding = _axis_pad(pad, n)
    for target in targets:
        x, w, bt = t(X, True), t(K, True), t(b, True)
        out = CF.conv_transpose(x, w, bt, stride=stride, padding=pad, dilation=dilation,
                                groups=groups, output_size=target, flip=flip)
        Y = ref.conv_transpose(X, K, b, stride, padding, dilation, groups, target, flip)
        close(out, Y)
        dY = rng.standard_normal(Y.shape)
        out.backward(t(dY))
        # h is the transpose of the convolution c: so dJ/dX = c(dY) and dJ/dK = g(X, dY)
        # (Goodfellow et al. 2016, the autoencoder paragraph after eq. 9.14).
        kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, flip=flip)
        close(x.grad, ref.conv(dY, K, **kw))
        close(w.grad, ref.kernel_grad(X, dY, kernel, **kw))
        close(bt.grad, ref.bias_grad(dY))
    if pad == "same":
        return
    # The default is the smallest valid size, as for the oracle.
    default = CF.conv_transpose(t(X), t(K), None, stride=stride, padding=pad, dilation=dilation,
                                groups=groups, flip=flip)
    close(default, ref.conv_transpose(X, K, None, stride, padding, dilation, groups, None, flip))
    # One past either end of the valid range is refused, naming the ranges.
    for bad in ([s[0] - 1 for s in per_axis], [s[-1] + 1 for s in per_axis]):
        if min(bad) < 1:
            continue
        with pytest.raises(ShapeError, match=r"output_size .* cannot be produced.*Received: output_size="):
            CF.conv_transpose(t(X), t(K), stride=stride, padding=pad, dilation=dilation,
                              groups=groups, output_size=tuple(bad))


def test_conv_transpose_same_default_is_a_valid_size():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((1, 2, 4, 5))
    K = rng.standard_normal((2, 3, 3, 3))
    out = CF.conv_transpose(t(X), t(K), stride=2, padding="same")
    target = tuple(out.shape[2:])
    # A 'same' convolution of the produced size gives back X's size ...
    assert ref.output_size(target, (3, 3), (2, 2),
                           ref.resolve_padding("same", target, (3, 3), (2, 2))) == (4, 5)
    # ... and the values are the oracle's for that size.
    close(out, ref.conv_transpose(X, K, None, 2, "same", 1, 1, target))


def test_oracle_h_is_the_transpose_of_the_convolution_matrix():
    # Goodfellow et al. 2016: h multiplies by the transpose of the matrix that c defines. Build
    # that matrix column by column from the oracle's forward pass and compare.
    rng = np.random.default_rng(7)
    size, kernel, kw = (5, 4), (2, 3), dict(stride=(2, 1), padding=((1, 0), (0, 2)),
                                             dilation=(1, 2), groups=2, flip=True)
    K = rng.standard_normal((4, 1) + kernel)
    columns = []
    for i in range(2 * math.prod(size)):
        e = np.zeros(2 * math.prod(size))
        e[i] = 1.0
        columns.append(ref.conv(e.reshape((1, 2) + size), K, **kw).ravel())
    C = np.stack(columns, axis=1)
    G = rng.standard_normal((1, 4) + ref.conv(np.zeros((1, 2) + size), K, **kw).shape[2:])
    close(ref.input_grad(K, G, size, **kw).ravel(), C.T @ G.ravel())


def test_oracle_agrees_with_numpy_convolve_and_correlate():
    # An implementation the oracle does not share code with: numpy's 1-D routines.
    rng = np.random.default_rng(11)
    v, k = rng.standard_normal(9), rng.standard_normal(4)
    V, K = v.reshape(1, 1, -1), k.reshape(1, 1, -1)
    close(ref.conv(V, K, flip=True)[0, 0], np.convolve(v, k, "valid"))
    close(ref.conv(V, K, padding="full", flip=True)[0, 0], np.convolve(v, k, "full"))
    close(ref.conv(V, K)[0, 0], np.correlate(v, k, "valid"))
    close(ref.conv(V, K, padding="full")[0, 0], np.correlate(v, k, "full"))


# ---------------------------------------------------------------------------------------
# Depthwise-separable convolution.

@pytest.mark.parametrize("n,stride,padding,dilation,multiplier,mode", [
    (1, 1, "same", 1, 1, "zeros"),
    (1, 2, [(0, 2)], 2, 2, "reflect"),
    (2, 2, "same", 1, 2, "zeros"),
    (2, (1, 2), [(1, 0), (0, 1)], 1, 1, "replicate"),
    (2, 1, "full", 2, 1, "zeros"),
    (3, 2, "same", 1, 2, "circular"),
    (3, 1, "valid", 1, 1, "zeros"),
])
def test_depthwise_separable_matches_oracle(n, stride, padding, dilation, multiplier, mode):
    rng = np.random.default_rng(n * 100 + multiplier)
    cin, cout, kernel = 2, 3, (3,) * n if n < 3 else (2,) * n
    size = (7,) * n if n < 3 else (5,) * n
    V = rng.standard_normal((2, cin) + size)
    D = rng.standard_normal((cin * multiplier, 1) + kernel)
    Q = rng.standard_normal((cout, cin * multiplier) + (1,) * n)
    b = rng.standard_normal(cout)
    x, d, q, bt = t(V, True), t(D, True), t(Q, True), t(b, True)
    out = CF.depthwise_separable_conv(x, d, q, bt, stride=stride, padding=padding,
                                      dilation=dilation, padding_mode=mode)
    close(out, ref.depthwise_separable_conv(V, D, Q, b, stride, padding, dilation, mode))
    # Backward by chaining the oracle's g and h through both steps.
    G = rng.standard_normal(out.shape)
    out.backward(t(G))
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=cin, padding_mode=mode)
    middle = ref.conv(V, D, **kw)
    d_middle = ref.input_grad(Q, G, middle.shape[2:])
    close(q.grad, ref.kernel_grad(G, middle, (1,) * n))
    close(bt.grad, ref.bias_grad(G))
    close(d.grad, ref.kernel_grad(d_middle, V, kernel, **kw))
    close(x.grad, ref.input_grad(D, d_middle, size, **kw))


# ---------------------------------------------------------------------------------------
# Layers: Conv, ConvTranspose, SeparableConv with dims = 1, 2, 3.

def _set(param, value):
    with torch.no_grad():
        param.copy_(t(value))


@pytest.mark.parametrize("dims,stride,padding,dilation,groups,bias,mode,flip", [
    (1, 1, "same", 1, 1, "shared", "zeros", False),
    (1, 2, "same", 2, 2, "untied", "reflect", True),
    (1, 3, [(2, 0)], 1, 1, "none", "zeros", True),
    (2, 1, "valid", 1, 2, "shared", "circular", False),
    (2, 2, "same", 1, 1, "untied", "zeros", False),
    (2, (2, 1), [(0, 1), (2, 1)], 2, 1, "shared", "replicate", True),
    (2, 1, "full", 1, 4, "none", "zeros", False),
    (3, 2, "same", 1, 1, "shared", "zeros", True),
    (3, 1, 1, 1, 2, "untied", "reflect", False),
    (3, (1, 2, 1), [(1, 0), (0, 0), (0, 1)], 1, 1, "shared", "zeros", False),
])
def test_conv_layer_matches_oracle(dims, stride, padding, dilation, groups, bias, mode, flip):
    rng = np.random.default_rng(dims * 31 + groups)
    cin, cout, kernel = 4, 4, (3,) * dims if dims < 3 else (2,) * dims
    size = (8,) * dims if dims < 3 else (5,) * dims
    layer = L.Conv(cin, cout, kernel, stride, padding, dilation, groups, bias, mode, flip,
                   input_size=size, dims=dims).double()
    K = rng.standard_normal(layer.weight.shape)
    _set(layer.weight, K)
    b = None
    if layer.bias is not None:
        b = rng.standard_normal(layer.bias.shape)
        _set(layer.bias, b)
    V = rng.standard_normal((2, cin) + size)
    x = t(V, True)
    out = layer(x)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
              padding_mode=mode, flip=flip)
    close(out, ref.conv(V, K, b, **kw))
    G = rng.standard_normal(out.shape)
    out.backward(t(G))
    close(x.grad, ref.input_grad(K, G, size, **kw))
    close(layer.weight.grad, ref.kernel_grad(G, V, kernel, **kw))
    if b is not None:
        close(layer.bias.grad, ref.bias_grad(G, untied=(bias == "untied")))


@pytest.mark.parametrize("dims,stride,padding,output_padding,dilation,groups", [
    (1, 2, 1, 1, 1, 1),
    (1, 3, "valid", 2, 2, 2),
    (2, 2, [(0, 1), (1, 1)], 1, 1, 1),
    (2, 2, "full", 0, 1, 2),
    (3, 2, 1, 1, 1, 1),
    (3, (1, 2, 2), "valid", (0, 1, 0), 1, 1),
])
def test_conv_transpose_layer_matches_oracle(dims, stride, padding, output_padding, dilation,
                                             groups):
    rng = np.random.default_rng(dims * 7 + groups)
    cin, cout, kernel = 2 * groups, 2 * groups, (3,) * dims if dims < 3 else (2,) * dims
    size = (4,) * dims if dims < 3 else (3,) * dims
    layer = L.ConvTranspose(cin, cout, kernel, stride, padding, output_padding, dilation, groups,
                            dims=dims).double()
    K, b = rng.standard_normal(layer.weight.shape), rng.standard_normal(cout)
    _set(layer.weight, K)
    _set(layer.bias, b)
    X = rng.standard_normal((2, cin) + size)
    x = t(X, True)
    out = layer(x)
    expected_size = tuple(out.shape[2:])
    pad = _axis_pad(padding, dims)
    Y = ref.conv_transpose(X, K, b, stride, pad, dilation, groups)
    op = (output_padding,) * dims if isinstance(output_padding, int) else output_padding
    # output_padding adds to the smallest size, per axis.
    assert expected_size == tuple(s + o for s, o in zip(Y.shape[2:], op))
    close(out, ref.conv_transpose(X, K, b, stride, pad, dilation, groups, expected_size))
    G = rng.standard_normal(out.shape)
    out.backward(t(G))
    kw = dict(stride=stride, padding=pad, dilation=dilation, groups=groups)
    close(x.grad, ref.conv(G, K, **kw))
    close(layer.weight.grad, ref.kernel_grad(X, G, kernel, **kw))
    close(layer.bias.grad, ref.bias_grad(G))
    # forward(output_size=...) picks any valid size explicitly.
    strides = stride if isinstance(stride, tuple) else (stride,) * dims
    for extra in range(max(strides)):
        target = tuple(m + min(extra, s - 1) for m, s in zip(Y.shape[2:], strides))
        close(layer(t(X), output_size=target),
              ref.conv_transpose(X, K, b, stride, pad, dilation, groups, target))


@pytest.mark.parametrize("dims,stride,padding,multiplier,mode", [
    (1, 2, "same", 2, "zeros"),
    (2, 1, "same", 1, "reflect"),
    (2, 2, [(1, 0), (0, 1)], 2, "zeros"),
    (3, 1, "valid", 1, "zeros"),
    (3, 2, "same", 1, "replicate"),
])
def test_separable_layer_matches_oracle(dims, stride, padding, multiplier, mode):
    rng = np.random.default_rng(dims + multiplier)
    cin, cout = 3, 4
    kernel = (3,) * dims if dims < 3 else (2,) * dims
    size = (7,) * dims if dims < 3 else (4,) * dims
    layer = L.SeparableConv(cin, cout, kernel, stride, padding, depth_multiplier=multiplier,
                            padding_mode=mode, dims=dims).double()
    D = rng.standard_normal(layer.depthwise.weight.shape)
    Q = rng.standard_normal(layer.pointwise.weight.shape)
    b = rng.standard_normal(cout)
    _set(layer.depthwise.weight, D)
    _set(layer.pointwise.weight, Q)
    _set(layer.pointwise.bias, b)
    V = rng.standard_normal((2, cin) + size)
    x = t(V, True)
    out = layer(x)
    close(out, ref.depthwise_separable_conv(V, D, Q, b, stride, padding, 1, mode))
    G = rng.standard_normal(out.shape)
    out.backward(t(G))
    kw = dict(stride=stride, padding=padding, groups=cin, padding_mode=mode)
    middle = ref.conv(V, D, **kw)
    d_middle = ref.input_grad(Q, G, middle.shape[2:])
    close(layer.pointwise.weight.grad, ref.kernel_grad(G, middle, (1,) * dims))
    close(layer.depthwise.weight.grad, ref.kernel_grad(d_middle, V, kernel, **kw))
    close(x.grad, ref.input_grad(D, d_middle, size, **kw))


# ---------------------------------------------------------------------------------------
# The oracle's own argument errors.

def test_oracle_rejects_unknown_padding_name():
    with pytest.raises(ArgumentError, match=r"padding must be 'valid', 'same', 'full'.*Received: padding='sam'"):
        ref.conv(np.zeros((1, 1, 5)), np.zeros((1, 1, 3)), padding="sam")


def test_oracle_rejects_unknown_padding_mode():
    with pytest.raises(ArgumentError, match=r"padding_mode must be one of .*Received: padding_mode='mirror'"):
        ref.conv(np.zeros((1, 1, 5)), np.zeros((1, 1, 3)), padding=1, padding_mode="mirror")


def test_oracle_rejects_groups_that_do_not_divide():
    with pytest.raises(ArgumentError, match=r"groups must divide both channel counts. Received: groups=2, in_channels=3"):
        ref.conv(np.zeros((1, 3, 5)), np.zeros((2, 1, 3)), groups=2)


def test_oracle_h_needs_a_matching_input_size():
    with pytest.raises(ShapeError, match=r"input of spatial size \(9,\) gives an output of size \(4,\), not \(3,\)"):
        ref.input_grad(np.ones((1, 1, 2)), np.ones((1, 1, 3)), (9,), stride=2)


def test_oracle_kernel_too_large():
    with pytest.raises(ShapeError, match=r"kernel \(4,\) does not fit the padded input \(3,\)"):
        ref.conv(np.zeros((1, 1, 3)), np.zeros((1, 1, 4)))


def test_oracle_transpose_same_needs_output_size():
    with pytest.raises(ArgumentError, match=r"padding='same' needs output_size.*Received: output_size=None"):
        ref.conv_transpose(np.zeros((1, 1, 3)), np.zeros((1, 1, 3)), stride=2, padding="same")


def test_conv_transpose_layer_same_padding():
    rng = np.random.default_rng(12)
    layer = L.ConvTranspose(2, 3, 3, stride=2, padding="same", dims=2).double()
    K, b = rng.standard_normal(layer.weight.shape), rng.standard_normal(3)
    _set(layer.weight, K)
    _set(layer.bias, b)
    X = rng.standard_normal((1, 2, 3, 4))
    # Default: W * S, the usual upsampling; output_size picks any other valid size.
    close(layer(t(X)), ref.conv_transpose(X, K, b, 2, "same", 1, 1, (6, 8)))
    close(layer(t(X), output_size=(5, 7)), ref.conv_transpose(X, K, b, 2, "same", 1, 1, (5, 7)))


def test_conv_transpose_layer_rejects_output_padding_with_same():
    with pytest.raises(ArgumentError, match=r"output_padding cannot be combined with "
                                            r"padding: same.*Received: output_padding=1"):
        L.ConvTranspose(1, 1, 3, stride=2, padding="same", output_padding=1, dims=1)
