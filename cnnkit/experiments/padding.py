"""How much zero padding (Goodfellow et al. 2016, section 9.5, fig. 9.13).

The book: without padding ('valid') the representation shrinks with every layer, which
limits the depth; with 'same' padding "the input pixels near the border influence fewer
output pixels than the input pixels near the center"; with 'full' padding the output
units near the border see mostly zeros, and "this can make it difficult to learn a single
kernel that performs well at all positions ... Usually the optimal amount of zero padding
(in terms of test set classification accuracy) lies somewhere between 'valid' and 'same'
convolution."

A deep stack on mnist5k: six 3x3 convolutions of 16 channels (ReLU), a 2x2 max pooling
after the third, global average pooling and a dense layer to 10 classes, so that every
variant has exactly the same parameters and only the padding differs:

- ``valid``: no padding (28 -> 22, pooled 11 -> 5);
- ``between``: one pixel on every other layer, half of 'same' (28 -> 26 -> 13 -> 9);
- ``same``: one pixel everywhere (28 -> 28 -> 14 -> 14);
- ``full``: two pixels everywhere (28 -> 34 -> 17 -> 23).

Run: ``cnnkit experiment padding [--quick] [--seeds N]``
"""

from __future__ import annotations

import torch.nn as nn

from ._common import Experiment, Result, Stat, Table, figure, fit, load_split, seed_everything

__all__ = ["EXPERIMENT", "network", "run"]

PADDINGS = {"valid": (0,) * 6, "between": (1, 0, 1, 0, 1, 0), "same": (1,) * 6, "full": (2,) * 6}


def network(kind: str) -> nn.Module:
    """The six-layer stack with the paddings of ``kind``."""
    from ..spec import build

    convs = [{"conv": {"filters": 16, "kernel": 3, "padding": p, "activation": "relu"}}
             for p in PADDINGS[kind]]
    return build({"name": f"padding_{kind}", "input": [1, 28, 28],
                  "layers": convs[:3] + [{"maxpool": 2}] + convs[3:]
                  + ["global_avgpool", {"dense": 10}]})


def run(quick: bool = False, seeds: int = 3) -> Result:
    """Train the four variants; final map size, test accuracy and curves."""
    from ..inspect import summary

    data = load_split("mnist5k")
    if quick:
        data = data.subset(500, test=300)
    steps = 60 if quick else 1000
    logs = {k: [] for k in PADDINGS}
    for seed in range(seeds):
        for kind in PADDINGS:
            seed_everything(seed)
            logs[kind].append(fit(network(kind), data, steps=steps, batch=32, lr=3e-3,
                                  seed=seed, eval_every=steps // (5 if quick else 10), eval_train=False))
    rows = []
    for kind in PADDINGS:
        table = summary(network(kind))
        last_conv = [r for r in table.rows if r["type"] == "conv"][-1]
        rows.append({"kind": kind, "pads": ",".join(map(str, PADDINGS[kind])),
                     "size": "x".join(map(str, last_conv["output_shape"][1:])),
                     "field": "x".join(map(str, last_conv["field"])),
                     "params": f"{table.total_params:,}",
                     "loss": Stat([log[-1]["loss"] for log in logs[kind]], digits=3),
                     "accuracy": Stat([log[-1]["test_accuracy"] for log in logs[kind]],
                                      scale=100)})

    fig = figure(8, 3)
    ax = fig.add_subplot(1, 2, 1)
    for kind in PADDINGS:
        first = logs[kind][0]
        ax.plot([e["step"] for e in first],
                [100 * Stat([log[i]["test_accuracy"] for log in logs[kind]]).mean
                 for i in range(len(first))], marker="o", markersize=2, label=kind)
    ax.set(xlabel="step", ylabel="test accuracy (%)", title="test accuracy while training")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax = fig.add_subplot(1, 2, 2)
    acc = {k: Stat([log[-1]["test_accuracy"] for log in logs[k]]) for k in PADDINGS}
    ax.errorbar(range(len(PADDINGS)), [100 * acc[k].mean for k in PADDINGS],
                yerr=[100 * acc[k].std for k in PADDINGS], marker="o", capsize=3)
    ax.set_xticks(range(len(PADDINGS)), list(PADDINGS))
    ax.set(xlabel="padding", ylabel="test accuracy (%)", title="final (mean ± std)")
    ax.grid(alpha=0.3)

    mean = {k: v.mean for k, v in acc.items()}
    best = max(mean, key=mean.get)
    checks = [("the best padding lies between 'valid' and 'same' (inclusive: valid, between "
               "or same beats full)", best != "full"),
              ("strictly between: 'between' is the best", best == "between"),
              ("'full' is the worst", min(mean, key=mean.get) == "full")]
    notes = [f"{len(data.y)} training and {len(data.y_test)} test digits; "
             f"Adam lr 3e-3, batch 32, {steps} steps; "
             "identical parameters in every variant (global average pooling before the "
             "dense layer)."]
    table = Table([("kind", "padding"), ("pads", "pixels per layer"),
                   ("size", "last map"), ("field", "receptive field"), ("params", "parameters"),
                   ("loss", "final training loss"), ("accuracy", "test accuracy (%)")], rows)
    return Result([table], fig, checks, notes, seeds)


EXPERIMENT = Experiment(
    name="padding",
    claim="The best amount of zero padding usually lies between 'valid' and 'same'.",
    sources=("Goodfellow, Bengio and Courville 2016, Deep Learning, section 9.5, fig. 9.13",),
    published="a statement without a measurement: 'usually the optimal amount of zero "
              "padding (in terms of test set classification accuracy) lies somewhere between "
              "valid and same convolution'.",
    run=run)
