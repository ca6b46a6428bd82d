"""Activations of every layer for a batch, captured with forward hooks.

Layer names are those of ``model.named_modules()``: ``layers.3`` for the fourth layer of a
spec-built :class:`~cnnkit.spec.Network` (the summary table's ``layers[3]`` is accepted
too), ``features.0`` for a torchvision-style model. Without a list of names, a Network
gives its top-level layers and any other Module its leaf modules, in the order the forward
pass runs them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import torch
import torch.nn as nn

from .._validation import ArgumentError, ArgumentTypeError, did_you_mean

__all__ = ["Captured", "capture", "default_layers", "layer_names", "resolve_layer",
           "resolve_layers"]


class Captured(dict):
    """Layer name -> output tensor, in the order the forward pass ran the layers.

    Attributes:
        output: the model's own output for the batch.
    """

    output: torch.Tensor | None = None


def _is_network(model: nn.Module) -> bool:
    from ..spec import Network

    return isinstance(model, Network)


def layer_names(model: nn.Module) -> list[str]:
    """Every name a layer can be captured by (``named_modules`` order, the root left out).

    Example:
        >>> from cnnkit.spec import build
        >>> net = build({"input": [1, 8, 8], "layers": [
        ...     {"conv": {"filters": 2, "kernel": 3, "activation": "relu"}}, "flatten", {"dense": 3}]})
        >>> layer_names(net)
        ['layers', 'layers.0', 'layers.1', 'layers.2', 'layers.3']
    """
    return [name for name, _ in model.named_modules() if name]


def default_layers(model: nn.Module) -> list[str]:
    """The layers captured when none are named: a Network's top-level layers, else every
    leaf module (one without children).

    Example:
        >>> default_layers(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sequential(nn.ReLU(), nn.Flatten())))
        ['0', '1.0', '1.1']
    """
    if _is_network(model):
        return [f"layers.{i}" for i in range(len(model.layers))]
    return [name for name, module in model.named_modules()
            if name and not any(True for _ in module.children())]


_SPEC_PARTS = ((re.compile(r"\.residual\.layers"), ".body"),
               (re.compile(r"\.residual\.shortcut"), ".shortcut"),
               (re.compile(r"\.parallel\.branches"), ".branches"),
               (re.compile(r"\[(\d+)\]"), r".\1"))


def spec_path_to_module(path: str) -> str:
    """A summary / spec path (``layers[1].residual.layers[0]``) as a module name
    (``layers.1.body.0``).

    Example:
        >>> spec_path_to_module("layers[3].parallel.branches[1][0]")
        'layers.3.branches.1.0'
    """
    for pattern, replacement in _SPEC_PARTS:
        path = pattern.sub(replacement, path)
    return path


def resolve_layer(model: nn.Module, name, argument: str = "layer") -> str:
    """The module name that ``name`` means in ``model``.

    Accepts a module name (``layers.3``), a summary path (``layers[3]``) or an int (the
    index into :func:`default_layers`; negative counts from the end).

    Raises:
        ArgumentError: no such layer; the message lists the names that exist.
        ArgumentTypeError: ``name`` is neither a string nor an int.

    Example:
        >>> resolve_layer(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), -1)
        '1'
        >>> resolve_layer(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), "conv")
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: layer 'conv' is not a layer of Sequential. Received: layer='conv'. Layers: 0, 1.
    """
    names = layer_names(model)
    if isinstance(name, int) and not isinstance(name, bool):
        defaults = default_layers(model)
        if not -len(defaults) <= name < len(defaults):
            raise ArgumentError(
                f"{argument} index {name} is out of range: {type(model).__name__} has "
                f"{len(defaults)} layers. Received: {argument}={name}. Use 0 to "
                f"{len(defaults) - 1}, or a name: {', '.join(defaults)}.")
        return defaults[name]
    if not isinstance(name, str):
        raise ArgumentTypeError(
            f"{argument} must be a layer name (str) or an index (int). Received: "
            f"{argument}={name!r} ({type(name).__name__}).")
    if name in names:
        return name
    converted = spec_path_to_module(name)
    if converted in names:
        return converted
    shown = default_layers(model)
    extra = [n for n in names if n not in shown]
    listing = ", ".join(shown) + (f"; other modules: {', '.join(extra)}" if extra else "")
    raise ArgumentError(
        f"{argument} {name!r} is not a layer of {type(model).__name__}. Received: "
        f"{argument}={name!r}.{did_you_mean(name, names)} Layers: {listing}.")


def resolve_layers(model: nn.Module, layers, argument: str = "layers") -> list[str]:
    """Module names for ``layers`` (None: :func:`default_layers`; a str or int: one)."""
    if layers is None:
        return default_layers(model)
    if isinstance(layers, (str, int)):
        return [resolve_layer(model, layers, argument)]
    if not isinstance(layers, Iterable):
        raise ArgumentTypeError(
            f"{argument} must be None, a layer name, or a list of names. Received: "
            f"{argument}={layers!r} ({type(layers).__name__}).")
    return [resolve_layer(model, item, "layer") for item in layers]


def model_device(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    """Where the model's parameters live (cpu / float32 for a model without any)."""
    param = next(model.parameters(), None)
    if param is None:
        return torch.device("cpu"), torch.float32
    return param.device, param.dtype


def as_batch(model: nn.Module, x, argument: str = "x") -> torch.Tensor:
    """``x`` as a float batch on the model's device; one sample gets a batch dimension.

    A Network knows its input shape, so a (C, H, W) sample is recognised; other models
    take a batch as it is.
    """
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError) as error:
            raise ArgumentTypeError(
                f"{argument} must be a tensor or an array. Received: {argument} of type "
                f"{type(x).__name__}.") from error
    device, dtype = model_device(model)
    x = x.to(device=device, dtype=dtype if dtype.is_floating_point else torch.float32)
    shape = getattr(model, "input_shape", None)
    if shape is not None and x.dim() == len(shape):
        x = x.unsqueeze(0)
    return x


def capture(model: nn.Module, x, layers=None, *, grad: bool = False) -> Captured:
    """Run ``model`` on ``x`` and keep the output of every named layer.

    Args:
        model: a :class:`~cnnkit.spec.Network` or any ``torch.nn.Module``.
        x: a batch ``(N, *input_shape)`` (or one sample, for a Network).
        layers: None (a Network's top-level layers, else every leaf module), one name or
            index, or a list of them (see :func:`resolve_layer`).
        grad: keep the autograd graph (for saliency); by default the pass runs under
            ``torch.no_grad`` and the tensors are detached.

    Returns:
        A :class:`Captured` dict (module name -> output) in forward order, with ``.output``.
        A layer that runs more than once keeps its last output; one that does not run is
        missing.

    Shape:
        Each value is the layer's output with the batch dimension: ``(N, C, H, W)`` for a
        2-D volume, ``(N, F)`` after a flatten.

    Raises:
        ArgumentError: a layer name that does not exist (the message lists those that do).

    Example:
        >>> from cnnkit.spec import build
        >>> net = build({"input": [1, 8, 8], "layers": [
        ...     {"conv": {"filters": 2, "kernel": 3, "activation": "relu"}}, {"maxpool": 2},
        ...     "flatten", {"dense": 3}]})
        >>> acts = capture(net, torch.rand(4, 1, 8, 8))
        >>> {name: tuple(t.shape) for name, t in acts.items()}
        {'layers.0': (4, 2, 6, 6), 'layers.1': (4, 2, 6, 6), 'layers.2': (4, 2, 3, 3), 'layers.3': (4, 18), 'layers.4': (4, 3)}
        >>> tuple(acts.output.shape)
        (4, 3)
    """
    names = resolve_layers(model, layers)
    modules = dict(model.named_modules())
    x = as_batch(model, x)
    found: dict[str, torch.Tensor] = {}

    def hook(name):
        def keep(module, inputs, output):
            if isinstance(output, torch.Tensor):
                found.pop(name, None)  # a re-run moves the layer to its last position
                found[name] = output if grad else output.detach()
        return keep

    handles = [modules[name].register_forward_hook(hook(name)) for name in dict.fromkeys(names)]
    was_training = model.training
    try:
        model.eval()  # no dropout, batch-norm running statistics as trained
        with torch.set_grad_enabled(grad):
            output = model(x)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    result = Captured(found)
    result.output = output if grad else (output.detach() if isinstance(output, torch.Tensor)
                                         else output)
    return result
