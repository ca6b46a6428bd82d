"""Spatial pyramid pooling (He et al. 2014; Goodfellow et al. 2016, fig. 9.11), 1-D, 2-D and 3-D.

Pooling regions that scale with the input (Goodfellow et al. 2016, fig. 9.11) give a fixed
number of outputs whatever the input size: a pyramid of levels, level ``l`` splitting each
spatial dimension into ``l`` bins, concatenated into one vector of ``C * sum_l l^d`` values,
so a dense classifier can follow convolutions applied to images of any size.

Bins follow adaptive pooling: bin ``i`` of ``l`` along a dimension of size ``W`` covers
``[floor(i W / l), ceil((i + 1) W / l))``. Unlike the paper's window ``ceil(W / l)`` with
stride ``floor(W / l)``, this always covers the whole input, also when ``W < l``.
"""

from __future__ import annotations

import torch

from .._validation import one_of
from . import shapes
from .conv import spatial_rank
from .pool import _ADAPTIVE_AVG, _ADAPTIVE_MAX

__all__ = ["PYRAMID_MODES", "spatial_pyramid_pool"]

PYRAMID_MODES = ("max", "avg")


def spatial_pyramid_pool(x, levels=(1, 2, 4), mode: str = "max"):
    """Pool every channel into a pyramid of ``l x l (x l)`` grids and concatenate.

    Args:
        x: input ``(N, C, *W)`` with 1, 2 or 3 spatial dimensions, any size.
        levels: bins per dimension at each level: ints, or one tuple per level with one
            count per dimension.
        mode: ``"max"`` or ``"avg"``.

    Shape:
        ``(N, C, *W)`` -> ``(N, C * sum_l prod(l))``: the features of level 0 (``C``
        channels by ``prod(l_0)`` bins, channel-major), then level 1, ...

    Raises:
        ArgumentError: unknown mode, non-positive bin counts.
        ShapeError: wrong input rank.

    Example:
        >>> spatial_pyramid_pool(torch.randn(2, 8, 13, 9)).shape   # 8 * (1 + 4 + 16)
        torch.Size([2, 168])
        >>> spatial_pyramid_pool(torch.randn(2, 8, 40, 31)).shape
        torch.Size([2, 168])
    """
    one_of(mode, PYRAMID_MODES, "mode")
    n = spatial_rank(x, "spatial_pyramid_pool")
    levels = shapes.normalize_levels(levels, n)
    table = _ADAPTIVE_MAX if mode == "max" else _ADAPTIVE_AVG
    parts = []
    for level in levels:
        pooled = table[n](x, level)
        if mode == "max":
            pooled = pooled[0] if isinstance(pooled, tuple) else pooled
        parts.append(pooled.flatten(2).flatten(1))
    return torch.cat(parts, dim=1)
