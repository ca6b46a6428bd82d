"""The oracles must be proven too: their backward functions (g and h of Goodfellow et al. 2016,
eq. 9.11-9.13, pooling and LRN backward) against central-difference numeric gradients of
their own forward loops, and the numeric gradient against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cnnkit._validation import ArgumentError
from cnnkit.reference import conv as rc
from cnnkit.reference import norm as rn
from cnnkit.reference import pool as rp
from cnnkit.reference.gradcheck import max_abs_error, numeric_gradient, numeric_vjp

NUMERIC = dict(rtol=1e-6, atol=1e-7)


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, **NUMERIC)


# ---------------------------------------------------------------------------------------
# The numeric gradient itself

def test_numeric_gradient_matches_closed_forms():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    f = lambda v: float((np.sin(v) * v ** 2).sum())  # noqa: E731
    close(numeric_gradient(f, x), np.cos(x) * x ** 2 + 2 * x * np.sin(x))
    A = rng.standard_normal((4, 4))
    # d/dx x^T A x = (A + A^T) x
    v = rng.standard_normal(4)
    close(numeric_gradient(lambda u: u @ A @ u, v), (A + A.T) @ v)


def test_numeric_vjp_is_the_transposed_jacobian_times_upstream():
    rng = np.random.default_rng(1)
    M = rng.standard_normal((3, 5))
    x, g = rng.standard_normal(5), rng.standard_normal(3)
    close(numeric_vjp(lambda v: M @ v, x, g), M.T @ g)


def test_numeric_gradient_does_not_modify_its_input():
    x = np.array([1.0, 2.0])
    numeric_gradient(lambda v: (v ** 2).sum(), x)
    assert x.tolist() == [1.0, 2.0]


def test_numeric_gradient_rejects_non_positive_eps():
    with pytest.raises(ArgumentError, match=r"eps must be positive. Received: eps=0"):
        numeric_gradient(lambda v: v.sum(), np.ones(2), eps=0)


def test_max_abs_error_rejects_shape_mismatch():
    assert max_abs_error([1.0, -1.0], [1.5, -1.0]) == 0.5
    with pytest.raises(ArgumentError, match=r"same shape. Received: \(2,\) and \(3,\)"):
        max_abs_error(np.ones(2), np.ones(3))


# ---------------------------------------------------------------------------------------
# Convolution: g (eq 9.11) and h (eq 9.12-9.13) against numeric gradients of c (eq 9.8)

CONV_CASES = {  # name: (input shape, kernel shape, kwargs)
    "1d-plain": ((2, 2, 6), (3, 2, 3), dict()),
    "1d-stride3-full-flip": ((1, 2, 7), (2, 2, 2), dict(stride=3, padding="full", flip=True)),
    "1d-reflect-pairs-dil2": ((1, 1, 6), (2, 1, 2), dict(padding=[(2, 1)], dilation=2,
                                                         padding_mode="reflect")),
    "2d-same-s2": ((1, 2, 5, 4), (2, 2, 2, 3), dict(stride=2, padding="same")),
    "2d-groups-replicate": ((1, 4, 4, 4), (2, 2, 2, 2), dict(groups=2, padding=[(1, 0), (0, 2)],
                                                             padding_mode="replicate")),
    "2d-circular-mixed": ((1, 1, 5, 4), (2, 1, 3, 2), dict(stride=(2, 1), padding=1,
                                                           padding_mode="circular", flip=True)),
    "3d-depthwise": ((1, 2, 4, 3, 3), (4, 1, 2, 2, 2), dict(groups=2, padding="same",
                                                            stride=(1, 2, 1))),
}


@pytest.mark.parametrize("name", CONV_CASES)
def test_oracle_conv_backward_matches_numeric_gradient(name):
    x_shape, k_shape, kw = CONV_CASES[name]
    rng = np.random.default_rng(len(name))
    V, K = rng.standard_normal(x_shape), rng.standard_normal(k_shape)
    Z = rc.conv(V, K, **kw)
    G = rng.standard_normal(Z.shape)
    close(rc.input_grad(K, G, x_shape[2:], **kw), numeric_vjp(lambda v: rc.conv(v, K, **kw), V, G))
    close(rc.kernel_grad(G, V, k_shape[2:], **kw), numeric_vjp(lambda k: rc.conv(V, k, **kw), K, G))
    b = rng.standard_normal(k_shape[0])
    close(rc.bias_grad(G), numeric_vjp(lambda c: rc.conv(V, K, c, **kw), b, G))
    untied = rng.standard_normal(Z.shape[1:])
    close(rc.bias_grad(G, untied=True), numeric_vjp(lambda c: rc.conv(V, K, c, **kw), untied, G))


def test_oracle_transpose_is_h_and_its_backward_is_c():
    # Y = h(K, X): dJ/dX = c(dY, K) (Goodfellow et al. 2016, after eq. 9.14).
    rng = np.random.default_rng(3)
    X, K = rng.standard_normal((1, 2, 3, 2)), rng.standard_normal((2, 3, 2, 3))
    kw = dict(stride=2, padding=[(1, 0), (0, 1)])
    Y = rc.conv_transpose(X, K, None, output_size=(6, 5), **kw)
    dY = rng.standard_normal(Y.shape)
    close(rc.conv(dY, K, **kw),
          numeric_vjp(lambda x: rc.conv_transpose(x, K, None, output_size=(6, 5), **kw), X, dY))


def test_oracle_separable_equals_two_convolutions():
    rng = np.random.default_rng(4)
    V = rng.standard_normal((2, 3, 6, 5))
    D, Q, b = rng.standard_normal((6, 1, 3, 2)), rng.standard_normal((4, 6, 1, 1)), rng.standard_normal(4)
    kw = dict(stride=(2, 1), padding="same", dilation=(1, 2), padding_mode="reflect")
    chained = rc.conv(rc.conv(V, D, groups=3, **kw), Q, b)
    np.testing.assert_allclose(rc.depthwise_separable_conv(V, D, Q, b, **kw), chained,
                               rtol=1e-12, atol=1e-12)


def test_oracle_pad_adjoint_is_the_transpose_of_pad():
    rng = np.random.default_rng(5)
    for mode in rc.NUMPY_PAD_MODES:
        V = rng.standard_normal((1, 2, 4, 3))
        pairs = [(2, 1), (0, 2)]
        dP = rng.standard_normal(rc.pad(V, pairs, mode).shape)
        close(rc.pad_adjoint(dP, pairs, mode, (4, 3)),
              numeric_vjp(lambda v: rc.pad(v, pairs, mode), V, dP))


# ---------------------------------------------------------------------------------------
# Pooling backward

POOL_CASES = {  # name: (input shape, kwargs)
    "1d-overlap": ((2, 2, 9), dict(kernel=3, stride=2)),
    "1d-ceil-pairs": ((1, 2, 6), dict(kernel=2, stride=2, padding=[(1, 0)], ceil_mode=True)),
    "2d-same": ((1, 2, 5, 4), dict(kernel=2, stride=1, padding="same")),
    "2d-full-dil2": ((1, 1, 5, 5), dict(kernel=2, stride=2, padding="full", dilation=2)),
    "3d-ceil-pad1": ((1, 1, 4, 4, 3), dict(kernel=3, stride=2, padding=1, ceil_mode=True)),
}


@pytest.mark.parametrize("name", POOL_CASES)
def test_oracle_pool_backward_matches_numeric_gradient(name):
    shape, kw = POOL_CASES[name]
    rng = np.random.default_rng(len(name))
    x = rng.standard_normal(shape)
    G = rng.standard_normal(rp.max_pool(x, **kw).shape)
    close(rp.max_pool_backward(x, G, **kw), numeric_vjp(lambda v: rp.max_pool(v, **kw), x, G))
    for include in (False, True):
        close(rp.avg_pool_backward(x, G, count_include_pad=include, **kw),
              numeric_vjp(lambda v: rp.avg_pool(v, count_include_pad=include, **kw), x, G))
    for p in (0.7, 1.0, 2.0, 3.5, math.inf):
        close(rp.lp_pool_backward(x, G, p, **kw),
              numeric_vjp(lambda v: rp.lp_pool(v, p, **kw), x, G))


@pytest.mark.parametrize("shape", [(2, 2, 7), (1, 2, 4, 5), (1, 1, 3, 4, 3)])
def test_oracle_global_and_adaptive_backward(shape):
    rng = np.random.default_rng(len(shape))
    x = rng.standard_normal(shape)
    G = rng.standard_normal(shape[:2])
    close(rp.global_max_pool_backward(x, G), numeric_vjp(rp.global_max_pool, x, G))
    close(rp.global_avg_pool_backward(x, G), numeric_vjp(rp.global_avg_pool, x, G))
    for p in (1.0, 2.0, 3.5, math.inf):
        close(rp.global_lp_pool_backward(x, G, p),
              numeric_vjp(lambda v: rp.global_lp_pool(v, p), x, G))
    out = tuple(max(1, w // 2 + 1) for w in shape[2:])
    G = rng.standard_normal(shape[:2] + out)
    close(rp.adaptive_max_pool_backward(x, G, out),
          numeric_vjp(lambda v: rp.adaptive_max_pool(v, out), x, G))
    close(rp.adaptive_avg_pool_backward(x, G, out),
          numeric_vjp(lambda v: rp.adaptive_avg_pool(v, out), x, G))


def test_oracle_global_pools_are_pools_over_the_whole_input():
    # Independent of the window machinery: plain NumPy reductions.
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 4, 5))
    close(rp.global_max_pool(x), x.max(axis=(2, 3)))
    close(rp.global_avg_pool(x), x.mean(axis=(2, 3)))
    close(rp.global_lp_pool(x, 3.0), (np.abs(x) ** 3).sum(axis=(2, 3)) ** (1 / 3))
    close(rp.global_lp_pool(x, math.inf), np.abs(x).max(axis=(2, 3)))


# ---------------------------------------------------------------------------------------
# LRN backward

@pytest.mark.parametrize("size,alpha,beta,k", [(3, 0.5, 0.75, 1.0), (4, 0.3, 0.5, 2.0),
                                                (1, 1.0, 1.0, 0.5), (9, 0.2, 0.9, 1.0)])
def test_oracle_lrn_backward_matches_numeric_gradient(size, alpha, beta, k):
    rng = np.random.default_rng(size)
    a = rng.standard_normal((2, 6, 3))
    G = rng.standard_normal(a.shape)
    close(rn.lrn_backward(a, G, size, alpha, beta, k),
          numeric_vjp(lambda v: rn.lrn(v, size, alpha, beta, k), a, G))
