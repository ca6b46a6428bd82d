"""Tiled convolution (Gregor and LeCun 2010; Goodfellow et al. 2016, eq. 9.10), in 1-D, 2-D
and 3-D.

``t`` kernel stacks are cycled through along each spatial dimension: output ``(j, k)`` uses
kernel stack ``(j % t_0, k % t_1)``

    ``Z[i, j, k] = sum_{l, m, n} V[l, j * s + m * d, k * s + n * d] K[j % t_0, k % t_1, i, l, m, n]``

``t = 1`` is an ordinary convolution and ``t`` equal to the output size a locally
connected layer (:func:`cnnkit.functional.locally_connected` with the same weight tensor).

Fast path: the outputs that share a kernel stack form a regular sub-grid (every ``t``-th
position from offset ``r``), and that sub-grid is an ordinary convolution with stride
``S * t`` of the input shifted by ``r * S``. So the layer runs ``prod(t)`` strided
convolutions, each computing ``1 / prod(t)`` of the output, and interleaves them: the same
multiply-adds as one convolution of that shape. A custom autograd Function runs the
backward pass the same way (one ``convolution_backward`` per offset) and adds each
offset's input gradient into one shared buffer, instead of letting autograd build a
zero-filled input-sized gradient for every offset's input slice.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch.autograd.function import once_differentiable

from .._validation import ShapeError
from . import shapes
from .shapes import check_tiles
from .conv import _CONV, conv_arguments, pad

__all__ = ["tiled_as_locally_connected", "tiled_conv"]


@dataclass(frozen=True)
class _Plan:
    tiles: tuple[int, ...]
    stride: tuple[int, ...]  # S * t: the stride of each offset's convolution
    dilation: tuple[int, ...]
    groups: int
    step: tuple[int, ...]  # S: input shift from one offset to the next
    reach: tuple[int, ...]  # input span of one offset's convolution

    def offsets(self):
        """``(offset, input window, output sub-grid)`` for every kernel stack."""
        for offset in itertools.product(*(range(t) for t in self.tiles)):
            window = (slice(None), slice(None)) + tuple(
                slice(r * s, r * s + span) for r, s, span in zip(offset, self.step, self.reach))
            grid = (slice(None), slice(None)) + tuple(
                slice(r, None, t) for r, t in zip(offset, self.tiles))
            yield offset, window, grid


class _TiledFn(torch.autograd.Function):
    """``xp (N, C, *P), weight (*t, C_out, C/g, *K) -> (N, C_out, *(t * ceil(O / t)))``."""

    @staticmethod
    def forward(ctx, xp, weight, plan, out_size):
        conv = _CONV[xp.dim() - 2]
        result = xp.new_empty(xp.shape[0], weight.shape[len(plan.tiles)], *out_size)
        for offset, window, grid in plan.offsets():
            result[grid] = conv(xp[window], weight[offset], None, plan.stride, 0, plan.dilation,
                                plan.groups)
        ctx.save_for_backward(xp, weight)
        ctx.plan = plan
        return result

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        xp, weight = ctx.saved_tensors
        plan = ctx.plan
        need_x, need_w = ctx.needs_input_grad[:2]
        grad_x = torch.zeros_like(xp) if need_x else None
        grad_w = torch.empty_like(weight) if need_w else None
        zeros = [0] * (xp.dim() - 2)
        for offset, window, grid in plan.offsets():
            # Contiguous operands: convolution_backward would otherwise copy a strided
            # input once per gradient it computes.
            gx, gw, _ = torch.ops.aten.convolution_backward(
                grad[grid].contiguous(), xp[window].contiguous(), weight[offset].contiguous(),
                None, list(plan.stride),
                zeros, list(plan.dilation), False, zeros, plan.groups, [need_x, need_w, False])
            if need_x:
                grad_x[window] += gx
            if need_w:
                grad_w[offset] = gw
        return grad_x, grad_w, None, None


def tiled_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
               stride=1, padding=0, dilation=1, groups: int = 1, padding_mode: str = "zeros") -> torch.Tensor:
    """Tiled convolution, Goodfellow et al. 2016, eq. 9.10: ``t`` kernel stacks cycled through
    per dimension.

    Args:
        x: input ``(N, C_in, *W)``.
        weight: ``(*t, C_out, C_in / groups, *K)``; output location ``p`` uses
            ``weight[p % t]`` (``t`` may differ per dimension).
        bias: ``(C_out, *t)``, tiled like the kernels (Goodfellow et al. 2016, section 9.5),
            ``(C_out,)`` shared, or None.
        stride: int or one per dimension.
        padding: ``"valid"``, ``"same"``, ``"full"``, int, ints or ``(lo, hi)`` pairs.
        dilation: int or one per dimension.
        groups: channel groups (Goodfellow et al. 2016, fig. 9.15).
        padding_mode: ``zeros``, ``reflect``, ``replicate`` or ``circular``.

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)`` with
        ``O = floor((W + P_lo + P_hi - D * (K - 1) - 1) / S) + 1`` (as for a convolution);
        ``1 <= t <= O`` per dimension.

    Raises:
        ShapeError: ``t`` larger than the output, wrong input rank or channel count, bias of
            the wrong shape.
        ArgumentError: invalid stride, padding, dilation or groups.

    Example:
        >>> x = torch.randn(2, 3, 8, 8)
        >>> w = torch.randn(2, 2, 5, 3, 3, 3)  # t = (2, 2): four 5x3x3x3 kernel stacks
        >>> tiled_conv(x, w, padding="same").shape
        torch.Size([2, 5, 8, 8])
    """
    who = "tiled_conv"
    n = x.dim() - 2
    if n not in (1, 2, 3) or weight.dim() != 2 * n + 2:
        raise ShapeError(
            f"{who} expects an input (N, C, *spatial) with 1, 2 or 3 spatial dimensions and a "
            f"weight (*t, C_out, C_in / groups, *kernel) with twice as many plus 2 dimensions. "
            f"Received: input of shape {tuple(x.shape)}, weight.shape={tuple(weight.shape)}."
        )
    tiles = tuple(weight.shape[:n])
    out_channels, in_per_group = weight.shape[n], weight.shape[n + 1]
    kernel = tuple(weight.shape[n + 2:])
    _, stride, dilation, pairs, out = conv_arguments(
        x, n, out_channels, in_per_group, kernel, stride, padding, dilation, groups,
        padding_mode, who)
    check_tiles(tiles, out, "tiles")
    if bias is not None and tuple(bias.shape) not in ((out_channels,), (out_channels, *tiles)):
        raise ShapeError(
            f"{who}: bias must have shape {(out_channels, *tiles)} (tiled like the kernels) or "
            f"({out_channels},) (shared). Received: bias.shape={tuple(bias.shape)}."
        )
    # Every offset produces ceil(O / t) outputs; pad the high side so that the last offsets
    # have the input for theirs too, then crop the interleaved result back to O.
    per_offset = tuple(-(-o // t) for o, t in zip(out, tiles))
    spans = tuple(shapes.effective_kernel(k, d) for k, d in zip(kernel, dilation))
    need = tuple((t * m - 1) * s + e for t, m, s, e in zip(tiles, per_offset, stride, spans))
    padded = tuple(lo + w + hi for (lo, hi), w in zip(pairs, x.shape[2:]))
    # The extra high padding only feeds outputs past O, cropped below: zeros will do (and
    # cannot trip reflect's padding-smaller-than-input rule).
    xp = pad(pad(x, pairs, padding_mode), [(0, max(nd - p, 0)) for nd, p in zip(need, padded)])
    big_stride = tuple(s * t for s, t in zip(stride, tiles))
    reach = tuple((m - 1) * bs + e for m, bs, e in zip(per_offset, big_stride, spans))
    plan = _Plan(tiles, big_stride, dilation, groups, stride, reach)
    result = _TiledFn.apply(xp, weight, plan, tuple(m * t for m, t in zip(per_offset, tiles)))
    result = result[(slice(None), slice(None)) + tuple(slice(0, o) for o in out)]
    if bias is not None:
        if bias.dim() > 1:
            reps = (1,) + per_offset
            bias = bias.repeat(reps)[(slice(None),) + tuple(slice(0, o) for o in out)]
        else:
            bias = bias.view(-1, *([1] * n))
        result = result + bias
    return result


def tiled_as_locally_connected(weight: torch.Tensor, out_spatial) -> torch.Tensor:
    """The locally connected weight ``(*O, C_out, C_in/g, *K)`` equal to a tiled weight.

    Location ``p`` gets kernel stack ``p % t``; useful to check a tiled layer against the
    locally connected one, and to start a locally connected layer from a tiled one.

    Example:
        >>> tiled_as_locally_connected(torch.randn(2, 4, 1, 3), (5,)).shape
        torch.Size([5, 4, 1, 3])
    """
    n = len(out_spatial)
    tiles = weight.shape[:n]
    index = torch.meshgrid(*(torch.arange(o) % t for o, t in zip(out_spatial, tiles)), indexing="ij")
    return weight[index]

