"""LRN, batch norm, activations, dense, flatten, dropout and the three losses against
independent NumPy computations (cnnkit.reference.norm and formulas written here)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cnnkit import functional as CF
from cnnkit import layers as L
from cnnkit.reference import norm as ref
from cnnkit.reference.gradcheck import numeric_gradient, numeric_vjp

TOL = dict(rtol=1e-10, atol=1e-10)
NUMERIC = dict(rtol=1e-6, atol=1e-7)  # central differences in float64


def t(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


def close(actual, expected, tol=TOL):
    actual = actual.detach().numpy() if isinstance(actual, torch.Tensor) else actual
    np.testing.assert_allclose(actual, expected, **tol)


# ---------------------------------------------------------------------------------------
# Local response normalisation

LRN_CASES = [  # (spatial, size, alpha, beta, k)
    ((5,), 5, 1e-4, 0.75, 2.0),        # AlexNet's constants, 1-D
    ((3, 4), 3, 0.5, 0.75, 1.0),
    ((3, 4), 4, 0.3, 0.5, 2.0),        # even size: one more neighbour below than above
    ((2, 3, 2), 2, 1.0, 1.0, 0.5),
    ((2, 2, 3), 9, 0.2, 0.9, 1.0),     # size larger than the channel count
    ((4,), 1, 2.0, 0.6, 1.0),
]


@pytest.mark.parametrize("spatial,size,alpha,beta,k", LRN_CASES)
def test_lrn_matches_oracle(spatial, size, alpha, beta, k):
    rng = np.random.default_rng(size)
    a = rng.standard_normal((2, 7) + spatial)
    x = t(a, True)
    out = CF.local_response_norm(x, size, alpha, beta, k)
    close(out, ref.lrn(a, size, alpha, beta, k))
    G = rng.standard_normal(a.shape)
    out.backward(t(G))
    close(x.grad, ref.lrn_backward(a, G, size, alpha, beta, k))
    close(L.LocalResponseNorm(size, alpha, beta, k)(t(a)), ref.lrn(a, size, alpha, beta, k))


def test_lrn_alpha_multiplies_the_sum_not_the_mean():
    # One channel of 2s among zeros, size 3, k = 0, beta = 1: b = 2 / (alpha * 4).
    a = np.zeros((1, 5, 1))
    a[0, 2, 0] = 2.0
    out = CF.local_response_norm(t(a), 3, alpha=1.0, beta=1.0, k=0.0)
    assert out[0, 2, 0].item() == pytest.approx(0.5)


def test_lrn_neighbour_window():
    # c - floor(n/2) .. c + floor((n-1)/2), clipped.
    assert list(ref.lrn_neighbours(3, 7, 4)) == [1, 2, 3, 4]
    assert list(ref.lrn_neighbours(6, 7, 5)) == [4, 5, 6]


# ---------------------------------------------------------------------------------------
# Batch normalisation (training mode: batch statistics)

@pytest.mark.parametrize("spatial", [(), (5,), (3, 2), (2, 2, 2)])
def test_batch_norm_train_matches_oracle(spatial):
    rng = np.random.default_rng(len(spatial))
    x_np = rng.standard_normal((4, 3) + spatial) * 2 + 1
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    layer = L.BatchNorm(3, momentum=0.25).double()
    with torch.no_grad():
        layer.weight.copy_(t(gamma))
        layer.bias.copy_(t(beta))
    x = t(x_np, True)
    out = layer(x)
    close(out, ref.batch_norm(x_np, gamma, beta, eps=1e-5))
    # Running statistics: unbiased variance, momentum 0.25 from (0, 1).
    axes = (0,) + tuple(range(2, x_np.ndim))
    count = x_np.size // 3
    mean = x_np.mean(axis=axes)
    unbiased = ((x_np - mean.reshape((1, 3) + (1,) * len(spatial))) ** 2).sum(axis=axes) / (count - 1)
    close(layer.running_mean, 0.25 * mean)
    close(layer.running_var, 0.75 + 0.25 * unbiased)
    assert layer.num_batches_tracked.item() == 1
    # Backward against the oracle's numeric gradient.
    G = rng.standard_normal(x_np.shape)
    out.backward(t(G))
    close(x.grad, numeric_vjp(lambda v: ref.batch_norm(v, gamma, beta), x_np, G), NUMERIC)
    close(layer.weight.grad, numeric_vjp(lambda g: ref.batch_norm(x_np, g, beta), gamma, G), NUMERIC)
    close(layer.bias.grad, numeric_vjp(lambda b: ref.batch_norm(x_np, gamma, b), beta, G), NUMERIC)
    # Evaluation uses the running statistics.
    layer.eval()
    close(layer(t(x_np)), ref.batch_norm(x_np, gamma, beta, 1e-5, layer.running_mean.numpy(),
                                         layer.running_var.numpy()))


# ---------------------------------------------------------------------------------------
# Activations against NumPy formulas

_erf = np.vectorize(math.erf)

ACTIVATION_FORMULAS = {
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "abs_tanh": lambda x: np.abs(np.tanh(x)),
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.01 * x),
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
}


def _away_from_kinks(rng, shape):
    x = rng.standard_normal(shape) * 2
    return np.where(np.abs(x) < 1e-2, 0.5, x)


@pytest.mark.parametrize("name", list(ACTIVATION_FORMULAS))
def test_activation_matches_formula(name):
    rng = np.random.default_rng(len(name))
    x_np = _away_from_kinks(rng, (3, 2, 4))
    x = t(x_np, True)
    out = CF.activation(name)(x)
    formula = ACTIVATION_FORMULAS[name]
    close(out, formula(x_np))
    G = rng.standard_normal(x_np.shape)
    out.backward(t(G))
    close(x.grad, numeric_vjp(formula, x_np, G), NUMERIC)
    close(L.Activation(name)(t(x_np)), formula(x_np))


def test_leaky_relu_slope_and_gelu_tanh_form():
    rng = np.random.default_rng(1)
    x_np = _away_from_kinks(rng, (20,))
    close(L.LeakyReLU(0.2)(t(x_np)), np.where(x_np >= 0, x_np, 0.2 * x_np))
    tanh_form = 0.5 * x_np * (1 + np.tanh(math.sqrt(2 / math.pi) * (x_np + 0.044715 * x_np ** 3)))
    close(L.GELU("tanh")(t(x_np)), tanh_form)
    for layer, name in ((L.ReLU(), "relu"), (L.Tanh(), "tanh"), (L.AbsTanh(), "abs_tanh"),
                        (L.Sigmoid(), "sigmoid")):
        close(layer(t(x_np)), ACTIVATION_FORMULAS[name](x_np))


# ---------------------------------------------------------------------------------------
# Dense, Flatten, Dropout

def test_dense_matches_loops():
    rng = np.random.default_rng(2)
    layer = L.Dense(5, 3).double()
    W, b = rng.standard_normal((3, 5)), rng.standard_normal(3)
    with torch.no_grad():
        layer.weight.copy_(t(W))
        layer.bias.copy_(t(b))
    X = rng.standard_normal((4, 5))
    x = t(X, True)
    out = layer(x)
    expected = np.zeros((4, 3))
    for n in range(4):
        for u in range(3):
            expected[n, u] = sum(X[n, i] * W[u, i] for i in range(5)) + b[u]
    close(out, expected)
    G = rng.standard_normal((4, 3))
    out.backward(t(G))
    dW = np.array([[sum(G[n, u] * X[n, i] for n in range(4)) for i in range(5)] for u in range(3)])
    dX = np.array([[sum(G[n, u] * W[u, i] for u in range(3)) for i in range(5)] for n in range(4)])
    close(layer.weight.grad, dW)
    close(x.grad, dX)
    close(layer.bias.grad, G.sum(axis=0))


@pytest.mark.parametrize("spatial", [(4,), (2, 3), (2, 2, 3)])
def test_flatten_is_channel_major(spatial):
    rng = np.random.default_rng(len(spatial))
    X = rng.standard_normal((2, 3) + spatial)
    out = L.Flatten()(t(X))
    expected = np.zeros((2, X[0].size))
    for n in range(2):
        for index in np.ndindex(*X.shape[1:]):
            flat = 0
            for i, extent in zip(index, X.shape[1:]):
                flat = flat * extent + i  # channel first, then each spatial axis in order
            expected[n, flat] = X[(n,) + index]
    close(out, expected)


def test_dropout_is_the_identity_in_eval_mode_and_at_rate_zero():
    x = torch.randn(4, 3, 5, 5)
    assert torch.equal(L.Dropout(0.5).eval()(x), x)
    assert torch.equal(L.Dropout(0.5, channelwise=True).eval()(x), x)
    assert torch.equal(L.Dropout(0.0).train()(x), x)


def test_dropout_train_drops_at_the_rate_and_preserves_the_mean():
    rate, n = 0.3, 200_000
    torch.manual_seed(1)
    x = torch.ones(n, dtype=torch.float64, requires_grad=True)
    out = L.Dropout(rate).train()(x)
    kept = out != 0
    # Survivors are scaled by exactly 1 / (1 - rate).
    assert torch.allclose(out[kept], torch.full_like(out[kept], 1 / (1 - rate)))
    # Five standard deviations: a wrong rate or a missing rescale is far outside.
    frac_sigma = math.sqrt(rate * (1 - rate) / n)
    assert abs((~kept).double().mean().item() - rate) < 5 * frac_sigma
    mean_sigma = math.sqrt(rate / (1 - rate) / n)
    assert abs(out.mean().item() - 1.0) < 5 * mean_sigma
    out.sum().backward()
    assert torch.equal(x.grad, out.detach())  # the same mask and scale flow back


def test_channelwise_dropout_drops_whole_channels():
    rate = 0.4
    torch.manual_seed(2)
    x = torch.ones(200, 100, 3, 4, dtype=torch.float64)
    out = L.Dropout(rate, channelwise=True).train()(x)
    per_map = out.flatten(2)
    # Every feature map is all dropped or all kept (and scaled).
    assert torch.equal(per_map.amin(dim=2), per_map.amax(dim=2))
    dropped = (per_map[:, :, 0] == 0).double()
    sigma = math.sqrt(rate * (1 - rate) / dropped.numel())
    assert abs(dropped.mean().item() - rate) < 5 * sigma
    assert torch.allclose(per_map[per_map != 0], torch.tensor(1 / (1 - rate), dtype=torch.float64))
    mean_sigma = math.sqrt(rate / (1 - rate) / dropped.numel())
    assert abs(out.mean().item() - 1.0) < 5 * mean_sigma


# ---------------------------------------------------------------------------------------
# Losses

SOFTMAX_CASES = [  # (logits shape, smoothing, probability targets, reduction)
    ((5, 4), 0.0, False, "mean"),
    ((5, 4), 0.1, False, "mean"),
    ((5, 4), 0.3, True, "sum"),
    ((2, 3, 2, 3), 0.0, False, "mean"),       # per-pixel targets (N, K, H, W)
    ((2, 3, 2, 3), 0.2, False, "none"),
    ((2, 3, 2, 3), 0.0, True, "mean"),
    ((2, 4, 3), 0.1, False, "sum"),           # 1-D structured output
    ((1, 3, 2, 2, 2), 0.0, False, "mean"),    # 3-D structured output
]


def _targets(rng, shape, probabilities):
    if probabilities:
        p = rng.random(shape)
        return p / p.sum(axis=1, keepdims=True)
    return rng.integers(0, shape[1], size=(shape[0],) + shape[2:])


@pytest.mark.parametrize("shape,smoothing,probabilities,reduction", SOFTMAX_CASES)
def test_softmax_cross_entropy_matches_oracle(shape, smoothing, probabilities, reduction):
    rng = np.random.default_rng(sum(shape))
    z = rng.standard_normal(shape) * 2
    y = _targets(rng, shape, probabilities)
    target = t(y) if probabilities else torch.tensor(y)
    logits = t(z, True)
    loss = CF.softmax_cross_entropy(logits, target, label_smoothing=smoothing, reduction=reduction)
    expected = ref.softmax_cross_entropy(z, y, smoothing, reduction=reduction)
    close(loss, expected)
    G = rng.standard_normal(np.shape(expected))
    loss.backward(t(G))
    oracle = lambda v: ref.softmax_cross_entropy(v, y, smoothing, reduction=reduction)  # noqa: E731
    close(logits.grad, numeric_vjp(oracle, z, G), NUMERIC)


def test_softmax_cross_entropy_class_weights():
    rng = np.random.default_rng(8)
    z, y = rng.standard_normal((6, 3)), rng.integers(0, 3, size=6)
    w = np.array([0.5, 2.0, 1.0])
    loss = CF.softmax_cross_entropy(t(z), torch.tensor(y), weight=t(w))
    close(loss, ref.softmax_cross_entropy(z, y, weight=w))


def test_softmax_cross_entropy_gradient_is_softmax_minus_target():
    # d loss / d z = (softmax(z) - q) / N: an independent closed form.
    rng = np.random.default_rng(9)
    z, y = rng.standard_normal((4, 5)), rng.integers(0, 5, size=4)
    logits = t(z, True)
    CF.softmax_cross_entropy(logits, torch.tensor(y), label_smoothing=0.2).backward()
    q = np.full((4, 5), 0.2 / 5)
    q[np.arange(4), y] += 0.8
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    close(logits.grad, (p - q) / 4)


@pytest.mark.parametrize("shape,reduction", [((6,), "mean"), ((3, 4), "sum"),
                                             ((2, 3, 2, 2), "mean"), ((2, 2, 3), "none")])
def test_sigmoid_cross_entropy_matches_oracle(shape, reduction):
    rng = np.random.default_rng(len(shape))
    z, y = rng.standard_normal(shape) * 3, rng.random(shape)
    logits = t(z, True)
    loss = CF.sigmoid_cross_entropy(logits, t(y), reduction=reduction)
    expected = ref.sigmoid_cross_entropy(z, y, reduction)
    close(loss, expected)
    G = rng.standard_normal(np.shape(expected))
    loss.backward(t(G))
    close(logits.grad, numeric_vjp(lambda v: ref.sigmoid_cross_entropy(v, y, reduction), z, G),
          NUMERIC)


@pytest.mark.parametrize("shape,reduction", [((4, 3), "mean"), ((2, 3, 2, 2), "mean"),
                                             ((3, 5), "sum"), ((3, 2, 2), "none")])
def test_euclidean_loss_matches_oracle(shape, reduction):
    rng = np.random.default_rng(sum(shape))
    yhat, y = rng.standard_normal(shape), rng.standard_normal(shape)
    pred = t(yhat, True)
    loss = CF.euclidean_loss(pred, t(y), reduction=reduction)
    expected = ref.euclidean_loss(yhat, y, reduction)
    close(loss, expected)
    G = rng.standard_normal(np.shape(expected))
    loss.backward(t(G))
    close(pred.grad, numeric_vjp(lambda v: ref.euclidean_loss(v, y, reduction), yhat, G), NUMERIC)
    if reduction == "mean":  # 1 / (2N), N the batch: d loss / d yhat = G (yhat - y) / N
        close(pred.grad, G * (yhat - y) / shape[0])


def test_loss_lookup_by_spec_name():
    rng = np.random.default_rng(4)
    z, y = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    close(CF.loss_function("euclidean")(t(z), t(y)), ref.euclidean_loss(z, y))
    assert numeric_gradient(lambda v: ref.euclidean_loss(v, y), z).shape == z.shape
