"""ReLU against tanh: how fast the training error falls (Krizhevsky, Sutskever and Hinton
2012, section 3.1 and fig. 1).

"Deep convolutional neural networks with ReLUs train several times faster than their
equivalents with tanh units": in the paper a four-layer network on CIFAR-10 reaches 25 %
training error six times faster with ReLUs, "the learning rates for each network were
chosen independently to make training as fast as possible", with no regularisation.

Here the same network (conv 16 5x5, activation, 2x2 max pooling, conv 32 5x5, activation,
2x2 max pooling, dense 10; PyTorch's default initialisation) is trained on mnist5k with
SGD (momentum 0.9, batch 64), once with ReLU and once with tanh, for each learning rate of
a grid; for each activation the learning rate that reaches the target error fastest (mean
over seeds) is kept, as in the paper. The training error is measured every 10 steps on a
fixed 1,000 of the 4,000 training digits. The table gives the steps to 25 %, 5 % and 2 %
training error and the ratio tanh / ReLU.

Run: ``cnnkit experiment relu_vs_tanh [--quick] [--seeds N]``
"""

from __future__ import annotations

import torch.nn as nn

from ._common import Experiment, Result, Stat, Table, figure, fit, load_split, seed_everything

__all__ = ["EXPERIMENT", "run"]

ACTIVATIONS = ("relu", "tanh")
THRESHOLDS = (0.25, 0.05, 0.02)
TARGET = 0.05  # the threshold the learning rate is chosen for


def network(activation: str) -> nn.Module:
    """The network of this experiment with ``activation`` after each convolution."""
    from ..spec import build

    return build({"name": f"small_{activation}", "input": [1, 28, 28], "layers": [
        {"conv": {"filters": 16, "kernel": 5, "activation": activation}}, {"maxpool": 2},
        {"conv": {"filters": 32, "kernel": 5, "activation": activation}}, {"maxpool": 2},
        "flatten", {"dense": 10}]})


def _steps_to(log: list[dict], threshold: float) -> float:
    """First logged step with a training error at or below ``threshold`` (inf: never)."""
    return next((e["step"] for e in log if e["train_error"] <= threshold), float("inf"))


def run(quick: bool = False, seeds: int = 3) -> Result:
    """Steps to fixed training errors for ReLU and tanh, learning rate tuned for each."""
    data = load_split("mnist5k")
    rates = (0.1,) if quick else (0.01, 0.03, 0.1)
    thresholds = THRESHOLDS[:2] if quick else THRESHOLDS
    max_steps = 250 if quick else 800
    logs = {}
    for activation in ACTIVATIONS:
        for lr in rates:
            for seed in range(seeds):
                seed_everything(seed)
                logs[(activation, lr, seed)] = fit(
                    network(activation), data, steps=max_steps, batch=64, lr=lr,
                    optimizer="sgd", seed=seed, eval_every=10, eval_train=1000,
                    until=lambda e: e["train_error"] <= min(thresholds))

    def mean_steps(activation, lr, threshold):
        return Stat([_steps_to(logs[(activation, lr, s)], threshold) for s in range(seeds)]).mean

    target = TARGET if TARGET in thresholds else thresholds[-1]
    best = {a: min(rates, key=lambda lr: mean_steps(a, lr, target)) for a in ACTIVATIONS}
    steps = {(a, t): [_steps_to(logs[(a, best[a], s)], t) for s in range(seeds)]
             for a in ACTIVATIONS for t in thresholds}

    def cell(values):
        finite = [v for v in values if v != float("inf")]
        if len(finite) < len(values):
            return f"> {max_steps} ({len(values) - len(finite)} of {len(values)} seeds)"
        return str(Stat(values, digits=0))

    rows = [{"activation": a, "lr": best[a],
             **{f"t{t}": cell(steps[(a, t)]) for t in thresholds}} for a in ACTIVATIONS]
    ratio = {t: Stat(steps[("tanh", t)]).mean / Stat(steps[("relu", t)]).mean for t in thresholds}
    rows.append({"activation": "ratio tanh / ReLU", "lr": "",
                 **{f"t{t}": f"{ratio[t]:.2f}" for t in thresholds}})

    fig = figure(5, 3)
    ax = fig.add_subplot(1, 1, 1)
    for activation in ACTIVATIONS:
        for seed in range(seeds):
            log = logs[(activation, best[activation], seed)]
            ax.plot([e["step"] for e in log], [100 * e["train_error"] for e in log],
                    color="tab:blue" if activation == "relu" else "tab:red", alpha=0.7,
                    label=f"{activation} (lr {best[activation]})" if seed == 0 else None)
    for t in thresholds:
        ax.axhline(100 * t, color="gray", linestyle=":", linewidth=1)
    ax.set(yscale="log", xlabel="SGD step", ylabel="training error (%)",
           title="training error, learning rate tuned per activation")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)

    checks = [(f"ReLU reaches {100 * target:.0f} % training error in fewer steps than tanh",
               ratio[target] > 1.0),
              (f"ReLU is several (>= 2) times faster to {100 * target:.0f} %", ratio[target] >= 2.0)]
    notes = [f"SGD, momentum 0.9, batch 64, learning rates {', '.join(map(str, rates))} for "
             f"each activation, best kept for {100 * target:.0f} %; at most {max_steps} steps; "
             "training error on a fixed 1,000 training digits every 10 steps."]
    table = Table([("activation", "activation"), ("lr", "learning rate")]
                  + [(f"t{t}", f"steps to {100 * t:.0f} % train error") for t in thresholds], rows)
    return Result([table], fig, checks, notes, seeds)


EXPERIMENT = Experiment(
    name="relu_vs_tanh",
    claim="A network with ReLUs reaches a given training error several times faster than "
          "the same network with tanh units.",
    sources=("Krizhevsky, Sutskever and Hinton 2012, ImageNet classification with deep "
             "convolutional neural networks, section 3.1, fig. 1",),
    published="fig. 1: a four-layer convolutional network reaches 25 % training error on "
              "CIFAR-10 six times faster with ReLUs than with tanh units.",
    run=run)
