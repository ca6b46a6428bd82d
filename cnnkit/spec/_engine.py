"""The spec engine: desugar written layers into Nodes, infer shapes, build and unbuild.

Desugaring turns every accepted way of writing a layer into one canonical Node:
``flatten`` (bare name), ``dense: 10`` (shorthand), ``maxpool: {kernel: 2}`` (key alias),
``deconv`` (type alias), ``activation: tanh`` (split into its own layer after it).
Inference walks the Nodes with an input shape, without tensors, and records a row per
layer (shape, receptive field, parameters, multiply-adds). Errors name the spec path as
the user wrote it (``layers[3].conv.kernel``); rows and built Modules use the desugared
paths (``layers[5]``), which are the indices of ``Network.layers``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch.nn as nn

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, SpecError, did_you_mean
from ..functional.shapes import Geometry
from ..layers.blocks import Sequential
from ._catalogue import _RULES, REQUIRED, At, Node, format_spatial, layer_rule, rule_for_module

__all__ = ["Engine", "LayerRow"]


@dataclass
class LayerRow:
    """What inference found out about one layer (one row of the summary table).

    Attributes:
        path: desugared spec path, which is also the Module's place in ``Network.layers``
            (``layers[5]``, ``layers[6].residual.layers[0]``).
        type: layer type.
        source: where the spec wrote it (``layers[3]``).
        input_shape, output_shape: without the batch dimension.
        geometry: receptive field of the output units, or None where it is irregular.
        params: learned parameters (a container: of everything inside it).
        flops: multiply-adds per sample (a container: of everything inside it).
        depth: nesting level, 0 for the top-level layers.
        node: the Node.
        notes: warnings that are not errors (input rows a window never reads).
    """

    path: str
    type: str
    source: str
    input_shape: tuple
    output_shape: tuple
    geometry: Geometry | None
    params: int
    flops: int
    depth: int
    node: Node
    notes: list = field(default_factory=list)


class Engine:
    """Desugars, infers, builds and unbuilds for a network of a given spatial rank."""

    def __init__(self, rank: int):
        self.rank = rank
        self.input_shapes: dict[int, tuple] = {}    # id(node) -> input shape, from walk()
        self.full_settings: dict[int, dict] = {}   # id(node) -> settings with inferred ones

    # ---- desugar -------------------------------------------------------------------------
    def desugar_list(self, raw, path: str, rank: int | None = None,
                     allow_empty: bool = False) -> list[Node]:
        """A written list of layers -> Nodes (activations split out)."""
        if not isinstance(raw, (list, tuple)):
            raise SpecError(
                f"must be a list of layers (in YAML, one `- type: settings` item per line). "
                f"Received: {raw!r} ({type(raw).__name__}).", path)
        if not raw and not allow_empty:
            raise SpecError(
                "is empty; it needs at least one layer. Received: []. Add layers, e.g. "
                "`- conv: {filters: 8, kernel: 3}`.", path)
        nodes: list[Node] = []
        for index, item in enumerate(raw):
            nodes.extend(self.desugar_item(item, f"{path}[{index}]"))
        return nodes

    def desugar_item(self, raw, path: str) -> list[Node]:
        """One written layer -> one Node, plus one for its ``activation:`` if any."""
        if isinstance(raw, Node):
            return [raw]
        if isinstance(raw, str):
            written, value = raw, None
        elif isinstance(raw, dict):
            if len(raw) != 1:
                keys = list(raw)
                fix = ("Put each layer in its own list item." if len(keys) > 1 else
                       "Write the layer type as the key, e.g. `- conv: {filters: 8, kernel: 3}`.")
                raise SpecError(
                    f"a layer is a mapping with exactly one key, its type. Received: keys "
                    f"{keys}. {fix}", path)
            written, value = next(iter(raw.items()))
        else:
            raise SpecError(
                f"a layer is a type name (`- flatten`) or a mapping {{type: settings}} "
                f"(`- dense: 10`). Received: {raw!r} ({type(raw).__name__}).", path)
        rule = layer_rule(written, path)
        at = At(f"{path}.{written}", self.rank, engine=self)
        if value is None:
            args = {}
        elif isinstance(value, dict):
            args = dict(value)
        elif rule.shorthand is not None:
            args = {rule.shorthand: value}
        else:
            keys = ", ".join(rule.keys) or "none"
            raise at.error(
                f"{rule.name} takes its settings as a mapping (keys: {keys}), not a bare "
                f"value. Received: {value!r}.")
        for alias, key in rule.key_aliases.items():
            if alias in args:
                if key in args:
                    raise at.error(
                        f"{alias} and {key} name the same setting; give only one. Received: "
                        f"{alias}={args[alias]!r}, {key}={args[key]!r}.", alias)
                args[key] = args.pop(alias)
        allowed = [*rule.keys, *rule.check_only] + (["activation"] if rule.activation else [])
        for key in args:
            if key not in allowed:
                hint = did_you_mean(key, [*allowed, *rule.key_aliases]) if isinstance(key, str) else ""
                valid = ", ".join(allowed) or "none (write it bare: `- " + rule.name + "`)"
                raise at.error(f"unknown key {key!r} for {rule.name}.{hint} Valid keys: {valid}.",
                               str(key))
        missing = [key for key, default in rule.keys.items()
                   if default is REQUIRED and key not in args]
        if missing:
            given = ", ".join(f"{k}: {v!r}" for k, v in args.items())
            raise at.error(
                f"{rule.name} needs {', '.join(missing)} (no default). Received: {written}: "
                f"{{{given}}}. Add {', '.join(f'{m}: <value>' for m in missing)}.", missing[0])
        activation = args.pop("activation", None)
        checks = {key: args.pop(key) for key in rule.check_only if key in args}
        settings, canonical = rule.check(args, at)
        nodes = [Node(rule.name, canonical, path, written, checks, settings)]
        if activation is not None and activation != "none":
            nodes.extend(self.desugar_activation(activation, f"{at.path}.activation"))
        return nodes

    def desugar_activation(self, raw, path: str) -> list[Node]:
        """``activation: relu`` (or ``{leaky_relu: 0.2}``) -> the activation's Node."""
        names = [name for name, rule in _RULES.items() if rule.is_activation]
        written = raw if isinstance(raw, str) else (
            next(iter(raw)) if isinstance(raw, dict) and len(raw) == 1 else None)
        if not isinstance(written, str) or written not in names:
            hint = did_you_mean(written, names) if isinstance(written, str) else ""
            raise SpecError(
                f"unknown activation {raw!r}.{hint} Valid activations: {', '.join(sorted(names))} "
                f"(or none).", path)
        return self.desugar_item(raw, path)

    # ---- inference -----------------------------------------------------------------------
    def row(self, node: Node, path: str, depth: int, shape: tuple, out: tuple, geometry,
            params: int, flops: int) -> LayerRow:
        return LayerRow(path, node.type, node.source, tuple(shape), tuple(out), geometry,
                        int(params), int(flops), depth, node)

    def walk(self, nodes: list[Node], shape: tuple, geometry: Geometry | None, prefix: str,
             depth: int = 0, came: At | None = None):
        """Infer a list of Nodes; returns (output shape, geometry, rows)."""
        state = came or At("", self.rank, engine=self)
        came_from, resized_by, resized_at = state.came_from, state.resized_by, state.resized_at
        rows: list[LayerRow] = []
        for index, node in enumerate(nodes):
            rule = node.rule
            path = f"{prefix}[{index}]"
            at = At(node.at, self.rank, came_from, resized_by, resized_at, engine=self)
            self.input_shapes[id(node)] = tuple(shape)
            try:
                if rule.takes == "volume":
                    at.need_volume(shape, rule.name)
                elif rule.takes == "flat":
                    at.need_flat(shape, rule.name)
                out, geometry, new_rows = rule._walk(node, tuple(shape), geometry, at, path,
                                                     depth, self)
            except SpecError:
                raise
            except (ArgumentError, ArgumentTypeError, ShapeError) as error:
                raise rule.locate(at, error) from None
            rows.extend(new_rows)
            if tuple(out[1:]) != tuple(shape[1:]) or len(out) != len(shape):
                where = (format_spatial(shape[1:]) if len(shape) > 1 else
                         f"{shape[0]} features")
                came_from = f"{node.source} ({rule.describe(node.args)} of {where})"
                resized_by, resized_at = node.type, node.source
            shape = tuple(out)
        return shape, geometry, rows

    def infer(self, nodes: list[Node], input_shape: tuple, prefix: str = "layers"):
        """Infer a whole network from its input shape; returns (output shape, rows)."""
        geometry = Geometry.identity(len(input_shape) - 1)
        out, _, rows = self.walk(nodes, tuple(input_shape), geometry, prefix)
        return out, rows

    # ---- build ---------------------------------------------------------------------------
    def build_list(self, nodes: list[Node], path: str) -> Sequential:
        """Modules for Nodes already walked by :meth:`infer`, in a Sequential named ``path``."""
        modules = []
        for index, node in enumerate(nodes):
            shape = self.input_shapes[id(node)]
            at = At(node.at, self.rank, engine=self)
            try:
                modules.append(node.rule._build(node, shape, f"{path}[{index}]", self))
            except SpecError:
                raise
            except (ArgumentError, ArgumentTypeError, ShapeError) as error:
                raise node.rule.locate(at, error) from None
        return Sequential(*modules, path=path)

    # ---- unbuild -------------------------------------------------------------------------
    def unbuild_module(self, module: nn.Module):
        """A Module -> its written spec form (``{type: settings}`` or a bare name)."""
        rule = rule_for_module(module)
        if rule is None:
            known = sorted({cls.__name__ for r in _RULES.values() for cls in r.modules})
            raise SpecError(
                f"{type(module).__name__} has no layer type in the spec catalogue, so it cannot "
                f"be written as a spec. Known modules: {', '.join(known)}. Register one with "
                f"cnnkit.spec.register_layer(...).")
        args = rule._unbuild(module, self)
        return {rule.name: args} if args else rule.name

    def unbuild_sequence(self, module: nn.Module) -> list:
        """A Sequential (nested ones flattened) or a single Module -> a list."""
        if isinstance(module, nn.Sequential):
            items: list = []
            for child in module:
                items.extend(self.unbuild_sequence(child) if isinstance(child, nn.Sequential)
                             else [self.unbuild_module(child)])
            return items
        return [self.unbuild_module(module)]


def check_input_shape(raw, path: str = "input") -> tuple[int, ...]:
    """The spec's ``input``: channels, then 1, 2 or 3 positive spatial sizes."""
    example = "e.g. input: [1, 28, 28] (channels, height, width)"
    if not isinstance(raw, (list, tuple)):
        raise SpecError(
            f"input must be a list: channels, then 1, 2 or 3 spatial sizes ({example}). "
            f"Received: input={raw!r} ({type(raw).__name__}).", path)
    if not 2 <= len(raw) <= 4:
        raise SpecError(
            f"input must hold the channels, then 1, 2 or 3 spatial sizes: 2 to 4 numbers "
            f"({example}; [channels, length] for 1-D, [channels, depth, height, width] for 3-D). "
            f"Received: input={list(raw)!r} with {len(raw)} numbers.", path)
    for index, size in enumerate(raw):
        if not isinstance(size, int) or isinstance(size, bool):
            raise SpecError(
                f"input sizes must be ints. Received: input={list(raw)!r}, whose item {index} is "
                f"{size!r} ({type(size).__name__}).", path)
        if size < 1:
            what = "the channel count" if index == 0 else f"spatial size {index - 1}"
            raise SpecError(
                f"input sizes must be positive; {what} is {size}. Received: input={list(raw)!r}.",
                path)
    return tuple(raw)

