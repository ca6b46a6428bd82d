"""Separable kernels (Goodfellow et al. 2016, section 9.8): d one-dimensional passes
against the loop oracles (reference.separable_kernel assembles the kernel, reference.conv
convolves), forward and backward in float64, 1-D to 3-D; SVD approximation; layer;
errors."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

from cnnkit import functional as CF
from cnnkit import layers as L
from cnnkit._validation import ArgumentError, ArgumentTypeError, ShapeError
from cnnkit.functional import shapes
from cnnkit.reference import conv as ref_conv
from cnnkit.reference import separable_kernel as ref

TOL = dict(rtol=1e-10, atol=1e-10)


def t(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


def close(actual, expected):
    actual = actual.detach().numpy() if isinstance(actual, torch.Tensor) else actual
    np.testing.assert_allclose(actual, expected, **TOL)


# (n, size, kernel, rank, stride, padding, dilation, groups, padding_mode, flip)
CASES = [
    (1, (11,), (4,), 2, 1, "valid", 1, 1, "zeros", False),
    (1, (10,), (3,), 1, 2, "same", 2, 2, "reflect", True),
    (2, (9, 8), (3, 4), 1, 1, "valid", 1, 1, "zeros", False),
    (2, (8, 9), (5, 3), 2, (2, 1), "same", 1, 2, "replicate", True),
    (2, (7, 7), (3, 3), 3, 1, "full", (2, 1), 4, "zeros", False),
    (2, (9, 6), (2, 3), 2, 3, [(1, 2), (0, 1)], 1, 1, "circular", False),
    (3, (6, 5, 6), (3, 2, 3), 1, 1, "valid", 1, 1, "zeros", True),
    (3, (6, 6, 5), (2, 3, 2), 2, (2, 1, 2), "same", (1, 2, 1), 2, "reflect", False),
]


def _ids(case):
    return "-".join(str(v) for v in case).replace(" ", "")


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_forward_and_backward_match_the_loop_oracles(case):
    n, size, kernel, rank, stride, padding, dilation, groups, mode, flip = case
    rng = np.random.default_rng(zlib.crc32(_ids(case).encode()))
    V = rng.standard_normal((2, 4) + size)
    Fs = [rng.standard_normal((rank, 8, 4 // groups, k)) for k in kernel]
    B = rng.standard_normal(8)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
              padding_mode=mode, flip=flip)
    K = ref.separable_kernel(Fs)
    x, fs, b = t(V, True), [t(f, True) for f in Fs], t(B, True)
    close(CF.separable_kernel(fs), K)
    y = CF.separable_kernel_conv(x, fs, b, **kw)
    close(y, ref_conv.conv(V, K, B, **kw))
    G = rng.standard_normal(y.shape)
    y.backward(t(G))
    close(x.grad, ref_conv.input_grad(K, G, size, **kw))
    dK = ref_conv.kernel_grad(G, V, kernel, **kw)
    for got, expected in zip(fs, ref.factor_grads(dK, Fs)):
        close(got.grad, expected)
    close(b.grad, ref_conv.bias_grad(G))
    # The assembled-kernel route computes the same map.
    close(CF.separable_kernel_conv(x, fs, b, assemble=True, **kw), ref_conv.conv(V, K, B, **kw))


@pytest.mark.parametrize("n", [2, 3])
def test_gradcheck(n):
    x = torch.randn(1, 2, *(7, 6, 5)[:n], dtype=torch.float64, requires_grad=True)
    fs = [torch.randn(2, 2, 1, k, dtype=torch.float64, requires_grad=True) for k in (3, 2, 3)[:n]]
    assert torch.autograd.gradcheck(
        lambda x, *fs: CF.separable_kernel_conv(x, list(fs), stride=2, padding="same", groups=2),
        (x, *fs))


def test_svd_approximation_is_best_in_frobenius_norm_and_exact_at_full_rank():
    kernel = torch.randn(3, 2, 5, 4, dtype=torch.float64)
    errors = []
    for rank in range(1, 5):
        approx = CF.separable_kernel(CF.separable_approximation(kernel, rank))
        errors.append(float((approx - kernel).norm()))
        # Eckart-Young: the error is the norm of the dropped singular values.
        s = torch.linalg.svdvals(kernel)
        expected = float(s[..., rank:].pow(2).sum().sqrt())
        assert abs(errors[-1] - expected) < 1e-9
    assert errors == sorted(errors, reverse=True) and errors[-1] < 1e-12
    sobel = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    u, v = CF.separable_approximation(sobel, 1)
    assert u.shape == (1, 3) and v.shape == (1, 3)
    torch.testing.assert_close(torch.outer(u[0], v[0]), sobel)


def test_layer_counts_parameters_and_loads_a_full_kernel():
    layer = L.SeparableKernelConv2d(2, 3, (5, 7), rank=2, padding="same")
    assert [tuple(f.shape) for f in layer.factors] == [(2, 3, 2, 5), (2, 3, 2, 7)]
    count = sum(p.numel() for p in layer.parameters())
    assert count == shapes.separable_kernel_params(2, 3, (5, 7), 2) == 2 * 3 * 2 * 12 + 3
    x = torch.randn(2, 2, 11, 12)
    torch.testing.assert_close(layer(x), CF.conv(x, layer.full_kernel(), layer.bias, padding="same"),
                               rtol=1e-4, atol=1e-4)
    # The assembled kernel has about the variance of torch.nn.Conv2d's default init.
    big = L.SeparableKernelConv2d(64, 64, 5, rank=2)
    var = float(big.full_kernel().detach().var())
    assert 0.7 < var * 3 * 64 * 25 < 1.3
    full = torch.randn(3, 2, 5, 7)
    exact = L.SeparableKernelConv2d(2, 3, (5, 7), rank=5).load_kernel_(full)
    torch.testing.assert_close(exact.full_kernel().detach(), full, rtol=1e-4, atol=1e-4)
    one_d = L.SeparableKernelConv1d(1, 2, 4, rank=3).load_kernel_(torch.randn(2, 1, 4))
    assert one_d.full_kernel().shape == (2, 1, 4)
    assert "rank=2" in repr(layer) and "padding='same'" in repr(layer)
    assert L.SeparableKernelConv3d(1, 2, 3)(torch.randn(1, 1, 5, 5, 5)).shape == (1, 2, 3, 3, 3)
    assembled = L.SeparableKernelConv2d(2, 3, (5, 7), rank=2, padding="same", assemble=True)
    assembled.load_state_dict(layer.state_dict())
    torch.testing.assert_close(assembled(x), layer(x), rtol=1e-4, atol=1e-4)
    assert "assemble=True" in repr(assembled)


def test_errors():
    x = torch.randn(1, 2, 8, 8)
    with pytest.raises(ArgumentTypeError, match=r"factors must be a list of 1 to 3 tensors"):
        CF.separable_kernel_conv(x, torch.randn(1, 1, 2, 3))
    with pytest.raises(ShapeError, match=r"every factor must agree on \(rank, C_out, C_in / groups\)"):
        CF.separable_kernel_conv(x, [torch.randn(1, 1, 2, 3), torch.randn(2, 1, 2, 3)])
    with pytest.raises(ShapeError, match=r"factors\[1\] must have shape \(rank, C_out, C_in / groups, K_1\)"):
        CF.separable_kernel_conv(x, [torch.randn(1, 1, 2, 3), torch.randn(1, 2, 3)])
    with pytest.raises(ShapeError, match=r"bias must have shape \(1,\)"):
        CF.separable_kernel_conv(x, [torch.randn(1, 1, 2, 3)] * 2, torch.randn(2))
    with pytest.raises(ArgumentError, match=r"rank must be at most min\(K_0, K_1\) = 3.*rank=4"):
        CF.separable_approximation(torch.randn(3, 5), 4)
    with pytest.raises(ShapeError, match=r"2-D kernel.*Received: kernel of shape \(1, 1, 3, 3, 3\).*"
                                         r"SeparableKernelConv3d"):
        CF.separable_approximation(torch.randn(1, 1, 3, 3, 3), 1)
    with pytest.raises(ShapeError, match=r"load_kernel_ needs a weight of shape \(3, 2, 5, 5\)"):
        L.SeparableKernelConv2d(2, 3, 5).load_kernel_(torch.randn(3, 2, 5, 4))
    with pytest.raises(ArgumentError, match=r"rank must be positive"):
        L.SeparableKernelConv2d(2, 3, 5, rank=0)
