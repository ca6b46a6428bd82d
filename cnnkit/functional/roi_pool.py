"""Region of interest (RoI) max pooling (Girshick 2015, Fast R-CNN), 1-D to 3-D.

RoI pooling as described in the Wikipedia article "Convolutional neural network".

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
map, ``T[l](p) = max x[p .. p + 2^l - 1]`` per dimension and per level combination, with
the position of each maximum, built once per call without autograd; every bin is then the
maximum of ``2^d`` table look-ups, one gather for all boxes and bins, which also gives the
position of the bin's maximum. The output is one gather from the input at those
positions, so the backward pass is one scatter of ``K * C * prod(n)`` values into the
input's gradient: each output's gradient reaches the element that attains the bin
maximum (ties resolve to one of the tied elements).

Complexity: ``O(N * C * prod(W) * prod(levels))`` time and memory (values plus 2-byte
positions for maps below 32768 cells) to build, with
``levels_i = floor(log2(longest bin_i)) + 1``, plus ``O(K * C * prod(n) * 2^d)`` for the
look-ups, independent of the box sizes (a per-box loop of adaptive pooling reads every
box's cells: ``O(C * sum_k area_k)``, and ``K`` kernel launches).
Validating the boxes synchronises with the device once.
"""

from __future__ import annotations

import itertools
import math

import torch

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, one_of, to_tuple
from .conv import spatial_rank

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


def _sparse_tables(x, levels):
    """Running maxima of ``x`` ``(N, C, *S)`` and where they come from, for every level
    combination; no autograd.

    Table ``l = (l_1, .., l_d)`` holds, at ``p``, the maximum of the block
    ``[p_i, p_i + 2^{l_i})`` per dimension, and the flat spatial index of its first
    maximum. All tables live one after the other in two buffers laid out
    ``(P, N, C)`` (position-major, so that a look-up reads ``N * C`` contiguous values);
    table ``l`` is built from ``l`` with one level less in its last non-zero dimension
    by comparing two shifted halves.

    Returns ``(values, indices, offsets, sizes)``, offsets and sizes per combination index
    (last dimension fastest).
    """
    d = len(levels)
    size = tuple(x.shape[2:])
    batch, channels = x.shape[:2]
    combos = list(itertools.product(*[range(count) for count in levels]))
    sizes = [tuple(w - (1 << l) + 1 for w, l in zip(size, combo)) for combo in combos]
    offsets, total = [], 0
    for shape in sizes:
        offsets.append(total)
        total += math.prod(shape)
    # int16 where the plane is small enough: the index tables are half the traffic.
    index_dtype = torch.int16 if math.prod(size) < 2 ** 15 else (
        torch.int32 if math.prod(size) < 2 ** 31 else torch.int64)
    values = x.new_empty((total, batch, channels))
    indices = torch.empty((total, batch, channels), dtype=index_dtype, device=x.device)
    number = {combo: i for i, combo in enumerate(combos)}

    def table(buffer, i):
        return buffer[offsets[i]:offsets[i] + math.prod(sizes[i])].view(*sizes[i], batch, channels)

    table(values, 0).copy_(x.detach().permute(*range(2, d + 2), 0, 1))
    plane = torch.arange(math.prod(size), device=x.device, dtype=index_dtype)
    table(indices, 0).copy_(plane.view(*size, 1, 1))
    for i, combo in enumerate(combos[1:], start=1):
        axis = max(a for a in range(d) if combo[a] > 0)
        source = number[combo[:axis] + (combo[axis] - 1,) + combo[axis + 1:]]
        half, length = 1 << (combo[axis] - 1), sizes[i][axis]
        low_v, low_i = table(values, source), table(indices, source)
        a, b = low_v.narrow(axis, 0, length), low_v.narrow(axis, half, length)
        torch.maximum(a, b, out=table(values, i))
        # Integer select: ia + (ib - ia) * [b > a] (where, and arithmetic with a boolean,
        # take slow paths on CPU); strict '>': the lower position keeps ties.
        ia, ib = low_i.narrow(axis, 0, length), low_i.narrow(axis, half, length)
        better = torch.gt(b, a, out=torch.empty(ia.shape, dtype=index_dtype, device=x.device))
        torch.add(ia, (ib - ia) * better, out=table(indices, i))
    return values, indices, offsets, sizes


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
    d = spatial_rank(x, "roi_max_pool")
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
    with torch.no_grad():
        table_values, table_indices, offsets, sizes = _sparse_tables(x, levels)
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
            low = starts[axis].clamp_max(size[axis] - 1)
            high = torch.where(length > 0, ends[axis] - (1 << level), low)
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
        # Row of (position, image) in the (P * N, C) view of the tables.
        rows = torch.stack(corners, dim=-1).reshape(count, -1) * x.shape[0] + index.view(-1, 1)
        bins_count, corner_count = math.prod(output_size), 1 << d
        found = table_values.view(-1, channels)[rows.view(-1)]
        found = found.view(count, bins_count, corner_count, channels)
        origin = table_indices.view(-1, channels)[rows.view(-1)]
        origin = origin.view(count, bins_count, corner_count, channels)
        best, where = found[:, :, 0], origin[:, :, 0]
        for corner in range(1, corner_count):
            value, at = found[:, :, corner], origin[:, :, corner]
            better = torch.gt(value, best, out=torch.empty_like(where))
            where = where + (at - where) * better
            best = torch.maximum(best, value)
        # Flat index into x of each output's maximum: ((b * C + c) * prod(S) + p).
        plane = math.prod(size)
        channel = torch.arange(channels, device=device).view(1, 1, channels)
        flat = (index.view(-1, 1, 1) * channels + channel) * plane + where.long()
    # Only the output is differentiated: a gather, whose backward scatters K * C * prod(n).
    out = x.reshape(-1)[flat].transpose(1, 2).reshape(count, channels, *output_size)
    if not bool(valid.all()):
        out = out * valid.unsqueeze(1).to(out.dtype)
    return out
