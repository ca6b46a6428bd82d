"""Benchmark: locally connected, tiled, FFT and separable-kernel convolution against the
plain-PyTorch way of doing the same work (forward + backward, CPU).

    python bench/blocks_a.py                # everything, 1 thread, 15 repeats
    python bench/blocks_a.py --only local --repeats 25 --threads 2

Per case it prints the median time of forward + backward (over ``--repeats`` runs after
two warm-ups; the two contenders alternate run by run so that drift in machine load hits
both alike) and two peak-memory figures for one forward + backward:

* ``alloc``: the peak of bytes held by PyTorch's CPU allocator during the call, net of the
  frees, from the memory events of ``torch.profiler`` (``profile_memory=True``). Exact and
  deterministic, it counts tensors only.
* ``rss``: the growth of the process's peak resident set during the call, in a fresh
  subprocess: one warm-up call, ``VmHWM`` reset through ``/proc/self/clear_refs``, then
  ``VmHWM - VmRSS(before)``, with glibc's mmap threshold fixed at 128 KiB so that freed
  tensors leave the resident set at once. It sees everything (allocator slack, library
  buffers) but is rounded to pages. Linux only (shown as ``-`` elsewhere).

Ratios are "baseline / ours" for time (above 1: ours is faster; ``speedup`` from the
medians, ``min-spd`` from the fastest runs, the steadier figure on a busy machine) and
"ours / baseline" for memory (below 1: ours uses less). Targets from the design: locally connected at least 2x
faster than ``F.unfold`` + ``einsum`` or at most half its peak memory; tiled within 2x of an
ordinary convolution; FFT faster than direct from 15x15 kernels on 64x64 inputs.
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

import torch
import torch.nn.functional as F

from cnnkit import functional as CF

# ---------------------------------------------------------------------------------------
# Cases: name -> factory returning (ours, baseline), two closures that each run one
# forward + backward on the same inputs. Inputs are built inside, so a subprocess can
# rebuild a case from its name alone. The gradients are returned and dropped (not
# accumulated into .grad), so that every call starts from the same memory state.


def _backward(out, tensors):
    torch.autograd.grad(out.sum(), tensors)


def _local_2d(n=32, c=16, size=32, out_channels=16, k=3):
    def factory():
        x = torch.randn(n, c, size, size, requires_grad=True)
        o = size - k + 1
        w = torch.randn(o, o, out_channels, c, k, k, requires_grad=True)
        # The recipe's natural weight layout: (L, C * k * k, C_out).
        w2 = w.detach().reshape(o * o, out_channels, c * k * k).transpose(1, 2).contiguous().requires_grad_()

        def ours():
            _backward(CF.locally_connected(x, w), [x, w])

        def recipe():
            patches = F.unfold(x, k)  # (N, C * k * k, L)
            out = torch.einsum("ncl,lco->nol", patches, w2).reshape(n, out_channels, o, o)
            _backward(out, [x, w2])

        return ours, recipe
    return factory


def _local_nd(dims, n, c, size, out_channels, k):
    def factory():
        x = torch.randn(n, c, *(size,) * dims, requires_grad=True)
        o = size - k + 1
        w = torch.randn(*(o,) * dims, out_channels, c, *(k,) * dims, requires_grad=True)
        L, K = o ** dims, k ** dims
        w2 = w.detach().reshape(L, out_channels, c * K).transpose(1, 2).contiguous().requires_grad_()

        def ours():
            _backward(CF.locally_connected(x, w), [x, w])

        def recipe():
            # Tensor.unfold per axis: (N, C, *O, *K), then one einsum.
            p = x
            for axis in range(dims):
                p = p.unfold(2 + axis, k, 1)
            p = p.reshape(n, c, L, K).transpose(2, 3).reshape(n, c * K, L)
            out = torch.einsum("ncl,lco->nol", p, w2).reshape(n, out_channels, *(o,) * dims)
            _backward(out, [x, w2])

        return ours, recipe
    return factory


def _tiled(n=32, c=16, size=32, out_channels=32, k=3, tiles=2, stride=1):
    def factory():
        x = torch.randn(n, c, size, size, requires_grad=True)
        wt = torch.randn(tiles, tiles, out_channels, c, k, k, requires_grad=True)
        w = torch.randn(out_channels, c, k, k, requires_grad=True)

        def ours():
            _backward(CF.tiled_conv(x, wt, padding="same", stride=stride), [x, wt])

        def plain():
            _backward(F.conv2d(x, w, padding=k // 2, stride=stride), [x, w])

        return ours, plain
    return factory


def _fft(k, n=8, c=4, out_channels=8, size=64):
    def factory():
        x = torch.randn(n, c, size, size, requires_grad=True)
        w = torch.randn(out_channels, c, k, k, requires_grad=True)

        def ours():
            _backward(CF.fft_conv(x, w, padding="same"), [x, w])

        def direct():
            _backward(CF.conv(x, w, padding="same"), [x, w])

        return ours, direct
    return factory


def _separable(k, rank, n=8, c=1, out_channels=8, size=64):
    def factory():
        x = torch.randn(n, c, size, size, requires_grad=True)
        fs = [torch.randn(rank, out_channels, c, k, requires_grad=True) for _ in range(2)]
        w = torch.randn(out_channels, c, k, k, requires_grad=True)

        def ours():
            _backward(CF.separable_kernel_conv(x, fs, padding="same"), [x, *fs])

        def full():
            _backward(F.conv2d(x, w, padding=k // 2), [x, w])

        return ours, full
    return factory


CASES = {
    "local 2d N32 C16->16 32x32 k3": ("local", _local_2d()),
    "local 2d N64 C8->8 28x28 k5": ("local", _local_2d(64, 8, 28, 8, 5)),
    "local 2d N8 C32->64 16x16 k3": ("local", _local_2d(8, 32, 16, 64, 3)),
    "local 1d N32 C16->16 L256 k5": ("local", _local_nd(1, 32, 16, 256, 16, 5)),
    "local 3d N8 C8->8 12^3 k3": ("local", _local_nd(3, 8, 8, 12, 8, 3)),
    "tiled t2 N32 C16->32 32x32 k3": ("tiled", _tiled()),
    "tiled t3 N32 C16->32 32x32 k3": ("tiled", _tiled(tiles=3)),
    "tiled t2 N16 C32->64 16x16 k3 s2": ("tiled", _tiled(16, 32, 16, 64, 3, 2, 2)),
    "tiled t2 N32 C3->16 64x64 k5": ("tiled", _tiled(32, 3, 64, 16, 5)),
}
for _k in range(3, 32, 2):
    CASES[f"fft k{_k} N8 C4->8 64x64"] = ("fft", _fft(_k))
for _k in (5, 9, 15):
    for _r in (1, 2):
        CASES[f"separable k{_k} r{_r} N8 C1->8 64x64"] = ("separable", _separable(_k, _r))
    CASES[f"separable k{_k} r1 N8 C8->8 64x64"] = ("separable", _separable(_k, 1, c=8))

BASELINE = {"local": "unfold+einsum", "tiled": "conv2d", "fft": "direct", "separable": "full conv"}


# ---------------------------------------------------------------------------------------
# Measurements


def time_pair(ours, baseline, repeats):
    """Median and minimum seconds of each closure, alternating the two run by run."""
    for _ in range(2):
        ours()
        baseline()
    a, b = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        ours()
        a.append(time.perf_counter() - start)
        start = time.perf_counter()
        baseline()
        b.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b), min(a), min(b)


def allocator_peak(fn) -> float:
    """Peak bytes held by the CPU allocator during ``fn()``, net of frees (torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile

    fn()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "trace.json")
        prof.export_chrome_trace(path)
        with open(path) as f:
            events = json.load(f)["traceEvents"]
    memory = [e["args"] for e in events if e.get("name") == "[memory]"]
    if not memory:
        return 0.0
    # "Total Allocated" counts every live block the allocator knows of; the level just
    # before the first event is what was already held when the call began.
    start = memory[0]["Total Allocated"] - memory[0]["Bytes"]
    return float(max(m["Total Allocated"] for m in memory) - start)


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def _rss_worker(name: str, which: int, threads: int) -> None:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    fn = CASES[name][1]()[which]
    fn()
    import gc

    gc.collect()
    before = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    fn()
    print(_status("VmHWM") - before)


def rss_peak(name: str, which: int, threads: int):
    if not os.path.exists("/proc/self/clear_refs"):
        return None
    # A fixed mmap threshold makes glibc return every large freed block to the system at
    # once (the default threshold adapts upwards and keeps freed tensors in the heap),
    # so the resident set follows the live tensors.
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072", MALLOC_TRIM_THRESHOLD_="131072")
    try:
        out = subprocess.run([sys.executable, __file__, "--rss-worker", name, str(which),
                              "--threads", str(threads)], capture_output=True, text=True,
                             check=True, timeout=600, env=env)
        return float(out.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError, OSError):
        return None


def _mb(value) -> str:
    return "-" if value is None else f"{value / 2**20:7.1f}"


def _ratio(a, b) -> str:
    return "-" if a is None or b is None or b == 0 else f"{a / b:5.2f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(set(BASELINE)), help="one block only")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: steadier on a shared machine)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory columns")
    parser.add_argument("--rss-worker", nargs=2, metavar=("CASE", "WHICH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_worker:
        _rss_worker(args.rss_worker[0], int(args.rss_worker[1]), args.threads)
        return
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), median of {args.repeats}; "
          f"time ratio = baseline/ours, memory ratio = ours/baseline")
    header = (f"{'case':38s} {'baseline':>13s} {'ours ms':>8s} {'base ms':>8s} {'speedup':>7s}"
              f" {'min-spd':>7s}"
              f" {'alloc MB':>8s} {'base':>7s} {'ratio':>5s} {'rss MB':>7s} {'base':>7s} {'ratio':>5s}")
    print(header)
    crossover = []
    for name, (block, factory) in CASES.items():
        if args.only and block != args.only:
            continue
        torch.manual_seed(0)
        ours, base = factory()
        t_ours, t_base, m_ours, m_base = time_pair(ours, base, args.repeats)
        if args.no_memory:
            a_ours = a_base = r_ours = r_base = None
        else:
            a_ours, a_base = allocator_peak(ours), allocator_peak(base)
            r_ours, r_base = rss_peak(name, 0, args.threads), rss_peak(name, 1, args.threads)
        print(f"{name:38s} {BASELINE[block]:>13s} {t_ours * 1e3:8.2f} {t_base * 1e3:8.2f} "
              f"{_ratio(t_base, t_ours):>7s} {_ratio(m_base, m_ours):>7s} "
              f"{_mb(a_ours):>8s} {_mb(a_base):>7s} "
              f"{_ratio(a_ours, a_base):>5s} {_mb(r_ours):>7s} {_mb(r_base):>7s} "
              f"{_ratio(r_ours, r_base):>5s}", flush=True)
        if block == "fft":
            crossover.append((int(name.split()[1][1:]), t_ours, t_base))
    if crossover:
        print("\nFFT vs direct crossover, 64x64 inputs, N8 C4->8, padding same, forward+backward:")
        print(f"{'kernel':>7s} {'fft ms':>8s} {'direct ms':>9s} {'faster':>7s}")
        for k, t_fft, t_direct in crossover:
            print(f"{k:>4d}x{k:<2d} {t_fft * 1e3:8.2f} {t_direct * 1e3:9.2f} "
                  f"{'fft' if t_fft < t_direct else 'direct':>7s}")
        x = torch.randn(8, 4, 64, 64)
        for backward in (False, True):
            picks = {k: CF.conv_algorithm(x, torch.randn(8, 4, k, k), padding="same",
                                          backward=backward) for k in (3, 7, 11, 15, 21, 31)}
            print(f"algorithm='auto' picks ({'forward+backward' if backward else 'forward'} probe):",
                  ", ".join(f"{k}x{k}: {v}" for k, v in picks.items()))

if __name__ == "__main__":
    main()
