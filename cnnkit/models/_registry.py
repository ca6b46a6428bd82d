"""The zoo's registry: ``register_model`` / ``create_model`` / ``list_models`` (timm style)."""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable

import torch.nn as nn

from .._validation import ArgumentError, ArgumentTypeError, did_you_mean

__all__ = ["create_model", "list_models", "model_entrypoint", "register_model"]

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


def list_models(pattern: str = "*") -> list[str]:
    """Names of the registered models matching a shell-style ``pattern`` (sorted).

    Example:
        >>> list_models("lenet*")
        ['lenet5']
    """
    if not isinstance(pattern, str):
        raise ArgumentTypeError(f"pattern must be a string such as 'res*'. Received: "
                                f"pattern={pattern!r} ({type(pattern).__name__}).")
    return sorted(name for name in _MODELS if fnmatch.fnmatchcase(name, pattern))


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
