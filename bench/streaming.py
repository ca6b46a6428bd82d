"""Training from shards on disk: memory, throughput against the in-memory loader, and
epoch time against data size.

A generated image set (3x128x128 PNG images of class-coloured blobs over noise, the noise
making them incompressible: about 49 KB each, at least 2 GB in all; ``--small``: 64 MB)
is written as ``.tar`` shards in the WebDataset layout into a temporary folder, and
deleted at the end. Each measurement runs in a process of its own, so that its peak
resident memory is its own:

- **stream**: ``Trainer`` on a ``StreamingLoader`` over the first k shards, one epoch,
  PNG decoding in worker processes; for 4 sizes (1/8, 1/4, 1/2 and all of the set).
- **npz**: the same first shards stored again as ``.npz`` files of decoded uint8 pixels,
  streamed the same way: the loader's own cost without PNG decoding.
- **memory**: the same model on the same first shards decoded into one float32 tensor and
  batched by ``BatchLoader`` (what cnnkit does with data that fits), against **stream**
  on those shards, interleaved round by round.

Both train with the same number of intra-op threads (the cores less the decoding
workers), batch 64, SGD. Peak RSS is ``ru_maxrss`` of the training process; the decoding
workers' peak is printed beside it.

Run: ``.venv/bin/python bench/streaming.py [--small] [--rounds 2] [--workers 1]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

SIDE = 128
PER_IMAGE = 3 * SIDE * SIDE          # bytes of pixels; the PNG is about as large
SHARD = 256                          # images per shard (about 12.6 MB)


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 16, 5, stride=4, padding=2), nn.ReLU(),
                         nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
                         nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))


# ----------------------------------------------------------------------------- data


def png(image: np.ndarray) -> bytes:
    """A PNG of an ``(H, W, 3)`` uint8 image, stored without compression (filter 0 on
    every row): written at memory speed, and decoded by PIL like any other PNG."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    h, w, _ = image.shape
    rows = np.concatenate([np.zeros((h, 1), np.uint8), image.reshape(h, w * 3)], axis=1)
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 0)) + chunk(b"IEND", b""))


def generate(folder: Path, total_bytes: int, seed: int = 0) -> int:
    """Write shards until they hold ``total_bytes`` on disk; returns the shard count."""
    from cnnkit.data.pack import ShardWriter
    from cnnkit.data.shards import FORMAT, INDEX_FILE

    rng = np.random.default_rng(seed)
    writer = ShardWriter(folder, "train", shard_size=SHARD, num_classes=10)
    colours = rng.integers(0, 256, (10, 3))
    yy, xx = np.mgrid[:SIDE, :SIDE]
    written = 0
    while written < total_bytes or writer._in_shard:
        labels = rng.integers(0, 10, 64)
        noise = rng.integers(0, 256, (64, SIDE, SIDE, 3), dtype=np.uint8)
        centres = rng.integers(SIDE // 4, 3 * SIDE // 4, (64, 2))
        for k in range(64):
            blob = (yy - centres[k, 0]) ** 2 + (xx - centres[k, 1]) ** 2 < (SIDE // 5) ** 2
            image = noise[k]
            image[blob] = (image[blob] // 4 + 3 * colours[labels[k]] // 4).astype(np.uint8)
            encoded = png(image)
            writer.add_encoded({"png": encoded}, int(labels[k]))
            written += len(encoded)
            if written >= total_bytes and not writer._in_shard:
                break
    entries = writer.close()
    index = {"format": FORMAT, "version": 1, "classes": [str(k) for k in range(10)],
             "input_shape": [3, SIDE, SIDE], "encoding": "png", "source": "generated",
             "splits": {"train": entries}}
    (folder / INDEX_FILE).write_text(json.dumps(index))
    return len(entries)


def npz_copy(folder: Path, shards: int) -> Path:
    """The first ``shards`` shards again as ``.npz`` files of the decoded uint8 pixels:
    streaming without decoding, to tell the loader's own cost from PNG decoding's."""
    from cnnkit.data.shards import FORMAT, INDEX_FILE, ShardedDataset, read_shard

    out = folder / "npz"
    out.mkdir()
    entries = []
    for k, shard in enumerate(ShardedDataset(folder).shards[:shards]):
        x, y, _ = read_shard(shard, "raise")
        name = f"train-{k:06d}.npz"
        np.savez(out / name, x=x.numpy(), y=y.numpy())
        entries.append({"file": name, "samples": len(y)})
    index = {"format": FORMAT, "version": 1, "classes": [str(k) for k in range(10)],
             "input_shape": [3, SIDE, SIDE], "splits": {"train": entries}}
    (out / INDEX_FILE).write_text(json.dumps(index))
    return out


def folder_bytes(folder: Path, shards: int) -> int:
    return sum((folder / f"train-{k:06d}.tar").stat().st_size for k in range(shards))


# ----------------------------------------------------------------------------- children


def _peak_mb(who) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def child(args) -> None:
    from cnnkit.data import StreamingLoader
    from cnnkit.data.shards import ShardedDataset
    from cnnkit.train import TrainConfig, Trainer

    torch.set_num_threads(args.threads)
    data = ShardedDataset(Path(args.folder) / "npz" if args.child == "npz" else args.folder)
    shards = data.shards[:args.shards]
    config = TrainConfig(epochs=1, batch_size=64, lr=0.01, val_fraction=0, progress=False,
                         threads=args.threads, device="cpu")
    if args.child in ("stream", "npz"):
        train = StreamingLoader(shards, batch_size=64, buffer_size=1024, drop_last=True,
                                num_workers=args.workers, seed=0)
    else:
        from cnnkit.data.shards import read_shard

        xs, ys = zip(*[read_shard(s, "raise")[:2] for s in shards])
        train = (torch.cat(xs).float().div_(255.0), torch.cat(ys))
    trainer = Trainer(model(), config, train)
    start = time.perf_counter()
    images = trainer.train_epochs(1)
    seconds = time.perf_counter() - start
    print(json.dumps({"images": images, "seconds": seconds,
                      "rss_mb": _peak_mb(resource.RUSAGE_SELF),
                      "workers_rss_mb": _peak_mb(resource.RUSAGE_CHILDREN)}))


def measure(kind: str, folder: Path, shards: int, threads: int, workers: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--folder", str(folder),
                          "--shards", str(shards), "--threads", str(threads), "--workers",
                          str(workers)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="64 MB instead of 2 GB: a quick run")
    parser.add_argument("--gb", type=float, default=2.05, help="size of the generated set")
    parser.add_argument("--rounds", type=int, default=2, help="stream / memory rounds")
    parser.add_argument("--workers", type=int, default=1, help="decoding processes")
    parser.add_argument("--threads", type=int, default=0,
                        help="training threads (0: the cores less the workers, at least 1)")
    parser.add_argument("--child", choices=("stream", "npz", "memory"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--shards", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    cores = len(os.sched_getaffinity(0))
    threads = args.threads or max(1, cores - args.workers)
    total = int((0.064 if args.small else args.gb) * 1e9)
    folder = Path(tempfile.mkdtemp(prefix="cnnkit-bench-stream-"))
    try:
        start = time.perf_counter()
        count = generate(folder, total)
        size = folder_bytes(folder, count)
        print(f"generated {count} shards of {SHARD} PNG images 3x{SIDE}x{SIDE}: "
              f"{size / 1e9:.2f} GB on disk, {time.perf_counter() - start:.0f} s "
              f"({folder}, deleted at the end)")
        print(f"{cores} cores: {threads} training thread(s), {args.workers} decoding worker(s)")
        # Throughput on data that fits: the first eighth, streamed and in memory, interleaved.
        eighth = max(1, count // 8)
        npz_copy(folder, eighth)
        rates = {"stream": [], "npz": [], "memory": []}
        for _ in range(args.rounds):
            for kind in rates:
                result = measure(kind, folder, eighth, threads, args.workers)
                rates[kind].append(result["images"] / result["seconds"])
        stream, npz, memory = (statistics.median(rates[k]) for k in ("stream", "npz", "memory"))
        print(f"\nthroughput on {eighth} shards ({folder_bytes(folder, eighth) / 1e6:.0f} MB), "
              f"median of {args.rounds} rounds:")
        print(f"  in memory (BatchLoader, float32 tensor) {memory:8.0f} img/s")
        print(f"  streamed .npz (uint8, no decoding)      {npz:8.0f} img/s   ratio "
              f"{npz / memory:.2f}")
        print(f"  streamed .tar (StreamingLoader, PNG)    {stream:8.0f} img/s   ratio "
              f"{stream / memory:.2f} (target >= 0.80)")
        print("\nepoch time against data size (streamed):")
        print(f"  {'shards':>6} {'GB':>6} {'images':>7} {'epoch s':>8} {'s/GB':>6} "
              f"{'peak RSS MB':>11} {'workers MB':>10}")
        peaks, points = [], []
        for shards in sorted({eighth, max(1, count // 4), max(1, count // 2), count}):
            result = measure("stream", folder, shards, threads, args.workers)
            gb = folder_bytes(folder, shards) / 1e9
            peaks.append(result["rss_mb"])
            points.append((gb, result["seconds"]))
            print(f"  {shards:6d} {gb:6.2f} {result['images']:7d} {result['seconds']:8.1f} "
                  f"{result['seconds'] / gb:6.1f} {result['rss_mb']:11.0f} "
                  f"{result['workers_rss_mb']:10.0f}")
        slope, intercept = np.polyfit(*zip(*points), 1)
        worst = max(abs(t - (intercept + slope * g)) / t for g, t in points)
        print(f"  least-squares line: epoch s = {intercept:.1f} + {slope:.1f} x GB; the "
              f"largest point is off it by {100 * worst:.0f} %")
        print(f"\npeak RSS of the training process: {max(peaks):.0f} MB (target < 1024 MB)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
