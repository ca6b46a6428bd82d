"""Pooling across channels and maxout against the loop oracle, forward and backward."""

import numpy as np
import pytest
import torch

from cnnkit._validation import ArgumentError, ShapeError
from cnnkit.functional.channel_pool import channel_pool, maxout
from cnnkit.functional.shapes import channel_pool_output_channels
from cnnkit.layers.dense import Dense
from cnnkit.layers import ChannelPool, Maxout
from cnnkit.reference import channel_pool as ref

D = torch.float64


@pytest.mark.parametrize("shape", [(3, 6), (2, 6, 5), (2, 6, 3, 4), (1, 6, 2, 3, 2)])
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("mode,p", [("max", 2.0), ("avg", 2.0), ("lp", 2.0), ("lp", 3.0), ("lp", 1.5)])
def test_matches_oracle_forward_and_backward(shape, k, mode, p):
    x = torch.randn(*shape, dtype=D)
    x[0, 0] = 0  # zeros: the Lp gradient at 0
    x.requires_grad_()
    y = channel_pool(x, k, mode, p)
    assert y.shape == (shape[0], shape[1] // k, *shape[2:])
    np.testing.assert_allclose(y.detach().numpy(), ref.channel_pool(x.detach().numpy(), k, mode, p),
                               atol=1e-12)
    g = torch.randn_like(y)
    y.backward(g)
    np.testing.assert_allclose(x.grad.numpy(),
                               ref.channel_pool_backward(x.detach().numpy(), g.numpy(), k, mode, p),
                               atol=1e-10)


def test_all_zero_lp_group_has_zero_gradient():
    x = torch.zeros(1, 4, 3, dtype=D, requires_grad=True)
    channel_pool(x, 2, "lp").sum().backward()
    assert torch.equal(x.grad, torch.zeros_like(x))


@pytest.mark.parametrize("mode", ["max", "avg", "lp"])
def test_gradcheck(mode):
    x = torch.randn(2, 6, 3, 2, dtype=D, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: channel_pool(x, 3, mode), (x,))


def test_maxout_unit_of_a_dense_layer():
    # A maxout unit: k linear pieces, their maximum (a convex piecewise-linear function).
    torch.manual_seed(0)
    layer, x = Dense(4, 12), torch.randn(5, 4)
    pieces = layer(x).view(5, 3, 4)
    torch.testing.assert_close(maxout(layer(x), 4), pieces.max(dim=2).values)
    assert Maxout(4)(layer(x)).shape == (5, 3)


def test_errors():
    with pytest.raises(ShapeError, match=r"k=4.*does not divide the 6 input channels.*e\.g\. 4 or 8"):
        channel_pool(torch.randn(2, 6, 3), 4)
    with pytest.raises(ShapeError, match="does not divide"):
        Maxout(4)(torch.randn(2, 6))
    with pytest.raises(ShapeError, match="does not divide"):
        channel_pool_output_channels(10, 3)
    with pytest.raises(ArgumentError, match="mode must be one of 'max', 'avg', 'lp'"):
        channel_pool(torch.randn(2, 6), 2, "min")
    with pytest.raises(ArgumentError, match="k must be positive. Received: k=0"):
        ChannelPool(0)
    with pytest.raises(ArgumentError, match="p must be positive"):
        channel_pool(torch.randn(2, 6), 2, "lp", p=0)
    with pytest.raises(ShapeError, match=r"expects an input \(N, C, \*S\)"):
        channel_pool(torch.randn(6), 2)


def test_layers():
    assert repr(ChannelPool(3, "lp", p=3)) == "ChannelPool(k=3, mode='lp', p=3.0)"
    assert repr(Maxout(2)) == "Maxout(k=2)"
    assert ChannelPool(2).output_channels(8) == 4
    assert ChannelPool(4, "avg")(torch.randn(2, 8, 3, 3, 3)).shape == (2, 2, 3, 3, 3)
