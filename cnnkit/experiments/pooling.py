"""Max against average pooling (Scherer, Mueller and Behnke 2010), and pooling against
strided convolution (Springenberg et al. 2015).

Scherer et al. found max pooling "vastly superior" to subsampling (average pooling) on
NORB and Caltech-101; Springenberg et al. ("Striving for simplicity: the all convolutional
net") found that a convolution of stride 2 can replace each pooling layer "without loss in
accuracy" on CIFAR-10 and CIFAR-100, while merely removing pooling and increasing the stride
of the previous convolution costs some accuracy.

Four networks on mnist5k that differ only in how they halve the resolution, twice:
conv 32 3x3 ('same', ReLU), DOWN, conv 32 3x3 ('same', ReLU), DOWN, dense 10, where DOWN is

- ``max``: 2x2 max pooling;
- ``average``: 2x2 average pooling;
- ``strided conv``: an extra learned conv 32 3x3 of stride 2 ('same', ReLU) (All-CNN-C);
- ``stride in conv``: no pooling; the convolution before it has stride 2 (Strided-CNN-C).

Adam (lr 1e-3, batch 64); test accuracy and the training curves.

Run: ``cnnkit experiment pooling [--quick] [--seeds N]``
"""

from __future__ import annotations

import torch.nn as nn

from ._common import Experiment, Result, Stat, Table, figure, fit, load_split, seed_everything

__all__ = ["EXPERIMENT", "network", "run"]

KINDS = ("max", "average", "strided conv", "stride in conv")


def network(kind: str) -> nn.Module:
    """The network of this experiment with the down-sampling ``kind``."""
    from ..spec import build

    def conv(stride=1):
        return {"conv": {"filters": 32, "kernel": 3, "padding": "same", "stride": stride,
                         "activation": "relu"}}

    if kind == "stride in conv":
        layers = [conv(2), conv(2)]
    else:
        down = {"max": {"maxpool": 2}, "average": {"avgpool": 2},
                "strided conv": conv(2)}[kind]
        layers = [conv(), down, conv(), down]
    return build({"name": f"pooling_{kind.replace(' ', '_')}", "input": [1, 28, 28],
                  "layers": layers + ["flatten", {"dense": 10}]})


def run(quick: bool = False, seeds: int = 3) -> Result:
    """Train the four networks; test accuracy, final training loss and the curves."""
    data = load_split("mnist5k")
    if quick:
        data = data.subset(500, test=300)
    steps = 60 if quick else 800
    logs = {k: [] for k in KINDS}
    params = {}
    for seed in range(seeds):
        for kind in KINDS:
            seed_everything(seed)
            model = network(kind)
            params[kind] = sum(p.numel() for p in model.parameters())
            logs[kind].append(fit(model, data, steps=steps, batch=64, lr=1e-3, seed=seed,
                                  eval_every=steps // (5 if quick else 10), eval_train=False))
    rows = [{"kind": kind, "params": f"{params[kind]:,}",
             "loss": Stat([log[-1]["loss"] for log in logs[kind]], digits=3),
             "accuracy": Stat([log[-1]["test_accuracy"] for log in logs[kind]], scale=100)}
            for kind in KINDS]

    fig = figure(8, 3)
    for panel, (key, label, scale) in enumerate((("loss", "training loss", 1),
                                                 ("test_accuracy", "test accuracy (%)", 100))):
        ax = fig.add_subplot(1, 2, panel + 1)
        for kind in KINDS:
            first = logs[kind][0]
            ax.plot([e["step"] for e in first],
                    [scale * Stat([log[i][key] for log in logs[kind]]).mean
                     for i in range(len(first))], marker="o", markersize=2, label=kind)
        ax.set(xlabel="step", ylabel=label, title=label)
        if key == "loss":
            ax.set_yscale("log")
        else:
            ax.set_ylim(90, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)

    acc = {k: Stat([log[-1]["test_accuracy"] for log in logs[k]]) for k in KINDS}
    checks = [("max pooling is more accurate than average pooling",
               acc["max"].mean > acc["average"].mean),
              ("a strided convolution matches max pooling (within 0.5 points)",
               acc["strided conv"].mean >= acc["max"].mean - 0.005),
              ("dropping pooling for a larger stride costs accuracy",
               acc["stride in conv"].mean < min(acc["max"].mean, acc["strided conv"].mean))]
    notes = [f"{len(data.y)} training and {len(data.y_test)} test digits; "
             f"Adam lr 1e-3, batch 64, {steps} steps; accuracy "
             "after the last step."]
    table = Table([("kind", "down-sampling"), ("params", "parameters"),
                   ("loss", "final training loss"), ("accuracy", "test accuracy (%)")], rows)
    return Result([table], fig, checks, notes, seeds)


EXPERIMENT = Experiment(
    name="pooling",
    claim="Max pooling beats average pooling; a stride-2 convolution can replace pooling "
          "without loss.",
    sources=("Scherer, Mueller and Behnke 2010, Evaluation of pooling operations in "
             "convolutional architectures for object recognition",
             "Springenberg, Dosovitskiy, Brox and Riedmiller 2015, Striving for simplicity: "
             "the all convolutional net"),
    published="Scherer et al.: max pooling clearly better than subsampling (NORB, "
              "Caltech-101); Springenberg et al. (CIFAR-10, no augmentation, test error): "
              "Model C with max pooling 9.74 %, All-CNN-C (stride-2 convolution in place of "
              "pooling) 9.08 %, Strided-CNN-C (pooling removed, stride 2 in the convolution "
              "before) 10.19 %.",
    run=run)
