"""WaveNet (van den Oord, Dieleman, Zen, Simonyan, Vinyals, Graves, Kalchbrenner, Senior and
Kavukcuoglu 2016), a Module built from cnnkit layers, and mu-law companding.

A WaveNet models a waveform one sample at a time: the output at time ``t`` is a 256-way
categorical distribution over the mu-law code of sample ``t + 1``, computed from samples
``1 .. t`` only. Causal convolutions (padding ``causal``) keep it from seeing the future,
and dilations doubling layer by layer (1, 2, 4, ..., 512, then again) make the receptive
field grow exponentially with depth (section 2.1). Each layer is a gated activation unit
``tanh(W_f * x) * sigmoid(W_g * x)`` (section 2.3) whose output goes, through 1x1
convolutions, both back into the layer's input (a residual connection) and into a sum of
skip connections over all layers (section 2.4, figure 4); the skip sum passes through ReLU,
a 1x1 convolution, ReLU and a 1x1 convolution to the 256 logits per time step.

Faithful: causal dilated convolutions of width 2, gated units, residual and skip
connections, the 256-way softmax over 8-bit mu-law codes (section 2.2). Simplified: the
input is the companded sample value itself (one channel in ``[-1, 1]``), not a one-hot
code (integer codes, as the bundled ``alsa_speech`` holds them, are decoded to it first); no conditioning on speakers or text; the network is sized small (2 stacks of 8
layers, 32 residual and 64 skip channels) for short signals.

The skip sum adds the outputs of every layer, which a sequential spec cannot express, so
the model is a Module; its layers are cnnkit layers (``cnnkit.summary(model, (1, T))``
lists them).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from .._validation import ArgumentError, ShapeError, positive_int
from ..layers import Conv1d, GatedConv1d, ReLU, Sequential
from ._parts import check_image_shape
from ._registry import register_model

__all__ = ["WaveNet", "mu_law_decode", "mu_law_encode", "next_sample_pairs", "wavenet"]


def mu_law_encode(x: torch.Tensor, levels: int = 256) -> torch.Tensor:
    """Companded and quantised: ``f(x) = sign(x) ln(1 + mu |x|) / ln(1 + mu)`` with
    ``mu = levels - 1`` (van den Oord et al. 2016, eq. 3; ITU-T G.711), mapped from
    ``[-1, 1]`` to the codes ``0 .. levels - 1``.

    Args:
        x: samples in ``[-1, 1]`` (values outside are clipped).
        levels: number of codes (256: 8-bit mu-law).

    Shape:
        any -> the same shape, int64.

    Example:
        >>> mu_law_encode(torch.tensor([-1.0, 0.0, 0.01, 1.0])).tolist()
        [0, 128, 157, 255]
    """
    positive_int(levels, "levels")
    mu = levels - 1
    x = x.clamp(-1.0, 1.0)
    companded = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return ((companded + 1) / 2 * mu + 0.5).floor().long()


def mu_law_decode(codes: torch.Tensor, levels: int = 256) -> torch.Tensor:
    """The inverse of :func:`mu_law_encode`: codes back to samples in ``[-1, 1]``.

    Example:
        >>> x = torch.linspace(-1, 1, 9)
        >>> bool((mu_law_decode(mu_law_encode(x)) - x).abs().max() < 0.02)
        True
    """
    mu = levels - 1
    companded = 2 * codes.to(torch.get_default_dtype()) / mu - 1
    return torch.sign(companded) * torch.expm1(companded.abs() * math.log1p(mu)) / mu


def next_sample_pairs(codes: torch.Tensor, levels: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets for next-sample prediction from mu-law codes ``(N, T)``: the
    decoded samples ``1 .. T-1`` as ``(N, 1, T-1)`` inputs, and the codes ``2 .. T`` as the
    ``(N, T-1)`` targets (the output at ``t`` predicts the code at ``t + 1``).

    Example:
        >>> x, y = next_sample_pairs(torch.tensor([[128, 200, 255]]))
        >>> x.shape, y.tolist()
        (torch.Size([1, 1, 2]), [[200, 255]])
    """
    if codes.dim() != 2 or codes.shape[1] < 2:
        raise ShapeError(f"codes must be (N, T) with T >= 2. Received: codes of shape "
                         f"{tuple(codes.shape)}.", argument="codes")
    return mu_law_decode(codes[:, :-1], levels).unsqueeze(1), codes[:, 1:]


class WaveNet(nn.Module):
    """WaveNet: causal dilated gated convolutions with residual and skip connections, and
    a categorical output per time step (see the module doc).

    Args:
        num_classes: codes per sample (256 for 8-bit mu-law).
        input_shape: ``(channels, length)`` of an input signal.
        layers: gated layers per stack, with dilations 1, 2, 4, ... ``2 ** (layers - 1)``.
        stacks: how many times the dilation sequence repeats.
        residual_channels: channels of the residual stream (and of each gated unit).
        skip_channels: channels of the skip sum and of the output's hidden 1x1 layer.

    Attributes:
        name, input_shape, output_shape, loss, task: as a built spec has them (the task is
            ``segment``: a class, the next code, at every position).
        receptive_field: input samples that one output sees: ``stacks * (2 ** layers - 1)
            + 2``.

    Shape:
        ``(N, C, T)`` -> ``(N, num_classes, T)``; output ``t`` depends on inputs ``<= t``.
        A floating-point input holds samples in ``[-1, 1]``; an integer one holds mu-law
        codes ``0 .. num_classes - 1``, decoded first (:func:`mu_law_decode`).

    Example:
        >>> net = WaveNet(layers=4, stacks=1, residual_channels=8, skip_channels=8)
        >>> net(torch.zeros(2, 1, 100)).shape, net.receptive_field
        (torch.Size([2, 256, 100]), 17)
    """

    index_input = True  # it takes integer codes as they are (cnnkit predict keeps them)

    def __init__(self, num_classes: int = 256, input_shape=(1, 4096), layers: int = 8,
                 stacks: int = 2, residual_channels: int = 32, skip_channels: int = 64):
        super().__init__()
        for name, value in (("num_classes", num_classes), ("layers", layers), ("stacks", stacks),
                            ("residual_channels", residual_channels),
                            ("skip_channels", skip_channels)):
            positive_int(value, name)
        channels, length = check_image_shape(input_shape, "wavenet", dims=1)
        self.name, self.loss, self.task = "wavenet", "softmax_cross_entropy", "segment"
        self.levels = num_classes
        self.input_shape, self.output_shape = (channels, length), (num_classes, length)
        self.dilations = [2 ** i for _ in range(stacks) for i in range(layers)]
        self.receptive_field = sum(self.dilations) + 2
        r, s = residual_channels, skip_channels
        self.causal = Conv1d(channels, r, 2, padding="causal")
        self.gates = nn.ModuleList(GatedConv1d(r, r, 2, padding="causal", dilation=d)
                                   for d in self.dilations)
        self.residuals = nn.ModuleList(Conv1d(r, r, 1) for _ in self.dilations)
        self.skips = nn.ModuleList(Conv1d(r, s, 1) for _ in self.dilations)
        self.head = Sequential(ReLU(), Conv1d(s, s, 1), ReLU(), Conv1d(s, num_classes, 1),
                               path="head")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[1] != self.input_shape[0]:
            raise ShapeError(
                f"wavenet expects a 3-D input (N, {self.input_shape[0]}, T). Received: input of "
                f"shape {tuple(x.shape)}.")
        if not x.is_floating_point():  # mu-law codes: the samples they stand for
            x = mu_law_decode(x, self.levels).to(self.causal.weight.dtype)
        h = self.causal(x)
        skip = 0
        for gate, residual, to_skip in zip(self.gates, self.residuals, self.skips):
            z = gate(h)
            skip = skip + to_skip(z)
            h = h + residual(z)
        return self.head(skip)


@register_model
def wavenet(num_classes: int = 256, input_shape=(1, 4096), layers: int = 8, stacks: int = 2,
            residual_channels: int = 32, skip_channels: int = 64) -> WaveNet:
    """WaveNet: 138,144 parameters with the defaults (receptive field 512 samples).

    Args:
        num_classes: codes per sample (256: 8-bit mu-law).
        input_shape: ``(channels, length)``; any length works.
        layers, stacks, residual_channels, skip_channels: see :class:`WaveNet`.

    Shape:
        ``(N, 1, T)`` -> ``(N, num_classes, T)``.

    Raises:
        ArgumentError: a setting that is not a positive int.

    Example:
        >>> net = wavenet()
        >>> sum(p.numel() for p in net.parameters()), net.receptive_field
        (138144, 512)
    """
    if positive_int(num_classes, "num_classes") < 2:
        raise ArgumentError(f"num_classes must be at least 2 (the codes per sample). Received: "
                            f"num_classes={num_classes!r}.", argument="num_classes")
    return WaveNet(num_classes, input_shape, layers, stacks, residual_channels, skip_channels)
