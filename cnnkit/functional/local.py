"""Locally connected layers (unshared convolution, Goodfellow et al. 2016, eq. 9.9) and their
transpose.

A locally connected map is a convolution whose kernel changes with the output location:

    ``Z[i, j, k] = sum_{l, m, n} V[l, j * s + m * d, k * s + n * d] W[i, j, k, l, m, n]``

(zero-based, padded input ``V``). The weight is stored location-major,
``(*O, C_out, C_in / groups, *K)``, so that ``weight[j, k]`` is the ordinary kernel used at
output ``(j, k)`` (the ``W[i, j, k, l, m, n]`` of Goodfellow et al. 2016, eq. 9.9, is
``weight[j, k, i, l, m, n]``).

Fast path: a custom autograd Function around one batched matrix product per pass, with
the location (and channel group) as the batch: ``(N, prod(K) * C_in/g) @ (prod(K) * C_in/g,
C_out/g)`` per location. The input is first laid out spatial-major, ``(*P, N, C)`` (a copy
of the input, small next to the patches), so that gathering the patches is one strided
copy whose innermost run is a contiguous block of channels, and scattering the input
gradient back is ``prod(K)`` slice additions of contiguous channel blocks (a loop over the
kernel taps, never over samples or locations). That column order needs the weight
reordered, a copy the size of the weight; when the weight outweighs the patches
(``C_out / g > N``) the columns keep the weight's own (channel, tap) order instead and
the gather runs in short tap-sized blocks. Only the input and the weight are saved
for the backward pass, which gathers the patches again for the weight gradient. The
natural recipe (``F.unfold`` + ``einsum``) builds its patch matrix in the other layout,
transposes it for the product, keeps it alive between the passes and folds the input
gradient through another transpose; this one holds one patch-sized buffer at a time.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
from torch.autograd.function import once_differentiable

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, positive_int, to_tuple
from . import shapes
from .shapes import locally_connected_transpose_sizes
from .conv import check_input, check_same_dtype_device, conv_arguments, pad, spatial_rank

__all__ = ["locally_connected", "locally_connected_transpose"]


@dataclass(frozen=True)
class _Plan:
    """Geometry of one locally connected map: output size, kernel, stride, dilation, groups."""

    out: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    # Column order of the patch matrix: (tap, channel) gathers and scatters in contiguous
    # channel blocks but needs the weight reordered (a weight-sized copy); (channel, tap)
    # uses the weight as stored. The first wins when the patches outweigh the weight.
    taps_first: bool = True

    @property
    def n(self) -> int:
        return len(self.out)


def _spatial_major(xp: torch.Tensor) -> torch.Tensor:
    """``(N, C, *P)`` -> ``(*P, N, C)`` contiguous: channels innermost, location outermost."""
    n = xp.dim() - 2
    return xp.permute(*range(2, n + 2), 0, 1).contiguous()


def _channels_major(xs: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`_spatial_major`: ``(*P, N, C)`` -> ``(N, C, *P)`` contiguous."""
    n = xs.dim() - 2
    return xs.permute(n, n + 1, *range(n)).contiguous()


def _window_view(xs: torch.Tensor, plan: _Plan, tap=None) -> torch.Tensor:
    """A strided view of ``xs`` (*P, N, C) as ``(*O, G, N, *K, C/G)`` (or one tap's slice).

    Element ``[o..., g, b, k..., c]`` is ``xs[o * S + k * D, b, g * C/G + c]``; with
    ``plan.taps_first`` False the order is ``(*O, G, N, C/G, *K)``. The view overlaps itself
    (neighbouring windows share pixels), so it is only ever read, or written one tap at a
    time (``tap``: the kernel offsets; the view is then ``(*O, G, N, C/G)`` and does not
    overlap).
    """
    g = plan.groups
    *s_sp, s_n, s_c = xs.stride()
    cg = xs.shape[-1] // g
    size = (*plan.out, g, xs.shape[-2])
    stride = (*(s * st for s, st in zip(s_sp, plan.stride)), s_c * cg, s_n)
    offset = xs.storage_offset()
    if tap is not None:
        offset += sum(t * d * s for t, d, s in zip(tap, plan.dilation, s_sp))
        return xs.as_strided(size + (cg,), stride + (s_c,), offset)
    taps = tuple(s * d for s, d in zip(s_sp, plan.dilation))
    if plan.taps_first:
        return xs.as_strided(size + plan.kernel + (cg,), stride + taps + (s_c,), offset)
    return xs.as_strided(size + (cg,) + plan.kernel, stride + (s_c,) + taps, offset)


def _patches(xs: torch.Tensor, plan: _Plan) -> torch.Tensor:
    """Gather every window once: ``(prod(O) * G, N, prod(K) * C/G)`` (a single copy)."""
    batch = math.prod(plan.out) * plan.groups
    return _window_view(xs, plan).reshape(batch, xs.shape[-2], -1)


def _weight_matrix(weight: torch.Tensor, plan: _Plan) -> torch.Tensor:
    """``(*O, C_out, C_in/g, *K)`` -> ``(prod(O) * G, C_out/G, C_in/g * prod(K))``.

    With ``plan.taps_first`` the columns are reordered to ``prod(K) * C_in/g``, the order of
    :func:`_patches` (a copy the size of the weight); otherwise this is a view.
    """
    n, g = plan.n, plan.groups
    out_channels, in_per_group = weight.shape[n], weight.shape[n + 1]
    w = weight.reshape(math.prod(plan.out) * g, out_channels // g, in_per_group, -1)
    if plan.taps_first:
        w = w.transpose(2, 3)
    return w.reshape(w.shape[0], w.shape[1], -1)


def _weight_from_matrix(grad: torch.Tensor, plan: _Plan, weight_shape) -> torch.Tensor:
    """Inverse of :func:`_weight_matrix`: back to ``(*O, C_out, C_in/g, *K)``."""
    if plan.taps_first:
        in_per_group = weight_shape[plan.n + 1]
        grad = grad.reshape(grad.shape[0], grad.shape[1], -1, in_per_group).transpose(2, 3)
    return grad.reshape(weight_shape)


def _to_batches(y: torch.Tensor, plan: _Plan) -> torch.Tensor:
    """``(N, C_out, *O)`` -> ``(prod(O) * G, N, C_out/G)``: output rows per location batch."""
    g = plan.groups
    batch, channels = y.shape[:2]
    y = y.reshape(batch, g, channels // g, math.prod(plan.out))
    # contiguous: a batched product over a batch dimension of stride 1 takes a slow path.
    return y.permute(3, 1, 0, 2).contiguous().view(-1, batch, channels // g)


def _from_batches(z: torch.Tensor, plan: _Plan, batch: int) -> torch.Tensor:
    """Inverse of :func:`_to_batches`: ``(prod(O) * G, N, C/G)`` -> ``(N, C, *O)``."""
    g = plan.groups
    cg = z.shape[-1]
    z = z.reshape(math.prod(plan.out), g, batch, cg).permute(2, 1, 3, 0)
    return z.contiguous().view(batch, g * cg, *plan.out)


def _forward(xs, weight, plan):
    """Locally connected map of a spatial-major padded input: one gather, one product."""
    out = torch.bmm(_patches(xs, plan), _weight_matrix(weight, plan).transpose(1, 2))
    return _from_batches(out, plan, xs.shape[-2])


def _adjoint(y, weight, plan, padded_shape):
    """Transpose of :func:`_forward`, spatial-major ``(*P, N, C)``: scatter ``y``'s patches
    back one kernel tap at a time."""
    cols = torch.bmm(_to_batches(y, plan), _weight_matrix(weight, plan))
    g = plan.groups
    batch, channels = padded_shape[-2], padded_shape[-1]
    taps = math.prod(plan.kernel)
    if plan.taps_first:
        cols = cols.view(*plan.out, g, batch, taps, channels // g).movedim(-2, -1)
    else:
        cols = cols.view(*plan.out, g, batch, channels // g, taps)
    xs = cols.new_zeros(padded_shape)
    for index, tap in enumerate(itertools.product(*(range(k) for k in plan.kernel))):
        _window_view(xs, plan, tap).add_(cols[..., index])
    return xs


def _weight_grad(xs, grad_out, plan, weight_shape):
    """Gradient of the weight: per location, ``grad_out^T @ patches``."""
    grad = torch.bmm(_to_batches(grad_out, plan).transpose(1, 2), _patches(xs, plan))
    return _weight_from_matrix(grad, plan, weight_shape)


def _spatial_major_shape(shape) -> tuple[int, ...]:
    return (*shape[2:], shape[0], shape[1])


class _LocallyConnectedFn(torch.autograd.Function):
    """``xp (N, C, *P), weight -> (N, C_out, *O)``; saves the input (spatial-major) and the
    weight only (see the module docstring)."""

    @staticmethod
    def forward(ctx, xp, weight, plan):
        xs = _spatial_major(xp)
        ctx.save_for_backward(xs, weight)
        ctx.plan = plan
        return _forward(xs, weight, plan)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        xs, weight = ctx.saved_tensors
        plan = ctx.plan
        grad_out = grad_out.contiguous()
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = _channels_major(_adjoint(grad_out, weight, plan, xs.shape))
        if ctx.needs_input_grad[1]:
            grad_w = _weight_grad(xs, grad_out, plan, weight.shape)
        return grad_x, grad_w, None


class _LocallyConnectedTransposeFn(torch.autograd.Function):
    """``y (N, C_out, *O), weight -> (N, C_in, *P)``: the adjoint of the map above."""

    @staticmethod
    def forward(ctx, y, weight, plan, padded_shape):
        y = y.contiguous()
        ctx.save_for_backward(y, weight)
        ctx.plan = plan
        return _channels_major(_adjoint(y, weight, plan, _spatial_major_shape(padded_shape)))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        y, weight = ctx.saved_tensors
        plan = ctx.plan
        gs = _spatial_major(grad_out)
        grad_y = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_y = _forward(gs, weight, plan)
        if ctx.needs_input_grad[1]:
            grad_w = _weight_grad(gs, y, plan, weight.shape)
        return grad_y, grad_w, None, None


def _check_dtypes(x, weight, who):
    if not (x.is_floating_point() or x.is_complex()):
        raise ArgumentTypeError(
            f"{who} needs a floating-point input. Received: input of dtype {x.dtype}. "
            f"Convert it first, e.g. x.float()."
        )
    check_same_dtype_device(x, weight, who)


def _split_weight(weight: torch.Tensor, n: int, who: str):
    if weight.dim() != 2 * n + 2:
        raise ShapeError(
            f"{who}: a {n}-D input needs a weight of shape (*out_spatial, C_out, C_in / groups, "
            f"*kernel), {2 * n + 2} dimensions. Received: weight.shape={tuple(weight.shape)}."
        )
    return tuple(weight.shape[:n]), weight.shape[n], weight.shape[n + 1], tuple(weight.shape[n + 2:])




def _check_bias(bias, out_channels, spatial, who, what="output location"):
    if bias is None:
        return
    expected = (out_channels, *spatial)
    if tuple(bias.shape) != expected:
        raise ShapeError(
            f"{who}: bias must have shape {expected} (one per channel and {what}). "
            f"Received: bias.shape={tuple(bias.shape)}."
        )


def locally_connected(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                      stride=1, padding=0, dilation=1, groups: int = 1,
                      padding_mode: str = "zeros") -> torch.Tensor:
    """Locally connected map (unshared convolution), Goodfellow et al. 2016, eq. 9.9, in 1-D,
    2-D or 3-D.

    Every output location has its own kernel and its own bias: the adjacency of a
    convolution without its parameter sharing.

    Args:
        x: input ``(N, C_in, *W)``.
        weight: ``(*O, C_out, C_in / groups, *K)``; ``weight[j, k]`` is the kernel of output
            location ``(j, k)``. It fixes the output size ``O`` and so the input size.
        bias: ``(C_out, *O)`` (one per output unit, Goodfellow et al. 2016, section 9.5) or None.
        stride: int or one per dimension.
        padding: ``"valid"``, ``"same"``, ``"full"``, int, ints or ``(lo, hi)`` pairs.
        dilation: int or one per dimension.
        groups: channel groups: output group ``g`` sees only input group ``g`` (fig 9.15).
        padding_mode: ``zeros``, ``reflect``, ``replicate`` or ``circular``.

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)`` with
        ``O = floor((W + P_lo + P_hi - D * (K - 1) - 1) / S) + 1``, which must equal
        ``weight.shape[:d]``.

    Raises:
        ShapeError: an input whose output size is not the one the weight was built for,
            wrong channel count or rank, or a bias of the wrong shape.
        ArgumentError, ArgumentTypeError: invalid stride, padding, dilation, groups or dtype.

    Example:
        >>> x = torch.randn(2, 3, 6, 6)
        >>> w = torch.randn(4, 4, 8, 3, 3, 3)  # 4x4 outputs, 8 filters of 3x3x3 each
        >>> locally_connected(x, w).shape
        torch.Size([2, 8, 4, 4])
    """
    who = "locally_connected"
    n = spatial_rank(x, who)
    out_w, out_channels, in_per_group, kernel = _split_weight(weight, n, who)
    _check_dtypes(x, weight, who)
    _, stride, dilation, pairs, out = conv_arguments(
        x, n, out_channels, in_per_group, kernel, stride, padding, dilation, groups,
        padding_mode, who)
    if out != out_w:
        raise ShapeError(
            f"{who}: the weight has one kernel per output location and was built for an "
            f"output of size {out_w}, but an input of spatial size {tuple(x.shape[2:])} gives an output of "
            f"size {out}. Received: input of shape {tuple(x.shape)}, weight.shape="
            f"{tuple(weight.shape)}. Resize the input to the size the weight was built for."
        )
    _check_bias(bias, out_channels, out, who)
    plan = _Plan(out, kernel, stride, dilation, groups, out_channels // groups <= x.shape[0])
    xp = pad(x, pairs, padding_mode)
    result = _LocallyConnectedFn.apply(xp, weight, plan)
    if bias is not None:
        result = result + bias
    return result


def locally_connected_transpose(y: torch.Tensor, weight: torch.Tensor,
                                bias: torch.Tensor | None = None, stride=1, padding=0,
                                dilation=1, groups: int = 1, output_size=None) -> torch.Tensor:
    """Transpose (adjoint) of :func:`locally_connected`: its input gradient as a map.

    With the same ``weight``, stride, padding, dilation and groups,
    ``<locally_connected(x, w), y> == <x, locally_connected_transpose(y, w)>``. Like a
    transposed convolution (Goodfellow et al. 2016, eq. 9.13) it upsamples, each location
    with its own kernel. A stride ``S`` maps ``S`` input sizes onto one output size;
    ``output_size`` picks the forward input size (default: the smallest).

    Args:
        y: input ``(N, C_out, *O)`` (the forward map's output).
        weight: the forward map's weight ``(*O, C_out, C_in / groups, *K)``.
        bias: ``(C_in, *W)`` (one per unit of this output) or None.
        stride, padding, dilation, groups: those of the forward map.
        output_size: spatial size ``W`` of this output (the forward map's input).

    Shape:
        ``(N, C_out, *O)`` -> ``(N, C_in, *W)`` with
        ``W = (O - 1) * S - P_lo - P_hi + D * (K - 1) + 1 + r``, ``0 <= r < S``.

    Raises:
        ShapeError: ``y`` not of the size the weight was built for, or an ``output_size``
            that the forward map does not send onto it.

    Example:
        >>> w = torch.randn(4, 4, 8, 3, 3, 3)
        >>> locally_connected_transpose(torch.randn(2, 8, 4, 4), w).shape
        torch.Size([2, 3, 6, 6])
    """
    who = "locally_connected_transpose"
    n = spatial_rank(y, who)
    out_w, out_channels, in_per_group, kernel = _split_weight(weight, n, who)
    positive_int(groups, "groups")
    check_input(y, n, out_channels, who)
    if out_channels % groups:
        raise ArgumentError(
            f"the weight's C_out must be divisible by groups. Received: C_out={out_channels}, "
            f"groups={groups}."
        )
    _check_dtypes(y, weight, who)
    if tuple(y.shape[2:]) != out_w:
        raise ShapeError(
            f"{who}: the weight has one kernel per location and was built for inputs of "
            f"spatial size {out_w}. Received: input of spatial size {tuple(y.shape[2:])}. "
            f"Resize the input to {out_w}."
        )
    stride = to_tuple(stride, n, "stride")
    dilation = to_tuple(dilation, n, "dilation")
    padding = shapes.normalize_padding(padding, n)
    size, pairs = locally_connected_transpose_sizes(out_w, kernel, stride, padding, dilation,
                                                    output_size)
    in_channels = in_per_group * groups
    _check_bias(bias, in_channels, size, who, "output unit")
    # Here the patches are those of this output (C_in channels): compare their size with
    # the weight's as in locally_connected.
    plan = _Plan(out_w, kernel, stride, dilation, groups, out_channels // groups <= y.shape[0])
    # The padded-space extent that the windows reach; the forward map's input may extend
    # past the last window (floor in the output size), which receives no gradient.
    padded = tuple(max(lo + w + hi, (o - 1) * s + shapes.effective_kernel(k, d))
                   for (lo, hi), w, o, s, k, d in zip(pairs, size, out_w, stride, kernel, dilation))
    full = _LocallyConnectedTransposeFn.apply(y, weight, plan, (y.shape[0], in_channels, *padded))
    index = (slice(None), slice(None)) + tuple(slice(lo, lo + w) for (lo, _), w in zip(pairs, size))
    result = full[index]
    if bias is not None:
        result = result + bias
    return result
