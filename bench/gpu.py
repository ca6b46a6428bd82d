"""GPU figures: a CIFAR-style ResNet-18 and the airbench94 network on 32x32 inputs, the
fast path (data held on the device, bf16 autocast, channels_last, torch.compile) against
an idiomatic fp32 PyTorch loop with a DataLoader; model FLOP utilisation; bf16 against
fp32 loss curves; the NCCL path of ``cnnkit train --nproc`` over the GPUs present.

Without a CUDA GPU it prints why and exits 0 (CI has none). ``--device cpu --steps 3
--no-compile`` runs the same code on the CPU in seconds, to check the script itself.

- **Data**: mnist5k's 4,000 training digits, resized to 32x32 and repeated over 3
  channels (real images, the shape of CIFAR-10), 10 classes.
- **Fast**: the set is one tensor on the GPU, batched by indexing (``BatchLoader``);
  ``torch.compile``, ``channels_last``, ``torch.autocast(dtype=torch.bfloat16)``.
- **Baseline**: ``DataLoader(TensorDataset(x, y), batch_size, shuffle=True)`` from CPU
  memory, each batch copied to the GPU, fp32, no compile.
- **MFU**: training FLOPs per image (3x the forward, counted by
  ``torch.utils.flop_counter``) x img/s over the GPU's dense bf16 peak (known GPUs only).
- **AMP numerics**: the same network, seed and batches trained 200 steps in bf16 and in
  fp32 (no compile): the mean of the last 50 losses of each, and their difference against
  the fp32 run's own spread over two seeds.

Networks: ResNet-18 with the CIFAR stem (He et al. 2016; cnnkit's zoo ``resnet18``), and
airbench94 (Jordan 2024, "94% on CIFAR-10 in 3.29 seconds on a single GPU"): widths 64,
256, 256 of conv-pool-BN-GELU blocks after a 2x2 stem, written here in plain PyTorch.

Run: ``.venv/bin/python bench/gpu.py [--batch-size 512] [--steps 60] [--seconds 150]``
Figures go to ``docs/performance.md`` with the GPU model and torch version.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]

# Dense bf16 peak FLOP/s (vendor data sheets), by a substring of the device name.
PEAK_BF16 = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "L4": 121e12,
             "A10": 125e12, "4090": 165e12, "3090": 71e12}


def airbench94(num_classes: int = 10) -> nn.Module:
    """The airbench94 network (Jordan 2024): widths 64 / 256 / 256, GELU, BN."""
    def block(c_in, c_out):
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.MaxPool2d(2),
                             nn.BatchNorm2d(c_out), nn.GELU(),
                             nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
                             nn.BatchNorm2d(c_out), nn.GELU())

    return nn.Sequential(nn.Conv2d(3, 24, 2, padding=0, bias=True), nn.BatchNorm2d(24),
                         nn.GELU(), block(24, 64), block(64, 256), block(256, 256),
                         nn.MaxPool2d(3), nn.Flatten(), nn.Linear(256, num_classes, bias=False))


def resnet18(num_classes: int = 10) -> nn.Module:
    from cnnkit.models import create_model

    return create_model("resnet18", num_classes=num_classes, input_shape=(3, 32, 32))


def data(device):
    from cnnkit.data import load_dataset

    train = load_dataset("mnist5k", "train")
    x = F.interpolate(train.x, size=(32, 32), mode="bilinear", align_corners=False)
    return x.repeat(1, 3, 1, 1).contiguous(), train.y.clone()


def train_flops_per_image(make, device) -> float | None:
    try:
        from torch.utils.flop_counter import FlopCounterMode
    except ImportError:
        return None
    model = make().to(device)
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.zeros(2, 3, 32, 32, device=device)).sum()
    return 3.0 * counter.get_total_flops() / 2  # forward x 3 (forward + backward), per image


def fast_rate(make, x, y, device, steps, batch_size, compile_):
    from cnnkit.data import BatchLoader

    torch.manual_seed(0)
    model = make().to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    step_fn = torch.compile(model) if compile_ else model
    loader = BatchLoader(x, y, batch_size=batch_size, drop_last=True, seed=0, device=device)

    def run(n):
        done = 0
        while done < n:
            for xb, yb in loader:
                xb = xb.contiguous(memory_format=torch.channels_last)
                with torch.autocast(device.type, dtype=torch.bfloat16):
                    loss = F.cross_entropy(step_fn(xb), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                done += 1
                if done == n:
                    break
        _sync(device)

    return _timed(run, steps, batch_size)


def baseline_rate(make, x, y, device, steps, batch_size):
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    model = make().to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True,
                        drop_last=True, pin_memory=device.type == "cuda")

    def run(n):
        done = 0
        while done < n:
            for xb, yb in loader:
                xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
                loss = F.cross_entropy(model(xb), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                done += 1
                if done == n:
                    break
        _sync(device)

    return _timed(run, steps, batch_size)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(run, steps, batch_size) -> float:
    run(max(3, steps // 5))  # warm-up: compilation, cuDNN autotuning, allocator
    start = time.perf_counter()
    run(steps)
    return steps * batch_size / (time.perf_counter() - start)


def loss_curve(make, x, y, device, steps, batch_size, bf16, seed=0) -> list[float]:
    from cnnkit.data import BatchLoader

    torch.manual_seed(seed)
    model = make().to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    loader = BatchLoader(x, y, batch_size=batch_size, drop_last=True, seed=seed, device=device)
    losses = []
    while len(losses) < steps:
        for xb, yb in loader:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.detach())
            if len(losses) == steps:
                break
    return [float(v) for v in torch.stack(losses).cpu()]


def nccl_check(nproc: int) -> str:
    """``cnnkit train --nproc N --device cuda`` on mnist5k for one epoch: its result line."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    import tempfile

    with tempfile.TemporaryDirectory() as runs:
        out = subprocess.run([sys.executable, "-m", "cnnkit", "train",
                              str(ROOT / "examples" / "lenet5.yaml"), "--data", "mnist5k",
                              "--epochs", "1", "--nproc", str(nproc), "--device", "cuda",
                              "--runs", runs, "--set", "progress=false", "--set", "report=false"],
                             capture_output=True, text=True, env=env, timeout=120)
    lines = (out.stdout + out.stderr).strip().splitlines()
    return (lines[0] if out.returncode == 0 and lines else
            f"failed (exit {out.returncode}): {lines[-1] if lines else 'no output'}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=60, help="timed steps per contender")
    parser.add_argument("--curve-steps", type=int, default=200)
    parser.add_argument("--no-compile", dest="compile", action="store_false")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"bench/gpu.py: skipped: no CUDA GPU here (torch {torch.__version__}, "
              f"torch.cuda.is_available() is False). Run it on a machine with one.")
        return 0
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    peak = next((v for k, v in PEAK_BF16.items() if k in name), None)
    print(f"device: {name}; torch {torch.__version__}"
          f"{f', CUDA {torch.version.cuda}' if device.type == 'cuda' else ''}; batch "
          f"{args.batch_size}; {args.steps} timed steps each")
    x, y = data(device)
    print(f"\n{'network':<12} {'fast img/s':>11} {'fp32 DataLoader':>16} {'speed-up':>9} "
          f"{'GFLOP/img':>10} {'MFU':>6}")
    for label, make in (("resnet18", resnet18), ("airbench94", airbench94)):
        fast = fast_rate(make, x, y, device, args.steps, args.batch_size, args.compile)
        base = baseline_rate(make, x, y, device, args.steps, args.batch_size)
        flops = train_flops_per_image(make, device)
        mfu = f"{100 * fast * flops / peak:5.1f}%" if flops and peak else "  n/a"
        gflop = f"{flops / 1e9:10.3f}" if flops else f"{'n/a':>10}"
        print(f"{label:<12} {fast:11.0f} {base:16.0f} {fast / base:8.2f}x {gflop} {mfu}")
    print(f"\nAMP numerics (airbench94, {args.curve_steps} steps, mean of the last 50 losses):")
    curve_batch = min(256, args.batch_size)
    fp32 = [loss_curve(airbench94, x, y, device, args.curve_steps, curve_batch, False, seed=s)
            for s in (0, 1)]
    bf16 = loss_curve(airbench94, x, y, device, args.curve_steps, curve_batch, True)
    tail = lambda c: sum(c[-50:]) / 50  # noqa: E731
    spread = abs(tail(fp32[0]) - tail(fp32[1]))
    print(f"  fp32 seed 0 {tail(fp32[0]):.4f}, fp32 seed 1 {tail(fp32[1]):.4f}, bf16 seed 0 "
          f"{tail(bf16):.4f}: |bf16 - fp32| = {abs(tail(bf16) - tail(fp32[0])):.4f} against a "
          f"seed-to-seed spread of {spread:.4f}")
    gpus = torch.cuda.device_count() if device.type == "cuda" else 0
    if gpus >= 2:
        print(f"\nNCCL: cnnkit train --nproc {gpus} --device cuda: {nccl_check(gpus)}")
    else:
        print(f"\nNCCL: skipped ({gpus} GPU(s); --nproc over GPUs needs 2 or more)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
