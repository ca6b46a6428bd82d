"""torch.autograd.gradcheck on every fast path, in 1-D, 2-D and 3-D, float64.

The cases reach the branches that PyTorch's own kernels do not cover: asymmetric and
'same'/'full' padding, padding modes, untied biases, the crop path of the transposed
convolution, the -inf pre-padding of max pooling and the window-sum convolution.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.autograd import gradcheck

from cnnkit import functional as CF
from cnnkit import layers as L


def r(*shape):
    return torch.randn(*shape, dtype=torch.float64, requires_grad=True)


def check(fn, *inputs):
    assert gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-5)


CONV_CASES = {
    "1d-same-s2-flip": ((1, 2, 6), (2, 2, 3), (2,),
                        dict(stride=2, padding="same", flip=True)),
    "1d-reflect-pairs": ((2, 1, 7), (2, 1, 2), (2,),
                         dict(padding=[(2, 0)], padding_mode="reflect", dilation=2)),
    "2d-groups-untied-reflect": ((1, 2, 5, 4), (2, 1, 2, 3), "untied",
                                 dict(padding=[(1, 0), (0, 2)], dilation=(1, 2), groups=2,
                                      padding_mode="reflect")),
    "2d-symmetric": ((1, 2, 5, 5), (3, 2, 3, 3), (3,), dict(stride=2, padding=1)),
    "2d-replicate-same-s2": ((1, 1, 5, 6), (2, 1, 2, 2), None,
                             dict(stride=2, padding="same", padding_mode="replicate")),
    "3d-full-circular": ((1, 1, 3, 3, 3), (2, 1, 2, 2, 2), (2,),
                         dict(padding="full", padding_mode="circular", stride=(1, 2, 1))),
    "3d-depthwise-flip": ((1, 2, 4, 3, 3), (4, 1, 2, 2, 1), (4,),
                          dict(groups=2, padding=[(0, 1), (1, 0), (0, 0)], flip=True)),
}


@pytest.mark.parametrize("name", CONV_CASES)
def test_conv_gradcheck(name):
    x_shape, w_shape, bias, kw = CONV_CASES[name]
    x, w = r(*x_shape), r(*w_shape)
    if bias == "untied":
        out_shape = CF.conv(x, w, **kw).shape[1:]
        b = r(*out_shape)
    else:
        b = None if bias is None else r(*bias)
    check(lambda x, w, *b: CF.conv(x, w, b[0] if b else None, **kw), x, w,
          *([] if b is None else [b]))


TRANSPOSE_CASES = {
    "1d-output-size": ((1, 2, 3), (2, 1, 3), dict(stride=3, padding=1, output_size=(8,))),
    "2d-pairs-crop": ((1, 2, 3, 2), (2, 2, 2, 3), dict(stride=(2, 1), padding=[(0, 1), (1, 0)],
                                                       output_size=(5, 3))),
    "2d-groups-flip": ((1, 4, 2, 3), (4, 1, 3, 2), dict(stride=2, groups=2, flip=True)),
    "3d-same": ((1, 2, 2, 2, 2), (2, 1, 3, 2, 2), dict(stride=2, padding="same",
                                                       output_size=(3, 4, 4))),
}


@pytest.mark.parametrize("name", TRANSPOSE_CASES)
def test_conv_transpose_gradcheck(name):
    x_shape, w_shape, kw = TRANSPOSE_CASES[name]
    groups = kw.get("groups", 1)
    x, w, b = r(*x_shape), r(*w_shape), r(w_shape[1] * groups)
    check(lambda x, w, b: CF.conv_transpose(x, w, b, **kw), x, w, b)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_depthwise_separable_gradcheck(n):
    size = {1: (7,), 2: (4, 5), 3: (3, 3, 4)}[n]
    x, d, p, b = r(1, 2, *size), r(4, 1, *(2,) * n), r(3, 4, *(1,) * n), r(3)
    check(lambda *a: CF.depthwise_separable_conv(*a, stride=2, padding="same"), x, d, p, b)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_conv_layers_gradcheck(n):
    size = {1: (6,), 2: (4, 4), 3: (3, 3, 3)}[n]
    conv = L.Conv(2, 2, 2, padding="same", bias="untied", input_size=size, dims=n).double()
    x = r(1, 2, *size)
    check(lambda x, w, b: torch.func.functional_call(conv, {"weight": w, "bias": b}, (x,)),
          x, conv.weight.detach().clone().requires_grad_(), conv.bias.detach().clone().requires_grad_())
    up = L.ConvTranspose(2, 1, 3, stride=2, padding=1, output_padding=1, dims=n).double()
    check(up, r(1, 2, *(2,) * n))
    sep = L.SeparableConv(2, 3, 2, stride=2, padding="same", dims=n).double()
    check(sep, r(1, 2, *size))


POOL_SIZES = {1: (7,), 2: (5, 4), 3: (4, 3, 4)}

POOL_CASES = {  # name: (kind, kwargs)
    "max-torch": ("max", dict(kernel=3, stride=2, padding=1)),
    "max-same-prepad": ("max", dict(kernel=2, stride=1, padding="same")),
    "max-full-prepad": ("max", dict(kernel=3, stride=2, padding="full")),
    "max-ceil-pairs": ("max", dict(kernel=2, stride=2, padding="pairs", ceil_mode=True)),
    "max-dil2": ("max", dict(kernel=2, stride=1, dilation=2)),
    "avg-torch-ceil": ("avg", dict(kernel=3, stride=2, padding=1, ceil_mode=True)),
    "avg-sum-dil2": ("avg", dict(kernel=2, stride=1, padding=1, dilation=2)),
    "avg-sum-same": ("avg", dict(kernel=2, stride=1, padding="same")),
    "avg-sum-pairs-incl": ("avg", dict(kernel=2, stride=2, padding="pairs",
                                       count_include_pad=True, ceil_mode=True)),
    "lp2-torch": ("lp2", dict(kernel=2, stride=1)),
    "lp3.5-same": ("lp3.5", dict(kernel=2, stride=1, padding="same")),
    "lp1-full": ("lp1", dict(kernel=3, stride=2, padding="full")),
    "lpinf-pairs": ("lpinf", dict(kernel=2, stride=1, padding="pairs")),
    "lp2-ceil-dil2": ("lp2", dict(kernel=2, stride=2, dilation=2, ceil_mode=True)),
}


def _pool_fn(kind, n, kw):
    kw = dict(kw)
    if kw.get("padding") == "pairs":
        kw["padding"] = [(1, 0), (0, 1), (1, 1)][:n]
    if kind == "max":
        return lambda x: CF.max_pool(x, **kw)
    if kind == "avg":
        return lambda x: CF.avg_pool(x, **kw)
    p = float(kind[2:])
    return lambda x: CF.lp_pool(x, p, **kw)


@pytest.mark.parametrize("name", POOL_CASES)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_pool_gradcheck(n, name):
    kind, kw = POOL_CASES[name]
    check(_pool_fn(kind, n, kw), r(1, 2, *POOL_SIZES[n]))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_global_and_adaptive_pool_gradcheck(n):
    x = r(2, 2, *POOL_SIZES[n])
    check(CF.global_max_pool, x)
    check(CF.global_avg_pool, x)
    for p in (1.0, 2.0, 3.5, math.inf):
        check(lambda v: CF.global_lp_pool(v, p), x)
    out = {1: (3,), 2: (2, 3), 3: (3, 2, 3)}[n]
    check(lambda v: CF.adaptive_max_pool(v, out), x)
    check(lambda v: CF.adaptive_avg_pool(v, out), x)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_lrn_and_batch_norm_gradcheck(n):
    x = r(2, 5, *POOL_SIZES[n][:n])
    check(lambda v: CF.local_response_norm(v, 3, alpha=0.5, beta=0.75, k=1.0), x)
    check(lambda v: CF.local_response_norm(v, 4, alpha=0.2, beta=0.9, k=2.0), x)
    bn = L.BatchNorm(5).double()
    check(lambda v, g, b: torch.func.functional_call(bn, {"weight": g, "bias": b}, (v,)),
          x, r(5), r(5))


def test_loss_gradcheck():
    z = r(2, 3, 2, 2)
    labels = torch.tensor([[[0, 2], [1, 1]], [[2, 0], [0, 1]]])
    check(lambda v: CF.softmax_cross_entropy(v, labels, label_smoothing=0.1), z)
    probabilities = torch.rand(2, 3, 2, 2, dtype=torch.float64)
    check(lambda v: CF.sigmoid_cross_entropy(v, probabilities), z)
    check(lambda v: CF.euclidean_loss(v, torch.zeros(2, 3, 2, 2, dtype=torch.float64)), z)


def test_activation_gradcheck():
    x = torch.randn(10, dtype=torch.float64)
    x = torch.where(x.abs() < 1e-2, torch.full_like(x, 0.5), x).requires_grad_()
    for name, fn in CF.ACTIVATIONS.items():
        check(fn, x)
