"""The Python face of the spec: functions that return spec nodes (plain dicts).

``conv(6, 5, padding="same")`` is ``{"conv": {"filters": 6, "kernel": 5, "padding": "same"}}``,
exactly what the YAML ``- conv: {filters: 6, kernel: 5, padding: same}`` reads as, so the
three faces go through the same checks and give the same canonical spec.
"""

from __future__ import annotations

import inspect

from .._validation import ArgumentError
from ._catalogue import REQUIRED, layer_rule
from ._load import Spec, load

__all__ = [
    "abs_tanh", "adaptive_avgpool", "adaptive_maxpool", "avgpool", "batchnorm", "conv",
    "conv_transpose", "deconv", "dense", "dropout", "flatten", "gelu", "global_avgpool",
    "global_lppool", "global_maxpool", "layer", "leaky_relu", "lppool", "lrn", "maxpool", "net",
    "parallel", "relu", "residual", "separable_conv", "sigmoid", "tanh",
]


def net(name: str, input, layers, loss: str | None = None) -> Spec:
    """A whole spec from Python: checked and shape-inferred like a YAML one.

    Example:
        >>> spec = net("tiny", [1, 28, 28], [conv(6, 5, padding="same", activation="tanh"),
        ...                                  avgpool(2), flatten(), dense(10)])
        >>> spec.output_shape
        (10,)
    """
    return load({"name": name, "input": input, "layers": list(layers), "loss": loss})


def layer(type: str, *values, **settings):
    """A spec node of any registered layer type; positional values fill the type's
    positional keys (its required keys unless the rule says otherwise).

    Raises:
        SpecError: an unknown type.
        ArgumentError: too many positional values, or a key given twice.

    Example:
        >>> layer("maxpool", 3, stride=2)
        {'maxpool': {'size': 3, 'stride': 2}}
        >>> layer("flatten")
        'flatten'
    """
    rule = layer_rule(type)
    names = rule.positional if rule.positional is not None else tuple(
        key for key, default in rule.keys.items() if default is REQUIRED) or (
        (rule.shorthand,) if rule.shorthand else ())
    if len(values) > len(names):
        raise ArgumentError(
            f"{type}() takes at most {len(names)} positional values ({', '.join(names) or 'none'}). "
            f"Received: {len(values)} values {values!r}. Pass the others by name.")
    args = dict(zip(names, values))
    for key, value in settings.items():
        if key in args:
            raise ArgumentError(f"{type}() got {key} twice. Received: {key}={args[key]!r} and "
                                f"{key}={value!r}.")
        args[key] = value
    return {type: args} if args else type


def _face(type: str):
    def make(*values, **settings):
        return layer(type, *values, **settings)

    rule = layer_rule(type)
    names = rule.positional if rule.positional is not None else tuple(
        key for key, default in rule.keys.items() if default is REQUIRED) or (
        (rule.shorthand,) if rule.shorthand else ())
    params = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
    params.append(inspect.Parameter("settings", inspect.Parameter.VAR_KEYWORD))
    make.__signature__ = inspect.Signature(params)
    make.__name__ = make.__qualname__ = type
    keys = ", ".join(f"{k}={'required' if v is REQUIRED else repr(v)}" for k, v in rule.keys.items())
    extra = " activation=<name>." if rule.activation else ""
    make.__doc__ = (f"Spec node of a ``{type}`` layer: {rule.description}.\n\n"
                    f"Keys: {keys or 'none'}.{extra}")
    return make


conv = _face("conv")
conv_transpose = _face("conv_transpose")
deconv = conv_transpose
separable_conv = _face("separable_conv")
maxpool = _face("maxpool")
avgpool = _face("avgpool")
lppool = _face("lppool")
global_maxpool = _face("global_maxpool")
global_avgpool = _face("global_avgpool")
global_lppool = _face("global_lppool")
adaptive_maxpool = _face("adaptive_maxpool")
adaptive_avgpool = _face("adaptive_avgpool")
relu = _face("relu")
tanh = _face("tanh")
abs_tanh = _face("abs_tanh")
sigmoid = _face("sigmoid")
leaky_relu = _face("leaky_relu")
gelu = _face("gelu")
dense = _face("dense")
flatten = _face("flatten")
batchnorm = _face("batchnorm")
lrn = _face("lrn")
dropout = _face("dropout")


def residual(layers, shortcut=None, **settings):
    """Spec node of a residual block: ``layers(x) + shortcut(x)`` (identity shortcut by
    default); ``activation=`` applies after the sum.

    Example:
        >>> residual([conv(8, 3, padding="same")], activation="relu")["residual"]["activation"]
        'relu'
    """
    args = {"layers": list(layers), **settings}
    if shortcut is not None:
        args["shortcut"] = list(shortcut)
    return {"residual": args}


def parallel(*branches, merge: str = "concat", **settings):
    """Spec node of parallel branches (each a list of nodes), concatenated or added.

    Example:
        >>> parallel([conv(4, 1)], [conv(4, 3, padding="same")])["parallel"]["merge"]
        'concat'
    """
    return {"parallel": {"branches": [list(b) for b in branches], "merge": merge, **settings}}
