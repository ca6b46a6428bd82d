"""Fractional max pooling (Graham 2014): shrink by a factor alpha in (1, 2), 1-D to 3-D.

Along each spatial dimension the pooling regions are delimited by an increasing integer
sequence ``0 = a_0 < a_1 < ... < a_O = L`` whose steps ``a_i - a_{i-1}`` are 1 or 2:

* disjoint regions ``[a_{i-1}, a_i - 1]`` (``L = W``, every input in one region),
* overlapping regions ``[a_{i-1}, a_i]`` (``L = W - 1``, neighbours share a boundary).

The sequence is

* random: a random permutation of ``L - O`` steps of 2 and ``2 O - L`` steps of 1;
* pseudo-random: the paper's ``a_i = ceil(alpha (i + u))`` with ``alpha = L / O`` and
  ``u ~ U(0, 1)``, shifted to start at 0. It is computed in exact integer arithmetic with
  ``u`` on a grid of ``2^20`` values, so the steps are exactly 1 or 2 and ``a_O = L``.

Each example draws its own sequences (shared by its channels); a ``generator`` makes them
reproducible, and explicit ``regions`` fix them (tests, model averaging over chosen draws).

The pooled regions are products of per-dimension intervals, and max is separable, so the
winner is found one dimension at a time without autograd (at most 3 gathered candidates
per output and a running comparison, carrying the winners' flat input indices); the output
is then one gather from the input, so the backward pass is one scatter of the output's
size. The gradient reaches the first maximum in row-major order.
"""

from __future__ import annotations

import math

import torch

from .._validation import ArgumentError, ArgumentTypeError, ShapeError
from . import shapes
from .conv import spatial_rank

__all__ = ["fractional_max_pool", "fractional_regions"]

_GRID = 1 << 20  # resolution of the pseudo-random offset u


def fractional_regions(size: int, out: int, batch: int = 1, *, overlapping: bool = False,
                       pseudo_random: bool = True, generator=None, u=None, device=None):
    """Region boundaries ``a_0 .. a_O`` of fractional max pooling along one dimension.

    Args:
        size: input length ``W``.
        out: output length ``O``, with ``ceil(L / 2) <= O <= L``.
        batch: number of independent sequences (one per example).
        overlapping: boundaries end at ``L = W - 1`` instead of ``L = W``.
        pseudo_random: the paper's ``ceil(alpha (i + u))`` sequence; else a random
            permutation of the steps.
        generator: ``torch.Generator`` (on ``device``) for the draws.
        u: explicit offsets in [0, 1) for the pseudo-random sequence, a float or ``(batch,)``.
        device: where the result lives.

    Returns:
        int64 tensor ``(batch, O + 1)``.

    Raises:
        ShapeError: ``out`` outside ``[ceil(L / 2), L]``.

    Example:
        >>> fractional_regions(10, 6, u=0.5)   # alpha = 10 / 6
        tensor([[ 0,  2,  4,  5,  7,  9, 10]])
        >>> fractional_regions(10, 6, overlapping=True, u=0.0)
        tensor([[0, 2, 3, 5, 6, 8, 9]])
    """
    shapes.fractional_pool_output_shape((size,), output_size=out, overlapping=overlapping)
    span = shapes.fractional_span(size, overlapping)
    if pseudo_random:
        if u is None:
            r = torch.randint(0, _GRID, (batch, 1), generator=generator, device=device)
        else:
            u = torch.as_tensor(u, dtype=torch.float64, device=device).reshape(-1, 1)
            if bool(((u < 0) | (u >= 1)).any()):
                raise ArgumentError(f"u must lie in [0, 1). Received: u={u.flatten().tolist()}.")
            r = (u * _GRID).floor().long().expand(batch, 1)
        i = torch.arange(out + 1, device=r.device).view(1, -1)
        numerator = span * (i * _GRID + r)
        a = -((-numerator) // (out * _GRID))  # exact ceil(alpha * (i + u))
        return a - a[:, :1]
    twos = span - out
    keys = torch.rand((batch, out), generator=generator, device=device)
    rank = keys.argsort(-1).argsort(-1)
    steps = 1 + (rank < twos).long()
    return torch.cat([steps.new_zeros(batch, 1), steps.cumsum(-1)], dim=1)


def _check_regions(regions, n, batch, size, out, overlapping):
    if not isinstance(regions, (list, tuple)) or len(regions) != n:
        raise ArgumentTypeError(
            f"regions must be a sequence of {n} tensors (one per spatial dimension). "
            f"Received: regions={regions!r}."
        )
    checked = []
    for axis, (a, w, o) in enumerate(zip(regions, size, out)):
        a = torch.as_tensor(a)
        if a.dim() == 1:
            a = a.unsqueeze(0)
        span = shapes.fractional_span(w, overlapping)
        if a.dim() != 2 or a.shape[1] != o + 1 or a.shape[0] not in (1, batch):
            raise ShapeError(
                f"regions[{axis}] must have shape ({batch}, {o + 1}) or ({o + 1},). "
                f"Received: shape {tuple(a.shape)}."
            )
        steps = a[:, 1:] - a[:, :-1]
        if bool((a[:, 0] != 0).any() or (a[:, -1] != span).any() or (steps < 1).any()
                or (steps > 2).any()):
            raise ArgumentError(
                f"regions[{axis}] must run from 0 to {span} in steps of 1 or 2. "
                f"Received: {a.tolist()}."
            )
        checked.append(a.long())
    return checked


def _candidates(a, overlapping):
    """Per region: its first index and its inclusive last index, ``(B, O)`` each."""
    starts, ends = a[:, :-1], a[:, 1:]
    return starts, (ends if overlapping else ends - 1)


def _pool_axis(values, flat, a, axis, overlapping, step, index_dtype):
    """Max over the regions delimited by ``a`` (``(B, O + 1)``) along ``axis``.

    ``flat`` holds, for every entry of ``values``, the flat input index it came from (None
    before the first pass); the result carries the winners' flat indices, ``step`` being
    the flat stride of ``axis`` in the input.
    """
    starts, last = _candidates(a, overlapping)
    view = [1] * values.dim()
    view[0], view[axis] = a.shape[0], a.shape[1] - 1
    shape = list(values.shape)
    shape[axis] = a.shape[1] - 1
    best = where = None
    for t in range(3 if overlapping else 2):
        coord = torch.minimum(starts + t, last).view(view)
        index = coord.expand(shape)
        value = values.gather(axis, index)
        origin = (coord * step).to(index_dtype)
        if flat is not None:
            origin = flat.gather(axis, index) + origin
        if best is None:
            best, where = value, origin
            continue
        # Strict '>' keeps the earlier candidate on ties: the first maximum wins. Integer
        # select, since torch.where takes a slow path on CPU.
        better = torch.gt(value, best, out=torch.empty(shape, dtype=index_dtype,
                                                       device=values.device))
        where = where + (origin - where) * better
        best = torch.maximum(best, value)
    return best, where


def fractional_max_pool(x, ratio=None, output_size=None, *, overlapping: bool = False,
                        pseudo_random: bool = True, regions=None, generator=None,
                        return_regions: bool = False):
    """Fractional max pooling (Graham 2014) with random or pseudo-random regions.

    Args:
        x: input ``(N, C, *W)`` with 1, 2 or 3 spatial dimensions.
        ratio: pooling ratio ``alpha`` in (1, 2), one or one per dimension; the output size
            is ``ceil(L / alpha)``. Give this or ``output_size``.
        output_size: explicit output size, ``ceil(L / 2) <= O <= L`` per dimension.
        overlapping: regions ``[a_{i-1}, a_i]`` (overlapping) instead of
            ``[a_{i-1}, a_i - 1]`` (disjoint).
        pseudo_random: ``ceil(alpha (i + u))`` sequences; False draws random permutations.
        regions: explicit boundaries, one int tensor per dimension, ``(N, O + 1)`` or
            ``(O + 1,)`` (see :func:`fractional_regions`); drawn when None.
        generator: ``torch.Generator`` (on ``x``'s device) for the draws.
        return_regions: also return the boundaries used.

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *O)``, ``O = ceil(L / alpha)``, ``L = W`` (disjoint) or
        ``W - 1`` (overlapping).

    Raises:
        ArgumentError: a ratio outside (1, 2), both or neither of ratio / output_size,
            malformed explicit regions.
        ShapeError: wrong input rank, an unreachable output size.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> fractional_max_pool(torch.randn(2, 3, 25, 25), 1.4, generator=g).shape
        torch.Size([2, 3, 18, 18])
        >>> x = torch.arange(5.).view(1, 1, 5)
        >>> fractional_max_pool(x, output_size=3, regions=[torch.tensor([0, 2, 4, 5])])
        tensor([[[1., 3., 4.]]])
    """
    n = spatial_rank(x, "fractional_max_pool")
    size = tuple(x.shape[2:])
    out = shapes.fractional_pool_output_shape(size, ratio, output_size, overlapping)
    batch = x.shape[0]
    if regions is None:
        regions = [fractional_regions(w, o, batch, overlapping=overlapping,
                                      pseudo_random=pseudo_random, generator=generator,
                                      device=x.device)
                   for w, o in zip(size, out)]
    else:
        regions = [a.to(x.device) for a in _check_regions(regions, n, batch, size, out, overlapping)]
    with torch.no_grad():
        # Find each output's winner: last dimension first, so that ties resolve to the first
        # maximum in row-major order; each pass carries the flat input index of its values.
        values, flat = x.detach(), None
        # int32 indices halve the traffic; planes of 2^31 elements or more need int64.
        index_dtype = torch.int32 if math.prod(size) < 2 ** 31 else torch.int64
        for axis in reversed(range(n)):
            step = math.prod(size[axis + 1:])
            values, flat = _pool_axis(values, flat, regions[axis], axis + 2, overlapping, step,
                                      index_dtype)
        flat = flat.expand(values.shape).long()
    # Only the output is differentiated: a gather, whose backward scatters N * C * prod(O).
    result = x.reshape(*x.shape[:2], -1).gather(2, flat.reshape(*flat.shape[:2], -1))
    result = result.view(*x.shape[:2], *out)
    return (result, regions) if return_regions else result
