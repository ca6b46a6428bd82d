"""Training throughput: cnnkit's Trainer against an idiomatic PyTorch loop, same process.

Both train the same LeNet-5 (5x5 convolutions with 6 and 16 filters, average pooling,
dense 120-84-10, tanh) on the 4,000 mnist5k training digits with SGD (momentum 0.9,
lr 0.05) at batch 64. The idiomatic loop is what the PyTorch tutorials write:
TensorDataset + DataLoader(shuffle=True) + nn.Module + optimiser. The two alternate epoch
by epoch, so machine load hits both alike. Printed: images/s of each (median over
rounds), their ratio, and the test accuracy each reaches after the same epochs.

Run: ``.venv/bin/python bench/train_throughput.py [--rounds 5] [--threads N] [--compile]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from cnnkit.data import load_dataset
from cnnkit.models import create_model
from cnnkit.train import TrainConfig, Trainer
from cnnkit.train.metrics import evaluate


def plain_lenet5() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))


class IdiomaticLoop:
    """The tutorial loop, one epoch per call."""

    def __init__(self, x, y, seed):
        torch.manual_seed(seed)
        self.model = plain_lenet5()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.05, momentum=0.9)
        self.loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, drop_last=True)

    def epoch(self) -> int:
        self.model.train()
        seen = 0
        for xb, yb in self.loader:
            self.optimizer.zero_grad()
            loss = F.cross_entropy(self.model(xb), yb)
            loss.backward()
            self.optimizer.step()
            seen += len(xb)
        return seen


class CnnkitLoop:
    """cnnkit's Trainer, continued one epoch per call."""

    def __init__(self, x, y, seed, compile_model, channels_last=False):
        torch.manual_seed(seed)
        self.model = create_model("lenet5")
        self.config = TrainConfig(epochs=1, batch_size=64, lr=0.05, momentum=0.9, val_fraction=0.0,
                                  progress=False, seed=seed, compile=compile_model, log_every=50,
                                  channels_last=channels_last)
        self.trainer = Trainer(self.model, self.config, (x, y))

    def epoch(self) -> int:
        return self.trainer.train_epochs(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="epochs per contender")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--compile", action="store_true", help="also time cnnkit with compile=True")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    train, test = load_dataset("mnist5k", "train"), load_dataset("mnist5k", "test")
    contenders = {"idiomatic PyTorch": IdiomaticLoop(train.x, train.y, 0),
                  "cnnkit Trainer": CnnkitLoop(train.x, train.y, 0, False),
                  "cnnkit (channels_last)": CnnkitLoop(train.x, train.y, 0, False, True)}
    if args.compile:
        contenders["cnnkit Trainer (compile)"] = CnnkitLoop(train.x, train.y, 0, True)
        warm = time.perf_counter()
        contenders["cnnkit Trainer (compile)"].epoch()  # compilation happens here, not timed
        print(f"compile + first epoch: {time.perf_counter() - warm:.1f} s")
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, loop in contenders.items():
            start = time.perf_counter()
            images = loop.epoch()
            rates[name].append(images / (time.perf_counter() - start))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch 64, "
          f"{args.rounds} epochs each, alternating")
    base = statistics.median(rates["idiomatic PyTorch"])
    for name, values in rates.items():
        median = statistics.median(values)
        accuracy = evaluate(contenders[name].model, test.x, test.y, F.cross_entropy)["accuracy"]
        print(f"{name:26s} {median:9.0f} img/s  x{median / base:5.2f}  test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
