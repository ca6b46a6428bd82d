"""First-layer kernels without supervised training (Goodfellow et al. 2016, section 9.9).

"There are three basic strategies for obtaining convolution kernels without supervised
training": random kernels, kernels designed by hand (Gabor functions), and kernels learned
with an unsupervised criterion (k-means on patches, Coates et al. 2011). Following the
book's protocol (Jarrett et al. 2009; Saxe et al. 2011), the convolution layer is frozen and
**only the last layer**, a linear read-out of its rectified, pooled features, is trained;
the same network trained end to end is the reference, and a linear read-out of the raw
pixels the baseline. Network: 32 kernels of 5x5 ('same'), ReLU, 4x4 max pooling (7x7x32 =
1,568 features), a linear layer to 10 classes; mnist5k (4,000 training digits).

- ``random``: zero-mean, unit-norm Gaussian kernels, frozen;
- ``gabor``: a Gabor bank (8 orientations x 2 frequencies x 2 phases, eq 9.16), frozen;
- ``kmeans``: k-means centroids of whitened 5x5 patches (Coates and Ng), frozen;
- ``trained``: the same network, every layer trained by back-propagation;
- ``pixels``: the linear read-out on the 784 raw pixels (no convolution).

For the frozen rows the features are computed once and standardised with the training
split's statistics; the read-out is then trained with Adam like every other row.

Run: ``cnnkit experiment unsupervised_filters [--quick] [--seeds N]``
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from ._common import (Data, Experiment, Result, Stat, Table, figure, fit, load_split,
                      seed_everything)

__all__ = ["EXPERIMENT", "first_layer", "run"]

FILTERS = 32
KERNEL = 5
POOL = 4
KINDS = ("random", "gabor", "kmeans", "trained", "pixels")


def first_layer(kind: str, x: torch.Tensor, seed: int,
                patches: int = 20_000) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight, bias)`` of the frozen first convolution for ``kind`` (random, gabor, kmeans)."""
    from ..features import gabor_bank, kmeans_filters, random_filters_

    if kind == "random":
        weight = random_filters_(torch.empty(FILTERS, 1, KERNEL, KERNEL),
                                 generator=torch.Generator().manual_seed(seed))
        return weight, torch.zeros(FILTERS)
    if kind == "gabor":
        bank = gabor_bank((KERNEL, KERNEL), orientations=8, frequencies=(1.2, 0.7),
                          phases=(0.0, math.pi / 2), scales=(1.5,))
        bank = bank - bank.flatten(1).mean(1).view(-1, 1, 1)
        bank = bank / bank.flatten(1).norm(dim=1).view(-1, 1, 1)
        return bank.unsqueeze(1), torch.zeros(FILTERS)
    weight, bias = kmeans_filters(x, FILTERS, KERNEL, patches=patches, seed=seed)
    scale = weight.flatten(1).norm(dim=1)  # unit-norm kernels, like the other rows
    return weight / scale.view(-1, 1, 1, 1), bias / scale


def _features(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    from ..functional import conv, max_pool

    with torch.no_grad():
        return max_pool(conv(x, weight, bias, padding="same").relu(), POOL).flatten(1)


def _network() -> nn.Module:
    from ..spec import build

    return build({"name": "first_layer_probe", "input": [1, 28, 28], "layers": [
        {"conv": {"filters": FILTERS, "kernel": KERNEL, "padding": "same", "activation": "relu"}},
        {"maxpool": POOL}, "flatten", {"dense": 10}]})


def _readout_data(kind: str, data: Data, seed: int, patches: int) -> Data:
    """The frozen features (or pixels) of both splits, standardised per feature."""
    if kind == "pixels":
        train, test = data.x.flatten(1), data.x_test.flatten(1)
    else:
        weight, bias = first_layer(kind, data.x, seed, patches)
        train, test = _features(data.x, weight, bias), _features(data.x_test, weight, bias)
    mean, std = train.mean(0), train.std(0).clamp_min(1e-6)
    return Data((train - mean) / std, data.y, (test - mean) / std, data.y_test)


def run(quick: bool = False, seeds: int = 3) -> Result:
    """One row per kind of first layer: test accuracy and what was trained."""
    data = load_split("mnist5k")
    if quick:
        data = data.subset(1000, test=500)
    steps = 200 if quick else 2000
    accuracy = {kind: [] for kind in KINDS}
    trainable = {}
    curves = {kind: [] for kind in KINDS}
    for seed in range(seeds):
        for kind in KINDS:
            seed_everything(seed)
            if kind == "trained":
                model, train = _network(), data
            else:
                train = _readout_data(kind, data, seed, 5_000 if quick else 20_000)
                model = nn.Linear(train.x.shape[1], 10)
            trainable[kind] = sum(p.numel() for p in model.parameters() if p.requires_grad)
            log = fit(model, train, steps=steps, batch=100, lr=1e-3, seed=seed,
                      eval_every=steps // 10, eval_train=False)
            accuracy[kind].append(log[-1]["test_accuracy"])
            curves[kind].append([(e["step"], e["test_accuracy"]) for e in log])

    labels = {"random": "random, frozen", "gabor": "Gabor bank, frozen",
              "kmeans": "k-means on whitened patches, frozen",
              "trained": "trained end to end (reference)", "pixels": "none: raw pixels"}
    rows = [{"kind": labels[k], "trained": "read-out only" if k != "trained" else "every layer",
             "params": f"{trainable[k]:,}", "accuracy": Stat(accuracy[k], scale=100)}
            for k in KINDS]

    fig = figure(8, 3)
    ax = fig.add_subplot(1, 2, 1)
    for kind in KINDS:
        steps_axis = [s for s, _ in curves[kind][0]]
        ax.plot(steps_axis, [100 * sum(c[i][1] for c in curves[kind]) / seeds
                             for i in range(len(steps_axis))], label=kind)
    ax.set(xlabel="step", ylabel="test accuracy (%)", title="read-out training")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax = fig.add_subplot(1, 2, 2)
    means = [100 * Stat(accuracy[k]).mean for k in KINDS]
    ax.barh(range(len(KINDS)), means, xerr=[100 * Stat(accuracy[k]).std for k in KINDS])
    ax.set_yticks(range(len(KINDS)), list(KINDS))
    ax.set_xlim(min(means) - 5, 100)
    ax.set(xlabel="test accuracy (%)", title="final")

    mean = {k: Stat(v).mean for k, v in accuracy.items()}
    frozen = ("random", "gabor", "kmeans")
    checks = [("every frozen first layer beats the linear read-out of raw pixels",
               all(mean[k] > mean["pixels"] for k in frozen)),
              ("random kernels come within 3 points of end-to-end training",
               mean["trained"] - mean["random"] < 0.03),
              ("end-to-end training is the best row", mean["trained"] >= max(mean[k] for k in frozen))]
    notes = [f"{len(data.y)} training and {len(data.y_test)} test digits; "
             f"Adam lr 1e-3, batch 100, {steps} steps; the "
             "frozen rows train only the 15,690 read-out parameters."]
    table = Table([("kind", "first layer"), ("trained", "trained"),
                   ("params", "trainable parameters"), ("accuracy", "test accuracy (%)")], rows)
    return Result([table], fig, checks, notes, seeds)


EXPERIMENT = Experiment(
    name="unsupervised_filters",
    claim="Random, hand-designed (Gabor) and k-means first-layer kernels, frozen, with only "
          "a linear read-out trained, work surprisingly well.",
    sources=("Goodfellow, Bengio and Courville 2016, Deep Learning, section 9.9",
             "Jarrett et al. 2009, What is the best multi-stage architecture for object "
             "recognition?", "Saxe et al. 2011, On random weights and unsupervised feature "
             "learning", "Coates, Lee and Ng 2011, An analysis of single-layer networks in "
             "unsupervised feature learning"),
    published="Jarrett et al. 2009: 'a two-stage system with random filters can yield almost "
              "63 % recognition rate on Caltech 101' (their best, trained: 65.5 %); Saxe et al. "
              "2011: architectures rank alike with random and with trained weights; Coates et "
              "al. 2011: k-means features with a linear read-out reach 79.6 % on CIFAR-10.",
    run=run)
