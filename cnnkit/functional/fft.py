"""Convolution through the Fourier transform (Goodfellow et al. 2016, section 9.8), with an
automatic choice.

Convolution is a point-wise product in the frequency domain. :func:`fft_conv` has the
semantics and arguments of :func:`cnnkit.functional.conv` (stride, padding names / pairs /
modes, dilation, groups, flip, shared or untied bias) and computes:

1. pad the input (any padding mode) and dilate the kernel by inserting ``D - 1`` zeros
   between its taps (flip it first for a true convolution);
2. ``X = rfftn(x_padded)``, ``K = rfftn(kernel)`` over the spatial axes, both of length
   ``F`` = the padded size rounded up to a fast size (``2^a 3^b 5^c 7^d``). A circular
   cross-correlation of that length equals the linear one on every valid output, so no
   more zeros than the padding are needed;
3. per frequency and channel group, ``Y[n, o] = sum_c X[n, c] * conj(K[o, c])`` (one
   batched complex matrix product over the group's input channels);
4. ``irfftn``, crop the valid outputs, then keep every ``S``-th for a stride ``S``.

The cost grows like ``F log F`` per channel, not like the kernel size, so for large kernels
FFT wins; for small ones the direct convolution does. ``algorithm="auto"`` decides by
measuring (see :func:`conv_algorithm`).
"""

from __future__ import annotations

import statistics
import time

import torch

from .._validation import ArgumentTypeError, ShapeError, one_of, to_tuple
from . import shapes
from .shapes import fft_length
from .conv import _check_bias, conv, check_same_dtype_device, conv_arguments, pad

__all__ = [
    "ALGORITHMS",
    "algorithm_cache",
    "clear_algorithm_cache",
    "conv_algorithm",
    "fft_conv",
]

ALGORITHMS = ("auto", "direct", "fft")

# (device type, dtype, rank, effective kernel, stride, groups, size buckets) -> "fft" | "direct"
_CACHE: dict[tuple, str] = {}
_PROBE_REPEATS = 3
_FEW_CHANNELS = 8  # input channels per group up to which the frequency sum is a loop


def _bucket(value: int) -> int:
    """Round up to a power of two: calls of similar size share one measurement."""
    return 1 << max(int(value) - 1, 0).bit_length()


def _check_fft_dtype(x: torch.Tensor, weight: torch.Tensor) -> None:
    for name, t in (("input", x), ("weight", weight)):
        if t.is_complex():
            raise ArgumentTypeError(
                f"fft_conv computes with real FFTs and cannot take complex tensors. Received: "
                f"{name} of dtype {t.dtype}. Use algorithm='direct' (cnnkit.functional.conv "
                f"takes complex tensors)."
            )
        if not t.is_floating_point():
            raise ArgumentTypeError(
                f"fft_conv needs floating-point tensors. Received: {name} of dtype {t.dtype}. "
                f"Convert it first, e.g. {name}.float()."
            )
    check_same_dtype_device(x, weight, "fft_conv")


def _fft_conv_valid(xp: torch.Tensor, weight: torch.Tensor, stride, dilation, groups, out):
    """Valid cross-correlation of the padded ``xp`` by FFT, then crop to ``out`` and stride."""
    n = xp.dim() - 2
    dims = tuple(range(2, n + 2))
    out_channels, in_per_group = weight.shape[:2]
    kernel = weight.shape[2:]
    if any(d > 1 for d in dilation):
        spans = tuple(shapes.effective_kernel(k, d) for k, d in zip(kernel, dilation))
        dilated = weight.new_zeros(out_channels, in_per_group, *spans)
        dilated[(slice(None), slice(None)) + tuple(slice(None, None, d) for d in dilation)] = weight
        weight = dilated
    size = fft_length(xp.shape[2:])
    xf = torch.fft.rfftn(xp, s=size, dim=dims)
    wf = torch.fft.rfftn(weight, s=size, dim=dims)
    batch = xp.shape[0]
    freq = xf.shape[2:]
    xf = xf.reshape(batch, groups, 1, in_per_group, -1)
    wf = wf.reshape(1, groups, out_channels // groups, in_per_group, -1).conj()
    # Sum over the input channels of each group, per frequency. Few channels: accumulate
    # products channel by channel (a batched matrix product of thousands of tiny
    # matrices, one per frequency, is several times slower); many: that product.
    if in_per_group <= _FEW_CHANNELS:
        yf = xf[:, :, :, 0] * wf[:, :, :, 0]
        for c in range(1, in_per_group):
            yf = yf + xf[:, :, :, c] * wf[:, :, :, c]
    else:
        yf = torch.einsum("ngcf,gocf->ngof", xf[:, :, 0], wf[0])
    yf = yf.reshape(batch, out_channels, *freq)
    y = torch.fft.irfftn(yf, s=size, dim=dims)
    index = (slice(None), slice(None)) + tuple(
        slice(0, (o - 1) * s + 1, s) for o, s in zip(out, stride))
    return y[index]


def _measure(fn) -> float:
    """Median wall time of ``fn`` over a few runs after one warm-up (seconds)."""
    fn()
    times = []
    for _ in range(_PROBE_REPEATS):
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def conv_algorithm(x: torch.Tensor, weight: torch.Tensor, stride=1, padding=0, dilation=1,
                   groups: int = 1, padding_mode: str = "zeros", backward: bool | None = None) -> str:
    """Which of ``"fft"`` and ``"direct"`` is faster for this convolution on this machine.

    The first call for a kind of convolution times both on tensors of the caller's shapes
    (one warm-up, then the median of 3 runs) and remembers the winner in memory for the
    rest of the process. What is timed is the forward pass, or forward and backward when
    ``backward`` (default: gradients are being recorded for ``x`` or ``weight``): the two
    cross over at very different kernel sizes, since a direct convolution's backward pass
    slows down with the kernel much faster than its forward pass. Calls share a
    measurement when they agree on that, device type, dtype, rank, effective kernel size
    ``D * (K - 1) + 1``, stride and groups, and on the power-of-two bucket of the batch
    size, the channel counts and every padded spatial size. :func:`algorithm_cache` shows
    the decisions, :func:`clear_algorithm_cache` forgets them. Inputs that FFT cannot take
    (complex, integer) always get ``"direct"``.

    Returns:
        ``"fft"`` or ``"direct"``.

    Example:
        >>> conv_algorithm(torch.randn(1, 1, 16, 16), torch.randn(1, 1, 3, 3)) in ("fft", "direct")
        True
    """
    if not (x.is_floating_point() and weight.is_floating_point()):
        return "direct"
    if backward is None:
        backward = torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)
    n = weight.dim() - 2
    stride_t = to_tuple(stride, n, "stride")
    dilation_t = to_tuple(dilation, n, "dilation")
    norm = shapes.normalize_padding(padding, n)
    kernel = tuple(weight.shape[2:])
    pairs = shapes.padding_pairs(norm, kernel, stride_t, dilation_t, tuple(x.shape[2:]))
    padded = tuple(lo + w + hi for (lo, hi), w in zip(pairs, x.shape[2:]))
    key = (
        bool(backward), x.device.type, x.dtype, n,
        tuple(shapes.effective_kernel(k, d) for k, d in zip(kernel, dilation_t)),
        stride_t, groups, _bucket(x.shape[0]), _bucket(x.shape[1]), _bucket(weight.shape[0]),
        tuple(_bucket(p) for p in padded),
    )
    choice = _CACHE.get(key)
    if choice is None:
        args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                    padding_mode=padding_mode)
        if backward:
            xs = x.detach().requires_grad_()
            ws = weight.detach().requires_grad_()

            def run(fn):
                return lambda: fn(xs, ws, **args).sum().backward()
        else:
            xs, ws = x.detach(), weight.detach()

            def run(fn):
                def forward():
                    with torch.no_grad():
                        fn(xs, ws, **args)
                return forward
        direct = _measure(run(conv))
        fourier = _measure(run(fft_conv))
        choice = "fft" if fourier < direct else "direct"
        _CACHE[key] = choice
    return choice


def algorithm_cache() -> dict:
    """A copy of the decisions :func:`conv_algorithm` has measured so far (key -> choice)."""
    return dict(_CACHE)


def clear_algorithm_cache() -> None:
    """Forget every measured decision (the next ``"auto"`` call measures again)."""
    _CACHE.clear()


def fft_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride=1,
             padding=0, dilation=1, groups: int = 1, padding_mode: str = "zeros",
             flip: bool = False, algorithm: str = "fft") -> torch.Tensor:
    """N-d convolution computed in the frequency domain (Goodfellow et al. 2016, section 9.8).

    The same map as :func:`cnnkit.functional.conv` with the same arguments (see the module
    docstring for the algorithm); only the arithmetic differs, so results agree to rounding.
    Half-precision tensors are transformed in float32 and the result cast back.

    Args:
        x: input ``(N, C_in, *W)``.
        weight: kernel ``(C_out, C_in / groups, *kernel)``.
        bias: ``(C_out,)`` shared, ``(C_out, *O)`` untied, or None.
        stride, padding, dilation, groups, padding_mode, flip: as for ``conv``.
        algorithm: ``"fft"`` (default), ``"direct"`` (ordinary convolution) or ``"auto"``
            (the faster of the two for this call, forward only or forward and backward,
            measured once per kind of call: :func:`conv_algorithm`).

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)`` with
        ``O = floor((W + P_lo + P_hi - D * (K - 1) - 1) / S) + 1``.

    Raises:
        ArgumentTypeError: complex or integer tensors with ``algorithm="fft"`` (use
            ``"direct"``), or input and weight of different dtypes.
        ShapeError, ArgumentError: as for ``conv``.

    Example:
        >>> x, w = torch.randn(2, 3, 32, 32), torch.randn(4, 3, 15, 15)
        >>> y = fft_conv(x, w, padding="same")
        >>> y.shape
        torch.Size([2, 4, 32, 32])
        >>> bool(torch.allclose(y, conv(x, w, padding="same"), atol=1e-3))
        True
    """
    one_of(algorithm, ALGORITHMS, "algorithm")
    if algorithm == "auto":
        algorithm = conv_algorithm(x, weight, stride, padding, dilation, groups, padding_mode)
    if algorithm == "direct":
        return conv(x, weight, bias, stride, padding, dilation, groups, padding_mode, flip)
    n = weight.dim() - 2
    if n not in (1, 2, 3):
        raise ShapeError(
            f"weight must have shape (out_channels, in_channels / groups, *kernel) with 1, 2 "
            f"or 3 kernel dimensions. Received: weight.shape={tuple(weight.shape)}."
        )
    out_channels, in_per_group = weight.shape[0], weight.shape[1]
    _check_fft_dtype(x, weight)
    kernel, stride, dilation, pairs, out_spatial = conv_arguments(
        x, n, out_channels, in_per_group, tuple(weight.shape[2:]), stride, padding, dilation,
        groups, padding_mode, "fft_conv")
    bias_kind = _check_bias(bias, out_channels, out_spatial, "fft_conv")
    if flip:
        weight = weight.flip(tuple(range(2, n + 2)))
    dtype = x.dtype
    if dtype in (torch.float16, torch.bfloat16):
        # FFTs of half tensors are unsupported on CPU and limited to powers of two on CUDA.
        x, weight = x.float(), weight.float()
    out = _fft_conv_valid(pad(x, pairs, padding_mode), weight, stride, dilation, groups, out_spatial)
    out = out.to(dtype)
    if bias_kind == "shared":
        out = out + bias.view(-1, *([1] * n))
    elif bias_kind == "untied":
        out = out + bias
    return out

