"""A small, deterministic training run used by the kill-and-resume tests.

Usage: python tests/train_script.py RUN_DIR [--resume]
Prints "training" once the trainer starts, then "done" at the end.
"""

import sys

import torch
import torch.nn as nn

from cnnkit.train import TrainConfig, Trainer


def make():
    torch.manual_seed(0)
    x = torch.rand(600, 1, 12, 12)
    y = (x[:, 0, :6].mean((1, 2)) > x[:, 0, 6:].mean((1, 2))).long()
    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Dropout(0.2), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 5 * 5, 2))
    config = TrainConfig(epochs=6, batch_size=16, lr=0.05, momentum=0.9, checkpoint_every=7,
                         progress=False, log_every=5, val_fraction=0.2, l2=1e-4, max_norm=3.0,
                         schedule="cosine", threads=1)
    return model, config, (x, y)


def augment(x, generator):
    # Random sign flips of a small noise: exercises the augmentation RNG in checkpoints.
    return x + 0.01 * torch.randn(x.shape, generator=generator)


if __name__ == "__main__":
    torch.set_num_threads(1)
    model, config, data = make()
    trainer = Trainer(model, config, data, run_dir=sys.argv[1], augment=augment,
                      spec={"net": "train_script"})
    print("training", flush=True)
    trainer.fit(resume="--resume" in sys.argv)
    print("done", flush=True)
