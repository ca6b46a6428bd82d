"""The recurrent convolutional network for scene labelling of Pinheiro & Collobert 2014
(*Recurrent convolutional neural networks for scene labeling*, ICML).

One convolutional network ``f`` is applied several times with the same weights: step 1
sees the image and empty label planes, each later step sees the image and the previous
step's class probabilities, and refines them. Each application widens the context a pixel's
label depends on by ``f``'s receptive field, without new weights.

Faithful: the same weights at every step, the image and the previous step's label planes as
the input of the next, per-pixel class scores out, every step's output usable (the figure
here is IoU after each step). Simplified: ``f`` is ``same``-padded convolutions at the
input's resolution (the paper pools and feeds each step a downscaled image); the first step
sees zero label planes; :meth:`RecurrentConvNet.loss` averages every step's per-pixel
cross-entropy (a choice made here, so that each step learns to refine the last).
It is a Module, not a spec: the spec cannot share weights between layers.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .._validation import positive_int
from ..spec import Network, build
from ._parts import check_image_shape, conv_relu
from ._registry import register_model

__all__ = ["RecurrentConvNet", "recurrent_conv", "recurrent_conv_step_spec"]


def recurrent_conv_step_spec(num_classes: int = 11, input_shape=(1, 48, 48), width: int = 32,
                             kernel: int = 5, layers: int = 2, batch_norm: bool = False) -> dict:
    """The spec of one step ``f``: its input is the image's channels and ``num_classes``
    label planes; with ``batch_norm``, batch normalisation (Ioffe & Szegedy 2015) between
    each convolution and its ReLU.

    Example:
        >>> recurrent_conv_step_spec(3, (1, 8, 8), width=4)["input"]
        [4, 8, 8]
        >>> recurrent_conv_step_spec(3, (1, 8, 8), width=4, layers=1, batch_norm=True)["layers"][:3]
        [{'conv': {'filters': 4, 'kernel': 5, 'padding': 'same'}}, 'batchnorm', 'relu']
    """
    convs = conv_relu(width, kernel, padding="same", batch_norm=batch_norm) * layers
    return {"name": "recurrent_conv_step", "input": [input_shape[0] + num_classes,
                                                     *input_shape[1:]],
            "layers": [*convs, {"conv": {"filters": num_classes, "kernel": 1}}],
            "task": "segment", "loss": "softmax_cross_entropy"}


class RecurrentConvNet(nn.Module):
    """``f`` applied ``steps`` times with the same weights (Pinheiro & Collobert 2014).

    Args:
        step: the network ``f``: ``(N, C + K, H, W)`` -> ``(N, K, H, W)``.
        num_classes: K.
        steps: applications of ``f``.

    Shape:
        ``(N, C, H, W)`` -> ``(N, K, H, W)``: the last step's scores.

    Example:
        >>> net = recurrent_conv(3, (1, 8, 8), steps=2, width=4)
        >>> [tuple(s.shape) for s in net.step_outputs(torch.zeros(1, 1, 8, 8))]
        [(1, 3, 8, 8), (1, 3, 8, 8)]
    """

    def __init__(self, step: Network, num_classes: int, steps: int):
        super().__init__()
        self.step = step
        self.num_classes = positive_int(num_classes, "num_classes")
        self.steps = positive_int(steps, "steps")
        self.input_shape = (step.input_shape[0] - num_classes, *step.input_shape[1:])
        self.output_shape = (num_classes, *step.input_shape[1:])
        self.task = "segment"

    def step_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every step's class scores, first to last."""
        planes = x.new_zeros(x.shape[0], self.num_classes, *x.shape[2:])
        outputs = []
        for _ in range(self.steps):
            scores = self.step(torch.cat((x, planes), 1))
            outputs.append(scores)
            planes = scores.softmax(1)
        return outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.step_outputs(x)[-1]

    def loss(self, x: torch.Tensor, target: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
        """The mean over steps of the per-pixel softmax cross-entropy."""
        outputs = self.step_outputs(x)
        return sum(F.cross_entropy(o, target, ignore_index=ignore_index)
                   for o in outputs) / len(outputs)


@register_model
def recurrent_conv(num_classes: int = 11, input_shape=(1, 48, 48), steps: int = 3,
                   width: int = 32, kernel: int = 5, layers: int = 2,
                   batch_norm: bool = False) -> RecurrentConvNet:
    """A recurrent convolutional network for per-pixel labels.

    Args:
        num_classes: classes per pixel.
        input_shape: ``(C, H, W)``.
        steps: applications of the shared network (the paper uses 2 and 3).
        width, kernel, layers: ``f``'s convolutions: maps, window, count.
        batch_norm: batch normalisation after each of ``f``'s convolutions (not in the
            paper; its statistics are shared by the steps, as the weights are).

    Shape:
        ``(N, C, H, W)`` -> ``(N, num_classes, H, W)``.

    Example:
        >>> net = recurrent_conv(3, (1, 8, 8), width=4)
        >>> net(torch.zeros(2, 1, 8, 8)).shape
        torch.Size([2, 3, 8, 8])
    """
    shape = check_image_shape(input_shape, "recurrent_conv")
    return RecurrentConvNet(build(recurrent_conv_step_spec(num_classes, shape, width, kernel,
                                                           layers, batch_norm)), num_classes,
                            steps)
