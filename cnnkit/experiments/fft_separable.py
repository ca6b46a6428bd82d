"""Efficient convolution algorithms (Goodfellow et al. 2016, section 9.8).

"Convolution is equivalent to converting both the input and the kernel to the frequency
domain using a Fourier transform, performing point-wise multiplication of the two
signals, and converting back ... for some problem sizes, this can be faster than the
naive implementation of discrete convolution." And: "When a d-dimensional kernel can be
expressed as the outer product of d vectors ... the kernel is called separable ...
composing d one-dimensional convolutions ... [is] O(w x d) runtime and parameter storage
space" instead of O(w^d).

Part 1 times the forward pass of :func:`cnnkit.functional.conv` (direct, PyTorch's kernels)
and :func:`cnnkit.functional.fft_conv` ('same' padding, 4 -> 4 channels) against the kernel
size in 1-D, 2-D and 3-D, and reports the crossover: the smallest kernel from which FFT
wins at every larger size. Part 2 compares a rank-1 separable kernel
(:func:`cnnkit.functional.separable_kernel_conv`, d one-dimensional passes) with the
assembled full kernel (one ordinary convolution): parameters and time, in 2-D and 3-D.
Times are the process's CPU time (not charged for waiting on a busy machine), medians
over interleaved rounds (every variant timed once per round), so a slow-down of the
machine hits all variants alike; they are this machine's, not universal.

Run: ``cnnkit experiment fft_separable [--quick]``
"""

from __future__ import annotations

import math

import torch

from ._common import Experiment, Result, Table, figure, time_interleaved

__all__ = ["EXPERIMENT", "run"]

# rank -> (batch, channels, spatial size, kernel sizes); 'same' padding.
FFT_CASES = {
    1: (4, 4, 4096, (3, 7, 15, 31, 63, 127, 255, 511)),
    2: (4, 4, 96, (3, 5, 7, 11, 15, 21, 31, 45)),
    3: (2, 2, 24, (3, 5, 7, 9, 11, 13)),
}
SEPARABLE_CASES = {
    2: (4, 1, 8, 96, (3, 5, 7, 11, 15, 21, 31)),  # batch, in, out channels, size, kernels
    3: (2, 1, 4, 24, (3, 5, 7, 9, 11, 13)),
}


def _fft_rows(quick: bool, rounds: int) -> tuple[list[dict], dict]:
    from ..functional import conv, fft_conv

    rows, curves = [], {}
    for rank, (batch, channels, size, kernels) in FFT_CASES.items():
        kernels = kernels[::2] if quick else kernels
        x = torch.randn(batch, channels, *([size] * rank))
        curves[rank] = []
        for k in kernels:
            w = torch.randn(channels, channels, *([k] * rank))
            with torch.no_grad():
                error = float((fft_conv(x, w, padding="same") - conv(x, w, padding="same")).abs().max()
                              / conv(x, w, padding="same").abs().max())
                times = time_interleaved({
                    "direct": lambda: conv(x, w, padding="same"),
                    "fft": lambda: fft_conv(x, w, padding="same")}, rounds=rounds,
                    min_seconds=0.02)
            curves[rank].append((k, times["direct"], times["fft"]))
            rows.append({"rank": f"{rank}-D", "input": "x".join([str(size)] * rank),
                         "kernel": k, "direct": f"{1e3 * times['direct']:.2f}",
                         "fft": f"{1e3 * times['fft']:.2f}",
                         "ratio": f"{times['direct'] / times['fft']:.2f}",
                         "error": f"{error:.0e}"})
    return rows, curves


def crossover(points: list[tuple[int, float, float]]) -> int | None:
    """The smallest kernel from which FFT is faster at every larger kernel, or None.

    Example:
        >>> crossover([(3, 1.0, 2.0), (5, 1.0, 0.5), (7, 2.0, 2.5), (9, 3.0, 1.0)])
        9
    """
    best = None
    for k, direct, fft in reversed(points):
        if fft >= direct:
            break
        best = k
    return best


def _separable_rows(quick: bool, rounds: int) -> tuple[list[dict], dict]:
    from ..functional import conv, separable_kernel, separable_kernel_conv

    rows, curves = [], {}
    for rank, (batch, cin, cout, size, kernels) in SEPARABLE_CASES.items():
        kernels = kernels[::2] if quick else kernels
        x = torch.randn(batch, cin, *([size] * rank))
        curves[rank] = []
        for k in kernels:
            factors = [torch.randn(1, cout, cin, k) for _ in range(rank)]
            full = separable_kernel(factors)
            with torch.no_grad():
                times = time_interleaved({
                    "full": lambda: conv(x, full, padding="same"),
                    "separable": lambda: separable_kernel_conv(x, factors, padding="same")},
                    rounds=rounds, min_seconds=0.02)
            curves[rank].append((k, times["full"], times["separable"]))
            rows.append({"rank": f"{rank}-D", "kernel": k,
                         "params_full": f"{full.numel():,}",
                         "params_sep": f"{sum(f.numel() for f in factors):,}",
                         "full": f"{1e3 * times['full']:.2f}",
                         "separable": f"{1e3 * times['separable']:.2f}",
                         "ratio": f"{times['full'] / times['separable']:.2f}"})
    return rows, curves


def _kernel_ticks(ax, kernels: list[int]) -> None:
    """Label a log kernel-size axis with the measured sizes only (no overlapping 3x10^0)."""
    ax.minorticks_off()
    ax.set_xticks(kernels, [str(k) for k in kernels], fontsize=7)


def run(quick: bool = False, seeds: int = 1) -> Result:
    """Time direct against FFT convolution, and full against separable kernels."""
    torch.manual_seed(0)
    rounds = 3 if quick else 11
    # One thread: the CPU time of the process is then the time of the work itself, with no
    # time spent by a second thread spinning while it waits for a core on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fft_rows, fft_curves = _fft_rows(quick, rounds)
        sep_rows, sep_curves = _separable_rows(quick, rounds)
    finally:
        torch.set_num_threads(threads)
    crossovers = {rank: crossover(points) for rank, points in fft_curves.items()}

    fig = figure(8, 3)
    ax = fig.add_subplot(1, 2, 1)
    for (rank, points), color in zip(fft_curves.items(), ("tab:blue", "tab:orange", "tab:green")):
        ks = [k for k, _, _ in points]
        ax.plot(ks, [1e3 * d for _, d, _ in points], "-o", color=color, markersize=3,
                label=f"{rank}-D direct")
        ax.plot(ks, [1e3 * f for _, _, f in points], "--s", color=color, markersize=3,
                label=f"{rank}-D FFT")
    ax.set(xscale="log", yscale="log", xlabel="kernel size", ylabel="ms per forward",
           title="direct vs FFT convolution")
    _kernel_ticks(ax, sorted({k for points in fft_curves.values() for k, _, _ in points}))
    ax.legend(fontsize=6, ncol=2)
    ax.grid(alpha=0.3)
    ax = fig.add_subplot(1, 2, 2)
    for (rank, points), color in zip(sep_curves.items(), ("tab:orange", "tab:green")):
        ks = [k for k, _, _ in points]
        ax.plot(ks, [1e3 * f for _, f, _ in points], "-o", color=color, markersize=3,
                label=f"{rank}-D full kernel")
        ax.plot(ks, [1e3 * s for _, _, s in points], "--s", color=color, markersize=3,
                label=f"{rank}-D separable")
    ax.set(xscale="log", yscale="log", xlabel="kernel size", ylabel="ms per forward",
           title="full vs rank-1 separable kernel")
    _kernel_ticks(ax, sorted({k for points in sep_curves.values() for k, _, _ in points}))
    ax.legend(fontsize=6)
    ax.grid(alpha=0.3)

    largest = {rank: points[-1] for rank, points in fft_curves.items()}
    sep_largest = {rank: points[-1] for rank, points in sep_curves.items()}
    checks = [("FFT beats direct convolution at the largest kernel in 1-D, 2-D and 3-D",
               all(f < d for _, d, f in largest.values())),
              ("direct beats FFT at the smallest kernel (3) in every rank",
               all(points[0][2] > points[0][1] for points in fft_curves.values())),
              ("the separable kernel is faster than the full one at the largest kernel, "
               "2-D and 3-D", all(s < f for _, f, s in sep_largest.values()))]
    cross = ", ".join(f"{rank}-D: {k if k is not None else 'none in range'}"
                      for rank, k in crossovers.items())
    notes = [f"FFT crossover (smallest kernel from which FFT wins at every larger one): {cross}.",
             "Forward pass, no gradient, float32, one thread; CPU time of the process "
             f"(robust to other processes on a shared machine), median of {rounds} interleaved rounds.",
             "Separable parameters: rank 1, d vectors of length k per (filter, channel) "
             "pair: d*k against k^d."]
    tables = [Table([("rank", "rank"), ("input", "input"), ("kernel", "kernel"),
                     ("direct", "direct (ms)"), ("fft", "FFT (ms)"),
                     ("ratio", "direct / FFT"), ("error", "rel. difference")], fft_rows,
                    "Direct against FFT convolution ('same' padding)"),
              Table([("rank", "rank"), ("kernel", "kernel"), ("params_full", "full params"),
                     ("params_sep", "separable params"), ("full", "full (ms)"),
                     ("separable", "separable (ms)"), ("ratio", "full / separable")],
                    sep_rows, "Full against rank-1 separable kernels")]
    return Result(tables, fig, checks, notes, 0)


EXPERIMENT = Experiment(
    name="fft_separable",
    claim="FFT convolution wins for large kernels; separable kernels cost O(w d) instead of "
          "O(w^d) in time and parameters.",
    sources=("Goodfellow, Bengio and Courville 2016, Deep Learning, section 9.8",
             "Mathieu, Henaff and LeCun 2014, Fast training of convolutional networks "
             "through FFTs"),
    published="no timing in the book; Mathieu et al. 2014 train convolutional layers through "
              "FFTs on GPUs faster than with direct convolution in most of their settings, "
              "the gain growing with the kernel size.",
    run=run, seeds=0)
