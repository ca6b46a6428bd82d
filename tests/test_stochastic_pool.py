"""Stochastic pooling against the loop oracle, forward and backward, in training and inference."""

import numpy as np
import pytest
import torch

from cnnkit._validation import ArgumentError, ShapeError
from cnnkit.functional.shapes import conv_output_shape, normalize_padding
from cnnkit.functional.stochastic_pool import stochastic_pool, stochastic_pool_weighted
from cnnkit.layers import StochasticPool
from cnnkit.reference import stochastic_pool as ref

D = torch.float64

CASES = [
    # (spatial size, kernel, stride, padding, dilation, ceil_mode)
    ((7,), 3, None, 0, 1, False),
    ((9,), 3, 2, 1, 1, False),
    ((8,), 2, 3, 0, 2, False),
    ((7,), 2, None, 0, 1, True),
    ((6, 7), 2, None, 0, 1, False),
    ((6, 5), (3, 2), (2, 1), ((1, 0), (0, 1)), 1, False),
    ((7, 7), 3, 2, "same", 1, False),
    ((7, 6), 2, 2, 1, (2, 1), True),
    ((4, 5, 4), 2, None, 0, 1, False),
    ((5, 4, 5), (3, 2, 2), (2, 2, 1), 1, 1, False),
]


def _input(size, zeros=0.3):
    x = torch.rand(2, 3, *size, dtype=D)
    x[torch.rand_like(x) < zeros] = 0  # ReLU-like: many exact zeros
    x[0, 0] = 0  # a whole channel of all-zero windows
    return x


@pytest.mark.parametrize("case", CASES)
def test_training_matches_oracle_forward_and_backward(case):
    size, kernel, stride, padding, dilation, ceil_mode = case
    x = _input(size).requires_grad_()
    out_size = conv_output_shape(size, _t(kernel, len(size)), _t(stride or kernel, len(size)),
                                 normalize_padding(padding, len(size)), _t(dilation, len(size)),
                                 ceil_mode=ceil_mode)
    u = torch.rand(2, 3, *out_size, dtype=D)
    y, index = stochastic_pool(x, kernel, stride, padding, dilation, ceil_mode, uniform=u,
                               return_indices=True)
    expected, drawn = ref.stochastic_pool(x.detach().numpy(), kernel, stride, padding, dilation,
                                          ceil_mode, uniform=u.numpy())
    np.testing.assert_array_equal(y.detach().numpy(), expected)
    # The returned indices are the oracle's drawn positions (-1 for all-zero windows).
    for key in np.ndindex(*y.shape):
        flat = int(index[key])
        if key in drawn:
            assert flat == np.ravel_multi_index(drawn[key], size)
        else:
            assert flat == -1
    g = torch.randn_like(y)
    y.backward(g)
    dx = ref.stochastic_pool_backward(x.detach().numpy(), g.numpy(), kernel, stride, padding,
                                      dilation, ceil_mode, drawn=drawn)
    np.testing.assert_allclose(x.grad.numpy(), dx, atol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_inference_matches_oracle_forward_and_backward(case):
    size, kernel, stride, padding, dilation, ceil_mode = case
    x = _input(size).requires_grad_()
    y = stochastic_pool(x, kernel, stride, padding, dilation, ceil_mode, training=False)
    expected, _ = ref.stochastic_pool(x.detach().numpy(), kernel, stride, padding, dilation,
                                      ceil_mode, training=False)
    np.testing.assert_allclose(y.detach().numpy(), expected, atol=1e-12)
    g = torch.randn_like(y)
    y.backward(g)
    dx = ref.stochastic_pool_backward(x.detach().numpy(), g.numpy(), kernel, stride, padding,
                                      dilation, ceil_mode, training=False)
    np.testing.assert_allclose(x.grad.numpy(), dx, atol=1e-10)


def _t(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def test_draws_follow_the_window_distribution():
    window = torch.tensor([1.0, 0.0, 2.0, 3.0, 4.0], dtype=D)
    x = window.view(1, 1, 5).expand(40000, 1, 5).contiguous()
    y = stochastic_pool(x, 5, generator=torch.Generator().manual_seed(0)).flatten()
    counts = torch.stack([(y == v).sum() for v in window]).double()
    expected = window / window.sum() * 40000
    assert counts[1] == 0  # a zero activation is never drawn
    # Binomial standard deviation: sqrt(n p (1 - p)) <= 100; allow 5 of them.
    assert torch.all((counts - expected).abs() < 500), counts


def test_generator_makes_draws_reproducible():
    x = torch.rand(2, 4, 8, 8)
    a = stochastic_pool(x, 2, generator=torch.Generator().manual_seed(5))
    b = stochastic_pool(x, 2, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    u = torch.rand((2, 4, 4, 4), generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, stochastic_pool(x, 2, uniform=u))


def test_all_zero_window_gives_zero_and_no_gradient():
    x = torch.zeros(1, 1, 4, 4, dtype=D, requires_grad=True)
    for training in (True, False):
        y = stochastic_pool(x, 2, training=training)
        y.sum().backward()
        assert torch.equal(y, torch.zeros(1, 1, 2, 2, dtype=D))
        assert torch.equal(x.grad, torch.zeros_like(x))
        assert not torch.isnan(x.grad).any()


def test_uniform_near_one_never_draws_a_trailing_zero():
    # A float64 u just below 1 rounds to 1.0 in float32, so u * total reaches total;
    # the trailing zero must still lose.
    x = torch.tensor([[[3.0, 0.0]]])
    u = torch.tensor([[[1 - 1e-10]]], dtype=torch.float64)
    assert stochastic_pool(x, 2, uniform=u).item() == 3.0


def test_weighted_average_lies_between_mean_and_max():
    x = torch.rand(2, 3, 8, 8)
    y = stochastic_pool_weighted(x, 2)
    mean = torch.nn.functional.avg_pool2d(x, 2)
    top = torch.nn.functional.max_pool2d(x, 2)
    assert torch.all(y >= mean - 1e-6) and torch.all(y <= top + 1e-6)


def test_gradcheck_inference_and_fixed_draws():
    x = (torch.rand(1, 2, 5, 5, dtype=D) + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x: stochastic_pool(x, 3, 2, 1, training=False), (x,))
    u = torch.rand(1, 2, 3, 3, dtype=D)
    assert torch.autograd.gradcheck(lambda x: stochastic_pool(x, 3, 2, 1, uniform=u), (x,))


def test_errors():
    with pytest.raises(ArgumentError, match=r"expects non-negative inputs.*minimum is -1.*ReLU"):
        stochastic_pool(torch.tensor([[[1.0, -1.0]]]), 2)
    with pytest.raises(ArgumentError, match="non-negative"):
        stochastic_pool(torch.tensor([[[1.0, -1.0]]]), 2, training=False)
    with pytest.raises(ShapeError, match=r"uniform must have the output shape \(1, 1, 1\)"):
        stochastic_pool(torch.rand(1, 1, 2), 2, uniform=torch.rand(1, 1, 2))
    with pytest.raises(ShapeError, match="1, 2 or 3 spatial dimensions"):
        stochastic_pool(torch.rand(4, 4), 2)
    with pytest.raises(ShapeError, match="kernel 5 does not fit"):
        stochastic_pool(torch.rand(1, 1, 3, 3), 5)


def test_layer_samples_in_training_and_averages_in_eval():
    pool = StochasticPool(2, dims=1)
    x = torch.tensor([[[1.0, 3.0, 2.0, 2.0]]])
    torch.manual_seed(0)
    draws = {tuple(pool(x).flatten().tolist()) for _ in range(50)}
    assert draws == {(1.0, 2.0), (3.0, 2.0)}
    pool.eval()
    torch.testing.assert_close(pool(x), torch.tensor([[[2.5, 2.0]]]))
    assert repr(StochasticPool(3, 2)) == "StochasticPool(kernel=(3, 3), stride=(2, 2))"
    assert StochasticPool(2, dims=3)(torch.rand(1, 2, 4, 4, 4)).shape == (1, 2, 2, 2, 2)
