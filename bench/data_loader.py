"""cnnkit's BatchLoader against torch.utils.data.DataLoader(TensorDataset) on mnist5k.

Both make one shuffled epoch of batches of 64 from the 4,000 training images and touch
every batch (a sum, so that a lazy batch would still be paid for). The DataLoader collates
per-sample tuples in Python; the BatchLoader indexes one tensor per batch. On a GPU the
data set lives on the device for BatchLoader, and DataLoader batches are copied there, as
a training loop would do. A third line times BatchLoader with batch augmentation
(translate + elastic), for scale.

Run: ``.venv/bin/python bench/data_loader.py [--device cuda] [--batch-size 64] [--threads 1]``
"""

from __future__ import annotations

import argparse
import os
import sys

import torch
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, os.path.dirname(__file__))
from _timing import interleaved_medians  # noqa: E402

from cnnkit.data import BatchLoader, Compose, ElasticDeform, RandomTranslate  # noqa: E402
from cnnkit.data import load_dataset  # noqa: E402


def epoch(loader, device, sync):
    def run():
        total = torch.zeros((), device=device)
        for xb, _ in loader:
            xb = xb.to(device, non_blocking=True)
            total += xb.sum()
        if sync:
            torch.cuda.synchronize()
        return total
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=0,
                        help="intra-op threads (0: torch's default); 1 gives steadier "
                             "numbers on a machine shared with other work")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = device.type == "cuda"
    train = load_dataset("mnist5k", "train")
    n = len(train)
    torch_loader = DataLoader(TensorDataset(train.x, train.y), batch_size=args.batch_size,
                              shuffle=True, generator=torch.Generator().manual_seed(0))
    ours = BatchLoader(train, batch_size=args.batch_size, seed=0, device=device)
    augmented = BatchLoader(train, batch_size=args.batch_size, seed=0, device=device,
                            transform=Compose([RandomTranslate(2), ElasticDeform(34.0, 4.0)]))
    medians = interleaved_medians({
        "DataLoader(TensorDataset)": epoch(torch_loader, device, sync),
        "BatchLoader": epoch(ours, device, sync),
        "BatchLoader + translate + elastic": epoch(augmented, device, sync),
    }, rounds=args.rounds, inner=1, warmup=1)
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads, "
          f"mnist5k train ({n} images), batch {args.batch_size}")
    print(f"{'loader':36s} {'ms/epoch':>9s} {'images/s':>12s}")
    for name, seconds in medians.items():
        print(f"{name:36s} {seconds * 1e3:9.2f} {n / seconds:12,.0f}")
    ratio = medians["DataLoader(TensorDataset)"] / medians["BatchLoader"]
    print(f"BatchLoader / DataLoader throughput ratio: {ratio:.1f}x")


if __name__ == "__main__":
    main()
