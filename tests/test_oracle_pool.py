"""Pooling fast paths (cnnkit.functional.pool, cnnkit.layers pools) against the loop oracles
of cnnkit.reference.pool, forward and backward, in float64.

The configurations reach every branch of the fast path: PyTorch's own pooling (symmetric
padding up to half the window), the -inf pre-padding of max pooling ('same', 'full',
asymmetric pairs), and the window-sum convolution used for sums with any padding,
dilation or ceil_mode.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
import torch

from cnnkit import functional as CF
from cnnkit import layers as L
from cnnkit._validation import ArgumentError
from cnnkit.reference import pool as ref

TOL = dict(rtol=1e-10, atol=1e-10)

SIZES = {1: (9,), 2: (7, 8), 3: (6, 5, 6)}
PAIRS = [(1, 0), (0, 1), (1, 1)]

# name: (kernel, stride, padding, dilation, ceil_mode)
CONFIGS = {
    "k2": (2, None, 0, 1, False),
    "k3s2-overlap": (3, 2, 0, 1, False),
    "k3s2-pad1": (3, 2, 1, 1, False),
    "k2s1-same": (2, 1, "same", 1, False),      # (0, 1): asymmetric
    "k3s2-same": (3, 2, "same", 1, False),
    "k2s1-full": (2, 1, "full", 1, False),      # (1, 1): PyTorch can pad
    "k3s2-full": (3, 2, "full", 1, False),      # (2, 2): more than half the window
    "k2s2-pairs": (2, 2, "pairs", 1, False),
    "k2s1-dil2": (2, 1, 0, 2, False),
    "k3s2-dil2-pad1": (3, 2, 1, 2, False),
    "k3s2-ceil": (3, 2, 0, 1, True),
    "k3s2-ceil-pad1": (3, 2, 1, 1, True),
    "k2s2-ceil-pairs": (2, 2, "pairs", 1, True),
    "k2s2-ceil-dil2": (2, 2, 0, 2, True),
}


def t(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


def close(actual, expected):
    actual = actual.detach().numpy() if isinstance(actual, torch.Tensor) else actual
    np.testing.assert_allclose(actual, expected, **TOL)


def _setting(n, name):
    kernel, stride, padding, dilation, ceil_mode = CONFIGS[name]
    if padding == "pairs":
        padding = PAIRS[:n]
    return dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                ceil_mode=ceil_mode)


def _data(n, name, extra=""):
    rng = np.random.default_rng(zlib.crc32(f"{n}{name}{extra}".encode()))
    return rng, rng.standard_normal((2, 2) + SIZES[n])


def _check(fast_fn, fwd, bwd, x_np, rng):
    x = t(x_np, True)
    out = fast_fn(x)
    expected = fwd(x_np)
    close(out, expected)
    G = rng.standard_normal(expected.shape)
    out.backward(t(G))
    close(x.grad, bwd(x_np, G))


def test_configs_reach_the_fast_path_branches():
    # 'same' with an even window is asymmetric, 'full' with k=3 pads more than half the
    # window: both leave PyTorch's pooling for the pre-padding / window-sum paths.
    from cnnkit.functional.pool import _torch_can_pad, pool_geometry
    x = torch.zeros((1, 1) + SIZES[2])
    branches = set()
    for name in CONFIGS:
        s = _setting(2, name)
        *_, pairs, dilation, _ = pool_geometry(x, s["kernel"], s["stride"], s["padding"],
                                               s["dilation"], s["ceil_mode"])
        branches.add((_torch_can_pad(pairs, (s["kernel"],) * 2), s["dilation"] > 1,
                      s["ceil_mode"]))
    assert {(True, False, False), (False, False, False), (True, True, False),
            (True, False, True), (False, False, True)} <= branches


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_pool_matches_oracle(n, name):
    rng, x = _data(n, name)
    s = _setting(n, name)
    _check(lambda v: CF.max_pool(v, **s), lambda v: ref.max_pool(v, **s),
           lambda v, G: ref.max_pool_backward(v, G, **s), x, rng)


@pytest.mark.parametrize("count_include_pad", [False, True], ids=["exclude-pad", "include-pad"])
@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_avg_pool_matches_oracle(n, name, count_include_pad):
    rng, x = _data(n, name, count_include_pad)
    s = _setting(n, name)
    _check(lambda v: CF.avg_pool(v, count_include_pad=count_include_pad, **s),
           lambda v: ref.avg_pool(v, count_include_pad=count_include_pad, **s),
           lambda v, G: ref.avg_pool_backward(v, G, count_include_pad=count_include_pad, **s),
           x, rng)


LP_CASES = [(p, name) for p in (2.0,) for name in CONFIGS] + [
    (p, name) for p in (1.0, 3.5, math.inf)
    for name in ("k3s2-overlap", "k2s1-same", "k3s2-full", "k3s2-dil2-pad1", "k3s2-ceil",
                 "k2s2-ceil-pairs")
]


@pytest.mark.parametrize("p,name", LP_CASES, ids=[f"p{p}-{name}" for p, name in LP_CASES])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_lp_pool_matches_oracle(n, p, name):
    rng, x = _data(n, name, p)
    s = _setting(n, name)
    _check(lambda v: CF.lp_pool(v, p, **s), lambda v: ref.lp_pool(v, p, **s),
           lambda v, G: ref.lp_pool_backward(v, G, p, **s), x, rng)


@pytest.mark.parametrize("p", [0.5, 1.0, 2.0, 3.5, math.inf])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_lp_pool_zero_windows_have_zero_gradient(n, p):
    rng, x = _data(n, "zeros", p)
    x[:, :, :3] = 0.0            # whole windows of zeros (and zero entries next to non-zeros)
    x[0, 1] = 0.0                # a whole channel of zeros
    s = dict(kernel=2, stride=1, padding="same")
    xt = t(x, True)
    out = CF.lp_pool(xt, p, **s)
    G = rng.standard_normal(out.shape)
    out.backward(t(G))
    assert torch.isfinite(xt.grad).all()
    expected = ref.lp_pool_backward(x, G, p, **s)
    close(xt.grad, expected)
    assert (expected[0, 1] == 0).all() and (expected[:, :, :2] == 0).all()
    close(out, ref.lp_pool(x, p, **s))


@pytest.mark.parametrize("p", [1.0, 2.0, 3.5, math.inf])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_global_pools_match_oracle(n, p):
    rng, x = _data(n, "global", p)
    _check(CF.global_max_pool, ref.global_max_pool, ref.global_max_pool_backward, x, rng)
    _check(CF.global_avg_pool, ref.global_avg_pool, ref.global_avg_pool_backward, x, rng)
    x[1, 0] = 0.0  # an all-zero channel: the Lp gradient there must be 0, not NaN
    _check(lambda v: CF.global_lp_pool(v, p), lambda v: ref.global_lp_pool(v, p),
           lambda v, G: ref.global_lp_pool_backward(v, G, p), x, rng)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_global_pool_layers_match_oracle(n):
    rng, x = _data(n, "global-layers")
    for layer, fwd in ((L.GlobalMaxPool(), ref.global_max_pool),
                       (L.GlobalAvgPool(), ref.global_avg_pool),
                       (L.GlobalLpPool(3.0), lambda v: ref.global_lp_pool(v, 3.0))):
        close(layer(t(x)), fwd(x))
        keep = type(layer)(**({"p": 3.0} if isinstance(layer, L.GlobalLpPool) else {}),
                           keepdim=True)
        close(keep(t(x)), fwd(x).reshape((2, 2) + (1,) * n))


ADAPTIVE = {1: [(4,), (9,), (2,), (12,)], 2: [(3, 5), (7, 8), (1, 1), (4, 3)],
            3: [(2, 3, 4), (3, 1, 2), (6, 5, 6)]}


@pytest.mark.parametrize("n,out", [(n, o) for n, outs in ADAPTIVE.items() for o in outs])
def test_adaptive_pools_match_oracle(n, out):
    rng, x = _data(n, "adaptive", out)
    _check(lambda v: CF.adaptive_max_pool(v, out), lambda v: ref.adaptive_max_pool(v, out),
           lambda v, G: ref.adaptive_max_pool_backward(v, G, out), x, rng)
    _check(lambda v: CF.adaptive_avg_pool(v, out), lambda v: ref.adaptive_avg_pool(v, out),
           lambda v, G: ref.adaptive_avg_pool_backward(v, G, out), x, rng)
    close(L.AdaptiveMaxPool(out, dims=n)(t(x)), ref.adaptive_max_pool(x, out))
    close(L.AdaptiveAvgPool(out, dims=n)(t(x)), ref.adaptive_avg_pool(x, out))


def test_adaptive_windows_follow_the_floor_ceil_rule():
    # W = 10, O = 4: [0, 3), [2, 5), [5, 8), [7, 10): overlapping where W / O is not whole.
    table = ref.adaptive_windows((10,), (4,))
    assert [[q[0] for q in table[(i,)][0]] for i in range(4)] == [
        [0, 1, 2], [2, 3, 4], [5, 6, 7], [7, 8, 9]]


@pytest.mark.parametrize("n,name", [(1, "k3s2-overlap"), (2, "k2s1-same"), (2, "k3s2-ceil-pad1"),
                                    (3, "k3s2-full"), (3, "k2s2-ceil-pairs")])
def test_window_pool_layers_match_oracle(n, name):
    rng, x = _data(n, name, "layers")
    s = _setting(n, name)
    args = (s["kernel"], s["stride"], s["padding"], s["dilation"], s["ceil_mode"])
    close(L.MaxPool(*args, dims=n)(t(x)), ref.max_pool(x, **s))
    close(L.AvgPool(*args, count_include_pad=True, dims=n)(t(x)),
          ref.avg_pool(x, count_include_pad=True, **s))
    close(L.AvgPool(*args, dims=n)(t(x)), ref.avg_pool(x, **s))
    close(L.LpPool(*args, p=3.5, dims=n)(t(x)), ref.lp_pool(x, 3.5, **s))
    # The layers' shape rule agrees with what they compute.
    assert L.MaxPool(*args, dims=n).spatial_output(SIZES[n]) == ref.max_pool(x, **s).shape[2:]


def test_oracle_windows_and_ceil_mode_rule():
    # W = 5, k = 2, s = 2, padding (0, 2): ceil of (7 - 2) / 2 gives 4 windows, but the
    # 4th starts in the high padding and is dropped.
    assert len(ref.windows((5,), 2, 2, [(0, 2)], ceil_mode=True)) == 3
    # W = 6, k = 3, s = 2: floor keeps 2 windows, ceil a 3rd that overhangs by one.
    assert len(ref.windows((6,), 3, 2)) == 2
    table = ref.windows((6,), 3, 2, ceil_mode=True)
    assert table[(2,)] == ([(4,), (5,)], 2)


def test_oracle_rejects_non_positive_p():
    with pytest.raises(ArgumentError, match=r"p must be positive. Received: p=0"):
        ref.lp_pool(np.ones((1, 1, 4)), 0, 2)


@pytest.mark.parametrize("fn", [lambda x, p: CF.lp_pool(x, p, 2), CF.global_lp_pool],
                         ids=["lp_pool", "global_lp_pool"])
def test_fast_lp_pools_reject_bad_p(fn):
    from cnnkit._validation import ArgumentTypeError
    with pytest.raises(ArgumentError, match=r"p must be positive \(p=2 is L2 pooling\). Received: p=0"):
        fn(torch.ones(1, 1, 4), 0)
    with pytest.raises(ArgumentTypeError, match=r"p must be a number. Received: p='2'"):
        fn(torch.ones(1, 1, 4), "2")
