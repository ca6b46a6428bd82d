"""Structured outputs (Goodfellow et al. 2016, section 9.6): one label per pixel, a fully
convolutional net."""

import pytest
import torch

from cnnkit.spec import build
from cnnkit.train import TrainConfig, Trainer
from cnnkit.train.metrics import evaluate
from cnnkit.functional.losses import softmax_cross_entropy

SPEC = {
    "name": "tiny_fcn",
    "input": [1, 16, 16],
    "layers": [
        {"conv": {"filters": 8, "kernel": 3, "padding": "same", "activation": "relu"}},
        {"conv": {"filters": 8, "kernel": 3, "padding": "same", "dilation": 2, "activation": "relu"}},
        {"conv": {"filters": 2, "kernel": 1}},  # two scores per pixel: background, square
    ],
    "loss": "softmax_cross_entropy",
}


def squares(n, generator):
    """Noisy images with one bright square each; the label map marks the square."""
    x = 0.3 * torch.rand(n, 1, 16, 16, generator=generator)
    y = torch.zeros(n, 16, 16, dtype=torch.long)
    corners = torch.randint(0, 11, (n, 2), generator=generator)
    for i, (r, c) in enumerate(corners.tolist()):  # data making, not a hot path
        x[i, 0, r:r + 5, c:c + 5] += 0.7
        y[i, r:r + 5, c:c + 5] = 1
    return x, y


def test_a_fully_convolutional_net_learns_per_pixel_labels():
    g = torch.Generator().manual_seed(0)
    x, y = squares(400, g)
    torch.manual_seed(0)
    net = build(SPEC)
    assert net.output_shape == (2, 16, 16)
    result = Trainer(net, TrainConfig(epochs=6, lr=0.1, batch_size=32, progress=False, val_fraction=0.2),
                     (x, y)).fit()
    # accuracy is per pixel: the share of the 16 x 16 labels right, at most 1
    assert 0.97 < result.val["accuracy"] <= 1.0
    xt, yt = squares(100, g)
    metrics = evaluate(net, xt, yt, softmax_cross_entropy)
    predicted = net(xt).argmax(1)
    assert metrics["accuracy"] == pytest.approx((predicted == yt).double().mean().item())
    assert metrics["count"] == 100
