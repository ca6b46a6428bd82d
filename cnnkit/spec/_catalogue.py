"""The layer catalogue: what the spec knows about each layer type, and how to extend it.

A :class:`LayerRule` tells the spec everything about one layer type: its keys and
defaults, its shorthand, how to check the values (without an input), its output shape,
receptive-field geometry, parameter and multiply-add counts for a given input shape,
how to build the Module and how to turn a Module back into spec settings.
:func:`register_layer` adds a rule to the catalogue.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch.nn as nn

from .._validation import ArgumentError, ArgumentTypeError, SpecError, did_you_mean, to_tuple
from ..functional import shapes
from ..functional.shapes import Geometry

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


# --------------------------------------------------------------------------------------
# Value helpers shared by rules
# --------------------------------------------------------------------------------------

def collapse(values: Iterable[int]) -> int | list[int]:
    """One value per dimension -> an int when they are all equal, else a list.

    Example:
        >>> collapse((3, 3)), collapse((1, 2))
        (3, [1, 2])
    """
    values = list(values)
    return values[0] if values and all(v == values[0] for v in values) else values


def plain_padding(padding: shapes.PaddingSpec) -> Any:
    """A normalised padding -> its shortest spec form: a name, int, ints or [lo, hi] pairs.

    Example:
        >>> plain_padding(((1, 1), (1, 1))), plain_padding(((0, 0),)), plain_padding(((0, 1), (2, 2)))
        (1, 'valid', [[0, 1], [2, 2]])
    """
    if isinstance(padding, str):
        return padding
    if all(lo == hi == 0 for lo, hi in padding):
        return "valid"
    if all(lo == hi for lo, hi in padding):
        return collapse(lo for lo, _ in padding)
    return [[lo, hi] for lo, hi in padding]


def format_spatial(sizes: Iterable) -> str:
    """``(8, 8)`` -> ``'8x8'``; fractions print as ``1/2``."""
    return "x".join(str(s) for s in sizes)


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
        args: canonical settings, every key of the type present; containers hold lists
            of Nodes.
        source: spec path of the item as written (``layers[3]``), for error messages.
        written: the type name as written (an alias, or the activation name).
    """

    __slots__ = ("type", "args", "source", "written", "checks")

    def __init__(self, type: str, args: dict, source: str = "", written: str | None = None,
                 checks: dict | None = None):
        self.type = type
        self.args = args
        self.source = source
        self.written = written or type
        self.checks = checks or {}  # check-only keys as written (in_features), not canonical

    @property
    def rule(self) -> "LayerRule":
        return _RULES[self.type]

    @property
    def at(self) -> str:
        """Spec path of this node's settings: ``layers[3].conv``."""
        return f"{self.source}.{self.written}" if self.source else self.written

    def to_dict(self, defaults: bool = True):
        """Plain form: ``'flatten'`` when there are no settings, else ``{type: {settings}}``."""
        args = self.args if defaults else self.rule.compact(self.args)
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
# At: where a rule is working, and typed checks that raise errors naming that place
# --------------------------------------------------------------------------------------

class At:
    """The place in a spec that a rule is checking: its path, the rank, where the input
    comes from. Rules call its checkers so that every error names the spec path.

    Attributes:
        path: spec path of the layer's settings (``layers[3].conv``).
        rank: number of spatial dimensions of the network (1, 2 or 3).
        came_from: text naming what produced the current input (``the input`` or
            ``layers[2] (maxpool 2 of 8x8)``), set during shape inference.
        resized_by: type of the layer that last changed the spatial size (or None).
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

    # ---- errors ------------------------------------------------------------------------
    def key(self, key: str | None) -> str:
        return f"{self.path}.{key}" if key else self.path

    def error(self, message: str, key: str | None = None) -> SpecError:
        """A SpecError at this layer's path (or at one of its keys)."""
        return SpecError(message, self.key(key))

    def locate(self, error: Exception, keys: Iterable[str] = ()) -> SpecError:
        """Turn an ArgumentError / ShapeError raised by a checker or a Module into a
        SpecError at this path, at the key that the message starts with when there is one."""
        message = str(error)
        head = message.split(" ", 1)[0].split("=", 1)[0].rstrip(":,.")
        key = head if head in set(keys) else None
        return self.error(message, key)

    # ---- typed checks ------------------------------------------------------------------
    def per_dim(self, args: dict, key: str, allow_zero: bool = False) -> tuple[int, ...]:
        """An int or one int per spatial dimension -> a tuple of ``rank`` checked ints."""
        try:
            return to_tuple(args[key], self.rank, key, allow_zero=allow_zero)
        except (ArgumentError, ArgumentTypeError) as error:
            raise self.error(str(error), key) from None

    def integer(self, args: dict, key: str, low: int = 1) -> int:
        """An int of at least ``low``."""
        value = args[key]
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(f"{key} must be an int. Received: {key}={value!r} "
                             f"({type(value).__name__}).", key)
        if value < low:
            raise self.error(f"{key} must be at least {low}. Received: {key}={value!r}.", key)
        return value

    def number(self, args: dict, key: str, low: float | None = None, high: float | None = None,
               *, open_low: bool = False, open_high: bool = False, what: str = "") -> float:
        """A real number in a range (bounds included unless ``open_*``); returns a float.

        Strings that read as numbers are accepted, because YAML 1.1 (PyYAML) reads
        ``1e-5`` (no dot) as a string.
        """
        value = args[key]
        number = value
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                pass
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise self.error(f"{key} must be a number. Received: {key}={value!r} "
                             f"({type(value).__name__}).", key)
        too_low = low is not None and (number <= low if open_low else number < low)
        too_high = high is not None and (number >= high if open_high else number > high)
        if too_low or too_high or math.isnan(number):
            lo = "" if low is None else ("(" if open_low else "[") + f"{low:g}"
            hi = "" if high is None else f"{high:g}" + (")" if open_high else "]")
            span = f"in {lo}, {hi}" if low is not None and high is not None else (
                f"{'>' if open_low else '>='} {low:g}" if low is not None else
                f"{'<' if open_high else '<='} {high:g}")
            note = f" ({what})" if what else ""
            raise self.error(f"{key} must be {span}{note}. Received: {key}={value!r}.", key)
        return float(number)

    def flag(self, args: dict, key: str) -> bool:
        """A boolean (true / false)."""
        value = args[key]
        if not isinstance(value, bool):
            raise self.error(f"{key} must be true or false. Received: {key}={value!r} "
                             f"({type(value).__name__}).", key)
        return value

    def choice(self, args: dict, key: str, choices: Iterable[str]) -> str:
        """One of ``choices`` (with a did-you-mean hint)."""
        choices = tuple(choices)
        value = args[key]
        if isinstance(value, str) and value in choices:
            return value
        listed = ", ".join(choices)
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        raise self.error(f"unknown {key} {value!r}; {key} must be one of: {listed}. "
                         f"Received: {key}={value!r}.{hint}", key)

    def padding(self, args: dict, key: str = "padding") -> shapes.PaddingSpec:
        """``valid`` / ``same`` / ``full``, an int, ints or (lo, hi) pairs, normalised."""
        value = args[key]
        if isinstance(value, str) and value not in shapes.PADDING_NAMES:
            self.choice(args, key, shapes.PADDING_NAMES)
        try:
            return shapes.normalize_padding(value, self.rank, key)
        except (ArgumentError, ArgumentTypeError) as error:
            raise self.error(str(error), key) from None

    def layers(self, args: dict, key: str, allow_empty: bool = False) -> list[Node]:
        """A nested list of layers (residual body, a parallel branch) -> desugared Nodes."""
        return self.engine.desugar_list(args[key], self.key(key), self.rank, allow_empty)

    # ---- shape checks ------------------------------------------------------------------
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

    def window(self, spatial: tuple, kernel: tuple, stride: tuple, padding, dilation: tuple,
               key: str = "kernel", ceil_mode: bool = False) -> tuple[int, ...]:
        """Output size of a sliding window over ``spatial``; raises naming the key when
        the window does not fit the padded input."""
        pairs = shapes.padding_pairs(padding, kernel, stride, dilation, spatial)
        out = []
        for axis, (w, k, s, (lo, hi), d) in enumerate(zip(spatial, kernel, stride, pairs, dilation)):
            size = shapes.conv_output_size(w, k, s, (lo, hi), d, ceil_mode=ceil_mode)
            if size < 1:
                raise self.window_error(spatial, kernel, pairs, dilation, key)
            out.append(size)
        return tuple(out)

    def window_error(self, spatial, kernel, pairs, dilation, key="kernel") -> SpecError:
        padded = [w + lo + hi for w, (lo, hi) in zip(spatial, pairs)]
        dilated = any(d > 1 for d in dilation)
        k_text = format_spatial(kernel) if len(set(kernel)) > 1 else str(kernel[0])
        span = [shapes.effective_kernel(k, d) for k, d in zip(kernel, dilation)]
        spans = f" (dilation {collapse(dilation)} spreads it over {format_spatial(span)})" if dilated else ""
        pad = "" if all(lo == hi == 0 for lo, hi in pairs) else (
            f" padded to {format_spatial(padded)}")
        volume = (f"the input sequence of length {spatial[0]}" if len(spatial) == 1
                  else f"the {format_spatial(spatial)} input volume")
        largest = [(p - 1) // d + 1 for p, d in zip(padded, dilation)]
        fit = collapse(largest)
        if self.resized_by in ("maxpool", "avgpool", "lppool", "adaptive_maxpool",
                               "adaptive_avgpool"):
            tail = "or remove the pooling"
        elif self.resized_by is not None:
            tail = f"or less downsampling in {self.resized_at}"
        else:
            tail = "or a larger input"
        return self.error(
            f"{key} {k_text}{spans} does not fit {volume}{pad} coming from {self.came_from}. "
            f"Received: {key}={collapse(kernel)}. Use padding: same, a {key} of at most "
            f"{fit}, {tail}.", key)


# --------------------------------------------------------------------------------------
# LayerRule
# --------------------------------------------------------------------------------------

class LayerRule:
    """Everything the spec knows about one layer type. Subclass it and decorate the
    subclass with :func:`register_layer`, or pass the parts to ``register_layer(...)``.

    Class attributes:
        name: the key in the spec (``conv``).
        aliases: other accepted keys (``deconv`` for ``conv_transpose``).
        keys: settings and their defaults, in canonical order; ``REQUIRED`` marks keys
            without a default.
        key_aliases: other accepted spellings of keys (``{"kernel": "size"}``).
        shorthand: the key that a bare value fills (``dense: 10`` -> ``units: 10``).
        positional: order of positional arguments in the Python face
            (default: the required keys).
        modules: Module classes that :meth:`unbuild` turns back into this type.
        activation: whether ``activation:`` is accepted (it becomes its own layer).
        check_only: keys that are inferred and only checked when written
            (``in_features``); they never appear in the canonical spec.
        takes: the input the layer accepts: ``"volume"``, ``"flat"`` or ``"any"``.
        is_activation: an element-wise nonlinearity that ``activation:`` may name.
        description: one line for listings and docs.

    Methods to override (``args`` are canonical settings; ``shape`` is the input shape
    without the batch dimension: ``(C, *spatial)`` for a volume, ``(F,)`` for a vector):
        check, output_shape, geometry, params, flops, build, unbuild, sized, describe.
    """

    name: str = ""
    aliases: tuple[str, ...] = ()
    keys: dict[str, Any] = {}
    key_aliases: dict[str, str] = {}
    shorthand: str | None = None
    positional: tuple[str, ...] | None = None
    modules: tuple[type, ...] = ()
    activation: bool = False
    check_only: tuple[str, ...] = ()
    takes: str = "volume"
    is_activation: bool = False
    description: str = ""

    # ---- checks without an input -------------------------------------------------------
    def check(self, args: dict, at: At) -> dict:
        """Validate and normalise settings; return canonical plain values (ints, floats,
        strings, bools, lists, None). Raise ``at.error(...)`` (or any ArgumentError, which
        is located automatically)."""
        return args

    # ---- rules for a given input shape -------------------------------------------------
    def output_shape(self, args: dict, shape: tuple, at: At) -> tuple:
        """Output shape (without batch) for input ``shape``; raise ``at.error`` when the
        input cannot work. Default: unchanged (element-wise layers)."""
        return shape

    def geometry(self, args: dict, shape: tuple, geometry: Geometry) -> Geometry | None:
        """Receptive-field geometry after this layer, or None where it is not a regular
        grid. Default: unchanged (the layer looks at one position)."""
        return geometry

    def params(self, args: dict, shape: tuple, out: tuple) -> int:
        """Number of learned parameters."""
        return 0

    def flops(self, args: dict, shape: tuple, out: tuple) -> int:
        """Multiply-adds of one forward pass for one sample."""
        return 0

    def sized(self, args: dict) -> bool:
        """True when the built Module works only for the input shape it was built for
        (dense, untied bias, locally connected), so that the network checks it at call time."""
        return False

    # ---- Module faces ------------------------------------------------------------------
    def build(self, args: dict, shape: tuple) -> nn.Module:
        """The Module for canonical ``args`` and input ``shape``."""
        raise NotImplementedError(f"layer type {self.name!r} has no build()")

    def unbuild(self, module: nn.Module) -> dict:
        """Spec settings of a built Module (any accepted form; they are checked again)."""
        raise NotImplementedError(f"layer type {self.name!r} has no unbuild()")

    def matches(self, module: nn.Module) -> bool:
        """Whether ``module`` (an instance of one of ``modules``) is this type; lets several
        types share a Module class (the activations share ``Activation``)."""
        return True

    # ---- text --------------------------------------------------------------------------
    def describe(self, args: dict) -> str:
        """A few words naming the layer in messages: ``maxpool 2``, ``conv 16``."""
        value = args.get(self.shorthand) if self.shorthand else None
        if value is None or isinstance(value, (list, dict)) and not all(
                isinstance(v, int) for v in value):
            return self.name
        return f"{self.name} {format_spatial(value) if isinstance(value, list) else value}"

    def compact(self, args: dict) -> dict:
        """Settings without those equal to their defaults (for a short YAML)."""
        return {key: value for key, value in args.items()
                if self.keys.get(key, REQUIRED) is REQUIRED or value != self.keys[key]}

    # ---- engine protocol (containers override these) -----------------------------------
    def _walk(self, node: Node, shape: tuple, geometry, at: At, path: str, depth: int, engine):
        """Infer this node; return (output shape, geometry, rows). Containers recurse."""
        out = self.output_shape(node.args, shape, at)
        geo = None if geometry is None else self.geometry(node.args, shape, geometry)
        row = engine.row(node, path, depth, shape, out, geo,
                         self.params(node.args, shape, out), self.flops(node.args, shape, out))
        return out, geo, [row]

    def _build(self, node: Node, shape: tuple, path: str, engine) -> nn.Module:
        return self.build(node.args, shape)

    def _unbuild(self, module: nn.Module, engine) -> dict:
        return self.unbuild(module)

    def __repr__(self) -> str:
        return f"<layer rule {self.name!r}>"


# --------------------------------------------------------------------------------------
# Registration and lookup
# --------------------------------------------------------------------------------------

_HOOKS = ("check", "output_shape", "geometry", "params", "flops", "build", "unbuild",
          "sized", "describe", "matches", "compact")


def register_layer(rule=None, /, *, replace: bool = False, **parts):
    """Add a layer type to the spec's catalogue.

    Three forms:

    * ``@register_layer`` on a :class:`LayerRule` subclass (registers an instance and
      returns the class unchanged);
    * ``register_layer(rule_instance)``;
    * ``register_layer(name="...", keys={...}, build=fn, unbuild=fn, ...)``: the class
      attributes and methods of :class:`LayerRule` as keyword arguments; functions take
      the same arguments as the methods, without ``self``.

    Args:
        rule: a LayerRule subclass or instance.
        replace: allow replacing a registered type of the same name.
        parts: for the keyword form.

    Returns:
        What was passed (the class, for the decorator form), or the new rule.

    Raises:
        ArgumentError: the name or an alias is taken, or a key is unknown.

    Example:
        >>> import torch.nn as nn
        >>> rule = register_layer(name="example_square", takes="any", modules=(),
        ...                       build=lambda args, shape: nn.Identity(),
        ...                       unbuild=lambda module: {})
        >>> layer_rule("example_square").name
        'example_square'
        >>> unregister_layer("example_square")
    """
    if rule is None:
        unknown = set(parts) - set(_HOOKS) - set(vars(LayerRule)) - {"name"}
        if unknown:
            raise ArgumentError(
                f"register_layer got unknown parts {sorted(unknown)}. Received: "
                f"{sorted(parts)}. Use the attributes and methods of LayerRule.")
        namespace = {}
        for key, value in parts.items():
            namespace[key] = staticmethod(value) if key in _HOOKS and callable(value) else value
        cls = type(f"{parts.get('name', 'Custom').title().replace('_', '')}Rule", (LayerRule,),
                   namespace)
        instance = cls()
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
    if rule.takes not in ("volume", "flat", "any"):
        raise ArgumentError(f"takes must be 'volume', 'flat' or 'any'. Received: takes={rule.takes!r}.")
    for name in (rule.name, *rule.aliases):
        taken = _NAMES.get(name)
        if taken is not None and not (replace and taken == rule.name):
            raise ArgumentError(
                f"layer type {name!r} is already registered (as {taken!r}). Received: "
                f"name={rule.name!r}, aliases={rule.aliases!r}. Choose another name, or pass "
                f"replace=True to replace it.")
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

