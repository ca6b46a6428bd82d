"""ONNX export through ``torch.onnx.export(dynamo=True)``, checked in onnxruntime.

The exported graph has one input ``(batch, *input_shape)`` whose batch dimension is dynamic.
With ``check=True`` the written file is loaded in onnxruntime and run on a random batch of
a *different* size than the one exported, and its outputs are compared with the PyTorch
model's: a file is only left in place when they agree.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn

from .._files import default_file_mode, writing
from .._validation import ArgumentError, ArgumentTypeError, CnnkitError
from ..layers import AdaptiveAvgPool, Layer

__all__ = ["UNSUPPORTED_LAYERS", "ExportError", "ExportReport", "MissingDependencyError",
           "compare_onnx", "read_metadata", "run_metadata", "to_onnx"]



def unsupported_layers() -> dict[str, str]:
    """Layer class name -> why the ONNX exporter cannot take it, from the classes' own
    ``onnx`` attribute (measured with torch 2.13, onnxscript 0.7; docs/export.md)."""
    out, todo = {}, [Layer]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.onnx is not True and cls.fixed_dims is None:
            out[cls.__name__] = cls.onnx
    return dict(sorted(out.items()))


UNSUPPORTED_LAYERS = unsupported_layers()

_INSTALL = 'pip install "cnnkit[export]"'

# The oldest opset torch.onnx.export(dynamo=True) writes by itself; an older one goes
# through the ONNX version converter, which translates some graphs and not others.
NATIVE_OPSET = 18


def _opset_range(onnx) -> str:
    return (f"{NATIVE_OPSET} to {onnx.defs.onnx_opset_version()} (older ones only where the "
            f"ONNX version converter translates every operator of the model)")


class ExportError(CnnkitError, ValueError):
    """A model that cannot be exported, or an exported file that does not match the model."""


class MissingDependencyError(CnnkitError, ImportError):
    """onnx, onnxruntime or onnxscript is not installed."""


@dataclass
class ExportReport:
    """What :func:`to_onnx` wrote.

    Attributes:
        path: the ONNX file.
        size_bytes: its size.
        opset: the default-domain opset version of the graph.
        input_names, input_shapes: the graph inputs; the batch dimension reads ``"batch"``.
        output_names, output_shapes: the graph outputs.
        max_abs_diff: the largest absolute difference between onnxruntime and PyTorch on the
            check batch (None when ``check=False``).
        check_batch_size: the batch size of that check (None when not checked).
        atol: the tolerance the check used.
    """

    path: Path
    size_bytes: int
    opset: int
    input_names: list = field(default_factory=list)
    input_shapes: list = field(default_factory=list)
    output_names: list = field(default_factory=list)
    output_shapes: list = field(default_factory=list)
    max_abs_diff: float | None = None
    check_batch_size: int | None = None
    atol: float | None = None

    def __str__(self) -> str:
        def shape(dims):
            return "(" + ", ".join(str(d) for d in dims) + ")"

        lines = [f"wrote {self.path} ({self.size_bytes / 1e6:.2f} MB, ONNX opset {self.opset})"]
        lines += [f"  input  {n}: {shape(s)}" for n, s in zip(self.input_names, self.input_shapes)]
        lines += [f"  output {n}: {shape(s)}" for n, s in zip(self.output_names, self.output_shapes)]
        if self.max_abs_diff is None:
            lines.append("  not checked in onnxruntime")
        else:
            lines.append(f"  onnxruntime vs PyTorch at batch size {self.check_batch_size}: max abs "
                         f"difference {self.max_abs_diff:.3g} (tolerance {self.atol:g})")
        return "\n".join(lines)


def _require():
    """Import onnx, onnxruntime and onnxscript, or say how to install them."""
    missing = []
    modules = {}
    for name in ("onnx", "onnxruntime", "onnxscript"):
        try:
            modules[name] = __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise MissingDependencyError(
            f"ONNX export needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
            f"not installed. Install them with: {_INSTALL}")
    return modules["onnx"], modules["onnxruntime"]


def _layer_path(name: str) -> str:
    """``layers.3.body.0`` -> ``layers[3].body[0]`` (the spec's way of naming a layer)."""
    if not name:
        return "the model"
    return re.sub(r"\.?(\d+)(?=\.|$)", r"[\1]", name)


def _unsupported(model: nn.Module) -> tuple[str, str, str] | None:
    """The first layer that has no ONNX equivalent: (path, type name, reason), or None.

    A cnnkit layer says so in its class's ``onnx``; so may any other Module (a zoo model
    such as :class:`cnnkit.tasks.RoIDetector`), with the reason as text."""
    for name, module in model.named_modules():
        why = getattr(type(module), "onnx", True)
        if why is not True and (isinstance(module, Layer) or isinstance(why, str)):
            return _layer_path(name), type(module).__name__, why
    return None


def _input_shape(model: nn.Module, input_shape) -> tuple[int, ...]:
    if input_shape is None:
        input_shape = getattr(model, "input_shape", None)
        if input_shape is None:
            raise ArgumentError(
                f"input_shape is needed to export a {type(model).__name__}: it is not a cnnkit "
                f"Network, so it does not know its input. Received: input_shape=None. Pass one "
                f"sample's shape without the batch dimension, e.g. input_shape=(3, 32, 32).")
    try:
        shape = tuple(int(d) for d in input_shape)
        ok = len(shape) >= 1 and all(d > 0 and d == float(o) for d, o in zip(shape, input_shape))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ArgumentError(
            f"input_shape must be one sample's shape, positive ints without the batch dimension "
            f"(e.g. (3, 32, 32)). Received: input_shape={input_shape!r}.")
    return shape


def _reference(model: nn.Module):
    """dtype and device of the model's first parameter (float32 on the CPU when it has none)."""
    for tensor in list(model.parameters()) + list(model.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype, tensor.device
    return torch.float32, torch.device("cpu")


def _example_input(model: nn.Module, batch_size: int, shape) -> torch.Tensor:
    """A random batch the model takes: token ids in range where its first layer is an
    embedding, else normal values in the model's dtype."""
    dtype, device = _reference(model)
    first = next((m for m in model.modules() if isinstance(m, Layer)), None)
    if first is not None and first.index_input:
        return torch.randint(0, first.settings()["vocab"], (batch_size, *shape), device=device)
    return torch.randn(batch_size, *shape, dtype=dtype, device=device)


def _outputs(value) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _outputs(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _outputs(v)]
    return []


@contextlib.contextmanager
def _eval(model: nn.Module):
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield model
    finally:
        for module, mode in modes.items():
            module.train(mode)


@contextlib.contextmanager
def _quiet():
    """Silence the exporter's progress lines and its torchvision warnings."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def _adaptive_avg_pool3d(x: torch.Tensor, output_size) -> torch.Tensor:
    """3-D adaptive average pooling from ops the ONNX converter translates (it has no
    translation of its own): one average pool when the sizes divide, else one mean per bin
    with PyTorch's bounds ``floor(i S / O)`` to ``ceil((i + 1) S / O)``."""
    sizes = [int(s) for s in x.shape[-3:]]
    out = [int(o) for o in output_size]
    if all(s % o == 0 for s, o in zip(sizes, out)):
        kernel = [s // o for s, o in zip(sizes, out)]
        return torch.nn.functional.avg_pool3d(x, kernel, kernel)
    bins = [[(i * s // o, -(-(i + 1) * s // o)) for i in range(o)] for s, o in zip(sizes, out)]
    cells = [x[..., d0:d1, h0:h1, w0:w1].mean(dim=(-3, -2, -1))
             for (d0, d1), (h0, h1), (w0, w1) in itertools.product(*bins)]
    return torch.stack(cells, -1).reshape(*x.shape[:-3], *out)


def _needs_decomposition(model: nn.Module) -> bool:
    return any(isinstance(m, nn.AdaptiveAvgPool3d) or
               (isinstance(m, AdaptiveAvgPool) and m.dims == 3)
               for m in model.modules())


def _export(model: nn.Module, x: torch.Tensor, path: str, opset, onnx) -> None:
    """``torch.onnx.export`` with a dynamic batch named ``batch``.

    A model with 3-D adaptive average pooling goes through ``torch.export`` first, where that
    pooling is rewritten into ops the converter knows; the batch dimension is then renamed
    ``batch`` in the written graph.
    """
    names = dict(input_names=["input"], output_names=["output"], opset_version=opset,
                 dynamo=True, external_data=False)
    if not _needs_decomposition(model):
        torch.onnx.export(model, (x,), path, dynamic_shapes=({0: "batch"},), verbose=False,
                          **names)
        return
    aten = torch.ops.aten
    program = torch.export.export(model, (x,), dynamic_shapes=({0: torch.export.Dim("batch")},),
                                  strict=False)
    program = program.run_decompositions({aten.adaptive_avg_pool3d.default: _adaptive_avg_pool3d,
                                          aten._adaptive_avg_pool3d.default: _adaptive_avg_pool3d})
    torch.onnx.export(program, (x,), path, **names)
    graph_model = onnx.load(path)
    graph = graph_model.graph
    symbol = graph.input[0].type.tensor_type.shape.dim[0].dim_param
    if symbol:
        for value in [*graph.input, *graph.output, *graph.value_info]:
            for dim in value.type.tensor_type.shape.dim:
                if dim.dim_param == symbol:
                    dim.dim_param = "batch"
        onnx.save(graph_model, path)


def compare_onnx(path, model: nn.Module, *, input_shape=None, batch_size: int = 3,
                 atol: float = 1e-4) -> float:
    """Run the ONNX file ``path`` in onnxruntime and compare it with ``model``.

    Both run on the same fresh random batch (``model`` in eval mode); returns the largest
    absolute difference over all outputs.

    Args:
        path: an ONNX file written by :func:`to_onnx`.
        model: the PyTorch model it should match.
        input_shape: one sample's shape; default ``model.input_shape``.
        batch_size: the batch size to run.
        atol: the largest difference accepted.

    Shape:
        a random ``(batch_size, *input_shape)`` batch goes through both.

    Raises:
        ExportError: the outputs differ by more than ``atol``, or have other shapes.
        MissingDependencyError: onnx, onnxruntime or onnxscript is not installed.

    Example:
        >>> import tempfile, os
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 2))
        >>> path = os.path.join(tempfile.mkdtemp(), "net.onnx")
        >>> _ = to_onnx(net, path, input_shape=(4,), check=False)
        >>> compare_onnx(path, net, input_shape=(4,)) < 1e-5
        True
        >>> with torch.no_grad():
        ...     net[0].bias += 1
        >>> compare_onnx(path, net, input_shape=(4,))
        Traceback (most recent call last):
        ...
        cnnkit.export.onnx.ExportError: ... max abs difference 1 ...
    """
    _, ort = _require()
    shape = _input_shape(model, input_shape)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ArgumentError(f"batch_size must be a positive int. Received: "
                            f"batch_size={batch_size!r}.")
    x = _example_input(model, batch_size, shape)
    with _eval(model), torch.no_grad():
        expected = [t.detach().cpu() for t in _outputs(model(x))]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x.cpu().numpy()}
    got = [torch.from_numpy(a) for a in session.run(None, feed)]
    if len(got) != len(expected) or any(g.shape != e.shape for g, e in zip(got, expected)):
        raise ExportError(
            f"the ONNX file {path} gives outputs of shapes {[tuple(g.shape) for g in got]} for a "
            f"batch of {batch_size}, PyTorch gives {[tuple(e.shape) for e in expected]}. Export "
            f"the model again with cnnkit.export.to_onnx.")
    diff = max((float((g.to(e.dtype) - e).abs().max()) if e.numel() else 0.0)
               for g, e in zip(got, expected))
    if not diff <= atol:
        raise ExportError(
            f"the ONNX file {path} does not compute what the PyTorch model does: max abs "
            f"difference {diff:.3g} > atol={atol:g} on a random batch of {batch_size}. Export the "
            f"model again in its final state; if the difference is only float rounding, raise "
            f"atol.")
    return diff


def to_onnx(model: nn.Module, path, *, input_shape=None, batch_size: int = 2,
            opset: int | None = None, check: bool = True, atol: float = 1e-4,
            overwrite: bool = True, metadata: dict | None = None) -> ExportReport:
    """Export ``model`` to an ONNX file with a dynamic batch dimension, and check it.

    The model is exported in eval mode (dropout off, batch norm on its running statistics)
    and put back in its own mode after. The file is written next to ``path`` under a
    temporary name and renamed once complete (and checked), so ``path`` never holds half a
    file, or one that fails the check.

    Args:
        model: a cnnkit Network (which knows its input shape) or any ``nn.Module``.
        path: where to write the ``.onnx`` file.
        input_shape: one sample's shape, without the batch dimension; required for a plain
            Module, and for a Network it replaces the spatial size it was built for.
        batch_size: the batch size traced at export (at least 2: torch.export fixes a size
            of 1); the batch dimension of the file stays dynamic.
        opset: the ONNX opset version; default the exporter's. A version the exporter
            cannot write for this model is an error (it never falls back silently).
        check: run the file in onnxruntime on a random batch of ``batch_size + 1`` samples
            and compare with PyTorch.
        atol: the largest absolute difference the check accepts.
        overwrite: replace an existing file at ``path`` (False: refuse).
        metadata: ``{key: value}`` written into the file's ``metadata_props`` (values that
            are not strings as JSON); :func:`run_metadata` gives a run's (task, class names,
            input scaling). A Network with a ``standardize`` front always records its
            statistics (``cnnkit.standardize``), which the graph applies itself.

    Shape:
        the graph maps ``(batch, *input_shape)`` to the model's output(s).

    Raises:
        ExportError: a layer with no ONNX equivalent (named by its path, ``layers[3]
            (FFTConv2d)``), an exporter failure, an opset it cannot write, or a check that
            fails.
        ArgumentError: no ``input_shape`` for a plain Module, a bad ``batch_size``, ``atol``
            or ``opset``; an existing ``path`` with ``overwrite=False``.
        FileWriteError: the folder of ``path`` cannot be written (full, read-only).
        MissingDependencyError: onnx, onnxruntime or onnxscript is not installed.

    Example:
        >>> import tempfile, os
        >>> from cnnkit.spec import build
        >>> net = build({"input": [1, 8, 8], "layers": [
        ...     {"conv": {"filters": 2, "kernel": 3, "activation": "relu"}}, "flatten", {"dense": 3}]})
        >>> report = to_onnx(net, os.path.join(tempfile.mkdtemp(), "net.onnx"))
        >>> report.input_shapes, report.output_shapes
        ([('batch', 1, 8, 8)], [('batch', 3)])
        >>> report.max_abs_diff < 1e-4
        True
    """
    onnx, _ = _require()
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(f"model must be a torch.nn.Module (a cnnkit Network or any "
                                f"Module). Received: model of type {type(model).__name__}.")
    shape = _input_shape(model, input_shape)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise ArgumentError(
            f"batch_size must be an int >= 2 (torch.export specialises a batch of 1, and the "
            f"file would then only take batches of 1). Received: batch_size={batch_size!r}.")
    if isinstance(atol, bool) or not isinstance(atol, (int, float)) or not atol >= 0:
        raise ArgumentError(f"atol must be a number >= 0. Received: atol={atol!r}.")
    if opset is not None and (isinstance(opset, bool) or not isinstance(opset, int) or opset < 1
                              or opset > onnx.defs.onnx_opset_version()):
        raise ArgumentError(f"opset must be an ONNX opset version from {_opset_range(onnx)}, "
                            f"or None for the exporter's default. Received: opset={opset!r}.",
                            argument="opset")
    bad = _unsupported(model)
    if bad:
        where, kind, why = bad
        raise ExportError(
            f"{where} ({kind}) has no ONNX equivalent yet: {why}. Replace it with a layer that "
            f"exports (docs/export.md lists them), or keep this model in PyTorch.")

    path = Path(path)
    if path.is_dir():
        raise ArgumentError(f"path must be a file to write, not a folder. Received: "
                            f"path={str(path)!r}. Give a name such as {str(path / 'model.onnx')!r}.",
                            argument="path")
    if path.exists() and not overwrite:
        raise ArgumentError(f"path {str(path)!r} exists already. Received: path={str(path)!r}, "
                            f"overwrite=False. Give another path, or pass overwrite=True to "
                            f"replace it.", argument="path")
    x = _example_input(model, batch_size, shape)
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(handle)
    try:
        with _eval(model):
            with torch.no_grad():
                model(x)  # a cnnkit error for a wrong input shape, before the exporter's
            try:
                with _quiet():
                    _export(model, x, temp, opset, onnx)
            except Exception as error:  # the exporter raises many types; report the root cause
                root = error
                while root.__cause__ is not None:
                    root = root.__cause__
                first = (str(root).strip().splitlines() or [""])[0][:300]
                raise ExportError(
                    f"torch.onnx.export could not export this {type(model).__name__}: "
                    f"{type(root).__name__}: {first}. A layer in it has no ONNX translation; "
                    f"docs/export.md lists the layers that export.") from None
        graph_model = onnx.load(temp, load_external_data=False)
        props = _metadata(model, metadata)
        if props:
            del graph_model.metadata_props[:]
            for key, value in props.items():
                graph_model.metadata_props.add(key=key, value=value)
            onnx.save(graph_model, temp)
        opset_version = next((o.version for o in graph_model.opset_import
                              if o.domain in ("", "ai.onnx")), 0)
        if opset is not None and opset_version != opset:
            # torch.onnx falls back to its own opset when the conversion fails: say so.
            raise ExportError(
                f"the exporter cannot write this {type(model).__name__} in ONNX opset {opset} "
                f"(the ONNX version converter does not translate all of its operators; it "
                f"fell back to opset {opset_version}). Received: opset={opset}. Use an opset "
                f"from {_opset_range(onnx)}, or None for the exporter's default.")
        diff = None
        if check:
            diff = compare_onnx(temp, model, input_shape=shape, batch_size=batch_size + 1,
                                atol=atol)
        # mkstemp made the file 0600: give it the mode of any file this user writes.
        with writing(path):
            os.chmod(temp, default_file_mode())
            os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)

    def dims(value):
        return tuple(d.dim_param if d.dim_param else d.dim_value
                     for d in value.type.tensor_type.shape.dim)

    graph = graph_model.graph
    return ExportReport(
        path=path, size_bytes=path.stat().st_size, opset=opset_version,
        input_names=[v.name for v in graph.input], input_shapes=[dims(v) for v in graph.input],
        output_names=[v.name for v in graph.output], output_shapes=[dims(v) for v in graph.output],
        max_abs_diff=diff, check_batch_size=batch_size + 1 if check else None,
        atol=atol if check else None)


def _metadata(model, metadata) -> dict[str, str]:
    """The file's metadata_props: ``metadata`` as strings (JSON for other values), and the
    input statistics of a Network's standardize front."""
    import json

    if metadata is not None and not isinstance(metadata, dict):
        raise ArgumentTypeError(f"metadata must be a dict of names and values. Received: "
                                f"metadata of type {type(metadata).__name__}.",
                                argument="metadata")
    out = {str(k): v if isinstance(v, str) else json.dumps(v)
           for k, v in (metadata or {}).items()}
    front = getattr(model, "standardize", None)
    if isinstance(front, nn.Module) and "cnnkit.standardize" not in out:
        settings = front.settings()
        out["cnnkit.standardize"] = json.dumps({"mean": settings["mean"], "std": settings["std"],
                                                "applied": "in the graph, first"})
    return out


def run_metadata(run_dir) -> dict:
    """What an ONNX file of a run records beside its graph: the task (its settings too),
    the class names, how the data's values were scaled before the graph (``x / 255`` for
    8-bit images) and the network's name.

    Example:
        >>> run_metadata("no/such/run")
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: 'no/such/run' does not exist. Received: run_dir='no/such/run'. Give a folder made by training (under runs/).
    """
    from ..runs import RunFolder

    run = RunFolder(run_dir).require()
    recorded = run.read_yaml("config.yaml") or {}
    spec = run.read_yaml("spec.yaml") or {}
    data = recorded.get("data") or {}
    task = recorded.get("task") or {"name": spec.get("task") or "classify"}
    return {"cnnkit.name": str(spec.get("name") or run.path.name),
            "cnnkit.task": task.get("name"),
            "cnnkit.task_settings": task,
            "cnnkit.classes": list(data.get("classes") or []),
            "cnnkit.input_scaling": data.get("scale") or "unknown: as the data gave them"}


def read_metadata(path) -> dict:
    """The metadata_props of an ONNX file, JSON values decoded.

    Raises:
        MissingDependencyError: onnx is not installed.
    """
    import json

    onnx, _ = _require()
    out = {}
    for prop in onnx.load(str(path), load_external_data=False).metadata_props:
        try:
            out[prop.key] = json.loads(prop.value)
        except ValueError:
            out[prop.key] = prop.value
    return out
