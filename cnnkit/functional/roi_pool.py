"""Region of interest (RoI) max pooling (Girshick 2015, Fast R-CNN; seed 000), 1-D to 3-D.

Each box selects a region of one image's feature map; the region is split into a fixed
grid of bins and each bin is max-pooled, so boxes of any size give ``(C, *output_size)``.

Quantisation, as in the Fast R-CNN (Caffe) layer:

* box corners are image coordinates, inclusive; they are scaled by ``spatial_scale`` and
  rounded half away from zero: ``start = round(x1 * scale)``, ``end = round(x2 * scale)``;
  the region has ``L = end - start + 1`` cells;
* ``bins="fast_rcnn"``: bin ``i`` of ``n`` covers ``[start + floor(i L / n),
  start + ceil((i + 1) L / n))``, so neighbouring bins share a cell when ``n`` does not
  divide ``L``; ``bins="partition"``: ``[start + floor(i L / n), start + floor((i + 1) L / n))``,
  disjoint bins that split the region exactly (bins of a region shorter than ``n`` may be
  empty and give 0). The bounds are exact integer arithmetic (Caffe computes them in
  floating point, which can be off by one when ``i L / n`` is an integer);
* bin bounds are clipped to the feature map; a box may end at most one cell past the
  map (a map of ``floor(W / stride)`` cells for an image of ``W`` pixels), which is clipped.

Implementation (no per-box Python loop): a sparse table of running maxima over the feature
map, ``T[l](p) = max x[p .. p + 2^l - 1]`` per dimension and per level combination, built
once per call with ``where`` so that autograd keeps one boolean per entry; then every bin is
the maximum of ``2^d`` table look-ups, one gather for all boxes and bins. The gradient of
each output reaches the element that attains the bin maximum (ties resolve to one of the
tied elements).

Complexity: ``O(N * C * prod(W) * prod(levels))`` to build, with ``levels_i =
floor(log2(longest bin_i)) + 1``, plus ``O(K * C * prod(n) * 2^d)`` for the look-ups; memory
the same (a per-box loop of adaptive pooling is ``K`` small kernels instead).
Validating the boxes synchronises with the device once.
"""

from __future__ import annotations

import math

import torch

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, one_of, to_tuple
from .pool import _rank

__all__ = ["ROI_BINS", "roi_bins", "roi_max_pool"]

ROI_BINS = ("fast_rcnn", "partition")


def _check_scale(spatial_scale) -> float:
    if isinstance(spatial_scale, bool) or not isinstance(spatial_scale, (int, float)):
        raise ArgumentTypeError(
            f"spatial_scale must be a number (feature map cells per image pixel, e.g. 1/16). "
            f"Received: spatial_scale={spatial_scale!r}."
        )
    if not (spatial_scale > 0 and math.isfinite(spatial_scale)):
        raise ArgumentError(
            f"spatial_scale must be positive and finite (e.g. 1/16 after four stride-2 "
            f"stages). Received: spatial_scale={spatial_scale!r}."
        )
    return float(spatial_scale)


def _box_error(boxes, rows, message, fix):
    k = int(rows.nonzero()[0, 0])
    values = [round(v, 4) for v in boxes[k].tolist()]
    count = int(rows.sum())
    more = f" ({count} boxes in all)" if count > 1 else ""
    raise ArgumentError(f"boxes[{k}] = {values} {message}{more}. {fix}")


def roi_bins(boxes, size, output_size, spatial_scale: float = 1.0, bins: str = "fast_rcnn",
             batch: int | None = None):
    """Check boxes and return their batch indices and per-dimension bin bounds.

    Args:
        boxes: ``(K, 1 + 2d)``: batch index, the low corner, the high corner; each corner
            lists the last spatial dimension first (``(b, x1, y1, x2, y2)`` in 2-D).
        size: spatial size of the feature map, ``d`` ints.
        output_size: bins per dimension.
        spatial_scale: feature map cells per input pixel.
        bins: ``"fast_rcnn"`` or ``"partition"``.
        batch: number of images, to check the batch indices.

    Returns:
        ``(index, starts, ends)``: int64 ``(K,)`` batch indices, and per dimension (first
        spatial dimension first) int64 ``(K, n_i)`` bin starts and exclusive ends, clipped
        to the map.

    Raises:
        ShapeError: boxes not ``(K, 1 + 2d)``.
        ArgumentError: a non-integer or out-of-range batch index, a non-finite, negative,
            inverted or out-of-map box.

    Example:
        >>> index, starts, ends = roi_bins(torch.tensor([[0., 0, 3, 6, 7]]), (8, 8), 2)
        >>> starts[0].tolist(), ends[0].tolist()   # rows: y from 3 to 7
        ([[3, 5]], [[6, 8]])
    """
    d = len(size)
    output_size = to_tuple(output_size, d, "output_size")
    spatial_scale = _check_scale(spatial_scale)
    one_of(bins, ROI_BINS, "bins")
    if not isinstance(boxes, torch.Tensor):
        raise ArgumentTypeError(
            f"boxes must be a tensor (K, {1 + 2 * d}). Received: boxes of type {type(boxes).__name__}."
        )
    corner = "x1, y1, x2, y2" if d == 2 else ("x1, x2" if d == 1 else "x1, y1, z1, x2, y2, z2")
    if boxes.dim() != 2 or boxes.shape[1] != 1 + 2 * d:
        raise ShapeError(
            f"boxes must have shape (K, {1 + 2 * d}): (batch_index, {corner}) per row for a "
            f"{d}-D feature map. Received: boxes.shape={tuple(boxes.shape)}."
        )
    b = boxes.detach().to(torch.float64)
    finite = torch.isfinite(b).all(1)
    if not bool(finite.all()):
        _box_error(b, ~finite, "has a non-finite coordinate", "Remove or fix the box.")
    index = b[:, 0]
    if batch is not None:
        bad = (index != index.floor()) | (index < 0) | (index >= batch)
        if bool(bad.any()):
            _box_error(b, bad, f"has a batch index outside 0..{batch - 1} (or not an integer)",
                       f"The input holds {batch} images; the first column of boxes indexes them.")
    # Columns are listed last spatial dimension first; flip to the tensor's order.
    low, high = b[:, 1:1 + d].flip(1), b[:, 1 + d:].flip(1)
    inverted = (high < low).any(1)
    if bool(inverted.any()):
        _box_error(b, inverted, "is empty or inverted (a high corner below the low corner)",
                   f"Give corners as ({corner}) with x1 <= x2 (inclusive corners).")
    negative = (low < 0).any(1)
    if bool(negative.any()):
        _box_error(b, negative, "lies partly outside the image (negative coordinate)",
                   "Clip the boxes to the image first.")
    # Round half away from zero, as C's round(); coordinates are non-negative here.
    start = (low * spatial_scale + 0.5).floor().long()
    end = (high * spatial_scale + 0.5).floor().long()
    limit = torch.tensor(size, device=start.device)
    outside = ((start > limit - 1) | (end > limit)).any(1)
    if bool(outside.any()):
        extent = " x ".join(f"{w / spatial_scale:g}" for w in reversed(size))
        cells = " x ".join(str(w) for w in reversed(size))
        _box_error(b, outside,
                   f"lies outside the image: at spatial_scale={spatial_scale:g} the feature map "
                   f"of {cells} cells covers about {extent} pixels (x first)",
                   "Clip the boxes to the image, or check spatial_scale.")
    length = end - start + 1
    starts, ends = [], []
    for axis, n in enumerate(output_size):
        i = torch.arange(n, device=start.device).view(1, -1)
        span = length[:, axis:axis + 1]
        lo = (i * span) // n
        hi = -((-(i + 1) * span) // n) if bins == "fast_rcnn" else ((i + 1) * span) // n
        first = start[:, axis:axis + 1]
        starts.append((lo + first).clamp(0, size[axis]))
        ends.append((hi + first).clamp(0, size[axis]))
    return index.long(), starts, ends


def _sparse_tables(xt, levels):
    """Running-max tables of ``xt`` ``(N, *S, C)`` for every level combination.

    Returns ``(flat, offsets, sizes)``: ``flat`` is ``(N, P, C)``, all tables one after
    the other; ``offsets[c]`` and ``sizes[c]`` give where table ``c`` (combination index,
    last dimension fastest) starts and its spatial size.
    """
    d = len(levels)
    tables = {(): xt}
    for axis in range(d):
        grown = {}
        for key, table in tables.items():
            current = table
            grown[key + (0,)] = current
            for level in range(1, levels[axis]):
                half = 1 << (level - 1)
                length = current.shape[1 + axis] - half
                a = current.narrow(1 + axis, 0, length)
                b = current.narrow(1 + axis, half, length)
                # Strict '>' keeps the lower position on ties.
                current = torch.where(b > a, b, a)
                grown[key + (level,)] = current
        tables = grown
    keys = sorted(tables)
    batch, channels = xt.shape[0], xt.shape[-1]
    parts, offsets, sizes, offset = [], [], [], 0
    for key in keys:
        table = tables[key]
        parts.append(table.reshape(batch, -1, channels))
        offsets.append(offset)
        sizes.append(tuple(table.shape[1:-1]))
        offset += math.prod(table.shape[1:-1])
    flat = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
    return flat, offsets, sizes


def roi_max_pool(x, boxes, output_size, spatial_scale: float = 1.0, bins: str = "fast_rcnn"):
    """RoI max pooling: a fixed ``output_size`` grid of maxima for every box.

    Args:
        x: feature maps ``(N, C, *S)`` with 1, 2 or 3 spatial dimensions.
        boxes: ``(K, 1 + 2d)`` float or int: ``(batch_index, x1, y1, x2, y2)`` in 2-D, in
            input image coordinates (inclusive corners); corners list the last spatial
            dimension first (``(b, x1, x2)`` in 1-D, ``(b, x1, y1, z1, x2, y2, z2)`` in 3-D).
        output_size: bins per dimension, an int or one per dimension.
        spatial_scale: feature map cells per image pixel (1/16 for a stride-16 map).
        bins: ``"fast_rcnn"`` (floor / ceil bounds, the Caffe layer) or ``"partition"``
            (floor / floor bounds, disjoint bins).

    Shape:
        ``(N, C, *S)`` and ``(K, 1 + 2d)`` -> ``(K, C, *output_size)``.

    Raises:
        ShapeError: wrong input rank or box columns.
        ArgumentError: a box outside the image, empty or inverted, a batch index out of
            range, a non-positive ``spatial_scale``, an unknown ``bins``.

    Example:
        >>> x = torch.arange(16.).view(1, 1, 4, 4)
        >>> roi_max_pool(x, torch.tensor([[0., 0, 0, 3, 3]]), 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
        >>> roi_max_pool(x, torch.tensor([[0., 1, 2, 2, 3]]), 1)   # x 1..2, y 2..3
        tensor([[[[14.]]]])
    """
    d = _rank(x, "roi_max_pool")
    output_size = to_tuple(output_size, d, "output_size")
    size = tuple(x.shape[2:])
    index, starts, ends = roi_bins(boxes, size, output_size, spatial_scale, bins, x.shape[0])
    count, channels = boxes.shape[0], x.shape[1]
    if count == 0:
        return x.new_zeros((0, channels, *output_size))
    device = x.device
    index = index.to(device)
    starts = [s.to(device) for s in starts]
    ends = [e.to(device) for e in ends]
    lengths = [(e - s) for s, e in zip(starts, ends)]
    longest = [max(int(length.max()), 1) for length in lengths]
    levels = [int(math.floor(math.log2(m))) + 1 for m in longest]
    flat, offsets, sizes = _sparse_tables(x.movedim(1, -1), levels)
    # Per combination of levels: where its table starts and its strides.
    strides = torch.tensor([[math.prod(s[a + 1:]) for a in range(d)] for s in sizes],
                           device=device)
    offsets = torch.tensor(offsets, device=device)
    # floor(log2(length)) by table look-up (exact for every length).
    log2 = torch.zeros(max(longest) + 1, dtype=torch.long, device=device)
    for level in range(1, max(levels)):
        log2[1 << level:] = level
    combo = torch.zeros((count, *output_size), dtype=torch.long, device=device)
    valid = torch.ones((count, *output_size), dtype=torch.bool, device=device)
    low_pos, high_pos = [], []
    for axis in range(d):
        view = [count] + [1] * d
        view[1 + axis] = output_size[axis]
        length = lengths[axis]
        valid = valid & (length > 0).view(view)
        level = log2[length.clamp_min(1)]
        width = 1 << level
        low = starts[axis].clamp_max(size[axis] - 1)
        high = torch.where(length > 0, ends[axis] - width, low)
        combo = combo * levels[axis] + level.view(view)
        low_pos.append(low.view(view))
        high_pos.append(high.view(view))
    step = strides[combo]  # (K, *n, d)
    base = offsets[combo]
    corners = []
    for bits in range(1 << d):
        position = base
        for axis in range(d):
            chosen = high_pos[axis] if (bits >> (d - 1 - axis)) & 1 else low_pos[axis]
            position = position + chosen * step[..., axis]
        corners.append(position)
    where = torch.stack(corners, dim=-1).reshape(count, -1)  # (K, prod(n) * 2^d)
    values = flat[index.view(-1, 1), where]  # (K, prod(n) * 2^d, C)
    values = values.view(count, math.prod(output_size), 1 << d, channels)
    best = values.max(dim=2).values  # (K, prod(n), C)
    out = best.transpose(1, 2).reshape(count, channels, *output_size)
    if not bool(valid.all()):
        out = torch.where(valid.unsqueeze(1), out, out.new_zeros(()))
    return out
