"""DropConnect (Wan et al. 2013): drop weights, not units.

A regulariser listed by the Wikipedia article "Convolutional neural network".

In training, each weight is kept with probability ``1 - p`` and set to zero otherwise:
``r = a((M * W) v + b)`` with ``M_ij ~ Bernoulli(1 - p)``. The mask is drawn

* per example (``per="example"``, the paper's rule): every sample of the batch sees its
  own masked weights. Dense: the masked weights ``(N, out, in)`` multiply the inputs in one
  batched matrix product. Convolution: the batch is folded into the channel groups
  (input ``(1, N * C, *W)``, weights ``(N * C_out, C_in / g, *K)``, ``groups = N * g``),
  so one grouped convolution applies ``N`` different kernels;
* per batch (``per="batch"``): one mask per forward call, shared by the batch; the cost of
  a plain layer.

The mask is a boolean tensor. Per-example dense layers process the batch in chunks of a few
MiB of masked weights (cache-sized on CPU, larger on accelerators) in a custom autograd
function that saves only the mask: one byte per weight and example. Per-example
convolutions and per-batch masks multiply the weights by the mask in the weights' dtype.

The bias is never masked (the paper folds it into ``W``; most implementations keep it).

Inference (``training=False``):

* ``inference="mean"``: the expected pre-activation, ``a((1 - p) W v + b)``;
* ``inference="gaussian"``: the paper's moment matching. The pre-activation ``u`` is a sum
  of many independent terms, so ``u ~ N(mu, sigma^2)`` with
  ``mu = (1 - p) W v + b`` and ``sigma^2 = p (1 - p) (W * W)(v * v)``; draw ``samples``
  values of ``u``, apply the activation and average. With no activation (linear) the
  average is exactly ``mu`` and is returned without sampling.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, one_of, positive_int
from .activation import ACTIVATIONS
from .conv import _check_bias, _rank_of_weight, check_input, conv

__all__ = [
    "DROPCONNECT_INFERENCE",
    "DROPCONNECT_PER",
    "dropconnect_conv",
    "dropconnect_linear",
    "dropconnect_mask",
]

DROPCONNECT_PER = ("example", "batch")
# Values per chunk of masked weights: a few MiB, cache-sized on CPU; more on accelerators.
_BUDGET_CPU = 1 << 19
_BUDGET_GPU = 1 << 26
DROPCONNECT_INFERENCE = ("mean", "gaussian")


def _check_p(p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
        raise ArgumentError(
            f"p must be a number in [0, 1) (the probability of dropping a weight). "
            f"Received: p={p!r}."
        )
    return float(p)


def resolve_activation(activation):
    """``None`` (identity), a name from ``ACTIVATIONS`` or a callable -> a callable or None."""
    if activation is None or callable(activation):
        return activation
    if isinstance(activation, str):
        return ACTIVATIONS[one_of(activation, tuple(ACTIVATIONS), "activation")]
    raise ArgumentTypeError(
        f"activation must be None, a name ({', '.join(ACTIVATIONS)}) or a callable. "
        f"Received: activation={activation!r} ({type(activation).__name__})."
    )


def _chunk_rows(shape, device) -> int:
    """Rows (first dimension) per chunk so that a chunk holds about ``_BUDGET`` values."""
    per_row = max(math.prod(shape[1:]), 1)
    budget = _BUDGET_GPU if torch.device(device or "cpu").type != "cpu" else _BUDGET_CPU
    return max(budget // per_row, 1)


def dropconnect_mask(shape, p: float, *, generator=None, device=None) -> torch.Tensor:
    """A boolean keep-mask: each entry True with probability ``1 - p`` (``u < 1 - p`` for
    uniform ``u``), drawn in chunks along the first dimension so that the uniforms never
    need more than a few MiB at once.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> dropconnect_mask((2, 3), 0.5, generator=g).dtype
        torch.bool
    """
    p = _check_p(p)
    shape = tuple(shape)
    mask = torch.empty(shape, dtype=torch.bool, device=device)
    if not shape:
        return torch.lt(torch.rand((), generator=generator, device=device), 1 - p, out=mask)
    rows = _chunk_rows(shape, device)
    for start in range(0, shape[0], rows):
        part = mask[start:start + rows]
        torch.lt(torch.rand(part.shape, generator=generator, device=device), 1 - p, out=part)
    return mask


class _PerExampleLinear(torch.autograd.Function):
    """``y_n = x_n (M_n * W)^T`` for every example ``n``, in chunks of examples.

    Autograd through ``bmm(x, where(M, W, 0))`` would keep the ``(N, out, in)`` masked
    weights and stream them through memory several times; here a chunk of examples at a
    time forms its masked weights (a few MiB, cache-resident on CPU), and only the boolean
    mask is saved for the backward pass:
    ``dx_n = dy_n (M_n * W)``, ``dW = sum_n M_n * (dy_n^T x_n)``.
    """

    @staticmethod
    def forward(ctx, x, weight, mask):
        batch = x.shape[0]
        rows = _chunk_rows(mask.shape, x.device)
        out = x.new_empty(batch, x.shape[1], weight.shape[0])
        for start in range(0, batch, rows):
            part = slice(start, start + rows)
            torch.bmm(x[part], (weight * mask[part].to(weight.dtype)).transpose(1, 2), out=out[part])
        ctx.save_for_backward(x, weight, mask)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, weight, mask = ctx.saved_tensors
        grad = grad.contiguous()
        dx = torch.empty_like(x) if ctx.needs_input_grad[0] else None
        dw = torch.zeros_like(weight) if ctx.needs_input_grad[1] else None
        rows = _chunk_rows(mask.shape, x.device)
        for start in range(0, x.shape[0], rows):
            part = slice(start, start + rows)
            if dx is not None:
                torch.bmm(grad[part], weight * mask[part].to(weight.dtype), out=dx[part])
            if dw is not None:
                dw += (torch.bmm(grad[part].transpose(1, 2), x[part]) * mask[part].to(dw.dtype)).sum(0)
        return dx, dw, None


def _check_args(p, per, inference, samples):
    p = _check_p(p)
    one_of(per, DROPCONNECT_PER, "per")
    one_of(inference, DROPCONNECT_INFERENCE, "inference")
    positive_int(samples, "samples")
    return p


def _check_mask(mask, expected: dict, who: str) -> str:
    """Which kind an explicit mask is (``example`` / ``batch``), from its shape."""
    if not isinstance(mask, torch.Tensor):
        raise ArgumentTypeError(f"{who}: mask must be a boolean tensor. Received: mask={mask!r}.")
    for kind, shape in expected.items():
        if tuple(mask.shape) == shape:
            return kind
    listed = " or ".join(f"{s} ({k})" for k, s in expected.items())
    raise ShapeError(
        f"{who}: mask must have shape {listed}. Received: mask.shape={tuple(mask.shape)}."
    )


def _gaussian_average(mu, var, act, samples, generator):
    """Average ``act(u)`` over ``samples`` draws of ``u ~ N(mu, var)`` (one batched draw)."""
    if act is None:
        return mu
    eps = torch.randn((samples, *mu.shape), dtype=mu.dtype, device=mu.device, generator=generator)
    return act(mu + var.clamp_min(0).sqrt() * eps).mean(0)


def dropconnect_linear(x, weight, bias=None, p: float = 0.5, *, training: bool = True,
                       per: str = "example", inference: str = "mean", activation=None,
                       samples: int = 100, mask=None, generator=None):
    """Fully connected layer with DropConnect: ``a((M * W) x + b)`` in training.

    Args:
        x: input ``(N, *, in_features)``; examples are indexed by the first dimension.
        weight: ``(out_features, in_features)``.
        bias: ``(out_features,)`` or None; never masked.
        p: probability of dropping each weight, in [0, 1).
        training: sample masks (True) or apply the inference rule (False).
        per: ``"example"`` (a fresh mask per sample) or ``"batch"`` (one mask per call).
        inference: ``"mean"`` (weights scaled by ``1 - p``) or ``"gaussian"`` (moment
            matching; see the module docstring).
        activation: None, a name (``relu``...) or a callable applied to the pre-activation;
            needed inside the layer for the Gaussian rule, which averages after it.
        samples: number of Gaussian draws ``Z`` for ``inference="gaussian"``.
        mask: an explicit boolean keep-mask, ``(N, out, in)`` (per example) or
            ``(out, in)`` (per batch), instead of sampling one (tests, replay).
        generator: ``torch.Generator`` for the masks and the Gaussian draws.

    Shape:
        ``(N, *, in_features)`` -> ``(N, *, out_features)``. Per-example training does
        ``N * out * in`` work (the paper's cost) and keeps ``N * out * in`` bytes of mask
        for the backward pass.

    Raises:
        ArgumentError: ``p`` outside [0, 1), unknown ``per`` / ``inference``.
        ShapeError: input features differ from the weight's, or a mask of the wrong shape.

    Example:
        >>> x, w = torch.ones(4, 3), torch.ones(2, 3)
        >>> dropconnect_linear(x, w, p=0.5, training=False)  # mean rule: 0.5 * 3
        tensor([[1.5000, 1.5000],
                [1.5000, 1.5000],
                [1.5000, 1.5000],
                [1.5000, 1.5000]])
        >>> g = torch.Generator().manual_seed(0)
        >>> dropconnect_linear(x, w, p=0.5, generator=g).shape
        torch.Size([4, 2])
    """
    p = _check_args(p, per, inference, samples)
    act = resolve_activation(activation)
    if weight.dim() != 2:
        raise ShapeError(
            f"dropconnect_linear expects weight (out_features, in_features). "
            f"Received: weight.shape={tuple(weight.shape)}."
        )
    out_features, in_features = weight.shape
    if x.dim() < 2 or x.shape[-1] != in_features:
        raise ShapeError(
            f"dropconnect_linear expects an input (N, *, {in_features}). Received: input of "
            f"shape {tuple(x.shape)}. Add a batch dimension, or flatten to {in_features} features."
        )
    # An empty batch has nothing to mask: the unmasked layer gives the right shape and graph.
    if not training or (p == 0 and mask is None) or x.shape[0] == 0:
        if not training and inference == "gaussian" and p > 0:
            mu = F.linear(x, weight * (1 - p), bias)
            var = F.linear(x * x, weight * weight) * (p * (1 - p))
            return _gaussian_average(mu, var, act, samples, generator)
        out = F.linear(x, weight * (1 - p) if not training else weight, bias)
        return act(out) if act is not None else out
    batch = x.shape[0]
    if mask is None:
        shape = (batch, out_features, in_features) if per == "example" else tuple(weight.shape)
        mask = dropconnect_mask(shape, p, generator=generator, device=weight.device)
    else:
        per = _check_mask(mask, {"example": (batch, out_features, in_features),
                                 "batch": (out_features, in_features)}, "dropconnect_linear")
        mask = mask.to(device=weight.device, dtype=torch.bool)
    if per == "batch":
        out = F.linear(x, weight * mask.to(weight.dtype), bias)
    else:
        # (N, M, in) @ (N, in, out): each sample multiplies its own masked weights.
        flat = x.reshape(batch, -1, in_features).contiguous()
        out = _PerExampleLinear.apply(flat, weight, mask).reshape(*x.shape[:-1], out_features)
        if bias is not None:
            out = out + bias
    return act(out) if act is not None else out


def _add_bias(out, bias, kind):
    if kind is None:
        return out
    if kind == "shared":
        return out + bias.view(1, -1, *([1] * (out.dim() - 2)))
    return out + bias


def dropconnect_conv(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1,
                     p: float = 0.5, *, training: bool = True, per: str = "example",
                     inference: str = "mean", activation=None, samples: int = 100,
                     padding_mode: str = "zeros", flip: bool = False, mask=None,
                     generator=None):
    """N-d convolution with DropConnect on the kernel weights (1-D, 2-D or 3-D).

    In training each kernel weight is kept with probability ``1 - p``; with
    ``per="example"`` every sample convolves with its own masked kernel (one grouped
    convolution over the folded batch), with ``per="batch"`` the batch shares one mask.

    Args:
        x: input ``(N, C_in, *W)``.
        weight: ``(C_out, C_in / groups, *K)``.
        bias: ``(C_out,)``, ``(C_out, *O)`` (untied) or None; never masked.
        stride, padding, dilation, groups, padding_mode, flip: as for
            :func:`cnnkit.functional.conv`.
        p, training, per, inference, activation, samples, generator: as for
            :func:`dropconnect_linear`.
        mask: explicit boolean keep-mask ``(N, *weight.shape)`` or ``weight.shape``.

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``, ``O`` as for :func:`conv`. Per-example
        training holds ``N`` masked kernels (``N * C_out * C_in / g * prod(K)`` values).

    Raises:
        ArgumentError: ``p`` outside [0, 1), unknown ``per`` / ``inference``.
        ShapeError: as for :func:`conv`, or a mask of the wrong shape.

    Example:
        >>> x, w = torch.ones(2, 1, 5, 5), torch.ones(3, 1, 3, 3)
        >>> dropconnect_conv(x, w, p=0.5, training=False)[0, 0, 0, 0]
        tensor(4.5000)
        >>> dropconnect_conv(x, w, padding="same", p=0.5).shape
        torch.Size([2, 3, 5, 5])
    """
    p = _check_args(p, per, inference, samples)
    act = resolve_activation(activation)
    n = _rank_of_weight(weight)
    positive_int(groups, "groups")
    out_channels = weight.shape[0]
    check_input(x, n, weight.shape[1] * groups, "dropconnect_conv")
    options = dict(stride=stride, padding=padding, dilation=dilation, padding_mode=padding_mode,
                   flip=flip)
    if not training or (p == 0 and mask is None) or x.shape[0] == 0:
        scale = 1 - p if not training else 1.0
        mu = conv(x, weight * scale if scale != 1 else weight, None, groups=groups, **options)
        kind = _check_bias(bias, out_channels, mu.shape[2:], "dropconnect_conv")
        mu = _add_bias(mu, bias, kind)
        if not training and inference == "gaussian" and p > 0:
            var = conv(x * x, weight * weight, None, groups=groups, **options) * (p * (1 - p))
            return _gaussian_average(mu, var, act, samples, generator)
        return act(mu) if act is not None else mu
    batch = x.shape[0]
    if mask is None:
        shape = (batch, *weight.shape) if per == "example" else tuple(weight.shape)
        mask = dropconnect_mask(shape, p, generator=generator, device=weight.device)
    else:
        per = _check_mask(mask, {"example": (batch, *weight.shape), "batch": tuple(weight.shape)},
                          "dropconnect_conv")
        mask = mask.to(device=weight.device, dtype=torch.bool)
    masked = weight * mask.to(weight.dtype)
    if per == "batch":
        out = conv(x, masked, None, groups=groups, **options)
    else:
        # Fold the batch into the groups: sample i's channels meet only sample i's kernels.
        folded = x.reshape(1, batch * x.shape[1], *x.shape[2:])
        kernels = masked.reshape(batch * out_channels, *weight.shape[1:])
        out = conv(folded, kernels, None, groups=batch * groups, **options)
        out = out.reshape(batch, out_channels, *out.shape[2:])
    out = _add_bias(out, bias, _check_bias(bias, out_channels, out.shape[2:], "dropconnect_conv"))
    return act(out) if act is not None else out
