"""FFT convolution (Goodfellow et al. 2016, section 9.8): the same map as conv, checked
against the loop oracle of cnnkit.reference.conv forward and backward in float64, 1-D to
3-D; gradcheck; the "auto" choice and its cache; the layer; errors."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

from cnnkit import functional as CF
from cnnkit import layers as L
from cnnkit._validation import ArgumentError, ArgumentTypeError
from cnnkit.functional import shapes
from cnnkit.functional import fft as fft_module
from cnnkit.reference import conv as ref

TOL = dict(rtol=1e-9, atol=1e-9)


def t(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


def close(actual, expected):
    actual = actual.detach().numpy() if isinstance(actual, torch.Tensor) else actual
    np.testing.assert_allclose(actual, expected, **TOL)


# (n, size, kernel, stride, padding, dilation, groups, padding_mode, flip, untied bias)
CASES = [
    (1, (12,), (5,), 1, "valid", 1, 1, "zeros", False, False),
    (1, (11,), (4,), 2, "same", 1, 2, "reflect", True, False),
    (1, (9,), (3,), 3, "full", 2, 1, "circular", False, True),
    (2, (9, 10), (5, 3), 1, "same", 1, 1, "zeros", True, False),
    (2, (8, 9), (3, 4), (2, 3), [(2, 0), (1, 2)], (2, 1), 2, "replicate", False, False),
    (2, (7, 7), (3, 3), 1, "full", 1, 4, "zeros", False, True),
    (2, (11, 6), (7, 1), 2, 1, 1, 1, "reflect", True, False),
    (3, (6, 5, 7), (3, 2, 3), 1, "valid", 1, 1, "zeros", True, False),
    (3, (7, 6, 5), (2, 3, 2), (2, 1, 2), "same", (1, 2, 1), 2, "circular", False, False),
]


def _ids(case):
    return "-".join(str(v) for v in case).replace(" ", "")


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_forward_and_backward_match_the_loop_oracle(case):
    n, size, kernel, stride, padding, dilation, groups, mode, flip, untied = case
    rng = np.random.default_rng(zlib.crc32(_ids(case).encode()))
    V = rng.standard_normal((2, 4) + size)
    K = rng.standard_normal((8, 4 // groups) + kernel)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
              padding_mode=mode, flip=flip)
    out_shape = ref.conv(V, K, **kw).shape[2:]
    B = rng.standard_normal((8,) + out_shape if untied else (8,))
    x, k, b = t(V, True), t(K, True), t(B, True)
    y = CF.fft_conv(x, k, b, **kw)
    close(y, ref.conv(V, K, B, **kw))
    G = rng.standard_normal(y.shape)
    y.backward(t(G))
    close(x.grad, ref.input_grad(K, G, size, **kw))
    close(k.grad, ref.kernel_grad(G, V, kernel, **kw))
    close(b.grad, ref.bias_grad(G, untied=untied))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_gradcheck(n):
    x = torch.randn(2, 2, *(7, 6, 5)[:n], dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 1, *(3, 2, 3)[:n], dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, w, b: CF.fft_conv(x, w, b, stride=2, padding="same", dilation=2, groups=2,
                                    padding_mode="reflect", flip=True), (x, w, b))


def test_many_channels_per_group_match_the_loop_oracle():
    # More than 8 input channels per group: the frequency-domain sum is a matrix product.
    rng = np.random.default_rng(3)
    V, K = rng.standard_normal((2, 20, 7, 6)), rng.standard_normal((6, 10, 3, 2))
    x, k = t(V, True), t(K, True)
    y = CF.fft_conv(x, k, groups=2, padding="same")
    close(y, ref.conv(V, K, groups=2, padding="same"))
    G = rng.standard_normal(y.shape)
    y.backward(t(G))
    close(x.grad, ref.input_grad(K, G, (7, 6), groups=2, padding="same"))
    close(k.grad, ref.kernel_grad(G, V, (3, 2), groups=2, padding="same"))


def test_large_kernel_in_float32_agrees_with_direct():
    x, w = torch.randn(2, 3, 64, 64), torch.randn(5, 3, 21, 21)
    torch.testing.assert_close(CF.fft_conv(x, w, padding="same"), CF.conv(x, w, padding="same"),
                               rtol=1e-3, atol=1e-3)


def test_half_precision_is_computed_in_float32_and_cast_back():
    x, w = torch.randn(1, 2, 16, 16), torch.randn(3, 2, 5, 5)
    y = CF.fft_conv(x.half(), w.half())
    assert y.dtype == torch.float16
    torch.testing.assert_close(y.float(), CF.conv(x.half().float(), w.half().float()), rtol=2e-2, atol=2e-2)


def test_direct_algorithm_is_conv():
    x, w = torch.randn(2, 3, 9, 9), torch.randn(4, 3, 3, 3)
    assert torch.equal(CF.fft_conv(x, w, algorithm="direct", padding=1), CF.conv(x, w, padding=1))


def test_auto_measures_once_per_kind_of_call_and_caches(monkeypatch):
    CF.clear_algorithm_cache()
    calls = []

    def fake_measure(fn):
        # Run the candidate once so that "auto" exercises both paths, then report fixed
        # times: FFT wins for kernels of 9 and up, direct below.
        fn()
        calls.append(fn)
        return 1.0 if len(calls) % 2 == 1 else (0.5 if big[0] else 2.0)

    big = [False]
    monkeypatch.setattr(fft_module, "_measure", fake_measure)
    x = torch.randn(2, 3, 32, 32)
    small, large = torch.randn(4, 3, 3, 3), torch.randn(4, 3, 11, 11)
    assert CF.conv_algorithm(x, small) == "direct"
    assert len(calls) == 2  # direct and FFT timed once each
    assert CF.conv_algorithm(x, small) == "direct" and len(calls) == 2  # cached
    assert CF.conv_algorithm(torch.randn(2, 3, 30, 31), small) == "direct"
    assert len(calls) == 2  # same size bucket: no new probe
    big[0] = True
    y = CF.fft_conv(x, large, algorithm="auto", padding="same")
    assert len(calls) == 4 and y.shape == (2, 4, 32, 32)
    decisions = sorted(CF.algorithm_cache().values())
    assert decisions == ["direct", "fft"]
    torch.testing.assert_close(y, CF.conv(x, large, padding="same"), rtol=1e-3, atol=1e-3)
    # Training calls (gradients recorded) are timed forward + backward, under their own key.
    assert CF.conv_algorithm(x.requires_grad_(), large, padding="same") == "fft"
    assert len(calls) == 6 and len(CF.algorithm_cache()) == 3
    assert x.grad is None  # the probe ran on detached copies
    CF.clear_algorithm_cache()
    assert CF.algorithm_cache() == {}


def test_auto_picks_direct_for_inputs_fft_cannot_take():
    x = torch.randn(1, 1, 8, 8, dtype=torch.complex64)
    w = torch.randn(1, 1, 3, 3, dtype=torch.complex64)
    assert CF.conv_algorithm(x, w) == "direct"
    assert CF.fft_conv(x, w, algorithm="auto").dtype == torch.complex64


def test_layer_is_a_conv_with_another_algorithm():
    conv = L.Conv2d(3, 4, 7, padding="same", stride=2)
    fft = L.FFTConv2d(3, 4, 7, padding="same", stride=2)
    fft.load_state_dict(conv.state_dict())
    x = torch.randn(2, 3, 20, 20)
    torch.testing.assert_close(fft(x), conv(x), rtol=1e-4, atol=1e-4)
    assert "algorithm" not in repr(fft)
    assert "algorithm='auto'" in repr(L.FFTConv2d(3, 4, 7, algorithm="auto"))
    assert L.FFTConv1d(1, 2, 5)(torch.randn(1, 1, 12)).shape == (1, 2, 8)
    assert L.FFTConv3d(1, 2, 3, algorithm="direct")(torch.randn(1, 1, 5, 5, 5)).shape == (1, 2, 3, 3, 3)
    untied = L.FFTConv2d(1, 2, 3, bias="untied", input_size=(6, 6))
    assert untied(torch.randn(1, 1, 6, 6)).shape == (1, 2, 4, 4)


def test_errors_say_what_to_use_instead():
    x, w = torch.randn(1, 1, 8, 8), torch.randn(1, 1, 3, 3)
    with pytest.raises(ArgumentTypeError, match=r"cannot take complex tensors.*complex64.*"
                                                r"Use algorithm='direct'"):
        CF.fft_conv(x.to(torch.complex64), w.to(torch.complex64))
    with pytest.raises(ArgumentTypeError, match=r"needs floating-point tensors.*torch.int64.*input.float\(\)"):
        CF.fft_conv(x.long(), w.long())
    with pytest.raises(ArgumentTypeError, match=r"share dtype and device"):
        CF.fft_conv(x.double(), w)
    with pytest.raises(ArgumentError, match=r"algorithm must be one of 'auto', 'direct', 'fft'.*"
                                            r"Received: algorithm='fast'"):
        CF.fft_conv(x, w, algorithm="fast")
    with pytest.raises(ArgumentError, match=r"algorithm must be one of"):
        L.FFTConv2d(1, 1, 3, algorithm="winograd")


def test_fft_length_is_fast_and_large_enough():
    for size in range(1, 200):
        (length,) = shapes.fft_length((size,))
        assert length >= size
        rest = length
        for p in (2, 3, 5, 7):
            while rest % p == 0:
                rest //= p
        assert rest == 1
        assert all(not _smooth(m) for m in range(size, length))


def _smooth(m):
    for p in (2, 3, 5, 7):
        while m % p == 0:
            m //= p
    return m == 1
