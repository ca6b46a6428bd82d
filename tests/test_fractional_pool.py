"""Fractional max pooling: region sequences, and pooling against the loop oracle."""

import numpy as np
import pytest
import torch

from cnnkit._validation import ArgumentError, ArgumentTypeError, ShapeError
from cnnkit.functional.fractional_pool import fractional_max_pool, fractional_regions
from cnnkit.functional.shapes import fractional_pool_output_shape, fractional_pool_output_size
from cnnkit.layers import FractionalMaxPool
from cnnkit.reference import fractional_pool as ref

D = torch.float64


@pytest.mark.parametrize("size,out,overlapping", [(10, 6, False), (25, 18, False), (7, 4, False),
                                                  (32, 23, True), (9, 5, True), (8, 4, False)])
def test_pseudo_random_regions_follow_the_paper_formula(size, out, overlapping):
    grid = torch.randint(0, 1 << 20, (20,)).double() / (1 << 20)  # u on the 2^-20 grid: exact
    a = fractional_regions(size, out, 20, overlapping=overlapping, u=grid)
    for row, u in zip(a.tolist(), grid.tolist()):
        assert row == ref.pseudo_random_regions(size, out, u, overlapping)


@pytest.mark.parametrize("pseudo_random", [True, False])
@pytest.mark.parametrize("size,out,overlapping", [(25, 18, False), (32, 23, True), (6, 3, False),
                                                  (5, 5, False), (10, 9, True)])
def test_regions_step_by_one_or_two_from_zero_to_the_end(pseudo_random, size, out, overlapping):
    a = fractional_regions(size, out, 50, overlapping=overlapping, pseudo_random=pseudo_random,
                           generator=torch.Generator().manual_seed(0))
    span = size - 1 if overlapping else size
    steps = a[:, 1:] - a[:, :-1]
    assert a.shape == (50, out + 1)
    assert (a[:, 0] == 0).all() and (a[:, -1] == span).all()
    assert ((steps == 1) | (steps == 2)).all()
    assert ((steps == 2).sum(1) == span - out).all()


def test_regions_are_drawn_per_example_and_reproducible():
    a = fractional_regions(25, 18, 8, pseudo_random=False, generator=torch.Generator().manual_seed(1))
    b = fractional_regions(25, 18, 8, pseudo_random=False, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert len({tuple(r) for r in a.tolist()}) > 1
    # Random permutations place the steps of 2 anywhere; pseudo-random ones spread them.
    p = fractional_regions(25, 18, 200, generator=torch.Generator().manual_seed(2))
    gaps = (p[:, 1:] - p[:, :-1] == 2).long()
    # alpha = 25 / 18 < 1.5: a_{i+2} - a_i <= ceil(2 alpha) = 3, never two 2-steps in a row.
    assert not ((gaps[:, 1:] + gaps[:, :-1]) > 1).any()


CASES = [
    # (size, output size, overlapping)
    ((9,), (6,), False),
    ((9,), (5,), True),
    ((7, 6), (5, 4), False),
    ((7, 8), (4, 5), True),
    ((5, 4, 6), (3, 3, 4), False),
    ((5, 5, 4), (3, 4, 2), True),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("pseudo_random", [True, False])
def test_matches_oracle_forward_and_backward(case, pseudo_random):
    size, out, overlapping = case
    x = torch.randn(3, 2, *size, dtype=D, requires_grad=True)
    y, regions = fractional_max_pool(x, output_size=out, overlapping=overlapping,
                                     pseudo_random=pseudo_random, return_regions=True,
                                     generator=torch.Generator().manual_seed(3))
    assert y.shape == (3, 2, *out)
    expected, argmax = ref.fractional_max_pool(x.detach().numpy(), [r.numpy() for r in regions],
                                               overlapping)
    np.testing.assert_array_equal(y.detach().numpy(), expected)
    g = torch.randn_like(y)
    y.backward(g)
    dx = ref.fractional_max_pool_backward(x.detach().numpy(), g.numpy(), argmax)
    np.testing.assert_allclose(x.grad.numpy(), dx, atol=1e-12)


def test_ties_send_the_gradient_to_the_first_maximum():
    x = torch.ones(1, 1, 4, 4, dtype=D, requires_grad=True)
    regions = [torch.tensor([0, 2, 4])] * 2
    y = fractional_max_pool(x, output_size=2, regions=regions)
    y.sum().backward()
    expected, argmax = ref.fractional_max_pool(x.detach().numpy(), [r.numpy() for r in regions])
    dx = ref.fractional_max_pool_backward(x.detach().numpy(), np.ones((1, 1, 2, 2)), argmax)
    np.testing.assert_array_equal(x.grad.numpy(), dx)


def test_explicit_regions_shared_by_the_batch():
    x = torch.randn(2, 3, 7, dtype=D)
    a = torch.tensor([0, 2, 3, 5, 7])
    y = fractional_max_pool(x, output_size=4, regions=[a])
    expected, _ = ref.fractional_max_pool(x.numpy(), [a.numpy()])
    np.testing.assert_array_equal(y.numpy(), expected)


def test_gradcheck_with_fixed_regions():
    x = torch.randn(2, 2, 7, 6, dtype=D, requires_grad=True)
    regions = [fractional_regions(7, 4, 2, overlapping=True, generator=torch.Generator().manual_seed(0)),
               fractional_regions(6, 4, 2, overlapping=True, generator=torch.Generator().manual_seed(1))]
    assert torch.autograd.gradcheck(
        lambda x: fractional_max_pool(x, output_size=(4, 4), overlapping=True, regions=regions), (x,))


def test_output_size_rule():
    assert fractional_pool_output_size(25, 1.4) == 18
    assert fractional_pool_output_size(30, 1.5) == 20  # exact ratios do not round up
    assert fractional_pool_output_shape((32, 20), ratio=(2 ** 0.5, 1.25)) == (23, 16)
    assert fractional_pool_output_shape((32,), ratio=1.5, overlapping=True) == (21,)
    g = torch.Generator().manual_seed(0)
    assert fractional_max_pool(torch.randn(1, 1, 31), 1.9, generator=g).shape == (1, 1, 17)


@pytest.mark.parametrize("ratio", [1, 1.0, 2, 2.0, 2.5, 0.5])
def test_ratio_outside_one_two_is_an_error(ratio):
    with pytest.raises(ArgumentError, match=rf"ratio must lie strictly between 1 and 2.*Received: ratio={ratio}"):
        fractional_max_pool(torch.randn(1, 1, 8, 8), ratio)
    with pytest.raises(ArgumentError, match="strictly between 1 and 2"):
        FractionalMaxPool(ratio)


def test_errors():
    x = torch.randn(1, 1, 8, 8)
    with pytest.raises(ArgumentTypeError, match="ratio must be a number in"):
        fractional_max_pool(x, "1.5")
    with pytest.raises(ArgumentError, match="exactly one of ratio and output_size"):
        fractional_max_pool(x)
    with pytest.raises(ArgumentError, match="exactly one of ratio and output_size"):
        FractionalMaxPool(1.5, output_size=4)
    with pytest.raises(ShapeError, match=r"cannot map size 8 onto size 3.*between 4 and 8"):
        fractional_max_pool(x, output_size=3)
    with pytest.raises(ShapeError, match="at least 2 elements"):
        fractional_max_pool(torch.randn(1, 1, 1), output_size=1, overlapping=True)
    with pytest.raises(ArgumentError, match=r"regions\[0\] must run from 0 to 8 in steps of 1 or 2"):
        fractional_max_pool(torch.randn(1, 1, 8), output_size=4, regions=[torch.tensor([0, 3, 5, 7, 8])])
    with pytest.raises(ShapeError, match=r"regions\[0\] must have shape \(1, 5\)"):
        fractional_max_pool(torch.randn(1, 1, 8), output_size=4, regions=[torch.tensor([0, 2, 8])])


def test_layer():
    pool = FractionalMaxPool(2 ** 0.5, overlapping=True)
    assert pool(torch.randn(2, 3, 32, 32)).shape == (2, 3, 22, 22)
    assert pool.spatial_output((32, 32)) == (22, 22)
    assert repr(FractionalMaxPool(output_size=5, pseudo_random=False, dims=1)) == \
        "FractionalMaxPool(output_size=(5,), pseudo_random=False)"
    assert FractionalMaxPool(1.5, dims=3)(torch.randn(1, 2, 6, 7, 8)).shape == (1, 2, 4, 5, 6)
