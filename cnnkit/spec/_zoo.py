"""The ``model:`` form of a spec: a registered zoo Module and its settings in place of
``layers:``.

Some published systems are Modules that a sequence of layers cannot describe: WaveNet's skip
connections sum the outputs of every layer, a recurrent convolutional network applies the
same weights several times, a Fast R-CNN head pools regions of a feature map. Their spec
names the model and its constructor settings, and the input shape comes from ``input:``::

    name: wavenet
    input: [1, 2048]
    model: {name: wavenet, settings: {num_classes: 256, layers: 8, stacks: 2}}
    task: segment

Everything else of a spec holds: ``task:``, ``loss:`` (default: the Module's own ``task`` and
``loss`` attributes), ``standardize:`` (applied before the Module), the run folder's
spec.yaml, and every command that builds a network from it.

The spec sits below the zoo (``cnnkit.models``), so the zoo hands its registry down:
:func:`use_model_registry` is called once when ``cnnkit.models`` is imported (importing any
part of cnnkit imports it).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from .._validation import ArgumentError, CnnkitError, SpecError, did_you_mean

__all__ = ["ModelRef", "create_module", "infer_module", "read_model", "use_model_registry"]

MODEL_KEYS = ("name", "settings")
# Given by the spec's own keys, never among the settings.
_FROM_SPEC = {"input_shape": "input"}

_registry: dict[str, Callable[[str], Callable]] = {}


def use_model_registry(entrypoint: Callable[[str], Callable]) -> None:
    """Resolve ``model: {name: ...}`` through ``entrypoint(name) -> factory`` (which raises
    ArgumentError for an unknown name): :func:`cnnkit.models.model_entrypoint`."""
    _registry["entrypoint"] = entrypoint


def _plain(value):
    """Settings as YAML writes them: tuples as lists."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _call_value(value):
    """Settings as a factory takes them: lists as tuples (as ``--model`` gives them)."""
    if isinstance(value, list):
        return tuple(_call_value(v) for v in value)
    return value


@dataclass(frozen=True)
class ModelRef:
    """A checked ``model:`` entry.

    Attributes:
        name: the registered model.
        settings: every constructor setting but ``input_shape``: those written, and the
            defaults of the others (so that the spec says exactly what was built).
        given: the names of the settings the spec wrote.
    """

    name: str
    settings: dict = field(default_factory=dict)
    given: tuple = ()

    def to_dict(self, defaults: bool = True) -> dict:
        """``{name, settings}``: every setting, or (``defaults=False``) the written ones."""
        settings = self.settings if defaults else {k: v for k, v in self.settings.items()
                                                   if k in self.given}
        return {"name": self.name, "settings": dict(settings)} if settings or defaults \
            else {"name": self.name}


def _factory(name) -> Callable:
    entrypoint = _registry.get("entrypoint")
    if entrypoint is None:
        raise SpecError("no model registry is loaded; import cnnkit.models first.", "model.name")
    try:
        return entrypoint(name)
    except ArgumentError as error:
        raise SpecError(f"{error.args[0].removesuffix(f' Received: name={name!r}.')} Write a "
                        f"registered name (cnnkit.models.list_models()), or layers: instead "
                        f"of model:.", "model.name") from None


def read_model(raw) -> ModelRef:
    """The ``model:`` value checked: a known name and settings its factory takes.

    Raises:
        SpecError: at ``model``, ``model.name`` or ``model.settings.KEY``.

    Example:
        >>> ref = read_model({"name": "wavenet", "settings": {"layers": 4}})
        >>> ref.settings["layers"], ref.settings["stacks"], ref.given
        (4, 2, ('layers',))
        >>> read_model({"name": "wavenet", "settings": {"layer": 4}})
        Traceback (most recent call last):
        ...
        cnnkit._validation.SpecError: model.settings.layer: model 'wavenet' has no setting 'layer'. Did you mean 'layers'? Settings: num_classes, layers, stacks, residual_channels, skip_channels.
    """
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict):
        raise SpecError(f"must be a mapping {{name: MODEL, settings: {{...}}}} naming a zoo "
                        f"model. Received: {raw!r} ({type(raw).__name__}).", "model")
    for key in raw:
        if key not in MODEL_KEYS:
            hint = did_you_mean(key, MODEL_KEYS) if isinstance(key, str) else ""
            raise SpecError(f"unknown key {key!r}.{hint} model: takes name and settings.",
                            f"model.{key}")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise SpecError(f"must name a registered zoo model (cnnkit.models.list_models()). "
                        f"Received: name={name!r}.", "model.name")
    factory = _factory(name)
    settings = raw.get("settings") or {}
    if not isinstance(settings, dict):
        raise SpecError(f"must be a mapping of the model's settings (e.g. {{num_classes: 10}}). "
                        f"Received: {settings!r} ({type(settings).__name__}).", "model.settings")
    parameters = {key: p for key, p in inspect.signature(factory).parameters.items()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    own = [key for key in parameters if key not in _FROM_SPEC]
    for key in settings:
        if key in _FROM_SPEC:
            raise SpecError(f"the {key} of a model is the spec's {_FROM_SPEC[key]}: (channels "
                            f"first). Remove it from the settings.", f"model.settings.{key}")
        if key not in parameters:
            hint = did_you_mean(key, own) if isinstance(key, str) else ""
            raise SpecError(f"model {name!r} has no setting {key!r}.{hint} Settings: "
                            f"{', '.join(own) or 'none'}.", f"model.settings.{key}")
    full = {}
    for key in own:
        if key in settings:
            full[key] = _plain(settings[key])
        elif parameters[key].default is not inspect.Parameter.empty:
            full[key] = _plain(parameters[key].default)
    return ModelRef(name, full, tuple(key for key in own if key in settings))


def _where(error: Exception, ref: ModelRef) -> str:
    argument = getattr(error, "argument", None)
    return f"model.settings.{argument}" if argument in ref.settings else "model.settings"


def create_module(ref: ModelRef, input_shape: tuple) -> nn.Module:
    """The Module of ``ref`` for inputs of ``input_shape`` (on the default device).

    Raises:
        SpecError: what the model's factory refuses, at ``model.settings`` (or the setting
            it names), worded by the model.
    """
    factory = _factory(ref.name)
    settings = {key: _call_value(value) for key, value in ref.settings.items()}
    try:
        return factory(input_shape=tuple(input_shape), **settings)
    except SpecError as error:
        raise SpecError(f"model {ref.name!r} for input {list(input_shape)}: {error}",
                        "model.settings") from None
    except (CnnkitError, TypeError, ValueError) as error:
        message = " ".join(str(error).split())
        raise SpecError(f"model {ref.name!r} for input {list(input_shape)}: {message}",
                        _where(error, ref)) from None


def infer_module(ref: ModelRef, input_shape: tuple) -> tuple[tuple, int, nn.Module]:
    """``(output shape, parameters, the Module on the meta device)``: the model built
    without memory or initialisation; the output shape is the Module's ``output_shape``,
    or a pass of one meta sample where it has none."""
    with torch.device("meta"):
        module = create_module(ref, input_shape)
        shape = getattr(module, "output_shape", None)
        if shape is None:
            was = module.training
            module.eval()
            try:
                shape = tuple(module(torch.zeros(1, *input_shape)).shape[1:])
            except (CnnkitError, RuntimeError, TypeError, ValueError) as error:
                message = " ".join(str(error).split())
                raise SpecError(f"model {ref.name!r} does not run on input {list(input_shape)}: "
                                f"{message}", "input") from None
            module.train(was)
    params = sum(math.prod(p.shape) for p in module.parameters())
    return tuple(int(v) for v in shape), int(params), module
