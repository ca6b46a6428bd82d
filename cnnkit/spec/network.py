"""The Module that a spec builds, and ``build``."""

from __future__ import annotations

import torch
import torch.nn as nn

from .._validation import ShapeError, SpecError
from ._catalogue import format_shape, format_spatial
from ._engine import Engine
from ._load import Spec, load, to_yaml
from ._zoo import create_module

__all__ = ["Network", "build", "from_module"]


class Network(nn.Module):
    """A network built from a spec: its layers in a :class:`cnnkit.layers.Sequential`.

    Attributes:
        name: the spec's name.
        input_shape: one input sample's shape, channels first (no batch dimension).
        loss: the spec's loss name, or None.
        task: the spec's task name, or None.
        layers: the built layers; ``layers[i]`` is the desugared spec's ``layers[i]``, and
            an error at call time names it (``layers[6] (Dense): ...``). Empty for a spec
            of the ``model:`` form.
        model: the zoo Module that a spec of the ``model:`` form names (it takes the input
            after ``standardize``), or None.

    Shape:
        ``(N, *input_shape)`` -> ``(N, *output_shape)``. Spatial sizes other than the
        spec's work where no layer fixes them (no dense after a flatten, no untied bias);
        otherwise the call fails before any computation, naming the layer.

    Raises:
        ShapeError: at call time, an input of the wrong rank or channel count, or a spatial
            size that a layer was not built for.

    Example:
        >>> net = build({"name": "tiny", "input": [1, 8, 8], "layers": [
        ...     {"conv": {"filters": 4, "kernel": 3, "activation": "relu"}}, "flatten", {"dense": 2}]})
        >>> net(torch.zeros(5, 1, 8, 8)).shape
        torch.Size([5, 2])
        >>> build(net.spec()).spec() == net.spec()
        True
    """

    def __init__(self, spec: Spec):
        super().__init__()
        self.name = spec.name
        self.input_shape = tuple(spec.input)
        self.output_shape = tuple(spec.output_shape)
        self.loss = spec.loss
        self.task = spec.task
        engine = spec.engine
        # The input statistics of the spec's top-level standardize key, applied first.
        self.standardize = None
        if spec.standardize is not None:
            node = spec.standardize
            self.standardize = node.rule._build(node, engine.input_shapes[id(node)],
                                                "standardize", engine)
        self.layers = engine.build_list(spec.layers, "layers")
        self.model = create_module(spec.model, self.input_shape) if spec.model is not None \
            else None
        self._spec = spec
        self._checked_sizes = {self.input_shape[1:]}

    @property
    def supervises_steps(self) -> bool:
        """Whether the network computes several outputs in turn, each trained by the task's
        loss (deep supervision): a ``model:`` Module with ``step_outputs`` (the recurrent
        convolutional network's refinement steps). The trainer then averages the loss over
        ``forward(x, every_step=True)``."""
        return self.model is not None and callable(getattr(self.model, "step_outputs", None))

    # ---- forward ---------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, every_step: bool = False):
        """The output for a batch ``x``; with ``every_step`` (see :attr:`supervises_steps`)
        the list of every step's output, the last being the output."""
        if x.dim() != len(self.input_shape) + 1 or x.shape[1] != self.input_shape[0]:
            self._wrong_input(x)
        if self.model is not None:  # the Module checks its own sizes
            if self.standardize is not None:
                x = self.standardize(x)
            if every_step and self.supervises_steps:
                return self.model.step_outputs(x)
            out = self.model(x)
            return [out] if every_step else out
        if tuple(x.shape[2:]) not in self._checked_sizes:
            self._check_size(tuple(x.shape[2:]))
        if self.standardize is not None:
            x = self.standardize(x)
        out = self.layers(x)
        return [out] if every_step else out

    def _wrong_input(self, x: torch.Tensor) -> None:
        rank = len(self.input_shape) - 1
        axes = {1: "L", 2: "H, W", 3: "D, H, W"}[rank]
        first = self._spec.rows[0] if self._spec.rows else None
        if x.dim() != rank + 2:
            hint = (" Add a batch dimension with x.unsqueeze(0)." if x.dim() == rank + 1 else
                    f" This network is {rank}-D: build it with a {x.dim() - 1}-number input to "
                    f"take {x.dim()}-D tensors." if 3 <= x.dim() <= 5 else "")
            raise ShapeError(
                f"{self.name} expects a {rank + 2}-D input (N, C, {axes}) of shape "
                f"(N, {', '.join(map(str, self.input_shape))}). Received: input of shape "
                f"{tuple(x.shape)}.{hint}")
        first_text = (f"; {first.path} ({first.type}) was built for {self.input_shape[0]}"
                      if first else "")
        raise ShapeError(
            f"{self.name} expects {self.input_shape[0]} input channel"
            f"{'s' if self.input_shape[0] != 1 else ''}{first_text}. Received: input of shape "
            f"{tuple(x.shape)} with {x.shape[1]} channels. Convert the input, or build the "
            f"network with input: [{x.shape[1]}, {', '.join(map(str, self.input_shape[1:]))}].")

    def _check_size(self, size: tuple) -> None:
        """Shape inference for a new spatial size, before any computation."""
        built = format_spatial(self.input_shape[1:])
        try:
            _, rows = self._spec.infer((self.input_shape[0], *size))
        except SpecError as error:
            raise ShapeError(
                f"{self.name} was built for {built} inputs; a {format_spatial(size)} input does "
                f"not fit: {error}") from None
        for old, new in zip(self._spec.rows, rows):
            if old.node.rule.is_sized(old.node) and old.input_shape != new.input_shape:
                raise ShapeError(
                    f"{old.path} ({old.type}) was built for an input of {format_shape(old.input_shape)} "
                    f"(from {built} network inputs); a {format_spatial(size)} input gives it "
                    f"{format_shape(new.input_shape)}. Resize the inputs to {built}, or build the "
                    f"network with input: [{self.input_shape[0]}, {', '.join(map(str, size))}].")
        self._checked_sizes.add(size)

    # ---- spec faces ------------------------------------------------------------------------
    def spec(self, defaults: bool = True) -> dict:
        """The canonical spec of the built layers (read back from the Modules).

        ``build(net.spec())`` builds the same structure, and its ``spec()`` is equal.
        """
        if self.model is not None:
            data = self._spec.to_dict(defaults)
            if self.standardize is not None:
                data["standardize"] = Engine(len(self.input_shape) - 1).unbuild_module(
                    self.standardize)["standardize"]
            return data
        return from_module(self.layers, self.input_shape, name=self.name, loss=self.loss,
                           task=getattr(self, "task", None),
                           standardize=getattr(self, "standardize", None)).to_dict(defaults)

    def to_yaml(self, defaults: bool = False) -> str:
        """The canonical spec as YAML (settings equal to their defaults left out unless
        ``defaults``); ``build`` reads it back into the same network."""
        return to_yaml(self.spec(defaults))

    def extra_repr(self) -> str:
        loss = f", loss={self.loss!r}" if self.loss else ""
        task = f", task={self.task!r}" if getattr(self, "task", None) else ""
        return f"name={self.name!r}, input_shape={self.input_shape}{loss}{task}"


def build(spec, *, input=None) -> Network:
    """Build a network from a spec: a path, YAML text, a dict or a :class:`Spec`.

    Args:
        spec: what :func:`cnnkit.spec.load` accepts.
        input: replaces the spec's ``input`` shape.

    Raises:
        SpecError: anything wrong in the spec, before any Module is built.

    Example:
        >>> build({"input": [3, 32, 32], "layers": [{"conv": 8}]})
        Traceback (most recent call last):
        ...
        cnnkit._validation.SpecError: layers[0].conv.kernel: conv needs kernel (no default). Received: conv: {filters: 8}. Add kernel: <value>.
        >>> build({"input": [3, 32, 32], "layers": [{"conv": {"filters": 8, "kernel": 3}}]}).layers[0]
        Conv2d(in_channels=3, out_channels=8, kernel=(3, 3))
    """
    return load(spec, input=input).build()


def from_module(module: nn.Module, input_shape, *, name: str = "network",
                loss: str | None = None, task: str | None = None,
                standardize: nn.Module | None = None) -> Spec:
    """The spec of a Module built from cnnkit layers (a Sequential, or one layer).

    Raises:
        SpecError: a Module with no layer type in the catalogue, or shapes that do not fit.

    Example:
        >>> from cnnkit import layers as L
        >>> spec = from_module(L.Sequential(L.Conv2d(1, 4, 3), L.ReLU()), (1, 10, 10))
        >>> spec.to_dict(defaults=False)["layers"]
        [{'conv': {'filters': 4, 'kernel': 3}}, 'relu']
    """
    if isinstance(module, Network):
        return load(module.spec())
    rank = len(input_shape) - 1
    layers = Engine(rank).unbuild_sequence(module)
    data = {"name": name, "input": list(input_shape), "layers": layers, "loss": loss}
    if standardize is not None:
        data["standardize"] = Engine(rank).unbuild_module(standardize)["standardize"]
    if task is not None:
        data["task"] = task
    return load(data)
