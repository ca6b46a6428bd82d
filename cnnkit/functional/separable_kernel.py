"""Convolution with separable kernels (Goodfellow et al. 2016, section 9.8), in 1-D, 2-D and 3-D.

A ``d``-dimensional kernel that is an outer product of ``d`` vectors, one per dimension, is
*separable*: convolving with it equals ``d`` one-dimensional convolutions, ``O(w * d)``
work and parameters per kernel instead of ``O(w^d)``. A sum of ``r`` such products is a
rank-``r`` separable kernel; every 2-D kernel is one for ``r = min(K_0, K_1)``, and
:func:`separable_approximation` finds the best rank-``r`` one by SVD (Eckart-Young).

Factor layout: ``factors[i]`` has shape ``(r, C_out, C_in / groups, K_i)`` and the kernel is

    ``kernel[o, c, a, b, ...] = sum_r factors[0][r, o, c, a] * factors[1][r, o, c, b] * ...``

Every (filter, input channel) pair has its own rank-``r`` kernel, exactly a convolution
whose kernel is rank-``r`` separable. The passes: first along axis 0 from each input
channel to its ``C_out/g * r`` (filter, rank) products (a grouped convolution), then one
depthwise pass per middle axis, and along the last axis a grouped pass that also sums
over ranks and input channels. The intermediate volume has ``C_in * C_out/g * r``
channels, so the saving is largest for large kernels and few channels per group.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, positive_int
from .conv import _CONV, conv_arguments, pad
from .conv import conv as _conv_any

__all__ = ["separable_approximation", "separable_kernel", "separable_kernel_conv"]


def _check_factors(factors, who: str):
    if isinstance(factors, torch.Tensor) or not isinstance(factors, Sequence) or not factors:
        raise ArgumentTypeError(
            f"{who}: factors must be a list of 1 to 3 tensors (one per spatial dimension), each "
            f"of shape (rank, C_out, C_in / groups, K_i). Received: factors of type "
            f"{type(factors).__name__}."
        )
    n = len(factors)
    if n > 3:
        raise ShapeError(f"{who}: at most 3 factors (spatial dimensions). Received: {n} factors.")
    heads = set()
    for i, f in enumerate(factors):
        if not isinstance(f, torch.Tensor) or f.dim() != 4:
            shape = tuple(f.shape) if isinstance(f, torch.Tensor) else type(f).__name__
            raise ShapeError(
                f"{who}: factors[{i}] must have shape (rank, C_out, C_in / groups, K_{i}). "
                f"Received: factors[{i}] of shape {shape}."
            )
        heads.add(tuple(f.shape[:3]))
    if len(heads) > 1:
        raise ShapeError(
            f"{who}: every factor must agree on (rank, C_out, C_in / groups). Received shapes "
            f"{[tuple(f.shape) for f in factors]}."
        )
    return n


def separable_kernel(factors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Assemble the full kernel ``sum_r factors[0][r] (x) factors[1][r] (x) ...``.

    Args:
        factors: ``d`` tensors of shape ``(r, C_out, C_in / groups, K_i)``.

    Shape:
        -> ``(C_out, C_in / groups, K_0, ..., K_{d-1})``.

    Example:
        >>> u = torch.tensor([1.0, 2.0]).view(1, 1, 1, 2)
        >>> v = torch.tensor([1.0, 0.0, -1.0]).view(1, 1, 1, 3)
        >>> separable_kernel([u, v])[0, 0]
        tensor([[ 1.,  0., -1.],
                [ 2.,  0., -2.]])
    """
    n = _check_factors(factors, "separable_kernel")
    kernel = None
    for i, f in enumerate(factors):
        shape = [f.shape[0], f.shape[1], f.shape[2]] + [1] * n
        shape[3 + i] = f.shape[3]
        term = f.reshape(shape)
        kernel = term if kernel is None else kernel * term
    return kernel.sum(0)


def separable_approximation(kernel: torch.Tensor, rank: int) -> list[torch.Tensor]:
    """The best rank-``r`` separable approximation of 2-D kernels, by SVD.

    For every 2-D kernel ``A = U S V^T`` (over the last two dimensions), keeps the ``r``
    largest singular values: ``u_j = U[:, j] sqrt(S_j)``, ``v_j = V[:, j] sqrt(S_j)``. That
    is the closest rank-``r`` kernel in the Frobenius norm (Eckart-Young); ``r = min(K_0, K_1)``
    reproduces ``A``.

    Args:
        kernel: ``(K_0, K_1)`` or a convolution weight ``(C_out, C_in / groups, K_0, K_1)``.
        rank: number of separable terms ``r``, ``1 <= r <= min(K_0, K_1)``.

    Returns:
        ``[u, v]`` with shapes ``(r, ..., K_0)`` and ``(r, ..., K_1)``; for a weight, the
        factor layout of :func:`separable_kernel_conv`.

    Raises:
        ShapeError: a kernel that is not 2-D (1-D kernels are always separable; for 3-D ones
            there is no SVD; train the factors of a ``SeparableKernelConv3d`` instead).
        ArgumentError: a rank out of range.

    Example:
        >>> k = torch.outer(torch.tensor([1.0, 2.0, 1.0]), torch.tensor([-1.0, 0.0, 1.0]))
        >>> u, v = separable_approximation(k, 1)  # the Sobel kernel is rank 1
        >>> bool(torch.allclose(u[0, :, None] * v[0, None, :], k))
        True
    """
    if kernel.dim() not in (2, 4):
        raise ShapeError(
            f"separable_approximation takes a 2-D kernel (K_0, K_1) or a 2-D convolution weight "
            f"(C_out, C_in / groups, K_0, K_1). Received: kernel of shape {tuple(kernel.shape)}. "
            f"1-D kernels need no approximation; for 3-D kernels train the factors of a "
            f"SeparableKernelConv3d instead (no SVD exists for them)."
        )
    limit = min(kernel.shape[-2:])
    positive_int(rank, "rank")
    if rank > limit:
        raise ArgumentError(
            f"rank must be at most min(K_0, K_1) = {limit} for a kernel of shape "
            f"{tuple(kernel.shape)}. Received: rank={rank}. Use rank={limit} for an exact copy."
        )
    u, s, vh = torch.linalg.svd(kernel, full_matrices=False)
    root = s[..., :rank].sqrt()
    first = u[..., :, :rank] * root.unsqueeze(-2)  # (..., K_0, r)
    second = vh[..., :rank, :] * root.unsqueeze(-1)  # (..., r, K_1)
    return [first.movedim(-1, 0).contiguous(), second.movedim(-2, 0).contiguous()]


def separable_kernel_conv(x: torch.Tensor, factors: Sequence[torch.Tensor],
                          bias: torch.Tensor | None = None, stride=1, padding=0, dilation=1,
                          groups: int = 1, padding_mode: str = "zeros", flip: bool = False,
                          assemble: bool = False) -> torch.Tensor:
    """Convolution with a rank-``r`` separable kernel, as ``d`` one-dimensional passes.

    Equals ``conv(x, separable_kernel(factors), ...)`` with the same arguments. The passes
    do ``r * sum(K)`` multiply-adds per (filter, channel, location) instead of ``prod(K)``,
    but through an intermediate of ``C_in * C_out/g * r`` channels and convolutions with one
    input channel per group, which PyTorch's CPU kernels run far below their peak: on CPU
    they win for large kernels and few channels (see ``bench/blocks_a.py``). ``assemble``
    computes the same map as one convolution with the assembled kernel instead.

    Args:
        x: input ``(N, C_in, *W)``.
        factors: ``d`` tensors ``(r, C_out, C_in / groups, K_i)``, one per spatial dimension.
        bias: ``(C_out,)`` or None.
        stride, padding, dilation, groups, padding_mode, flip: as for
            :func:`cnnkit.functional.conv`.
        assemble: build the full kernel and run one ordinary convolution (same result;
            faster for many channels and small kernels).

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)`` with
        ``O = floor((W + P_lo + P_hi - D * (K - 1) - 1) / S) + 1``.

    Raises:
        ShapeError: factors of inconsistent shapes, an input of the wrong rank or channels.
        ArgumentError: invalid stride, padding, dilation or groups.

    Example:
        >>> factors = [torch.randn(2, 4, 3, 7), torch.randn(2, 4, 3, 7)]  # rank 2, 7x7
        >>> separable_kernel_conv(torch.randn(1, 3, 20, 20), factors, padding="same").shape
        torch.Size([1, 4, 20, 20])
    """
    who = "separable_kernel_conv"
    n = _check_factors(factors, who)
    rank, out_channels, in_per_group = factors[0].shape[:3]
    kernel = tuple(f.shape[3] for f in factors)
    _, stride, dilation, pairs, _ = conv_arguments(
        x, n, out_channels, in_per_group, kernel, stride, padding, dilation, groups,
        padding_mode, who)
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ShapeError(
            f"{who}: bias must have shape ({out_channels},). Received: bias.shape={tuple(bias.shape)}."
        )
    if assemble:
        return _conv_any(x, separable_kernel(factors), bias, stride, pairs, dilation, groups,
                         padding_mode, flip)
    if flip:
        # Flipping the kernel along every axis flips each factor along its own axis.
        factors = [f.flip(3) for f in factors]
    conv = _CONV[n]
    xp = pad(x, pairs, padding_mode)

    def axis_only(values, axis, rest=1):
        return tuple(v if i == axis else rest for i, v in enumerate(values))

    if n == 1:
        return conv(xp, factors[0].sum(0), bias, stride, 0, dilation, groups)
    in_channels = in_per_group * groups
    per_group = out_channels // groups
    # Pass 1, axis 0: input channel c -> its group's (filter, rank) products, channels
    # ordered (group, c, filter, rank) because a grouped convolution keeps each input
    # channel's outputs together.
    first = factors[0].reshape(rank, groups, per_group, in_per_group, kernel[0])
    first = first.permute(1, 3, 2, 0, 4).reshape(in_channels * per_group * rank, 1,
                                                 *axis_only(kernel, 0))
    h = conv(xp, first, None, axis_only(stride, 0), 0, axis_only(dilation, 0), in_channels)
    # Reorder to (filter, rank, c): the last pass sums each filter's rank x channel block.
    batch, spatial = h.shape[0], h.shape[2:]
    h = h.reshape(batch, groups, in_per_group, per_group, rank, *spatial)
    h = h.permute(0, 1, 3, 4, 2, *range(5, 5 + n)).reshape(batch, -1, *spatial)
    channels = h.shape[1]
    for axis in range(1, n - 1):  # 3-D: the middle axis, one depthwise pass
        middle = factors[axis].permute(1, 0, 2, 3).reshape(channels, 1, *axis_only(kernel, axis))
        h = conv(h, middle, None, axis_only(stride, axis), 0, axis_only(dilation, axis), channels)
    last = factors[n - 1].permute(1, 0, 2, 3).reshape(out_channels, rank * in_per_group,
                                                      *axis_only(kernel, n - 1))
    return conv(h, last, bias, axis_only(stride, n - 1), 0, axis_only(dilation, n - 1), out_channels)
