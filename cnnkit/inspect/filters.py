"""The filters (kernels) of convolution layers, as arrays to draw."""

from __future__ import annotations

import torch
import torch.nn as nn

from .._validation import ArgumentError
from .activations import resolve_layer

__all__ = ["conv_filters", "conv_layers", "first_conv"]


def _conv_weight(module: nn.Module) -> torch.Tensor | None:
    """(out_channels, in_channels / groups, *kernel) of a convolution, or None."""
    from ..layers import Conv, ConvTranspose

    weight = getattr(module, "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.dim() < 3:
        return None
    if isinstance(module, (ConvTranspose, nn.modules.conv._ConvTransposeNd)):
        # Stored (in, out / groups, *kernel); shown per output channel like a convolution.
        return weight.detach().transpose(0, 1)
    if isinstance(module, (Conv, nn.modules.conv._ConvNd)) or "Conv" in type(module).__name__:
        return weight.detach()
    return None


def conv_layers(model: nn.Module) -> list[str]:
    """Module names of every convolution in ``model`` (in ``named_modules`` order).

    Example:
        >>> conv_layers(nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 8, 3)))
        ['0', '2']
    """
    return [name for name, module in model.named_modules()
            if name and _conv_weight(module) is not None]


def first_conv(model: nn.Module) -> str:
    """The name of the first convolution (the one that looks at the input).

    Raises:
        ArgumentError: the model has no convolution.
    """
    names = conv_layers(model)
    if not names:
        raise ArgumentError(
            f"{type(model).__name__} has no convolution layer, so it has no filters to show. "
            f"Received: a model with layers {', '.join(n for n, _ in model.named_children())}.")
    return names[0]


def conv_filters(model: nn.Module, layer=None) -> torch.Tensor:
    """The filters of a convolution layer.

    Args:
        model: a Network or any Module.
        layer: a layer name or index; None for the first convolution.

    Returns:
        A detached CPU float tensor ``(out_channels, in_channels / groups, *kernel)``:
        ``[k]`` is the k-th filter, ``[k, c]`` its slice for input channel ``c`` (for the
        first layer of a colour network, ``[k]`` is a 3-channel image). Transposed
        convolutions are returned in the same order (per output channel).

    Raises:
        ArgumentError: an unknown layer, or a layer that is not a convolution.

    Example:
        >>> w = conv_filters(nn.Sequential(nn.Conv2d(3, 8, 5), nn.ReLU()))
        >>> tuple(w.shape)
        (8, 3, 5, 5)
    """
    name = first_conv(model) if layer is None else resolve_layer(model, layer)
    module = dict(model.named_modules())[name]
    weight = _conv_weight(module)
    if weight is None:
        raise ArgumentError(
            f"layer {name!r} ({type(module).__name__}) is not a convolution, so it has no "
            f"filters. Received: layer={layer!r}. Convolutions: "
            f"{', '.join(conv_layers(model)) or 'none'}.")
    return weight.float().cpu()
