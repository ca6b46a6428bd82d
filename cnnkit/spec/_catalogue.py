"""The layer catalogue: the spec's vocabulary for each layer type, and how to extend it.

A :class:`LayerRule` is declarative: the type's name and aliases, the layer class, the
spec's names for the class's settings (``filters`` for ``out_channels``) and the shorthand
(``dense: 10``). Everything else (keys, defaults, checks, output shapes, receptive fields,
parameter and multiply-add counts, building and reading back) comes from the layer class,
the one source of truth. Containers (``residual``, ``parallel``) subclass the rule.

Example:
    >>> from cnnkit.layers import Dense
    >>> rule = LayerRule("dense", Dense, shorthand="units", activation=True)
    >>> rule.keys, rule.check_only
    ({'units': REQUIRED, 'bias': True}, ('in_features',))
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from typing import Any

import torch.nn as nn

from .._validation import (ArgumentError, ArgumentTypeError, CnnkitError, ShapeError, SpecError,
                           did_you_mean)
from ..functional.shapes import Geometry, InputSource, format_spatial
from ..layers._base import REQUIRED as _EMPTY
from ..layers._base import Layer
from ..layers.kinds import Kind, collapse, plain_padding

__all__ = [
    "REQUIRED", "At", "LayerRule", "Node", "collapse", "format_shape", "format_spatial",
    "geometry_union", "layer_rule", "layer_types", "plain_padding", "register_layer",
    "rule_for_module", "unregister_layer",
]


class _Required:
    """Marks a key that has no default: the spec must give it."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()

_RULES: dict[str, "LayerRule"] = {}     # canonical name -> rule
_NAMES: dict[str, str] = {}             # canonical name or alias -> canonical name
_BY_MODULE: dict[type, list["LayerRule"]] = {}
_PLAIN_KIND = Kind()


def format_shape(shape: tuple) -> str:
    """A volume ``(C, *S)`` -> ``'16x5x5'``; a flat vector ``(F,)`` -> ``'400'``."""
    return format_spatial(shape)


# --------------------------------------------------------------------------------------
# Nodes: one desugared layer of a spec
# --------------------------------------------------------------------------------------

class Node:
    """One layer of a desugared spec: its type, canonical settings and where it was written.

    Attributes:
        type: canonical layer type (``"conv"``; aliases such as ``deconv`` are resolved).
        args: canonical settings in the spec's words and plain values, every key of the
            type present; containers hold lists of Nodes.
        settings: the layer class's checked settings (its constructor's names and values),
            without those the input gives.
        source: spec path of the item as written (``layers[3]``), for error messages.
        written: the type name as written (an alias, or the activation name).
        checks: inferred keys as written (``in_features``), checked against the input.
    """

    __slots__ = ("type", "args", "settings", "source", "written", "checks")

    def __init__(self, type: str, args: dict, source: str = "", written: str | None = None,
                 checks: dict | None = None, settings: dict | None = None):
        self.type = type
        self.args = args
        self.settings = settings if settings is not None else {}
        self.source = source
        self.written = written or type
        self.checks = checks or {}

    @property
    def rule(self) -> "LayerRule":
        return _RULES[self.type]

    @property
    def at(self) -> str:
        """Spec path of this node's settings: ``layers[3].conv``."""
        return f"{self.source}.{self.written}" if self.source else self.written

    def to_dict(self, defaults: bool = True):
        """Plain form: ``'flatten'`` when there are no settings, else ``{type: {settings}}``."""
        args = self.args if defaults else self.rule.compact(self)
        args = {key: _plain(value, defaults) for key, value in args.items()}
        return {self.type: args} if args else self.type

    def __eq__(self, other):
        return isinstance(other, Node) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Node({self.to_dict()!r})"


def _plain(value, defaults: bool = True):
    if isinstance(value, Node):
        return value.to_dict(defaults)
    if isinstance(value, (list, tuple)):
        return [_plain(item, defaults) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item, defaults) for key, item in value.items()}
    return value


# --------------------------------------------------------------------------------------
# At: where the engine is working, for errors that name the spec path
# --------------------------------------------------------------------------------------

class At:
    """The place in a spec being checked: its path, the rank, where the input comes from.

    Attributes:
        path: spec path of the layer's settings (``layers[3].conv``).
        rank: number of spatial dimensions of the network (1, 2 or 3).
        came_from: what produced the current input (``the input`` or
            ``layers[2] (maxpool 2 of 8x8)``), set during shape inference.
        resized_by: type of the layer that last changed the input's size (or None).
        resized_at: its spec path (or None).
    """

    def __init__(self, path: str, rank: int, came_from: str = "the input",
                 resized_by: str | None = None, resized_at: str | None = None, engine=None):
        self.path = path
        self.rank = rank
        self.came_from = came_from
        self.resized_by = resized_by
        self.resized_at = resized_at
        self.engine = engine

    def key(self, key: str | None) -> str:
        return f"{self.path}.{key}" if key else self.path

    def error(self, message: str, key: str | None = None) -> SpecError:
        """A SpecError at this layer's path (or at one of its keys)."""
        return SpecError(message, self.key(key))

    def source(self) -> InputSource:
        """Where the input comes from, as the layer classes word it in their errors."""
        if self.resized_by is None:
            grow = "or a larger input"
        elif "pool" in self.resized_by:
            grow = "or remove the pooling"
        else:
            grow = f"or less downsampling in {self.resized_at}"
        return InputSource(self.came_from, grow)

    def choice(self, args: dict, key: str, choices: Iterable[str]) -> str:
        """One of ``choices`` (for container settings such as ``merge``)."""
        choices = tuple(choices)
        value = args[key]
        if isinstance(value, str) and value in choices:
            return value
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        listed = ", ".join(repr(c) for c in choices)
        raise self.error(f"{key} must be one of {listed}. Received: {key}={value!r}.{hint}", key)

    def layers(self, args: dict, key: str, allow_empty: bool = False) -> list[Node]:
        """A nested list of layers (residual body, a parallel branch) -> desugared Nodes."""
        return self.engine.desugar_list(args[key], self.key(key), self.rank, allow_empty)

    def need_volume(self, shape: tuple, what: str) -> None:
        """Raise unless ``shape`` is a volume ``(C, *spatial)`` of the network's rank."""
        if len(shape) != self.rank + 1:
            raise self.error(
                f"{what} needs a volume (channels x {self.rank}-D spatial), but {self.came_from} "
                f"gives {format_shape(shape)} flat features. Move this layer before the flatten "
                f"(or global pooling) that turns the volume into a vector.")

    def need_flat(self, shape: tuple, what: str) -> None:
        """Raise unless ``shape`` is a flat feature vector ``(F,)``."""
        if len(shape) != 1:
            raise self.error(
                f"{what} needs a flat input (a vector of features), but {self.came_from} gives a "
                f"{format_shape(shape)} volume. Add `- flatten` before this layer (giving "
                f"{math.prod(shape)} features), or a global pooling layer.")


# --------------------------------------------------------------------------------------
# LayerRule
# --------------------------------------------------------------------------------------

_INFERRED_WORDS = {"channels": "channels", "features": "features", "spatial": "spatial size"}


class LayerRule:
    """The spec's vocabulary for one layer class.

    Args:
        name: the key in the spec (``conv``).
        layer: the :class:`cnnkit.layers.Layer` subclass it builds.
        aliases: other accepted type names (``deconv`` for ``conv_transpose``).
        renames: spec key -> the class's setting, where the spec says it otherwise
            (``{"filters": "out_channels"}``).
        key_aliases: other accepted spellings of spec keys (``{"kernel": "size"}``).
        shorthand: the key that a bare value fills (``dense: 10`` -> ``units: 10``).
        positional: order of positional values in the Python face (default: the
            required keys, else the shorthand).
        activation: whether ``activation:`` is accepted (it becomes its own layer).
        is_activation: an element-wise nonlinearity that ``activation:`` may name.
        description: one line for listings and docs.
        example: the settings of a small instance (``{"filters": 4, "kernel": 3}``), for
            docs and for the tests that check every registered type.
        rank_examples: rank -> a small instance's settings where they depend on the rank
            (``roi_pool``'s boxes list 2 numbers per dimension); ``example`` otherwise.

    Everything about the settings (their keys, defaults and checks) and the geometry comes
    from ``layer``: the spec's keys are the constructor's settings that the input does not
    give, renamed. Errors a layer raises are re-located to the spec path and reworded in
    the spec's names.
    """

    def __init__(self, name: str = "", layer: type[Layer] | None = None, *,
                 aliases: tuple[str, ...] = (), renames: dict | None = None,
                 key_aliases: dict | None = None, shorthand: str | None = None,
                 positional: tuple[str, ...] | None = None, activation: bool = False,
                 is_activation: bool = False, description: str = "", example: dict | None = None,
                 rank_examples: dict | None = None):
        self.name = name or getattr(self, "name", "")
        self.layer = layer if layer is not None else getattr(self, "layer", None)
        self.aliases = tuple(aliases) or getattr(self, "aliases", ())
        self.renames = dict(renames or getattr(self, "renames", {}))
        self.key_aliases = dict(key_aliases or getattr(self, "key_aliases", {}))
        self.shorthand = shorthand or getattr(self, "shorthand", None)
        self.positional = positional or getattr(self, "positional", None)
        self.activation = activation or getattr(self, "activation", False)
        self.is_activation = is_activation or getattr(self, "is_activation", False)
        self.description = description or getattr(self, "description", "")
        self.example = dict(example if example is not None else getattr(self, "example", {}))
        self.rank_examples = dict(rank_examples or getattr(self, "rank_examples", {}))
        self._settings_of = {spec: setting for spec, setting in self.renames.items()}
        self._spec_of = {setting: spec for spec, setting in self.renames.items()}

    # ---- vocabulary ----------------------------------------------------------------------
    @property
    def modules(self) -> tuple[type, ...]:
        """Module classes that read back into this type."""
        return (self.layer,) if self.layer is not None else ()

    @property
    def takes(self) -> str:
        return self.layer.takes if self.layer is not None else "any"

    def spec_key(self, setting: str) -> str:
        """The spec's name for a constructor setting."""
        return self._spec_of.get(setting, setting)

    def setting(self, key: str) -> str:
        """The constructor setting behind a spec key."""
        return self._settings_of.get(key, key)

    def _settings(self) -> dict[str, Any]:
        """The layer's settings that a spec writes: not inferred, not the rank."""
        if self.layer is None:
            return {}
        return {name: default for name, default in self.layer.signature().items()
                if name not in self.layer.inferred and name != "dims"}

    @functools.cached_property
    def keys(self) -> dict[str, Any]:
        """Spec key -> its default in the spec's plain form (``REQUIRED`` if none)."""
        return {self.spec_key(name): REQUIRED if default is _EMPTY else self._plain(name, default)
                for name, default in self._settings().items()}

    @property
    def check_only(self) -> tuple[str, ...]:
        """Keys the input gives (``in_channels``): checked when written, never canonical."""
        inferred = self.layer.inferred if self.layer is not None else {}
        return tuple(self.spec_key(name) for name in inferred)

    def _kind(self, setting: str) -> Kind:
        return self.layer.kinds.get(setting, _PLAIN_KIND)

    def _plain(self, setting: str, value, rank: int = 1):
        """A setting's value (as given, or checked) in the spec's plain form."""
        kind = self._kind(setting)
        try:
            return kind.plain(kind.check(value, setting, rank))
        except CnnkitError:
            return value

    # ---- errors --------------------------------------------------------------------------
    def speak(self, message: str) -> str:
        """A layer's message in the spec's words (``out_channels`` -> ``filters``)."""
        for spec, setting in self.renames.items():
            message = re.sub(rf"\b{re.escape(setting)}\b", spec, message)
        return message

    def locate(self, at: At, error: Exception) -> SpecError:
        """A layer's ArgumentError / ShapeError as a SpecError at the key it is about."""
        argument = getattr(error, "argument", None)
        key = self.spec_key(argument) if argument else None
        if key not in (*self.keys, *self.check_only):
            key = None
        return at.error(self.speak(str(error)), key)

    # ---- the engine's protocol ------------------------------------------------------------
    def check(self, args: dict, at: At) -> tuple[dict, dict]:
        """Checked settings and canonical spec args from the keys a spec wrote (defaults not
        yet filled in). Raises SpecError at the key."""
        given = {self.setting(key): self._kind(self.setting(key)).read(value)
                 for key, value in args.items()}
        if "dims" in self.layer.signature():
            given["dims"] = at.rank
        try:
            settings = self.layer.check_settings(given)
        except (ArgumentError, ArgumentTypeError, ShapeError) as error:
            raise self.locate(at, error) from None
        canonical = {self.spec_key(name): self._kind(name).plain(settings[name])
                     for name in self._settings()}
        return settings, canonical

    def infer(self, node: Node, shape: tuple, at: At) -> tuple[dict, tuple]:
        """The layer's full settings (inferred ones added) and output shape for an input."""
        layer = self.layer
        inferred = layer.settings_from_input(node.settings, shape)
        for setting, value in inferred.items():
            key = self.spec_key(setting)
            if key in node.checks:
                self._check_written(node.checks[key], setting, value, at)
        settings = {**node.settings, **inferred}
        source = at.source()
        try:
            layer.check_together(settings, source)
            out = layer.output_shape(settings, shape, source)
        except (ArgumentError, ArgumentTypeError, ShapeError) as error:
            raise self.locate(at, error) from None
        return settings, tuple(out)

    def _check_written(self, written, setting: str, value, at: At) -> None:
        key = self.spec_key(setting)
        what = _INFERRED_WORDS[self.layer.inferred[setting]]
        try:
            same = self._kind(setting).check(written, setting, at.rank) == value
        except CnnkitError:
            same = False
        if not same:
            shown = format_spatial(value) if isinstance(value, tuple) else value
            raise at.error(
                f"{key} {written!r} does not match the {shown} {what} coming from "
                f"{at.came_from}. Received: {key}={written!r}. Leave {key} out (the spec infers "
                f"it), or change the layers before to give {written} {what}.", key)

    def geometry(self, settings: dict, shape: tuple, geometry: Geometry | None):
        return None if geometry is None else self.layer.receptive_field(settings, shape, geometry)

    def counts(self, settings: dict, shape: tuple, out: tuple) -> tuple[int, int]:
        """(parameters, multiply-adds) for an input and output shape."""
        return (int(self.layer.param_count(settings, shape, out)),
                int(self.layer.flop_count(settings, shape, out)))

    def is_sized(self, node: Node) -> bool:
        """True when the built Module works only for the input shape it was built for."""
        return self.layer.is_sized(node.settings)

    def build(self, settings: dict) -> nn.Module:
        """The Module for full settings (inferred ones included)."""
        dims = settings.get("dims")
        cls = self.layer.__dict__.get("rank_aliases", {}).get(dims, self.layer)
        return cls(**settings)

    def unbuild(self, module: nn.Module) -> dict:
        """Spec args of a built Module (a cnnkit Layer: read from its settings)."""
        settings = module.settings()
        return {self.spec_key(name): self._kind(name).plain(settings[name])
                for name in self._settings() if name in settings}

    def _walk(self, node: Node, shape: tuple, geometry, at: At, path: str, depth: int, engine):
        """Infer this node; return (output shape, geometry, rows). Containers recurse."""
        settings, out = self.infer(node, shape, at)
        engine.full_settings[id(node)] = settings
        geo = self.geometry(settings, shape, geometry)
        params, flops = self.counts(settings, shape, out)
        row = engine.row(node, path, depth, shape, out, geo, params, flops)
        row.notes = list(self.layer.notes(settings, shape))
        return out, geo, [row]

    def _build(self, node: Node, shape: tuple, path: str, engine) -> nn.Module:
        return self.build(engine.full_settings[id(node)])

    def _unbuild(self, module: nn.Module, engine) -> dict:
        return self.unbuild(module)

    def matches(self, module: nn.Module) -> bool:
        """Whether ``module`` (an instance of ``modules``) is this type; lets several types
        share a class (the activations share ``Activation``)."""
        return True

    # ---- text ----------------------------------------------------------------------------
    def describe(self, args: dict) -> str:
        """A few words naming the layer in messages: ``maxpool 2``, ``conv 3 stride 2``."""
        if self.layer is not None and "kernel" in self.layer.signature():
            key = self.spec_key("kernel")
            out = f"{self.name} {_text(args[key])}"
            default = args[key] if "stride" in self.layer.kinds and \
                self.layer.signature().get("stride", 1) is None else 1
            if args.get("stride", default) != default:
                out += f" stride {_text(args['stride'])}"
            return out
        value = args.get(self.shorthand) if self.shorthand else None
        if value is None or isinstance(value, (list, dict)) and not all(
                isinstance(v, int) for v in value):
            return self.name
        return f"{self.name} {_text(value)}"

    def compact(self, node: Node) -> dict:
        """Settings without those equal to their defaults (for a short YAML)."""
        if self.layer is None:
            return dict(node.args)
        out = {}
        settings = node.settings
        for name, default in self._settings().items():
            key = self.spec_key(name)
            value = node.args[key]
            if default is not _EMPTY:
                default = self.layer.default_of(name, settings)
                if value == self._plain(name, default, settings.get("dims", 1)):
                    continue
            out[key] = value
        return out

    def __repr__(self) -> str:
        return f"<layer rule {self.name!r}>"


def _text(value) -> str:
    return format_spatial(value) if isinstance(value, list) else str(value)


# --------------------------------------------------------------------------------------
# Registration and lookup
# --------------------------------------------------------------------------------------

_PARTS = ("name", "layer", "aliases", "renames", "key_aliases", "shorthand", "positional",
          "activation", "is_activation", "description", "example", "rank_examples")


def register_layer(rule=None, /, *, replace: bool = False, **parts):
    """Add a layer type to the spec's catalogue.

    Forms: ``register_layer(LayerRule(...))``, ``@register_layer`` on a LayerRule subclass
    (registers an instance, returns the class), or the LayerRule arguments as keywords.

    Args:
        rule: a LayerRule instance or subclass.
        replace: allow replacing a registered type of the same name.
        parts: for the keyword form: ``name``, ``layer`` and the other LayerRule arguments.

    Returns:
        The rule (the class, for the decorator form).

    Raises:
        ArgumentError: the name or an alias is taken, or a part is unknown.

    Example:
        >>> from cnnkit.layers import ReLU
        >>> rule = register_layer(name="example_relu", layer=ReLU)
        >>> layer_rule("example_relu").keys
        {}
        >>> unregister_layer("example_relu")
    """
    if rule is None:
        unknown = sorted(set(parts) - set(_PARTS))
        if unknown:
            raise ArgumentError(
                f"register_layer got unknown parts {unknown}. Received: {sorted(parts)}. Use "
                f"the arguments of LayerRule: {', '.join(_PARTS)}.")
        instance = LayerRule(**parts)
        _add(instance, replace)
        return instance
    if isinstance(rule, type) and issubclass(rule, LayerRule):
        _add(rule(), replace)
        return rule
    if isinstance(rule, LayerRule):
        _add(rule, replace)
        return rule
    raise ArgumentTypeError(
        f"register_layer takes a LayerRule subclass or instance, or keyword parts. "
        f"Received: {rule!r} ({type(rule).__name__}).")


def _add(rule: LayerRule, replace: bool) -> None:
    if not isinstance(rule.name, str) or not rule.name.isidentifier():
        raise ArgumentError(f"a layer type needs a name that is an identifier. Received: "
                            f"name={rule.name!r}.")
    for name in (rule.name, *rule.aliases):
        taken = _NAMES.get(name)
        if taken is not None and not (replace and taken == rule.name):
            raise ArgumentError(
                f"layer type {name!r} is already registered (as {taken!r}). Received: "
                f"name={rule.name!r}, aliases={rule.aliases!r}. Choose another name, or pass "
                f"replace=True to replace it.")
    if rule.layer is None and type(rule) is LayerRule:
        raise ArgumentError(
            f"layer type {rule.name!r} needs the layer class it builds. Received: layer=None. "
            f"Pass layer=<a cnnkit.layers.Layer subclass>.")
    if rule.layer is not None and not (isinstance(rule.layer, type)
                                       and issubclass(rule.layer, Layer)):
        raise ArgumentTypeError(
            f"layer must be a cnnkit.layers.Layer subclass (its settings and geometry are the "
            f"spec's). Received: layer={rule.layer!r}. Write a Layer subclass for it.")
    if rule.name in _RULES:
        unregister_layer(rule.name)
    _RULES[rule.name] = rule
    for name in (rule.name, *rule.aliases):
        _NAMES[name] = rule.name
    for cls in rule.modules:
        _BY_MODULE.setdefault(cls, []).append(rule)


def unregister_layer(name: str) -> None:
    """Remove a layer type (and its aliases) from the catalogue."""
    rule = _RULES.pop(name, None)
    if rule is None:
        return
    for alias in [n for n, target in _NAMES.items() if target == name]:
        del _NAMES[alias]
    for cls in rule.modules:
        _BY_MODULE[cls] = [r for r in _BY_MODULE.get(cls, []) if r is not rule]


def layer_types() -> list[str]:
    """The registered layer type names (canonical names, sorted).

    Example:
        >>> "conv" in layer_types()
        True
    """
    return sorted(_RULES)


def layer_rule(name: str, path: str = "") -> LayerRule:
    """The rule of a layer type or alias.

    Raises:
        SpecError: an unknown type, listing the valid ones and the closest match.
    """
    if isinstance(name, str) and name in _NAMES:
        return _RULES[_NAMES[name]]
    hint = did_you_mean(name, _NAMES) if isinstance(name, str) else ""
    raise SpecError(
        f"unknown layer type {name!r}.{hint} Valid layer types: {', '.join(layer_types())}.",
        path)


def rule_for_module(module: nn.Module) -> LayerRule | None:
    """The rule whose ``modules`` include the Module's class (most specific first)."""
    for cls in type(module).__mro__:
        for rule in _BY_MODULE.get(cls, ()):
            if rule.matches(module):
                return rule
    return None


def geometry_union(geometries: list[Geometry | None]) -> Geometry | None:
    """Receptive field covering every branch's field (residual and parallel merges)."""
    if any(g is None for g in geometries):
        return None
    first = geometries[0]
    start, field, jump = [], [], []
    for axis in range(len(first.field)):
        lo = min(g.start[axis] for g in geometries)
        hi = max(g.start[axis] + g.field[axis] - 1 for g in geometries)
        start.append(lo)
        field.append(hi - lo + 1)
        jump.append(max(g.jump[axis] for g in geometries))
    return Geometry(tuple(field), tuple(jump), tuple(start))
