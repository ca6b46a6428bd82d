"""The zoo's registry: ``register_model`` / ``create_model`` / ``list_models`` (timm style).

A model factory takes keyword settings, among them ``num_classes`` and ``input_shape``
(channels first); the default of ``input_shape`` says which data the model is for (its
number of spatial dimensions). ``register_variant`` registers a member of a family (a
depth, a configuration) as its own name without writing the factory again.
"""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable

import torch.nn as nn

from .._validation import ArgumentError, ArgumentTypeError, did_you_mean
from ..spec import build
from ..spec._zoo import use_model_registry

__all__ = ["create_model", "list_models", "model_dims", "model_entrypoint", "register_model",
           "register_variant"]

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable | None = None, *, name: str | None = None):
    """Register a model factory under its function name (or ``name``).

    Use as ``@register_model`` or ``@register_model(name="...")``. The factory takes
    keyword settings (``num_classes=...``) and returns a Module.

    Raises:
        ArgumentError: the name is already registered.

    Example:
        >>> @register_model(name="example_identity")
        ... def _identity():
        ...     return nn.Identity()
        >>> create_model("example_identity")
        Identity()
        >>> _ = _MODELS.pop("example_identity")
    """
    def add(factory):
        key = name or factory.__name__
        if key in _MODELS and _MODELS[key] is not factory:
            raise ArgumentError(
                f"model {key!r} is already registered (by {_MODELS[key].__module__}). Received: "
                f"{factory.__module__}.{factory.__name__}. Choose another name.")
        _MODELS[key] = factory
        return factory

    return add(fn) if fn is not None else add


def list_models(pattern: str = "*", dims: int | None = None) -> list[str]:
    """Names of the registered models matching a shell-style ``pattern`` (sorted).

    Args:
        pattern: e.g. ``"res*"``.
        dims: only the models for inputs with this many spatial dimensions (1: signals
            and text, 2: images, 3: video and volumes).

    Example:
        >>> list_models("lenet*")
        ['lenet5', 'lenet5_1998']
        >>> "tdnn" in list_models(dims=1), "tdnn" in list_models(dims=2)
        (True, False)
    """
    if not isinstance(pattern, str):
        raise ArgumentTypeError(f"pattern must be a string such as 'res*'. Received: "
                                f"pattern={pattern!r} ({type(pattern).__name__}).")
    if dims is not None and dims not in (1, 2, 3):
        raise ArgumentError(f"dims must be 1, 2 or 3 (spatial dimensions of the data). "
                            f"Received: dims={dims!r}.")
    return sorted(name for name in _MODELS if fnmatch.fnmatchcase(name, pattern)
                  and (dims is None or model_dims(name) == dims))


def model_dims(name: str) -> int | None:
    """The number of spatial dimensions of the data the model ``name`` is for: the rank of
    its default ``input_shape`` (None when it has none).

    Example:
        >>> model_dims("resnet18"), model_dims("tdnn"), model_dims("c3d")
        (2, 1, 3)
    """
    parameter = inspect.signature(model_entrypoint(name)).parameters.get("input_shape")
    if parameter is None or not isinstance(parameter.default, (tuple, list)):
        return None
    return len(parameter.default) - 1


def model_entrypoint(name: str) -> Callable[..., nn.Module]:
    """The factory registered as ``name``.

    Raises:
        ArgumentError: an unknown name, with the closest match and the list.
    """
    if name not in _MODELS:
        hint = did_you_mean(name, _MODELS) if isinstance(name, str) else ""
        raise ArgumentError(
            f"unknown model {name!r}.{hint} Registered models: {', '.join(list_models())}. "
            f"Received: name={name!r}.")
    return _MODELS[name]


# A spec's ``model: {name, settings}`` resolves names here (the spec sits below the zoo).
use_model_registry(model_entrypoint)


def create_model(name: str, **settings) -> nn.Module:
    """Build the model registered as ``name`` with keyword ``settings``.

    Raises:
        ArgumentError: an unknown model or a setting the model does not take.

    Example:
        >>> create_model("lenet5", num_classes=4).output_shape
        (4,)
    """
    factory = model_entrypoint(name)
    parameters = inspect.signature(factory).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    if not takes_any:
        for key in settings:
            if key not in parameters:
                accepted = ", ".join(parameters) or "none"
                raise ArgumentError(
                    f"model {name!r} does not take {key!r}.{did_you_mean(key, parameters)} "
                    f"Settings it takes: {accepted}. Received: {key}={settings[key]!r}.")
    return factory(**settings)


def register_variant(family: Callable, name: str, summary: str, *, spec: bool = False,
                     **fixed) -> Callable[..., nn.Module]:
    """Register ``family`` with some settings ``fixed`` as the model ``name``.

    The factory made takes ``family``'s other settings (its signature says which), so that
    ``create_model`` checks them. With ``spec=True``, ``family`` returns a spec (a dict) and
    the factory builds it.

    Args:
        family: a model factory, or with ``spec=True`` a spec function.
        name: the model's name.
        summary: the first line of its docstring (the rest points at ``family``).
        spec: build what ``family`` returns.
        fixed: the settings this variant fixes.

    Raises:
        ArgumentError: ``name`` is taken, or ``fixed`` names a setting ``family`` lacks.

    Example:
        >>> def widths(num_classes: int = 10, width: int = 4):
        ...     return nn.Linear(width, num_classes)
        >>> wide = register_variant(widths, "example_wide", "A wide one.", width=64)
        >>> wide(num_classes=3)
        Linear(in_features=64, out_features=3, bias=True)
        >>> list(inspect.signature(wide).parameters)
        ['num_classes']
        >>> _ = _MODELS.pop("example_wide")
    """
    signature = inspect.signature(family)
    unknown = [key for key in fixed if key not in signature.parameters]
    if unknown:
        raise ArgumentError(f"{family.__name__} has no setting {unknown[0]!r} to fix. Received: "
                            f"{fixed!r}. Settings: {', '.join(signature.parameters)}.")
    own = signature.replace(parameters=[p for key, p in signature.parameters.items()
                                        if key not in fixed])

    def factory(*args, **settings):
        made = family(**fixed, **own.bind(*args, **settings).arguments)
        return build(made) if spec else made

    factory.__signature__ = own.replace(return_annotation=inspect.Signature.empty)
    factory.__name__ = factory.__qualname__ = name
    factory.__module__ = family.__module__
    fixed_text = ", ".join(f"{key}={value!r}" for key, value in fixed.items())
    factory.__doc__ = (f"{summary}\n\n{'Builds' if spec else 'Is'} "
                       f":func:`{family.__module__}.{family.__name__}` with {fixed_text}; the "
                       f"settings are its others.")
    return register_model(factory, name=name)
