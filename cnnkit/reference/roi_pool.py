"""RoI max pooling by loops, as the Fast R-CNN (Caffe) layer computes it (Girshick 2015).

For box ``(b, x1, y1, x2, y2)`` (inclusive corners, image coordinates; in ``d`` dimensions
the low corner then the high corner, each listing the last spatial dimension first):

1. ``start = round(x1 * scale)``, ``end = round(x2 * scale)`` (half away from zero);
   the region has ``L = end - start + 1`` cells;
2. bin ``i`` of ``n``: ``[start + floor(i L / n), start + ceil((i + 1) L / n))``
   (``fast_rcnn``) or ``[start + floor(i L / n), start + floor((i + 1) L / n))``
   (``partition``), clipped to ``[0, W]``;
3. output = the maximum over the bin, scanned in row-major order with a strict ``>`` (the
   first maximum wins and receives the gradient); an empty bin gives 0.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["fixed_roi_max_pool", "roi_max_pool", "roi_max_pool_backward"]


def _bin_bounds(start, length, count, i, bins):
    lo = (i * length) // count
    hi = -((-(i + 1) * length) // count) if bins == "fast_rcnn" else ((i + 1) * length) // count
    return start + lo, start + hi


def roi_max_pool(x, boxes, output_size, spatial_scale=1.0, bins="fast_rcnn"):
    """Returns ``(out, argmax)``: ``out`` ``(K, C, *output_size)`` and a dict
    ``(k, c, *j) -> (batch index, input position)`` for non-empty bins.

    Example:
        >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
        >>> roi_max_pool(x, np.array([[0, 0, 0, 3, 3]]), (2, 2))[0]
        array([[[[ 5.,  7.],
                 [13., 15.]]]])
    """
    x, boxes = np.asarray(x, dtype=np.float64), np.asarray(boxes, dtype=np.float64)
    d = x.ndim - 2
    size = x.shape[2:]
    out = np.zeros((boxes.shape[0], x.shape[1]) + tuple(output_size))
    argmax = {}
    for k, box in enumerate(boxes):
        b = int(box[0])
        low = list(reversed(box[1:1 + d]))
        high = list(reversed(box[1 + d:]))
        start = [math.floor(v * spatial_scale + 0.5) for v in low]
        end = [math.floor(v * spatial_scale + 0.5) for v in high]
        for j in np.ndindex(*output_size):
            ranges = []
            for axis in range(d):
                lo, hi = _bin_bounds(start[axis], end[axis] - start[axis] + 1,
                                     output_size[axis], j[axis], bins)
                ranges.append(range(min(max(lo, 0), size[axis]), min(max(hi, 0), size[axis])))
            if any(len(r) == 0 for r in ranges):
                continue
            for c in range(x.shape[1]):
                best, where = -np.inf, None
                for q in np.ndindex(*[len(r) for r in ranges]):
                    p = tuple(r[i] for r, i in zip(ranges, q))
                    if x[(b, c) + p] > best:
                        best, where = x[(b, c) + p], p
                out[(k, c) + j] = best
                argmax[(k, c) + j] = (b, where)
    return out, argmax


def roi_max_pool_backward(x, G, argmax):
    """Input gradient: each output's gradient goes to its bin's first maximum."""
    dx = np.zeros_like(np.asarray(x, dtype=np.float64))
    for key, (b, p) in argmax.items():
        dx[(b, key[1]) + p] += G[key]
    return dx


def fixed_roi_max_pool(x, boxes, output_size, spatial_scale=1.0, bins="fast_rcnn"):
    """The same ``K`` boxes (no batch index) pooled in every image, the grids stacked along
    the first spatial axis: ``(N, C, K * n_1, n_2, ...)``.

    Example:
        >>> x = np.arange(32.0).reshape(1, 1, 4, 8)
        >>> fixed_roi_max_pool(x, [[0, 0, 3, 3], [4, 0, 7, 3]], (2, 2))[0, 0, :, 0]
        array([ 9., 25., 13., 29.])
    """
    x = np.asarray(x, dtype=np.float64)
    n, c = x.shape[:2]
    out = np.zeros((n, c, len(boxes) * output_size[0]) + tuple(output_size[1:]))
    for b in range(n):
        for k, box in enumerate(boxes):
            pooled = roi_max_pool(x, np.array([[b, *box]]), output_size, spatial_scale, bins)[0]
            rows = slice(k * output_size[0], (k + 1) * output_size[0])
            out[b, :, rows] = pooled[0]
    return out
