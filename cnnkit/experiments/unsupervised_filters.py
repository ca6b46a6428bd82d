"""Goodfellow et al. 2016, section 9.9: first-layer kernels without supervised training.

"There are three basic strategies for obtaining convolution kernels without supervised
training": random kernels, kernels designed by hand (Gabor functions), and kernels
learned with an unsupervised criterion (k-means on patches, Coates et al. 2011); the
chapter adds that random filters often work surprisingly well. This experiment trains
the same small network on the bundled mnist5k digits with its first convolution

- ``trained``: learned by back-propagation with the rest (the reference),
- ``random``: random zero-mean unit-norm kernels, frozen,
- ``gabor``: a Gabor bank (eq 9.16), frozen,
- ``kmeans``: k-means centroids of whitened patches, frozen,
- ``none``: no convolution at all (the classifier on the raw pixels, same pooling),

and prints test accuracy. Only the layers after the first convolution learn in the
frozen rows, so the table measures how much a first layer chosen without labels gives.

Run: ``cnnkit experiment unsupervised_filters [--epochs 8]``
"""

from __future__ import annotations

import time

import torch

__all__ = ["run", "main"]

FILTERS = 16
KERNEL = 5


def _spec(first_conv: bool) -> dict:
    layers = [{"conv": {"filters": FILTERS, "kernel": KERNEL, "padding": "same", "activation": "relu"}}] \
        if first_conv else []
    layers += [{"maxpool": 2}, {"conv": {"filters": 32, "kernel": 3, "activation": "relu"}},
               {"maxpool": 2}, "flatten", {"dense": 10}]
    return {"name": "first_layer_probe", "input": [1, 28, 28], "layers": layers,
            "loss": "softmax_cross_entropy"}


def _first_layer(kind: str, train_x: torch.Tensor, seed: int):
    """(weight, bias) for the first convolution, or None to let training learn it."""
    from ..features import gabor_bank, kmeans_filters, random_filters_

    if kind == "random":
        weight = random_filters_(torch.empty(FILTERS, 1, KERNEL, KERNEL),
                                 generator=torch.Generator().manual_seed(seed))
        return weight, torch.zeros(FILTERS)
    if kind == "gabor":
        bank = gabor_bank((KERNEL, KERNEL), orientations=8, frequencies=(1.2, 0.7),
                          phases=(0.0,), scales=(1.5,))
        bank = bank - bank.flatten(1).mean(1).view(-1, 1, 1)
        bank = bank / bank.flatten(1).norm(dim=1).view(-1, 1, 1)
        return bank.unsqueeze(1)[:FILTERS], torch.zeros(FILTERS)
    if kind == "kmeans":
        weight, bias = kmeans_filters(train_x, FILTERS, KERNEL, patches=20_000, seed=seed)
        scale = weight.flatten(1).norm(dim=1)  # unit-norm kernels, like the other rows
        return weight / scale.view(-1, 1, 1, 1), bias / scale
    return None


def run(epochs: int = 8, seed: int = 0, kinds=("trained", "random", "gabor", "kmeans", "none"),
        train_samples: int | None = None, quiet: bool = False) -> list[dict]:
    """Train one network per first-layer kind; returns one row per kind.

    Returns:
        ``[{"kind", "test_accuracy", "trainable_params", "seconds"}, ...]``.
    """
    from ..data import load_dataset
    from ..spec import build
    from ..train import TrainConfig, Trainer
    from ..train.metrics import evaluate
    from ..functional.losses import softmax_cross_entropy

    train, test = load_dataset("mnist5k", "train"), load_dataset("mnist5k", "test")
    x, y = (train.x, train.y) if train_samples is None else (train.x[:train_samples], train.y[:train_samples])
    # A short discarded run first: the first training in a process pays for kernel
    # selection and thread start-up, which would otherwise be charged to one row.
    warm = build(_spec(first_conv=True))
    Trainer(warm, TrainConfig(epochs=1, val_fraction=0.0, progress=False), (x[:256], y[:256])).fit()
    rows = []
    for kind in kinds:
        torch.manual_seed(seed)
        network = build(_spec(first_conv=kind != "none"))
        first = _first_layer(kind, x, seed) if kind not in ("trained", "none") else None
        freeze = []
        if first is not None:
            with torch.no_grad():
                network.layers[0].weight.copy_(first[0])
                network.layers[0].bias.copy_(first[1])
            freeze = ["layers.0.*"]
        config = TrainConfig(epochs=epochs, lr=0.05, momentum=0.9, schedule="cosine", seed=seed,
                             val_fraction=0.0, progress=False, freeze=freeze)
        started = time.perf_counter()
        Trainer(network, config, (x, y)).fit()
        seconds = time.perf_counter() - started
        accuracy = evaluate(network, test.x, test.y, softmax_cross_entropy)["accuracy"]
        trainable = sum(p.numel() for p in network.parameters() if p.requires_grad)
        rows.append({"kind": kind, "test_accuracy": accuracy, "trainable_params": trainable,
                     "seconds": seconds})
        if not quiet:
            print(f"{kind:8s} test accuracy {100 * accuracy:6.2f} %   trainable parameters "
                  f"{trainable:6,d}   {seconds:5.1f} s", flush=True)
    return rows
