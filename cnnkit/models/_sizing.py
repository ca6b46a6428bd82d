"""A zoo model sized for a data set: its input and its classes come from the data.

A model never resizes data: an input smaller than the model's smallest is an error that
names the smallest size and how to resize the data (``--resize H W`` on the command line).
And the last layer has exactly the data's classes: no 1000-way ImageNet head for three
classes.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .._validation import ArgumentError, ShapeError, SpecError, positive_int
from ..functional.shapes import format_spatial
from ._parts import input_rank
from ._registry import create_model, list_models, model_dims, model_entrypoint

__all__ = ["for_data", "smallest_input"]

_AXES = {1: "(channels, length)", 2: "(channels, height, width)",
         3: "(channels, frames, height, width)"}
# The probe for the smallest input stops here: a model that does not build for inputs this
# large fails for another reason than their size.
_LARGEST = 4096
# Sizes tried one by one above the data's before doubling.
_SCAN = 64


def _builds(name: str, input_shape: tuple, num_classes: int, settings: dict) -> bool:
    """Whether the model builds for ``input_shape``: shapes only, on the meta device (no
    memory, no initialisation)."""
    try:
        with torch.device("meta"):
            create_model(name, input_shape=input_shape, num_classes=num_classes, **settings)
    except (SpecError, ShapeError):
        return False
    return True


def smallest_input(name: str, input_shape, num_classes: int = 10, **settings) -> tuple | None:
    """The smallest input at least as large as ``input_shape`` in every spatial dimension
    that the model ``name`` builds for, growing all the sizes below a common side; None when
    it builds for none up to 4096.

    Example:
        >>> smallest_input("vgg16", (3, 8, 8))
        (3, 32, 32)
        >>> smallest_input("alexnet", (3, 8, 8), stem="imagenet")
        (3, 63, 63)
    """
    shape = tuple(input_shape)

    def grown(side: int) -> tuple:
        return (shape[0], *(max(size, side) for size in shape[1:]))

    if _builds(name, shape, num_classes, settings):
        return shape
    low, high = min(shape[1:]), None
    # Sizes a little larger one by one first: a model whose poolings must divide the size
    # (U-Net) builds for some sizes and not for larger ones, where halving would miss them.
    for side in range(low + 1, low + _SCAN + 1):
        if _builds(name, grown(side), num_classes, settings):
            return grown(side)
    side = low = low + _SCAN
    while side < _LARGEST:                      # double until it builds ...
        side = min(2 * side, _LARGEST)
        if _builds(name, grown(side), num_classes, settings):
            high = side
            break
        low = side
    if high is None:
        return None
    while high - low > 1:                       # ... then halve the gap
        middle = (low + high) // 2
        if _builds(name, grown(middle), num_classes, settings):
            high = middle
        else:
            low = middle
    return grown(high)


def for_data(name: str, input_shape, num_classes: int, **settings) -> nn.Module:
    """The zoo model ``name`` built for data of ``input_shape`` with ``num_classes`` classes.

    The model takes the data's channels and spatial size as they are (each family chooses
    its stem from the size, see docs/zoo.md) and ends in exactly ``num_classes`` outputs.

    Args:
        name: a registered model (``list_models()``).
        input_shape: one sample's shape, channels first: ``(3, 32, 32)``.
        num_classes: the data's classes (WaveNet: its quantisation levels).
        settings: the model's other settings (``stem``, ``dropout``, ``vocab`` ...).

    Raises:
        ArgumentError: an unknown model, or data of another rank than the model's (naming
            the models for it).
        ShapeError: data smaller than the model's smallest input, naming that size and
            ``--resize``.
        SpecError: a setting the model's spec rejects.

    Example:
        >>> net = for_data("resnet18", (3, 32, 32), 10)
        >>> net.output_shape, net.layers[0].stride          # the CIFAR stem: 3x3, stride 1
        ((10,), (1, 1))
        >>> for_data("vgg16", (1, 28, 28), 10)
        Traceback (most recent call last):
        ...
        cnnkit._validation.ShapeError: model 'vgg16' needs inputs of at least 32x32; the data gives 28x28 (input_shape=(1, 28, 28)). Models never resize data: resize it to 32x32 (--resize 32 32 on the command line), or choose a model for smaller inputs (docs/zoo.md lists each model's smallest input).
    """
    model_entrypoint(name)
    rank = input_rank(input_shape)
    input_shape = tuple(input_shape)
    positive_int(num_classes, "num_classes")
    dims = model_dims(name)
    if dims is not None and dims != rank:
        others = ", ".join(list_models(dims=rank)) or "none"
        raise ArgumentError(
            f"model {name!r} takes {dims}-D inputs {_AXES[dims]}; the data gives {rank}-D "
            f"samples of shape {input_shape}. Models for {rank}-D data: {others}.",
            argument="input_shape")
    try:
        return create_model(name, input_shape=input_shape, num_classes=num_classes, **settings)
    except (SpecError, ShapeError):
        smallest = smallest_input(name, input_shape, num_classes, **settings)
        if smallest is None or smallest == input_shape:
            raise                     # not a matter of size: the model's own error says why
    size, need = format_spatial(input_shape[1:]), format_spatial(smallest[1:])
    raise ShapeError(
        f"model {name!r} needs inputs of at least {need}; the data gives {size} (input_shape="
        f"{input_shape}). Models never resize data: resize it to {need} (--resize "
        f"{' '.join(map(str, smallest[1:]))} on the command line), or choose a model for "
        f"smaller inputs (docs/zoo.md lists each model's smallest input).",
        argument="input_shape")
