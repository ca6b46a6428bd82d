"""Time to 98 % test accuracy on mnist5k: ``cnnkit demo``'s recipe against the PyTorch tutorial's.

Both train a LeNet-5 (conv 6@5x5 same, ReLU, max pool, conv 16@5x5, ReLU, max pool, dense
120-84-10; LeCun et al. 1998 with ReLU and max pooling) on the 4,000 mnist5k training
digits and are scored on the 1,000 held-out test digits after every epoch; a run stops
at the first epoch whose test accuracy reaches the target (98 % by default).

- **cnnkit**: ``cnnkit demo``'s recipe as it runs (``cnnkit.cli.demo.DEMO_CONFIG`` through
  ``cnnkit.train.train``): SGD with Nesterov momentum, one-cycle schedule over the demo's
  epochs, label smoothing, affine and elastic augmentation, data held as one tensor and
  batched by index, a run folder with a checkpoint per epoch.
- **tutorial**: the PyTorch tutorial's recipe: Adam (lr 1e-3), batch 64, no augmentation,
  ``DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)`` over the same tensors,
  the plain loop (zero_grad, forward, cross_entropy, backward, step).

Only training counts towards the time: the per-epoch test evaluation (and cnnkit's
per-epoch checkpoint) is timed apart and printed separately. The two recipes alternate
run by run (the order swaps each repeat, the seed is the repeat's index), so that machine
load hits both alike; the medians over repeats are printed. Beside its own time to the
target, the tutorial recipe's best test accuracy within cnnkit's time (the same repeat's)
is printed.

Goal: cnnkit's recipe at 98 % within 10 s of training on 2 CPU cores.

Run: ``.venv/bin/python bench/time_to_accuracy.py [--repeats 3] [--target 0.98]
[--set batch_size=128 ...] [--quick]`` (``--quick``: one repeat, cnnkit capped at 25 s
of training and the tutorial at cnnkit's time; under a minute on 2 idle cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml
from torch.utils.data import DataLoader, TensorDataset

from cnnkit.cli.demo import DEMO_CONFIG
from cnnkit.data import load_dataset
from cnnkit.models import create_model
from cnnkit.train import TrainConfig
from cnnkit.train.api import train
from cnnkit.train.callbacks import Callback


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Test accuracy of ``model`` in eval mode, one batch of 1,000 images."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        correct = (model(x).argmax(1) == y).sum().item()
    model.train(was_training)
    return correct / len(y)


class _StopAtTarget(Callback):
    """Scores the test digits after each epoch (timed apart) and stops at the target."""

    def __init__(self, test, target: float, max_seconds: float):
        self.test, self.target, self.max_seconds = test, target, max_seconds
        self.curve: list[tuple[float, float]] = []   # (training seconds, test accuracy)
        self.eval_seconds = 0.0
        self.reached: float | None = None

    def on_epoch_end(self, trainer, logs):
        start = time.perf_counter()
        acc = accuracy(trainer.model, *self.test)
        self.eval_seconds += time.perf_counter() - start
        self.curve.append((trainer.train_seconds, acc))
        if acc >= self.target and self.reached is None:
            self.reached = trainer.train_seconds
            trainer.stop_training = True
        if trainer.train_seconds >= self.max_seconds:
            trainer.stop_training = True


def run_cnnkit(test, target: float, seed: int, overrides: dict, max_seconds: float) -> dict:
    """One run of the demo's recipe (as ``cnnkit demo`` calls it), stopped at the target
    (or after the epoch that passes ``max_seconds`` of training)."""
    config = TrainConfig.from_dict(dict(DEMO_CONFIG, seed=seed, progress=False, quiet=True,
                                        report=False, **overrides))
    started = time.perf_counter()
    stop = _StopAtTarget(test, target, max_seconds)
    with tempfile.TemporaryDirectory() as folder:
        torch.manual_seed(seed)
        network = create_model("lenet5", activation="relu", pool="max")
        result = train(network, "mnist5k", config, run_dir=os.path.join(folder, "run"),
                       callbacks=[stop])
    wall = time.perf_counter() - started
    return {"reached": stop.reached, "train": result.train_seconds, "epochs": result.epochs_run,
            "eval": stop.eval_seconds, "wall": wall, "curve": stop.curve,
            "best": max(a for _, a in stop.curve)}


def tutorial_lenet5() -> nn.Module:
    """LeNet-5 in plain torch.nn, the same shape as cnnkit's ``lenet5`` (ReLU, max pool)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def run_tutorial(x, y, test, target: float, seed: int, max_seconds: float,
                 max_epochs: int) -> dict:
    """The tutorial's loop, epoch by epoch, until the target or ``max_seconds`` of training."""
    started = time.perf_counter()
    torch.manual_seed(seed)
    model = tutorial_lenet5()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
    train_seconds = eval_seconds = 0.0
    curve: list[tuple[float, float]] = []
    reached = None
    for _ in range(max_epochs):
        start = time.perf_counter()
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
        train_seconds += time.perf_counter() - start
        start = time.perf_counter()
        acc = accuracy(model, *test)
        eval_seconds += time.perf_counter() - start
        curve.append((train_seconds, acc))
        if acc >= target:
            reached = train_seconds
            break
        if train_seconds >= max_seconds:
            break
    return {"reached": reached, "train": train_seconds, "epochs": len(curve),
            "eval": eval_seconds, "wall": time.perf_counter() - started, "curve": curve,
            "best": max(a for _, a in curve)}


def best_within(curve, seconds: float) -> tuple[float | None, int]:
    """Best test accuracy of the epochs that ended within ``seconds`` of training, and their count."""
    inside = [a for t, a in curve if t <= seconds]
    return (max(inside) if inside else None), len(inside)


def _overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set takes KEY=VALUE (a TrainConfig setting). Received: --set {pair}.")
        out[key] = yaml.safe_load(value)
    return out


def _seconds(value):
    return "   -  " if value is None else f"{value:6.1f}"


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each recipe (default 3)")
    parser.add_argument("--target", type=float, default=0.98, help="test accuracy (default 0.98)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change a setting of the demo's recipe (e.g. batch_size=128)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--tutorial-max-seconds", type=float, default=30.0,
                        help="training time after which a tutorial run stops short of the target")
    parser.add_argument("--quick", action="store_true",
                        help="one repeat; cnnkit stops after 25 s of training, the tutorial at "
                             "cnnkit's time (under a minute)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = 1 if args.quick else args.repeats
    overrides = _overrides(args.set)
    train_set = load_dataset("mnist5k", "train")
    test_set = load_dataset("mnist5k", "test")
    test = (test_set.x, test_set.y)
    recipe = dict(DEMO_CONFIG, **overrides)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"target {100 * args.target:.1f} % on {len(test_set.y)} test digits; {repeats} repeat(s), "
          f"alternating; cnnkit recipe: batch {recipe['batch_size']}, {recipe['optimizer']} "
          f"lr {recipe['lr']}, {recipe['schedule']} over {recipe['epochs']} epochs"
          + (f"; changed: {overrides}" if overrides else ""))
    print(f"{'repeat':>6s} {'recipe':9s} {'to target s':>11s} {'epochs':>6s} {'eval s':>6s} "
          f"{'best acc':>8s} {'in budget':>9s}")
    results = {"cnnkit": [], "tutorial": []}
    for index in range(repeats):
        order = ("cnnkit", "tutorial") if index % 2 == 0 else ("tutorial", "cnnkit")
        row = {}
        for name in order:
            if name == "cnnkit":
                row[name] = run_cnnkit(test, args.target, index, overrides,
                                       25.0 if args.quick else float("inf"))
            else:
                # Capped at cnnkit's time when that is known and --quick asks for speed.
                cap = args.tutorial_max_seconds
                if args.quick and "cnnkit" in row:
                    cap = row["cnnkit"]["train"]
                row[name] = run_tutorial(train_set.x, train_set.y, test, args.target, index, cap,
                                         max_epochs=200)
        budget = row["cnnkit"]["reached"] or row["cnnkit"]["train"]
        within, epochs_within = best_within(row["tutorial"]["curve"], budget)
        row["tutorial"]["within"] = within
        for name in ("cnnkit", "tutorial"):
            r = row[name]
            extra = (f"{100 * within:8.2f}%" if name == "tutorial" and within is not None
                     else f"{'-':>9s}")
            print(f"{index:6d} {name:9s} {_seconds(r['reached']):>11s} {r['epochs']:6d} "
                  f"{r['eval']:6.1f} {100 * r['best']:7.2f}% {extra}"
                  + ("" if r["reached"] is not None else f"  (not reached in {r['train']:.1f} s)"))
            results[name].append(r)
    print()
    for name in ("cnnkit", "tutorial"):
        runs = results[name]
        reached = [r["reached"] for r in runs]
        hit = sum(v is not None for v in reached)
        median = _median(reached)
        print(f"{name:9s} reached {100 * args.target:.0f} % in {hit}/{len(runs)} runs; median time "
              f"to target {'-' if median is None else f'{median:.1f} s'} of training; median "
              f"epochs {statistics.median(r['epochs'] for r in runs):g}; evaluation "
              f"{statistics.median(r['eval'] for r in runs):.2f} s per run (not counted)")
    within = _median([r.get("within") for r in results["tutorial"]])
    budget = _median([r["reached"] for r in results["cnnkit"]])
    if within is not None and budget is not None:
        print(f"tutorial's best accuracy within cnnkit's time (median over repeats): "
              f"{100 * within:.2f} %")
    goal = "met" if budget is not None and budget <= 10 else "not met"
    print(f"goal: cnnkit at {100 * args.target:.0f} % within 10 s of training: {goal}; load "
          f"average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
