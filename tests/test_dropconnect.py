"""DropConnect (dense and N-d convolution) against the loop oracle, forward and backward."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnkit._validation import ArgumentError, ArgumentTypeError, ShapeError
from cnnkit.functional.dropconnect import dropconnect_conv, dropconnect_linear, dropconnect_mask
from cnnkit.layers.dense import Dense
from cnnkit.layers.dropconnect import (DropConnectConv, DropConnectConv1d, DropConnectConv3d,
                                       DropConnectDense)
from cnnkit.reference import dropconnect as ref

D = torch.float64


def _np(t):
    return t.detach().numpy()


def _relu_expectation(mu, var):
    """E[relu(u)] for u ~ N(mu, var): mu Phi(mu / s) + s phi(mu / s)."""
    s = np.sqrt(var)
    z = mu / s
    phi = np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))
    return mu * cdf + s * phi


# ---------------------------------------------------------------- dense


@pytest.mark.parametrize("batch,inp,out,per", [(1, 3, 2, "example"), (4, 5, 3, "example"),
                                               (3, 6, 4, "batch"), (2, 1, 1, "example")])
def test_dense_matches_oracle_forward_and_backward(batch, inp, out, per):
    x = torch.randn(batch, inp, dtype=D, requires_grad=True)
    w = torch.randn(out, inp, dtype=D, requires_grad=True)
    b = torch.randn(out, dtype=D, requires_grad=True)
    shape = (batch, out, inp) if per == "example" else (out, inp)
    mask = torch.rand(shape) < 0.6
    y = dropconnect_linear(x, w, b, 0.4, mask=mask)
    np.testing.assert_allclose(_np(y), ref.dense_forward(_np(x), _np(w), _np(b), mask.numpy()),
                               atol=1e-12)
    g = torch.randn_like(y)
    y.backward(g)
    dx, dw, db = ref.dense_backward(_np(x), _np(w), mask.numpy(), _np(g))
    np.testing.assert_allclose(_np(x.grad), dx, atol=1e-12)
    np.testing.assert_allclose(_np(w.grad), dw, atol=1e-12)
    np.testing.assert_allclose(_np(b.grad), db, atol=1e-12)


def test_dense_chunked_batch_matches_oracle(monkeypatch):
    # A tiny budget splits the batch into chunks of one and two examples.
    from cnnkit.functional import dropconnect as module
    monkeypatch.setattr(module, "_BUDGET_CPU", 25)
    x = torch.randn(5, 2, 4, dtype=D, requires_grad=True)
    w = torch.randn(3, 4, dtype=D, requires_grad=True)
    mask = dropconnect_mask((5, 3, 4), 0.5, generator=torch.Generator().manual_seed(0))
    assert module._chunk_rows(mask.shape, "cpu") == 2
    y = dropconnect_linear(x, w, mask=mask)
    g = torch.randn_like(y)
    y.backward(g)
    dw = torch.zeros(3, 4, dtype=D)
    for row in range(2):  # the extra dimension: two rows per example share its mask
        expected = ref.dense_forward(_np(x[:, row]), _np(w), None, mask.numpy())
        np.testing.assert_allclose(_np(y[:, row]), expected, atol=1e-12)
        dx, dw_row, _ = ref.dense_backward(_np(x[:, row]), _np(w), mask.numpy(), _np(g[:, row]))
        np.testing.assert_allclose(_np(x.grad[:, row]), dx, atol=1e-12)
        dw += torch.from_numpy(dw_row)
    np.testing.assert_allclose(_np(w.grad), _np(dw), atol=1e-12)


def test_dense_sampled_mask_is_the_generators_mask():
    x, w = torch.randn(5, 7, dtype=D), torch.randn(3, 7, dtype=D)
    y = dropconnect_linear(x, w, p=0.3, generator=torch.Generator().manual_seed(4))
    mask = dropconnect_mask((5, 3, 7), 0.3, generator=torch.Generator().manual_seed(4))
    np.testing.assert_allclose(_np(y), ref.dense_forward(_np(x), _np(w), None, mask.numpy()),
                               atol=1e-12)


def test_dense_extra_dimensions_share_the_example_mask():
    x, w = torch.randn(2, 3, 4, dtype=D), torch.randn(5, 4, dtype=D)
    mask = torch.rand(2, 5, 4) < 0.5
    y = dropconnect_linear(x, w, mask=mask)
    for n in range(2):
        np.testing.assert_allclose(_np(y[n]), _np(F.linear(x[n], w * mask[n])), atol=1e-12)


def test_per_example_masks_differ_and_per_batch_masks_do_not():
    x = torch.randn(1, 50, dtype=D).expand(8, 50)
    w = torch.randn(20, 50, dtype=D)
    y = dropconnect_linear(x, w, p=0.5)
    assert not torch.allclose(y[0], y[1])
    y = dropconnect_linear(x, w, p=0.5, per="batch")
    assert torch.allclose(y, y[:1].expand_as(y))


def test_mask_keeps_one_minus_p():
    mask = dropconnect_mask((200, 500), 0.3, generator=torch.Generator().manual_seed(0))
    assert abs(mask.double().mean().item() - 0.7) < 0.01


def test_dense_training_mean_matches_inference_mean():
    # Averaged over many masks, the training output approaches the mean rule.
    x, w = torch.randn(1, 30, dtype=D).expand(4000, 30), torch.randn(4, 30, dtype=D)
    train = dropconnect_linear(x, w, p=0.5, generator=torch.Generator().manual_seed(1)).mean(0)
    mean = dropconnect_linear(x[:1], w, p=0.5, training=False)[0]
    mu, var = ref.dense_moments(_np(x[:1]), _np(w), None, 0.5)
    np.testing.assert_allclose(_np(mean), mu[0], atol=1e-12)
    assert np.all(np.abs(_np(train) - mu[0]) < 5 * np.sqrt(var[0] / 4000))


def test_dense_inference_mean_scales_weights():
    x, w, b = torch.randn(3, 4, dtype=D), torch.randn(2, 4, dtype=D), torch.randn(2, dtype=D)
    y = dropconnect_linear(x, w, b, 0.25, training=False, activation="tanh")
    torch.testing.assert_close(y, torch.tanh(F.linear(x, 0.75 * w, b)))


def test_dense_gaussian_inference_matches_moment_matching():
    x, w, b = torch.randn(3, 6, dtype=D), torch.randn(4, 6, dtype=D), torch.randn(4, dtype=D)
    y = dropconnect_linear(x, w, b, 0.5, training=False, inference="gaussian",
                           activation="relu", samples=40000,
                           generator=torch.Generator().manual_seed(0))
    mu, var = ref.dense_moments(_np(x), _np(w), _np(b), 0.5)
    expected = _relu_expectation(mu, var)
    # Monte Carlo error of the mean of relu(u): at most sigma / sqrt(samples).
    assert np.all(np.abs(_np(y) - expected) < 5 * np.sqrt(var / 40000) + 1e-9)


def test_dense_gaussian_without_activation_is_the_exact_mean():
    x, w = torch.randn(3, 6, dtype=D), torch.randn(4, 6, dtype=D)
    y = dropconnect_linear(x, w, p=0.5, training=False, inference="gaussian")
    mu, _ = ref.dense_moments(_np(x), _np(w), None, 0.5)
    np.testing.assert_allclose(_np(y), mu, atol=1e-12)


def test_dense_gradcheck_with_fixed_mask():
    x = torch.randn(3, 4, dtype=D, requires_grad=True)
    w = torch.randn(2, 4, dtype=D, requires_grad=True)
    b = torch.randn(2, dtype=D, requires_grad=True)
    mask = torch.rand(3, 2, 4) < 0.5
    assert torch.autograd.gradcheck(
        lambda x, w, b: dropconnect_linear(x, w, b, mask=mask, activation="tanh"), (x, w, b))


def test_dense_errors():
    x, w = torch.randn(2, 3), torch.randn(4, 3)
    with pytest.raises(ArgumentError, match=r"p must be a number in \[0, 1\).*Received: p=1"):
        dropconnect_linear(x, w, p=1)
    with pytest.raises(ArgumentError, match="per must be one of 'example', 'batch'.*'sample'"):
        dropconnect_linear(x, w, per="sample")
    with pytest.raises(ArgumentError, match="inference must be one of.*'gaussian'"):
        dropconnect_linear(x, w, inference="gauss")
    with pytest.raises(ShapeError, match=r"mask must have shape \(2, 4, 3\).*Received: mask.shape=\(4, 4\)"):
        dropconnect_linear(x, w, mask=torch.ones(4, 4, dtype=torch.bool))
    with pytest.raises(ShapeError, match=r"expects an input \(N, \*, 3\).*\(2, 5\)"):
        dropconnect_linear(torch.randn(2, 5), w)
    with pytest.raises(ArgumentTypeError, match="activation must be None, a name"):
        dropconnect_linear(x, w, activation=3)


# ---------------------------------------------------------------- convolution

CONV_CASES = [
    # (dims, in, out, kernel, stride, padding, dilation, groups)
    (1, 2, 3, 3, 1, 0, 1, 1),
    (1, 4, 2, 2, 2, "same", 1, 2),
    (2, 2, 2, 3, 1, 1, 1, 1),
    (2, 2, 4, (2, 3), 2, "same", 1, 2),
    (2, 1, 2, 2, 1, 0, 2, 1),
    (3, 1, 2, 2, 1, 0, 1, 1),
]


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("per", ["example", "batch"])
def test_conv_matches_oracle_forward_and_backward(case, per):
    dims, cin, cout, kernel, stride, padding, dilation, groups = case
    kernel = (kernel,) * dims if isinstance(kernel, int) else kernel
    x = torch.randn(3, cin, *([5] * dims), dtype=D, requires_grad=True)
    w = torch.randn(cout, cin // groups, *kernel, dtype=D, requires_grad=True)
    b = torch.randn(cout, dtype=D, requires_grad=True)
    mask = torch.rand((3, *w.shape) if per == "example" else w.shape) < 0.6
    args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    y = dropconnect_conv(x, w, b, p=0.4, mask=mask, **args)
    expected = ref.conv_forward(_np(x), _np(w), _np(b), mask.numpy(), **args)
    np.testing.assert_allclose(_np(y), expected, atol=1e-12)
    g = torch.randn_like(y)
    y.backward(g)
    dx, dw, db = ref.conv_backward(_np(x), _np(w), mask.numpy(), _np(g), **args)
    np.testing.assert_allclose(_np(x.grad), dx, atol=1e-12)
    np.testing.assert_allclose(_np(w.grad), dw, atol=1e-12)
    np.testing.assert_allclose(_np(b.grad), db, atol=1e-12)


def test_conv_sampled_mask_is_the_generators_mask():
    x, w = torch.randn(2, 2, 6, 6, dtype=D), torch.randn(3, 2, 3, 3, dtype=D)
    y = dropconnect_conv(x, w, p=0.5, generator=torch.Generator().manual_seed(7))
    mask = dropconnect_mask((2, 3, 2, 3, 3), 0.5, generator=torch.Generator().manual_seed(7))
    np.testing.assert_allclose(_np(y), ref.conv_forward(_np(x), _np(w), None, mask.numpy()),
                               atol=1e-12)


def test_conv_untied_bias_and_reflect_padding():
    x, w = torch.randn(2, 1, 6, dtype=D), torch.randn(2, 1, 3, dtype=D)
    bias = torch.randn(2, 6, dtype=D)
    mask = torch.rand(2, 2, 1, 3) < 0.5
    y = dropconnect_conv(x, w, bias, padding=1, padding_mode="reflect", mask=mask)
    expected = ref.conv_forward(_np(x), _np(w), _np(bias), mask.numpy(), padding=1,
                                padding_mode="reflect")
    np.testing.assert_allclose(_np(y), expected, atol=1e-12)


def test_conv_inference_mean_and_gaussian():
    x, w, b = torch.randn(2, 2, 5, 5, dtype=D), torch.randn(3, 2, 3, 3, dtype=D), torch.randn(3, dtype=D)
    mu, var = ref.conv_moments(_np(x), _np(w), _np(b), 0.3, padding=1)
    mean = dropconnect_conv(x, w, b, padding=1, p=0.3, training=False)
    np.testing.assert_allclose(_np(mean), mu, atol=1e-12)
    gauss = dropconnect_conv(x, w, b, padding=1, p=0.3, training=False, inference="gaussian",
                             activation="relu", samples=20000,
                             generator=torch.Generator().manual_seed(0))
    assert np.all(np.abs(_np(gauss) - _relu_expectation(mu, var)) < 5 * np.sqrt(var / 20000) + 1e-9)


def test_conv_gradcheck_with_fixed_mask():
    x = torch.randn(2, 2, 4, 4, dtype=D, requires_grad=True)
    w = torch.randn(2, 1, 2, 2, dtype=D, requires_grad=True)
    mask = torch.rand(2, 2, 1, 2, 2) < 0.5
    assert torch.autograd.gradcheck(
        lambda x, w: dropconnect_conv(x, w, groups=2, stride=2, mask=mask), (x, w))


def test_conv_errors():
    x, w = torch.randn(2, 3, 5, 5), torch.randn(4, 3, 3, 3)
    with pytest.raises(ShapeError, match=r"mask must have shape \(2, 4, 3, 3, 3\) \(example\) or \(4, 3, 3, 3\)"):
        dropconnect_conv(x, w, mask=torch.ones(3, 4, 3, 3, 3, dtype=torch.bool))
    with pytest.raises(ShapeError, match="expects 3 input channels"):
        dropconnect_conv(torch.randn(2, 2, 5, 5), w)
    with pytest.raises(ArgumentError, match=r"p must be a number in \[0, 1\).*p=-0.1"):
        dropconnect_conv(x, w, p=-0.1)


# ---------------------------------------------------------------- layers


def test_dense_layer_train_and_eval():
    torch.manual_seed(0)
    layer = DropConnectDense(6, 3, p=0.5)
    x = torch.randn(4, 6)
    assert not torch.equal(layer(x), layer(x))  # a fresh mask every call
    layer.eval()
    torch.testing.assert_close(layer(x), F.linear(x, 0.5 * layer.weight, layer.bias))
    assert torch.equal(layer(x), layer(x))


def test_dense_layer_loads_dense_weights():
    dense = Dense(6, 3)
    layer = DropConnectDense(6, 3, p=0.2).eval()
    layer.load_state_dict(dense.state_dict())
    x = torch.randn(2, 6)
    torch.testing.assert_close(layer(x) - dense.bias, 0.8 * (dense(x) - dense.bias))


def test_layers_repr_and_shapes():
    assert repr(DropConnectDense(4, 2, p=0.3, per="batch")) == \
        "DropConnectDense(in_features=4, units=2, p=0.3, per='batch')"
    assert DropConnectConv1d(2, 3, 3)(torch.randn(2, 2, 9)).shape == (2, 3, 7)
    assert DropConnectConv3d(1, 2, 2, padding="same")(torch.randn(2, 1, 4, 4, 4)).shape == (2, 2, 4, 4, 4)
    layer = DropConnectConv(2, 2, 3, inference="gaussian", activation="relu", samples=8, dims=1).eval()
    assert (layer(torch.randn(2, 2, 6)) >= 0).all()
    with pytest.raises(ArgumentError, match="activation must be one of"):
        DropConnectDense(4, 2, activation="rleu")
    with pytest.raises(ShapeError, match="DropConnectDense|Dense expects inputs with 4 features"):
        DropConnectDense(4, 2)(torch.randn(2, 5))


def test_layer_gradients_reach_only_kept_weights():
    layer = DropConnectDense(100, 1, p=0.5, bias=False, per="batch")
    torch.manual_seed(3)
    layer(torch.ones(4, 100)).sum().backward()
    kept = layer.weight.grad != 0
    assert 25 < int(kept.sum()) < 75  # dropped weights get no gradient this step
    assert torch.equal(layer.weight.grad[kept], torch.full((int(kept.sum()),), 4.0))


def test_empty_batch_keeps_the_output_shape():
    assert dropconnect_linear(torch.randn(0, 8), torch.randn(4, 8)).shape == (0, 4)
    assert dropconnect_conv(torch.randn(0, 3, 5, 5), torch.randn(4, 3, 3, 3)).shape == (0, 4, 3, 3)
