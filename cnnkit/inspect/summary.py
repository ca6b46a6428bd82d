"""The summary table: one row per layer with its output shape, receptive field, jump,
start, parameters and multiply-adds, and the totals.

For a spec or a spec-built :class:`~cnnkit.spec.Network` (or any Module made of cnnkit
layers) the rows come from shape inference: no tensor is created. For any other
``torch.nn.Module``, and a spec that names a zoo Module (``model:``), they come from
forward hooks during one pass on a zero input (a layer applied several times, as in a
recurrent convolutional network, has a row per application), with the
receptive field known for cnnkit's and torch.nn's convolution and pooling layers.

Receptive field columns (per spatial dimension, in input pixels; see
:class:`cnnkit.functional.shapes.Geometry`): unit ``i`` of a layer sees input positions
``start + i * jump`` to ``start + i * jump + field - 1``. ``start`` is negative where the
field reaches into padding; ``jump`` is a fraction after a transposed convolution.
"""

from __future__ import annotations

import math
import pathlib
import warnings
from fractions import Fraction

import torch
import torch.nn as nn

from .._memory import BYTES_PER_VALUE, available_memory, format_bytes
from .._validation import ArgumentError, ArgumentTypeError, SpecError
from ..functional import shapes
from ..functional.shapes import Geometry
from ..layers import Layer
from ..layers.pool import AdaptivePool
from ..spec import Network, Spec, load
from ..spec._catalogue import format_shape
from ..spec._engine import Engine

__all__ = ["Summary", "summary"]

_COLUMNS = (("name", "layer"), ("type", "type"), ("output_shape", "output"), ("field", "field"),
            ("jump", "jump"), ("start", "start"), ("params", "params"), ("flops", "mult-adds"))


class Summary:
    """A network's summary table.

    Attributes:
        name: the network's name.
        input_shape, output_shape: without the batch dimension.
        rows: one dict per layer with keys ``name``, ``type``, ``output_shape``, ``field``,
            ``jump``, ``start`` (tuples, one value per spatial dimension, or None where the
            field is not a regular grid), ``params``, ``flops`` (multiply-adds per sample) and
            ``depth`` (nesting level; a container's row counts what is inside it).
        total_params, total_flops: totals over the top-level rows.
        source: ``"spec"`` (shape inference) or ``"hooks"`` (one forward pass).
        notes: ``(layer name, text)`` for what is not an error but a person should know:
            input rows that a window never reads, fields unknown after a function call
            that changed the shape between layers.

    ``str()`` gives the aligned table.
    """

    def __init__(self, name: str, input_shape: tuple, output_shape: tuple, rows: list[dict],
                 source: str, total_params: int | None = None, notes: list | None = None):
        self.name = name
        self.notes = list(notes or [])
        self.input_shape = tuple(input_shape)
        self.output_shape = tuple(output_shape)
        self.rows = rows
        self.source = source
        top = [row for row in rows if row["depth"] == 0]
        self.total_params = sum(row["params"] for row in top) if total_params is None else total_params
        self.total_flops = sum(row["flops"] for row in top)

    def __str__(self) -> str:
        header = [title for _, title in _COLUMNS]
        body = [[_cell(key, row) for key, _ in _COLUMNS] for row in self.rows]
        total = ["total", "", format_shape(self.output_shape), "", "", "",
                 f"{self.total_params:,}", f"{self.total_flops:,}"]
        table = [header, *body, total]
        widths = [max(len(line[i]) for line in table) for i in range(len(header))]
        right = {6, 7}

        def line(cells):
            return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

        rule = "-" * len(line(header))
        title = (f"{self.name}: input {format_shape(self.input_shape)} -> output "
                 f"{format_shape(self.output_shape)}")
        lines = [title, rule, line(header), rule, *map(line, body), rule, line(total)]
        lines += [f"note: {name}: {text}" for name, text in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


def _number(value) -> str:
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    return str(value)


def _cell(key: str, row: dict) -> str:
    value = row[key]
    if key == "name":
        return "  " * row["depth"] + value
    if key in ("params", "flops"):
        return f"{value:,}"
    if key == "output_shape":
        return format_shape(value)
    if key in ("field", "jump", "start"):
        if value is None:
            return "-"
        parts = [_number(v) for v in value]
        return parts[0] if len(set(parts)) == 1 else "x".join(parts)
    return str(value)


def _plain(value):
    """Geometry values as ints where they are whole (Fractions after a transpose stay)."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value)
    return value


def _geometry_cells(geometry: Geometry | None) -> dict:
    if geometry is None:
        return {"field": None, "jump": None, "start": None}
    return {key: tuple(_plain(v) for v in getattr(geometry, key))
            for key in ("field", "jump", "start")}


# --------------------------------------------------------------------------------------
# From a spec
# --------------------------------------------------------------------------------------

def _from_spec(spec: Spec) -> Summary:
    rows = [{"name": row.path, "type": row.type, "output_shape": row.output_shape,
             **_geometry_cells(row.geometry), "params": row.params, "flops": row.flops,
             "depth": row.depth} for row in spec.rows]
    notes = [(row.path, text) for row in spec.rows for text in row.notes]
    table = Summary(spec.name, spec.input, spec.output_shape, rows, "spec", notes=notes)
    _warn_if_too_large(table)
    return table


def _warn_if_too_large(table: Summary) -> None:
    """Warn when the weights alone exceed the memory available: such a spec summarises
    (nothing is allocated) but can be neither built nor trained here."""
    weights = table.total_params * BYTES_PER_VALUE
    free = available_memory("cpu")
    if free is None or weights <= free:
        return
    top = [row for row in table.rows if row["depth"] == 0]
    largest = max(top, key=lambda row: row["params"]) if top else None
    culprit = (f" {largest['name']} ({largest['type']}) holds {largest['params']:,} of them."
               if largest and largest["params"] > table.total_params / 2 else "")
    warnings.warn(
        f"{table.name} has {table.total_params:,} parameters, {format_bytes(weights)} of float32 "
        f"weights: more than the {format_bytes(free)} of memory available here, so it can be "
        f"neither built nor trained on this machine.{culprit}", UserWarning, stacklevel=3)


# --------------------------------------------------------------------------------------
# From forward hooks
# --------------------------------------------------------------------------------------

def _is_leaf(module: nn.Module) -> bool:
    return isinstance(module, Layer) or _torch_window(module, 2) is not None or not any(
        True for _ in module.children())


def _torch_window(module: nn.Module, n: int):
    """(kernel, stride, padding, dilation, transposed) of a torch.nn conv / pool, or None."""
    if isinstance(module, nn.modules.conv._ConvNd):
        transposed = isinstance(module, nn.modules.conv._ConvTransposeNd)
        return (module.kernel_size, module.stride, module.padding, module.dilation, transposed)
    pools = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
             nn.LPPool1d, nn.LPPool2d, nn.LPPool3d)
    if isinstance(module, pools):
        kernel = module.kernel_size
        stride = module.stride if module.stride is not None else kernel
        padding = getattr(module, "padding", 0)
        dilation = getattr(module, "dilation", 1)
        return (kernel, stride, padding, dilation, False)
    return None


def _tuple(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def _module_geometry(module, in_shape: tuple, out_shape: tuple, geometry, rank: int):
    """Geometry after ``module`` for input (C, *spatial) ``in_shape``; None if unknown."""
    if geometry is None:
        return None
    if isinstance(module, Layer):
        return type(module).receptive_field(module.settings(), in_shape, geometry)
    window = _torch_window(module, rank)
    if window is not None and len(in_shape) == rank + 1:
        kernel, stride, padding, dilation, transposed = window
        kernel, stride, dilation = (_tuple(kernel, rank), _tuple(stride, rank),
                                    _tuple(dilation, rank))
        if isinstance(padding, str):
            pairs = shapes.padding_pairs(padding, kernel, stride, dilation, in_shape[1:])
        else:
            pairs = tuple((p, p) for p in _tuple(padding, rank))
        if transposed:
            return shapes.compose_transpose_geometry(geometry, kernel, stride, dilation,
                                                     [lo for lo, _ in pairs])
        return shapes.compose_geometry(geometry, kernel, stride, dilation, [lo for lo, _ in pairs])
    adaptive = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
                nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
    if isinstance(module, adaptive) and len(in_shape) == rank + 1:
        return AdaptivePool.receptive_field({"output_size": tuple(out_shape[1:])}, in_shape,
                                            geometry)
    if isinstance(module, nn.Flatten) and len(in_shape) == rank + 1:
        spatial = tuple(in_shape[1:])
        ones = (1,) * rank
        return shapes.compose_geometry(geometry, spatial, ones, ones, (0,) * rank)
    if len(in_shape) == len(out_shape) and tuple(in_shape[1:]) == tuple(out_shape[1:]):
        return geometry  # same positions in and out: element-wise or channel mixing
    if len(in_shape) == 1 and len(out_shape) == 1:
        return geometry  # fully connected on a vector that already sees everything
    return None


def _module_flops(module, in_shape: tuple, out_shape: tuple, rank: int) -> int:
    if isinstance(module, Layer):
        return type(module).flop_count(module.settings(), in_shape, out_shape)
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        return math.prod(in_shape) * (module.out_channels // module.groups) * math.prod(module.kernel_size)
    if isinstance(module, nn.modules.conv._ConvNd):
        return shapes.conv_flops(in_shape[0], out_shape, module.kernel_size, module.groups)
    if isinstance(module, nn.Linear):
        return math.prod(out_shape) * module.in_features
    return 0


def _from_hooks(model: nn.Module, input_shape: tuple, name: str) -> Summary:
    rank = len(input_shape) - 1
    param = next(model.parameters(), None)
    x = torch.zeros(1, *input_shape, dtype=param.dtype if param is not None else torch.float32,
                    device=param.device if param is not None else "cpu")
    geometries = {id(x): Geometry.identity(rank)}
    keep = [x]  # tensors stay alive so that their ids stay unique during the pass
    last = [Geometry.identity(rank), tuple(input_shape)]   # geometry and shape of the last output
    rows: list[dict] = []
    notes: list[tuple[str, str]] = []

    def hook(module, inputs, output, path):
        if not isinstance(output, torch.Tensor):
            return
        first = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
        in_shape = tuple(first.shape[1:]) if first is not None else tuple(output.shape[1:])
        out_shape = tuple(output.shape[1:])
        # A tensor made by a function call between layers (F.relu, F.max_pool2d, torch.cat)
        # has no recorded geometry. Where it has the last output's spatial size the last
        # layer's geometry still holds (F.relu, x + y); where the call changed the size, no
        # module explains how, so the field is unknown rather than wrong.
        if first is None or id(first) in geometries:
            geometry = geometries.get(id(first), last[0]) if first is not None else last[0]
        elif tuple(first.shape[2:]) == tuple(last[1][1:]):
            geometry = last[0]
        else:
            geometry = None
            notes.append((path, f"its input ({format_shape(in_shape)}) comes from a function "
                                f"call that changed the last layer's output "
                                f"({format_shape(last[1])}); fields after it are unknown. Make "
                                f"that call a module (nn.MaxPool2d for F.max_pool2d) to see "
                                f"them."))
        new = _module_geometry(module, in_shape, out_shape, geometry, rank)
        if isinstance(module, Layer) and len(in_shape) == rank + 1:
            notes.extend((path, text) for text in type(module).notes(module.settings(), in_shape))
        geometries[id(output)] = new
        keep.append(output)
        last[0], last[1] = new, out_shape
        rows.append({"name": path, "type": type(module).__name__, "output_shape": out_shape,
                     **_geometry_cells(new),
                     "params": sum(p.numel() for p in module.parameters()),
                     "flops": int(_module_flops(module, in_shape, out_shape, rank)), "depth": 0})

    handles = []
    for path, module in _leaves(model, ""):
        handles.append(module.register_forward_hook(
            lambda m, i, o, path=path: hook(m, i, o, path)))
    was_training = model.training
    try:
        model.eval()  # no batch-norm statistics update, no dropout
        with torch.no_grad():
            out = model(x)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    total = sum(p.numel() for p in model.parameters())
    out_shape = tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else ()
    return Summary(name, input_shape, out_shape, rows, "hooks", total_params=total, notes=notes)


def _leaves(module: nn.Module, prefix: str):
    if _is_leaf(module):
        yield (prefix or type(module).__name__), module
        return
    for name, child in module.named_children():
        yield from _leaves(child, f"{prefix}.{name}" if prefix else name)


# --------------------------------------------------------------------------------------
# summary()
# --------------------------------------------------------------------------------------

def summary(model_or_spec, input_shape=None) -> Summary:
    """The summary table of a network.

    Args:
        model_or_spec: a :class:`~cnnkit.spec.Network`, a spec (path, YAML text, dict or
            :class:`~cnnkit.spec.Spec`), or any ``torch.nn.Module``.
        input_shape: one sample's shape, channels first (``(1, 28, 28)``); replaces a
            spec's input, and is required for a Module that is not a Network.

    Returns:
        A :class:`Summary`: ``str()`` prints the table, ``.rows`` holds the data.

    Raises:
        ArgumentError: a plain Module without ``input_shape``.
        SpecError: an invalid spec, or a cnnkit Module whose shapes do not fit.

    Example:
        >>> table = summary({"name": "tiny", "input": [1, 8, 8],
        ...                  "layers": [{"conv": {"filters": 2, "kernel": 3}}, {"maxpool": 2}]})
        >>> [(row["name"], row["output_shape"], row["field"], row["jump"]) for row in table.rows]
        [('layers[0]', (2, 6, 6), (3, 3), (1, 1)), ('layers[1]', (2, 3, 3), (4, 4), (2, 2))]
        >>> table.total_params
        20
    """
    if input_shape is not None:
        if not isinstance(input_shape, (list, tuple)):
            raise ArgumentTypeError(
                f"input_shape must be a tuple: channels, then spatial sizes. Received: "
                f"input_shape={input_shape!r} ({type(input_shape).__name__}).")
        input_shape = tuple(input_shape)
        if not input_shape or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                      for v in input_shape):
            raise ArgumentError(
                f"input_shape must hold positive ints: channels, then spatial sizes. Received: "
                f"input_shape={input_shape!r}.")
    if isinstance(model_or_spec, Network):
        if model_or_spec.model is not None:  # a zoo Module (model:): measured by one pass
            return _from_hooks(model_or_spec, input_shape or model_or_spec.input_shape,
                               model_or_spec.name)
        return _from_spec(load(model_or_spec.spec(), input=input_shape))
    if isinstance(model_or_spec, (Spec, dict, str, pathlib.Path)):
        spec = load(model_or_spec, input=input_shape)
        if spec.model is not None:
            return _from_hooks(spec.build(), spec.input, spec.name)
        return _from_spec(spec)
    if isinstance(model_or_spec, nn.Module):
        if input_shape is None:
            raise ArgumentError(
                f"summary of a {type(model_or_spec).__name__} (not built from a spec) needs the "
                f"shape of one input sample. Received: input_shape=None. Pass e.g. "
                f"input_shape=(3, 32, 32) (channels, height, width).")
        name = type(model_or_spec).__name__
        try:
            layers = Engine(len(input_shape) - 1).unbuild_sequence(model_or_spec)
        except SpecError:  # a Module the spec cannot describe: measure it instead
            return _from_hooks(model_or_spec, input_shape, name)
        return _from_spec(load({"name": name, "input": list(input_shape), "layers": layers}))
    raise ArgumentTypeError(
        f"summary takes a Network, a spec (path, YAML text, dict, Spec) or a torch.nn.Module. "
        f"Received: {type(model_or_spec).__name__}.")
