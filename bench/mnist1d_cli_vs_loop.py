"""MNIST-1D through ``cnnkit train`` against a plain PyTorch loop, the same CNN and recipe.

The network is the MNIST-1D paper's convolutional model (Greydanus 2020, "Scaling down
deep learning": three strided 1-D convolutions of 25 channels and a linear layer,
examples/mnist1d_cnn.yaml) and the recipe its training script's: Adam at learning rate
0.01, no weight decay, batches of 100, 6,000 steps (150 epochs of the 4,000 training
signals), test accuracy at the end. The loop is the paper's own: batches taken in order
from the training set (the same 40 batches every epoch), PyTorch's default
initialisation, the signals as stored (already zero-mean, unit-variance over the set).
cnnkit's trainer, given the loop's initial weights, the data's order and no
standardisation, must reach the loop's number exactly (it takes the same steps). The
command line runs twice: with the paper's fixed order of batches
(``--set shuffle=false``) and with its default, a new order every epoch. Both hold out no
validation split (``val_fraction=0``) and standardise with statistics fitted on the
training split, as every run does; the weights are initialised by the same rules as
PyTorch's layers (not the same numbers: the loop seeds its own model).

All three run for each seed in this process's CPU threads (the command line in a child
process); the table gives each one's test accuracy, the mean over seeds, and the training
time of each, with the ratio of the command line's to the loop's.

    python bench/mnist1d_cli_vs_loop.py                  # 3 seeds, 6,000 steps
    python bench/mnist1d_cli_vs_loop.py --seeds 1 --steps 1500 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "mnist1d_cnn.yaml"
sys.path.insert(0, str(ROOT))

from cnnkit.data import load_dataset  # noqa: E402

BATCH, LR, TRAIN = 100, 0.01, 4000


class ConvBase(nn.Module):
    """The paper's CNN as its notebooks write it."""

    def __init__(self, channels: int = 25, linear_in: int = 125, outputs: int = 10):
        super().__init__()
        self.conv1 = nn.Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.linear = nn.Linear(linear_in, outputs)

    def forward(self, x):
        h = self.conv3(self.conv2(self.conv1(x).relu()).relu()).relu()
        return self.linear(h.flatten(1))


def plain_loop(seed: int, steps: int) -> tuple[float, float]:
    """(test accuracy, training seconds) of the paper's loop."""
    torch.manual_seed(seed)
    train, test = load_dataset("mnist1d", "train"), load_dataset("mnist1d", "test")
    model = ConvBase()
    optimizer = torch.optim.Adam(model.parameters(), LR, weight_decay=0)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for step in range(steps):
        bix = (step * BATCH) % len(train.x)
        x, y = train.x[bix:bix + BATCH], train.y[bix:bix + BATCH]
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        accuracy = float((model(test.x).argmax(1) == test.y).float().mean())
    return accuracy, seconds


def trainer_from_the_loops_start(seed: int, steps: int) -> tuple[float, float]:
    """(test accuracy, training seconds) of cnnkit's trainer (what ``cnnkit train`` runs)
    started from the loop's initial weights, in the data's order, without standardisation:
    it must give the loop's number, the same network and steps in the same order."""
    from cnnkit.spec import build
    from cnnkit.train.api import train

    torch.manual_seed(seed)
    start = ConvBase()
    network = build(SPEC)
    with torch.no_grad():
        for mine, loops in zip(network.parameters(), start.parameters(), strict=True):
            mine.copy_(loops)
    data = (load_dataset("mnist1d", "train"), load_dataset("mnist1d", "test"))
    with tempfile.TemporaryDirectory() as runs:
        result = train(network, data, run_dir=Path(runs) / "run", epochs=steps * BATCH // TRAIN,
                       batch_size=BATCH, optimizer="adam", lr=LR, seed=seed, val_fraction=0,
                       shuffle=False, standardize=False, quiet=True, progress=False,
                       report=False, threads=torch.get_num_threads())
    return result.test["accuracy"], result.train_seconds


def command_line(seed: int, steps: int, threads: int, shuffle: bool) -> tuple[float, float]:
    """(test accuracy, training seconds) of ``cnnkit train`` with the same recipe."""
    epochs = max(1, steps * BATCH // TRAIN)
    with tempfile.TemporaryDirectory() as runs:
        command = [sys.executable, "-m", "cnnkit", "train", str(SPEC), "--data", "mnist1d",
                   "--epochs", str(epochs), "--batch-size", str(BATCH), "--optimizer", "adam",
                   "--lr", str(LR), "--seed", str(seed), "--threads", str(threads),
                   "--set", "val_fraction=0", "--set", f"shuffle={str(shuffle).lower()}",
                   "--set", "quiet=true", "--set", "progress=false", "--set", "report=false",
                   "--runs", runs]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
        (run,) = Path(runs).iterdir()
        results = json.loads((run / "results.json").read_text())
    return results["test"]["accuracy"], results["train_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"MNIST-1D, the paper's CNN: Adam lr {LR}, batch {BATCH}, {args.steps} steps, "
          f"{args.threads} thread(s), seeds 0-{args.seeds - 1}", flush=True)
    contenders = {
        "plain PyTorch loop": lambda seed: plain_loop(seed, args.steps),
        "trainer, loop's start": lambda seed: trainer_from_the_loops_start(seed, args.steps),
        "CLI, shuffle=false": lambda seed: command_line(seed, args.steps, args.threads, False),
        "CLI, shuffled": lambda seed: command_line(seed, args.steps, args.threads, True),
    }
    rows = {name: [] for name in contenders}
    for seed in range(args.seeds):
        for name, run in contenders.items():
            rows[name].append(run(seed))
            accuracy, seconds = rows[name][-1]
            print(f"  seed {seed}: {name}: test accuracy {100 * accuracy:.1f}%, "
                  f"{seconds:.1f} s of training", flush=True)
    print(f"{'contender':<22} {'test accuracy per seed':<28} {'mean':>7} {'train s':>8}")
    base = statistics.median(s for _, s in rows["plain PyTorch loop"])
    for name, results in rows.items():
        accuracies = " ".join(f"{100 * a:.1f}" for a, _ in results)
        mean = 100 * statistics.mean(a for a, _ in results)
        seconds = statistics.median(s for _, s in results)
        print(f"{name:<22} {accuracies:<28} {mean:>6.1f}% {seconds:>8.1f}  "
              f"(x{seconds / base:.2f} the loop's time)")


if __name__ == "__main__":
    main()
