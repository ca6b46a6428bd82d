"""Spatial pyramid pooling against the loop oracle; a network that takes any input size."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from cnnkit._validation import ArgumentError, ArgumentTypeError
from cnnkit.functional.shapes import pyramid_pool_features
from cnnkit.functional.pyramid_pool import spatial_pyramid_pool
from cnnkit.layers.activation import ReLU
from cnnkit.layers.conv import Conv2d
from cnnkit.layers.dense import Dense
from cnnkit.layers import SpatialPyramidPool
from cnnkit.reference import pyramid_pool as ref

D = torch.float64

CASES = [
    # (spatial size, levels)
    ((9,), (1, 2, 4)),
    ((3,), (1, 2, 4)),  # fewer positions than bins: bins overlap, none is empty
    ((7, 5), (1, 2, 4)),
    ((6, 11), ((1, 1), (2, 3))),
    ((2, 3), (1, 3)),
    ((5, 4, 3), (1, 2)),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_matches_oracle_forward_and_backward(case, mode):
    size, levels = case
    x = torch.randn(2, 3, *size, dtype=D, requires_grad=True)
    y = spatial_pyramid_pool(x, levels, mode)
    assert y.shape == (2, pyramid_pool_features(3, levels, len(size)))
    np.testing.assert_allclose(y.detach().numpy(),
                               ref.spatial_pyramid_pool(x.detach().numpy(), levels, mode), atol=1e-12)
    g = torch.randn_like(y)
    y.backward(g)
    np.testing.assert_allclose(
        x.grad.numpy(), ref.spatial_pyramid_pool_backward(x.detach().numpy(), g.numpy(), levels, mode),
        atol=1e-12)


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_gradcheck(mode):
    x = torch.randn(2, 2, 5, 7, dtype=D, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: spatial_pyramid_pool(x, (1, 2, 3), mode), (x,))


def test_network_accepts_inputs_of_different_sizes():
    torch.manual_seed(0)
    spp = SpatialPyramidPool((1, 2, 4))
    net = nn.Sequential(Conv2d(3, 8, 3, padding="same"), ReLU(), spp, Dense(spp.features(8), 5))
    optimiser = torch.optim.SGD(net.parameters(), lr=0.1)
    for size in [(32, 32), (17, 45), (5, 9), (64, 20)]:
        x = torch.randn(4, 3, *size)
        out = net(x)
        assert out.shape == (4, 5)
        loss = nn.functional.cross_entropy(out, torch.tensor([0, 1, 2, 3]))
        optimiser.zero_grad()
        loss.backward()
        assert net[0].weight.grad.abs().sum() > 0
        optimiser.step()


def test_feature_length_rule():
    assert pyramid_pool_features(256, (1, 2, 4), 2) == 256 * 21
    assert pyramid_pool_features(4, (1, 2), 3) == 4 * 9
    assert pyramid_pool_features(4, ((1, 2), (3, 1)), 2) == 4 * 5
    assert SpatialPyramidPool((1, 2), dims=1)(torch.randn(2, 4, 11)).shape == (2, 12)


def test_errors_and_repr():
    with pytest.raises(ArgumentError, match="mode must be one of 'max', 'avg'"):
        spatial_pyramid_pool(torch.randn(1, 2, 4, 4), mode="lp")
    with pytest.raises(ArgumentError, match="levels must be positive"):
        SpatialPyramidPool((1, 0))
    with pytest.raises(ArgumentTypeError, match="levels must be a non-empty sequence"):
        SpatialPyramidPool(())
    assert repr(SpatialPyramidPool()) == "SpatialPyramidPool()"
    assert repr(SpatialPyramidPool((1, 3), "avg")) == "SpatialPyramidPool(levels=(1, 3), mode='avg')"
