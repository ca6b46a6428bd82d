"""Parameter sharing (Goodfellow et al. 2016, section 9.2): fewer parameters, and
statistically more efficient.

Part 1 counts parameters (from :func:`cnnkit.inspect.summary`, nothing built) of one
feature map of 96x96 from a 100x100 input: a shared 5x5 kernel has 25, a locally connected
layer (the same 5x5 windows, one kernel per location) 230,400, and a dense layer
92,160,000; one dense neuron alone has 10,000 weights where a convolution unit has 25.

Part 2 trains three networks that differ only in the first layer, all mapping a 28x28
mnist5k digit to 8 maps of 24x24 (ReLU, 2x2 max pooling, a dense read-out): a convolution,
a locally connected layer and a dense layer reshaped to the same maps, on training sets of
growing size, and reports test accuracy. Sharing should win most where data are few.

Run: ``cnnkit experiment parameter_sharing [--quick] [--seeds N]``
"""

from __future__ import annotations

import torch.nn as nn

from ._common import Experiment, Result, Stat, Table, figure, fit, load_split, seed_everything

__all__ = ["EXPERIMENT", "run"]

KINDS = ("convolution", "locally connected", "dense")


def _first_layer(kind: str) -> nn.Module:
    from ..layers import Conv2d, Dense, LocallyConnected2d

    if kind == "convolution":
        return Conv2d(1, 8, 5)
    if kind == "locally connected":
        return LocallyConnected2d(1, 8, 5, input_size=(28, 28))
    return nn.Sequential(nn.Flatten(), Dense(784, 8 * 24 * 24), nn.Unflatten(1, (8, 24, 24)))


def _network(kind: str) -> nn.Module:
    from ..layers import Dense, Flatten, MaxPool, ReLU

    return nn.Sequential(_first_layer(kind), ReLU(), MaxPool(2), Flatten(), Dense(8 * 12 * 12, 10))


def _counts() -> list[dict]:
    from ..inspect import summary

    def params(layers):
        return summary({"input": [1, 100, 100], "layers": layers}).total_params

    rows = [("convolution, one shared 5x5 kernel", [{"conv": {"filters": 1, "kernel": 5, "bias": "none"}}], 25),
            ("locally connected, 5x5 windows", [{"locally_connected": {"filters": 1, "kernel": 5, "bias": False}}], 25),
            ("dense, 10,000 inputs -> 96x96 units", ["flatten", {"dense": {"units": 96 * 96, "bias": False}}], 10_000)]
    return [{"layer": name, "params": f"{params(layers):,}", "per_unit": f"{per_unit:,}"}
            for name, layers, per_unit in rows]


def run(quick: bool = False, seeds: int = 3) -> Result:
    """Count parameters, then train the three networks on growing training sets."""
    data = load_split("mnist5k")
    sizes = (100, 1000) if quick else (100, 300, 1000, 4000)
    steps = 100 if quick else 500
    results = {(k, n): [] for k in KINDS for n in sizes}
    params = {}
    for n in sizes:
        for seed in range(seeds):
            subset = data.subset(n, seed)
            for kind in KINDS:
                seed_everything(seed)
                model = _network(kind)
                params[kind] = sum(p.numel() for p in model[0].parameters())
                log = fit(model, subset, steps=steps, batch=50, lr=1e-3, seed=seed,
                          eval_train=False)
                results[(kind, n)].append(log[-1]["test_accuracy"])
    rows = [{"kind": kind, "params": f"{params[kind]:,}",
             **{f"n{n}": Stat(results[(kind, n)], scale=100) for n in sizes}} for kind in KINDS]

    fig = figure(5, 3)
    ax = fig.add_subplot(1, 1, 1)
    for kind in KINDS:
        means = [100 * Stat(results[(kind, n)]).mean for n in sizes]
        stds = [100 * Stat(results[(kind, n)]).std for n in sizes]
        ax.errorbar(sizes, means, yerr=stds, marker="o", markersize=3, capsize=2, label=kind)
    ax.set_xscale("log")
    ax.set(xlabel="training samples", ylabel="test accuracy (%)",
           title="first layer: shared, local or dense")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)

    mean = {key: Stat(v).mean for key, v in results.items()}
    small = sizes[0]
    checks = [(f"with {small} training samples: convolution > locally connected > dense",
               mean[("convolution", small)] > mean[("locally connected", small)]
               > mean[("dense", small)]),
              ("convolution is at least as accurate as the dense layer at every size",
               all(mean[("convolution", n)] >= mean[("dense", n)] for n in sizes))]
    notes = [f"Adam lr 1e-3, batch 50, {steps} steps per run whatever the training-set size; "
             "class-balanced subsets drawn per seed; the full 1,000-digit test set."]
    tables = [Table([("layer", "one 96x96 feature map from a 100x100 input"),
                     ("params", "weights"), ("per_unit", "weights per output unit")], _counts(),
                    "Parameters (cnnkit.inspect.summary)"),
              Table([("kind", "first layer (1 -> 8 maps of 24x24)"), ("params", "its parameters")]
                    + [(f"n{n}", f"n={n}") for n in sizes], rows,
                    "Test accuracy (%) against the number of training samples")]
    return Result(tables, fig, checks, notes, seeds)


EXPERIMENT = Experiment(
    name="parameter_sharing",
    claim="A shared kernel needs far fewer parameters than a locally connected or dense "
          "layer, and learns more from few samples.",
    sources=("Goodfellow, Bengio and Courville 2016, Deep Learning, section 9.2 (sparse "
             "interactions, parameter sharing)",),
    published="a 5x5 kernel has 25 parameters where a dense layer's unit on a 100x100 input "
              "has 10,000 (the book's sizes); convolution is 'dramatically more efficient than "
              "dense matrix multiplication in terms of the memory requirements and "
              "statistical efficiency' (no accuracy figure).",
    run=run)
