"""S-cells of the neocognitron (Fukushima 1980): feature detectors with shunting-like
inhibition, here in a subtractive form.

Fukushima's S-cell sums its excitatory inputs through learned weights ``a`` and is
inhibited by a V-cell that carries the root mean square of the same input window, so that
it answers to the *shape* of the pattern in its window and not to its brightness. The
form used here keeps that: with ``v`` the Euclidean norm of the window (all input maps,
the whole kernel area),

    ``u = max(0, a . x - theta * v)``

and unit-norm ``a``, ``a . x = v cos(a, x)``, so the cell fires exactly when the angle
between its kernel and the window is below ``arccos(theta)``, and then in proportion to
the window's energy. ``theta`` in ``[0, 1)`` plays the part of the selectivity ``r``
(Fukushima 1980, eq. 1-3: the cell's response threshold ``r / (1 + r)``).
"""

from __future__ import annotations

import torch

from .conv import conv

__all__ = ["s_cell", "window_norm"]


def window_norm(x: torch.Tensor, kernel, stride=1, padding=0, dilation=1) -> torch.Tensor:
    """The V-cell: the Euclidean norm of every kernel window over all input maps.

    Shape:
        ``(N, C, *W)`` -> ``(N, 1, *O)``, O as for a convolution.

    Example:
        >>> window_norm(torch.full((1, 4, 3, 3), 2.0), (3, 3)).item()    # sqrt(4 * 9 * 2^2)
        12.0
    """
    # sum the squares over the maps first: one box filter instead of one per map
    ones = x.new_ones(1, 1, *kernel)
    energy = conv((x * x).sum(dim=1, keepdim=True), ones, None, stride, padding, dilation)
    # sqrt has an infinite slope at 0: take it only where the window has energy, so that
    # an all-zero window gives 0 and a finite gradient.
    positive = energy > 0
    return torch.where(positive, torch.where(positive, energy, 1.0).sqrt(), 0.0)


def s_cell(x: torch.Tensor, weight: torch.Tensor, threshold: float = 0.5, stride=1, padding=0,
           dilation=1) -> torch.Tensor:
    """``max(0, conv(x, weight) - threshold * window_norm(x))``: S-cells that fire when the
    window matches their kernel's direction (see the module doc).

    Args:
        x: input ``(N, C_in, *spatial)``, the C-cells of the stage before (or the image).
        weight: kernels ``(C_out, C_in, *kernel)``; unit-norm for the cosine reading.
        threshold: the selectivity in ``[0, 1)``; 0 gives a rectified convolution.
        stride, padding, dilation: as for :func:`cnnkit.functional.conv`.

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``, O as for a convolution.

    Example:
        >>> w = torch.tensor([[[1.0, 0.0]], [[0.6, 0.8]]])      # two unit kernels
        >>> s_cell(torch.tensor([[[3.0, 0.0]]]), w, threshold=0.7)[0, :, 0]
        tensor([0.9000, 0.0000])
    """
    kernel = tuple(weight.shape[2:])
    match = conv(x, weight, None, stride, padding, dilation)
    return torch.relu(match - threshold * window_norm(x, kernel, stride, padding, dilation))
