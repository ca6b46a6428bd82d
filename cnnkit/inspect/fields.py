"""Receptive fields of single units, from the summary table's field / jump / start.

Nothing here re-derives receptive-field arithmetic: the numbers come from
:func:`cnnkit.inspect.summary` (which gets them from :mod:`cnnkit.functional.shapes`), and
this module only turns "unit ``i`` of layer L" into the box of input pixels it sees:
``lo = start + i * jump`` and ``hi = lo + field - 1`` per spatial dimension.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import torch.nn as nn

from .._validation import ArgumentError, ArgumentTypeError
from .activations import _is_network, layer_names, resolve_layer, spec_path_to_module
from .summary import summary

__all__ = ["Field", "layer_geometry", "receptive_field"]


@dataclass(frozen=True)
class Field:
    """The input box one unit of a layer sees.

    Attributes:
        layer: the module name.
        unit: the unit's index in the layer's output, without the batch dimension.
        lo, hi: first and last input position per spatial dimension (inclusive; ``lo`` is
            negative and ``hi`` past the input where the field reaches into padding).
        field, jump, start: the layer's geometry from the summary table.
    """

    layer: str
    unit: tuple
    lo: tuple
    hi: tuple
    field: tuple
    jump: tuple
    start: tuple

    def clipped(self, size) -> tuple[tuple, tuple]:
        """``(lo, hi)`` cut to an input of spatial ``size`` (the pixels that exist)."""
        lo = tuple(max(0, v) for v in self.lo)
        hi = tuple(min(s - 1, v) for s, v in zip(size, self.hi))
        return lo, hi

    def to_dict(self, size=None) -> dict:
        """Plain ints / floats (JSON-ready); with ``size``, the clipped box too."""
        def plain(values):
            return [int(v) if float(v).is_integer() else float(v) for v in values]

        out = {"layer": self.layer, "unit": list(self.unit), "lo": plain(self.lo),
               "hi": plain(self.hi), "field": plain(self.field), "jump": plain(self.jump),
               "start": plain(self.start)}
        if size is not None:
            lo, hi = self.clipped(size)
            out["clipped"] = {"lo": list(lo), "hi": list(hi)}
        return out


def layer_geometry(model: nn.Module, input_shape=None) -> dict[str, dict]:
    """Module name -> ``{"type", "output_shape", "field", "jump", "start"}`` per layer.

    Args:
        model: a Network (its own input shape) or any Module (``input_shape`` needed).
        input_shape: one sample's shape, channels first.

    Returns:
        A dict in layer order. ``field`` / ``jump`` / ``start`` are tuples (one value per
        spatial dimension) or None where the summary does not know them.

    Example:
        >>> from cnnkit.spec import build
        >>> net = build({"input": [1, 8, 8], "layers": [{"conv": {"filters": 2, "kernel": 3}},
        ...                                             {"maxpool": 2}]})
        >>> layer_geometry(net)["layers.1"]
        {'type': 'maxpool', 'output_shape': (2, 3, 3), 'field': (4, 4), 'jump': (2, 2), 'start': (0, 0)}
    """
    table = summary(model, tuple(input_shape) if input_shape is not None else None)
    names = set(layer_names(model))
    out = {}
    for row in table.rows:
        name = row["name"]
        if table.source == "spec":
            name = spec_path_to_module(name)
            if not _is_network(model):
                # A plain Sequential unbuilt into a spec: its layers[i] is the module "i".
                name = name[len("layers."):] if name.startswith("layers.") else name
        if name not in names:
            continue
        out[name] = {"type": row["type"], "output_shape": tuple(row["output_shape"]),
                     "field": row["field"], "jump": row["jump"], "start": row["start"]}
    return out


def receptive_field(model: nn.Module, layer, unit, input_shape=None, *,
                    geometry: dict | None = None) -> Field:
    """The input box that ``unit`` of ``layer`` sees.

    Args:
        model: a Network or any Module.
        layer: a layer name or index (see :func:`cnnkit.inspect.resolve_layer`).
        unit: the unit's position in the layer's output without the batch dimension:
            ``(channel, *position)`` or just ``position`` for a volume; ``(i,)`` for a vector
            (whose units all see the same, whole field).
        input_shape: needed for a Module that is not a Network.
        geometry: a :func:`layer_geometry` result to reuse (saves one summary).

    Returns:
        A :class:`Field`; ``field.clipped(spatial_size)`` gives the pixels inside the input.

    Raises:
        ArgumentError: an unknown layer, a layer whose receptive field is unknown, or a
            unit outside the layer's output.

    Example:
        >>> from cnnkit.spec import build
        >>> net = build({"input": [1, 28, 28], "layers": [
        ...     {"conv": {"filters": 6, "kernel": 5, "padding": "same"}}, {"maxpool": 2},
        ...     {"conv": {"filters": 16, "kernel": 5}}]})
        >>> f = receptive_field(net, "layers.2", (0, 3, 4))
        >>> f.lo, f.hi, f.field, f.jump
        ((4, 6), (17, 19), (14, 14), (2, 2))
    """
    name = resolve_layer(model, layer)
    geometry = geometry if geometry is not None else layer_geometry(model, input_shape)
    if name not in geometry or geometry[name]["field"] is None:
        known = [n for n, g in geometry.items() if g["field"] is not None]
        raise ArgumentError(
            f"the receptive field of layer {name!r} is not known (it is not in the summary "
            f"table, or its units do not sit on a regular grid). Received: layer={layer!r}. "
            f"Layers with a known field: {', '.join(known) or 'none'}.")
    info = geometry[name]
    out_shape = info["output_shape"]
    rank = len(info["field"])
    if isinstance(unit, int) and not isinstance(unit, bool):
        unit = (unit,)
    if not isinstance(unit, (tuple, list)) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in unit):
        raise ArgumentTypeError(
            f"unit must be a tuple of ints, (channel, *position). Received: unit={unit!r}.")
    unit = tuple(unit)
    volume = len(out_shape) == rank + 1
    if volume and len(unit) == rank:
        position = unit
        checked = tuple(out_shape[1:])
    elif volume and len(unit) == rank + 1:
        position = unit[1:]
        checked = tuple(out_shape)
    elif not volume and len(unit) == len(out_shape):
        position = (0,) * rank
        checked = tuple(out_shape)
    else:
        want = f"(channel, {', '.join('yx'[-rank:] if rank <= 2 else 'dyx')})" if volume else \
            f"{len(out_shape)} index" + ("es" if len(out_shape) > 1 else "")
        raise ArgumentError(
            f"unit must index layer {name!r}'s output of shape {out_shape}: {want}. "
            f"Received: unit={unit!r}.")
    if any(not 0 <= v < s for v, s in zip(unit if len(unit) == len(checked) else position,
                                           checked)):
        raise ArgumentError(
            f"unit {unit} is outside layer {name!r}'s output of shape {out_shape}. Received: "
            f"unit={unit!r}. Each index must be at least 0 and less than the size.")
    field, jump, start = info["field"], info["jump"], info["start"]
    lo = tuple(_floor(s + p * j) for s, p, j in zip(start, position, jump))
    hi = tuple(_ceil(s + p * j + f - 1) for s, p, j, f in zip(start, position, jump, field))
    return Field(name, unit, lo, hi, tuple(field), tuple(jump), tuple(start))


def _floor(value) -> int:
    return math.floor(value) if isinstance(value, Fraction) else int(value)


def _ceil(value) -> int:
    return math.ceil(value) if isinstance(value, Fraction) else int(value)
