"""Forward + backward time and peak memory of DropConnect, stochastic, fractional, channel,
pyramid and RoI pooling, against the plain-PyTorch code a user would write instead.

Every case runs its contenders interleaved in one process (median seconds per call,
see ``_timing.py``) and prints the ratio to the first contender, the baseline. Peak memory
is the most bytes live at once during one more call, above the inputs: on CUDA
``max_memory_allocated``, on CPU the allocation timeline of PyTorch's memory profiler.

    python bench/blocks_b.py                 # all cases, 1 thread
    python bench/blocks_b.py --case roi --threads 2 --rounds 20
"""

from __future__ import annotations

import argparse
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import interleaved_medians  # noqa: E402

from cnnkit.functional.channel_pool import channel_pool  # noqa: E402
from cnnkit.functional.dropconnect import dropconnect_conv, dropconnect_linear  # noqa: E402
from cnnkit.functional.fractional_pool import fractional_max_pool  # noqa: E402
from cnnkit.functional.pyramid_pool import spatial_pyramid_pool  # noqa: E402
from cnnkit.functional.roi_pool import roi_max_pool  # noqa: E402
from cnnkit.functional.stochastic_pool import stochastic_pool  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def _leaf(*shape, positive=False):
    x = torch.randn(*shape, device=DEVICE)
    if positive:
        x = x.relu()
    return x.requires_grad_()


def _step(fn, *leaves):
    """A closure running ``fn`` forward and backward, clearing the gradients."""
    def run():
        for leaf in leaves:
            leaf.grad = None
        fn().sum().backward()
    return run


# ------------------------------------------------------------------ contenders


def stochastic_cases():
    x = _leaf(32, 64, 32, 32, positive=True)

    def naive():
        # What a user writes: unfold, normalise, torch.multinomial, gather.
        cols = F.unfold(x, 2, stride=2)  # (N, C * 4, L)
        n, _, length = cols.shape
        windows = cols.view(n, 64, 4, length).permute(0, 1, 3, 2).reshape(-1, 4)
        probs = windows.detach() + 1e-12  # multinomial rejects all-zero rows
        pick = torch.multinomial(probs, 1)
        return windows.gather(1, pick).view(n, 64, 16, 16)

    return {
        "max_pool2d": _step(lambda: F.max_pool2d(x, 2), x),
        "stochastic (train)": _step(lambda: stochastic_pool(x, 2), x),
        "stochastic (eval)": _step(lambda: stochastic_pool(x, 2, training=False), x),
        "unfold+multinomial": _step(naive, x),
    }


def stochastic_overlap_cases():
    x = _leaf(32, 64, 32, 32, positive=True)
    return {
        "max_pool2d 3/2": _step(lambda: F.max_pool2d(x, 3, 2), x),
        "stochastic 3/2 (train)": _step(lambda: stochastic_pool(x, 3, 2), x),
        "stochastic 3/2 (eval)": _step(lambda: stochastic_pool(x, 3, 2, training=False), x),
    }


def dropconnect_dense_cases():
    x, w = _leaf(128, 512), _leaf(256, 512)
    b = _leaf(256)

    def loop():
        # One masked weight matrix per sample, in a Python loop.
        rows = []
        for n in range(x.shape[0]):
            mask = torch.rand_like(w) >= 0.5
            rows.append(F.linear(x[n], w * mask, b))
        return torch.stack(rows)

    def batch_plain():
        return F.linear(x, w * (torch.rand_like(w) >= 0.5), b)

    return {
        "per-sample loop": _step(loop, x, w, b),
        "dropconnect per example": _step(lambda: dropconnect_linear(x, w, b, 0.5), x, w, b),
        "plain masked linear (batch)": _step(batch_plain, x, w, b),
        "dropconnect per batch": _step(lambda: dropconnect_linear(x, w, b, 0.5, per="batch"), x, w, b),
    }


def dropconnect_conv_cases():
    x, w = _leaf(32, 32, 16, 16), _leaf(32, 32, 3, 3)

    def loop():
        outs = []
        for n in range(x.shape[0]):
            mask = torch.rand_like(w) >= 0.5
            outs.append(F.conv2d(x[n:n + 1], w * mask, padding=1))
        return torch.cat(outs)

    return {
        "per-sample loop": _step(loop, x, w),
        "dropconnect per example": _step(lambda: dropconnect_conv(x, w, padding=1, p=0.5), x, w),
        "conv2d (no mask)": _step(lambda: F.conv2d(x, w, padding=1), x, w),
    }


def fractional_cases():
    x = _leaf(32, 64, 32, 32)
    return {
        "torch fractional_max_pool2d": _step(
            lambda: F.fractional_max_pool2d(x, 2, output_size=23), x),
        "fractional (pseudo-random)": _step(lambda: fractional_max_pool(x, 2 ** 0.5), x),
        "fractional (overlapping)": _step(
            lambda: fractional_max_pool(x, output_size=23, overlapping=True), x),
        "max_pool2d": _step(lambda: F.max_pool2d(x, 2), x),
    }


def channel_cases():
    x = _leaf(32, 128, 32, 32)
    return {
        "view+amax": _step(lambda: x.view(32, 32, 4, 32, 32).amax(2), x),
        "channel_pool max": _step(lambda: channel_pool(x, 4), x),
        "channel_pool lp": _step(lambda: channel_pool(x, 4, "lp"), x),
    }


def pyramid_cases():
    x = _leaf(32, 256, 13, 13)

    def loop():
        return torch.cat([F.adaptive_max_pool2d(x, level).flatten(1) for level in (1, 2, 4)], 1)

    return {
        "adaptive_max_pool2d loop": _step(loop, x),
        "spatial_pyramid_pool": _step(lambda: spatial_pyramid_pool(x, (1, 2, 4)), x),
    }


def _roi_boxes(count, generator):
    image = torch.tensor([800.0, 600.0])  # x, y
    a = torch.rand(count, 2, generator=generator) * (image - 1)
    b = torch.rand(count, 2, generator=generator) * (image - 1)
    index = torch.randint(0, 2, (count, 1), generator=generator).float()
    return torch.cat([index, torch.minimum(a, b), torch.maximum(a, b)], 1).to(DEVICE)


def roi_cases(count=128):
    x = _leaf(2, 256, 38, 50)  # VGG16 conv5 of two 600 x 800 images (stride 16)
    boxes = _roi_boxes(count, torch.Generator().manual_seed(0))
    cells = (boxes[:, 1:] / 16 + 0.5).floor().long().tolist()
    index = boxes[:, 0].long().tolist()

    def loop():
        out = []
        for b, (x1, y1, x2, y2) in zip(index, cells):
            out.append(F.adaptive_max_pool2d(x[b, :, y1:y2 + 1, x1:x2 + 1], 7))
        return torch.stack(out)

    return {
        "per-box adaptive_max_pool2d": _step(loop, x),
        "roi_max_pool": _step(lambda: roi_max_pool(x, boxes, 7, 1 / 16), x),
    }


CASES = {
    "stochastic": stochastic_cases,
    "stochastic_overlap": stochastic_overlap_cases,
    "dropconnect_dense": dropconnect_dense_cases,
    "dropconnect_conv": dropconnect_conv_cases,
    "fractional": fractional_cases,
    "channel": channel_cases,
    "pyramid": pyramid_cases,
    "roi": roi_cases,
    "roi_512": lambda: roi_cases(512),
}


# ------------------------------------------------------------------ measuring


def measure_peak(run) -> int:
    """Peak bytes allocated during one call of ``run``, above what existed before.

    CUDA: ``max_memory_allocated``. CPU: the allocation timeline of PyTorch's memory
    profiler (every tensor created and destroyed during the call), so the figure does not
    depend on the C allocator keeping freed blocks.
    """
    if DEVICE == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        run()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - before
    from torch.profiler._memory_profiler import Action

    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU],
                                profile_memory=True, record_shapes=True, with_stack=True) as prof:
        run()
    live = peak = 0
    created = set()
    for _, action, (key, _), size in prof._memory_profile().timeline:
        if action == Action.CREATE:
            created.add(key)
            live += size
            peak = max(peak, live)
        elif action == Action.DESTROY and key in created:
            # Tensors from before the call (the previous gradients) do not count.
            live -= size
    return peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--inner", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, device {DEVICE}, {args.threads} thread(s), "
          f"medians of {args.rounds} rounds x {args.inner} calls, forward + backward")
    for case in args.case or list(CASES):
        torch.manual_seed(0)
        contenders = CASES[case]()
        times = interleaved_medians(contenders, rounds=args.rounds, inner=args.inner)
        base_name = next(iter(contenders))
        print(f"\n[{case}]  (ratios against {base_name!r})")
        for name, seconds in times.items():
            line = f"  {name:30s} {seconds * 1e3:9.2f} ms  x{seconds / times[base_name]:6.2f}"
            if not args.no_memory:
                line += f"   peak {measure_peak(contenders[name]) / 2 ** 20:8.1f} MiB"
            print(line, flush=True)


if __name__ == "__main__":
    main()
