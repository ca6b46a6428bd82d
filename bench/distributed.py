"""One process against two on the same global batch: test accuracy after the same
epochs, and training throughput.

mnist5k is packed into ``.tar`` shards (``cnnkit data pack``: 8 training shards of 500
images, its 1,000 test images as a test shard) in a temporary folder; ``cnnkit train
examples/lenet5.yaml --data SHARDS --set val_fraction=0`` then runs with ``--nproc 1``
and ``--nproc 2`` (torchrun, gloo), batch 64 over all processes, the same seeds and
epochs, each process streaming its own shards. With ``--in-memory`` the
bundled set is trained instead (every process holds it all and takes its slice of each
batch). Figures come from each run's ``results.json``: test accuracy, training seconds
(data loading included, process start-up and evaluation not), steps.

On a machine with two cores, two processes share them with their decoding workers, so
the throughput ratio says what the CPU allows, not what a second machine would add.

Run: ``.venv/bin/python bench/distributed.py [--epochs 3] [--in-memory]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(nproc: int, data: str, epochs: int, runs: Path, threads: int) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cnnkit", "train", str(ROOT / "examples" / "lenet5.yaml"),
                    "--data", data, "--epochs", str(epochs), "--batch-size", "64", "--seed", "0",
                    "--nproc", str(nproc), "--runs", str(runs), "--set", "progress=false",
                    "--set", "report=false", "--set", f"threads={threads}", "--set",
                    "val_fraction=0"],
                   check=True, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    (run_dir,) = runs.iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    return {"accuracy": results["test"]["accuracy"], "seconds": results["train_seconds"],
            "images": results["steps"] * 64, "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--in-memory", action="store_true",
                        help="train the bundled mnist5k instead of its shards")
    args = parser.parse_args()
    from cnnkit.data.pack import pack

    cores = len(os.sched_getaffinity(0))
    scratch = Path(tempfile.mkdtemp(prefix="cnnkit-bench-dist-"))
    try:
        if args.in_memory:
            data, what = "mnist5k", "mnist5k in memory"
        else:
            data = str(scratch / "shards")
            pack("mnist5k", data, shard_size=500)  # its own 1,000 test images: one test shard
            what = "mnist5k as 8 tar shards of 500, streamed"
        print(f"LeNet-5 on {what}, {args.epochs} epochs, global batch 64, seed 0, {cores} cores")
        print(f"{'processes':>9} {'test acc':>9} {'train s':>8} {'img/s':>7} {'wall s':>7}")
        rows = {}
        for nproc in (1, 2):
            result = run(nproc, data, args.epochs, scratch / f"runs{nproc}",
                         threads=max(1, cores // nproc - (0 if args.in_memory else 1)) or 1)
            rows[nproc] = result
            print(f"{nproc:9d} {100 * result['accuracy']:8.2f}% {result['seconds']:8.1f} "
                  f"{result['images'] / result['seconds']:7.0f} {result['wall']:7.1f}")
        one, two = rows[1], rows[2]
        print(f"\naccuracy difference (2 - 1): {100 * (two['accuracy'] - one['accuracy']):+.2f} "
              f"points; throughput ratio (2 / 1): "
              f"{(two['images'] / two['seconds']) / (one['images'] / one['seconds']):.2f}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
