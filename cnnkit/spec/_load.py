"""Reading a spec: YAML file or text (with line and column for every error), or a dict."""

from __future__ import annotations

import os
import pathlib
from typing import Any

import yaml

from .._validation import SpecError, did_you_mean
from ..functional.losses import LOSSES
from ._catalogue import Node, format_shape
from ._engine import Engine, LayerRow, check_input_shape

__all__ = ["Spec", "load", "TOP_LEVEL_KEYS"]

TOP_LEVEL_KEYS = ("name", "input", "layers", "loss")
_DEFAULT_NAME = "network"


class Spec:
    """A checked, desugared network spec whose shapes have been inferred.

    Attributes:
        name: the network's name.
        input: input shape without batch: ``(channels, *spatial)``.
        layers: the desugared layers (:class:`Node`).
        loss: loss name or None.
        rows: one :class:`LayerRow` per layer (nested ones included), from shape inference.
        output_shape: output shape without batch.
        origin: the file the spec came from, if any.

    Example:
        >>> spec = load({"input": [1, 8, 8], "layers": [{"conv": {"filters": 4, "kernel": 3}}, "flatten"]})
        >>> spec.output_shape
        (144,)
        >>> spec.to_dict(defaults=False)["layers"]
        [{'conv': {'filters': 4, 'kernel': 3}}, 'flatten']
    """

    def __init__(self, name: str, input: tuple, layers: list[Node], loss: str | None = None,
                 origin: str | None = None):
        self.name = name
        self.input = tuple(input)
        self.layers = layers
        self.loss = loss
        self.origin = origin
        self.engine = Engine(self.rank)
        self.output_shape, self.rows = self.engine.infer(layers, self.input)

    @property
    def rank(self) -> int:
        """Number of spatial dimensions (1, 2 or 3)."""
        return len(self.input) - 1

    def infer(self, input: tuple | None = None) -> tuple[tuple, list[LayerRow]]:
        """Infer shapes for another input shape: (output shape, rows). Raises SpecError."""
        if input is None:
            return self.output_shape, self.rows
        shape = check_input_shape(list(input))
        if len(shape) != len(self.input):
            raise SpecError(
                f"the network is {self.rank}-D; the input must have {len(self.input)} numbers "
                f"(channels, then {self.rank} spatial sizes). Received: {list(input)!r}.", "input")
        return Engine(self.rank).infer(self.layers, shape)

    def to_dict(self, defaults: bool = True) -> dict:
        """The canonical (desugared) spec as plain Python data.

        Args:
            defaults: write every setting; False leaves out those equal to their default
                (the spec still reads back the same).
        """
        out: dict[str, Any] = {"name": self.name, "input": list(self.input),
                               "layers": [node.to_dict(defaults) for node in self.layers],
                               "loss": self.loss}
        if not defaults and self.loss is None:
            del out["loss"]
        return out

    def to_yaml(self, defaults: bool = False) -> str:
        """The canonical spec as YAML text (one line per layer); reads back the same."""
        return to_yaml(self.to_dict(defaults))

    def build(self):
        """Build the :class:`~cnnkit.spec.network.Network`."""
        from .network import Network  # network.py imports this module
        return Network(self)

    def __eq__(self, other) -> bool:
        return isinstance(other, Spec) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return (f"Spec(name={self.name!r}, input={format_shape(self.input)}, "
                f"layers={len(self.layers)}, output={format_shape(self.output_shape)})")


def to_yaml(data: dict) -> str:
    """YAML with block style for the structure and flow style for each layer's settings."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


# --------------------------------------------------------------------------------------
# YAML with marks
# --------------------------------------------------------------------------------------

def _marks(node: yaml.Node, path: str, out: dict) -> None:
    """Record (line, column) of every mapping value and list item by spec path."""
    out.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        seen: dict = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if isinstance(key_node, yaml.ScalarNode) and key in seen:
                line = key_node.start_mark.line + 1
                raise _DuplicateKey(key, path, line, key_node.start_mark.column + 1, seen[key])
            seen[key] = key_node.start_mark.line + 1
            child = f"{path}.{key}" if path else str(key)
            out[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _marks(value_node, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _marks(item, f"{path}[{index}]", out)


class _DuplicateKey(Exception):
    def __init__(self, key, path, line, column, first):
        super().__init__(key)
        self.key, self.path, self.line, self.column, self.first = key, path, line, column, first


def _where(origin: str | None, line: int, column: int) -> str:
    return f"{origin}:{line}:{column}" if origin else f"line {line}, column {column}"


def _parse_yaml(text: str, origin: str | None):
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = _where(origin, mark.line + 1, mark.column + 1) if mark else (origin or "spec")
        problem = error.problem or "unreadable"
        if error.context:
            cm = error.context_mark
            at = (f" that starts at line {cm.line + 1}, column {cm.column + 1}"
                  if cm is not None and cm is not mark else "")
            problem += f" ({error.context}{at})"
        raise SpecError(f"{where}: invalid YAML: {problem}. Check the indentation and the "
                        f"brackets and colons there.") from None
    except yaml.YAMLError as error:
        raise SpecError(f"{origin or 'spec'}: invalid YAML: {error}") from None
    marks: dict = {}
    if root is not None:
        try:
            _marks(root, "", marks)
        except _DuplicateKey as dup:
            where = _where(origin, dup.line, dup.column)
            error = SpecError(
                f"{where}: key {dup.key!r} appears twice in the same mapping (first on line "
                f"{dup.first}); YAML would silently keep the last. Remove one.")
            error.path = f"{dup.path}.{dup.key}" if dup.path else str(dup.key)
            raise error from None
    return data, marks


def _with_location(error: SpecError, marks: dict, origin: str | None) -> SpecError:
    """Prefix a SpecError with the file, line and column of its spec path."""
    path = error.path
    while path:
        if path in marks:
            line, column = marks[path]
            located = SpecError(str(error.args[0]), "")
            located.args = (f"{_where(origin, line, column)}: {error.args[0]}",)
            located.path, located.line, located.column, located.origin = error.path, line, column, origin
            return located
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return error


# --------------------------------------------------------------------------------------
# load
# --------------------------------------------------------------------------------------

def _looks_like_path(text: str) -> bool:
    return "\n" not in text and (text.endswith((".yaml", ".yml", ".json")) or os.path.isfile(text))


def load(source, *, input=None) -> Spec:
    """Read, desugar and check a spec, and infer its shapes.

    Args:
        source: a path (``str`` ending in .yaml / .yml or naming a file, or
            ``pathlib.Path``), YAML text, a dict, or a :class:`Spec`.
        input: replaces the spec's ``input`` (channels, then spatial sizes).

    Returns:
        The :class:`Spec`; every error in it has been raised already.

    Raises:
        SpecError: naming the spec path (and for YAML the line and column) and the fix.

    Example:
        >>> spec = load('''
        ... input: [1, 28, 28]
        ... layers:
        ...   - conv: {filters: 6, kernel: 5, padding: same, activation: tanh}
        ...   - avgpool: 2
        ... ''')
        >>> [row.type for row in spec.rows], spec.output_shape
        (['conv', 'tanh', 'avgpool'], (6, 14, 14))
    """
    origin = None
    marks: dict = {}
    if isinstance(source, Spec):
        if input is None:
            return source
        data = source.to_dict()
    elif isinstance(source, (str, pathlib.Path)):
        if isinstance(source, pathlib.Path) or _looks_like_path(source):
            origin = str(source)
            try:
                text = pathlib.Path(source).read_text(encoding="utf-8")
            except FileNotFoundError:
                raise SpecError(
                    f"spec file {origin!r} not found (looked in {os.path.abspath(origin)}). "
                    f"Check the path, or pass the YAML text or a dict.") from None
            except IsADirectoryError:
                raise SpecError(f"spec file {origin!r} is a directory. Pass a .yaml file.") from None
        else:
            text = source
        data, marks = _parse_yaml(text, origin)
    elif isinstance(source, dict):
        data = source
    else:
        raise SpecError(
            f"a spec is a path, YAML text, a dict or a Spec. Received: {source!r} "
            f"({type(source).__name__}).")
    if input is not None:
        if isinstance(data, dict):
            data = {**data, "input": list(input) if isinstance(input, tuple) else input}
        marks = {k: v for k, v in marks.items() if not k.startswith("input")}
    try:
        return _from_dict(data, origin)
    except SpecError as error:
        raise _with_location(error, marks, origin) from None


def _from_dict(data, origin: str | None) -> Spec:
    if not isinstance(data, dict):
        hint = (" If this was meant to be a file name, it was not found." if isinstance(data, str)
                else "")
        raise SpecError(
            f"a spec must be a mapping with keys {', '.join(TOP_LEVEL_KEYS)}. Received: "
            f"{data!r} ({type(data).__name__}).{hint}")
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            hint = did_you_mean(key, TOP_LEVEL_KEYS) if isinstance(key, str) else ""
            raise SpecError(
                f"unknown top-level key {key!r}.{hint} Valid top-level keys: "
                f"{', '.join(TOP_LEVEL_KEYS)}.", str(key))
    name = data.get("name", _DEFAULT_NAME)
    if not isinstance(name, str) or not name:
        raise SpecError(f"name must be a non-empty string. Received: name={name!r}.", "name")
    if "input" not in data:
        raise SpecError(
            "missing. The spec must give the shape of one input sample, channels first. "
            "Add e.g. input: [1, 28, 28] (1 channel, 28x28) or input: [3, 32, 32].", "input")
    shape = check_input_shape(data["input"])
    if "layers" not in data:
        raise SpecError("missing. Add a list of layers, e.g. layers: [{conv: {filters: 8, "
                        "kernel: 3}}, flatten, {dense: 10}].", "layers")
    loss = data.get("loss")
    if loss is not None and loss not in LOSSES:
        hint = did_you_mean(loss, LOSSES) if isinstance(loss, str) else ""
        raise SpecError(
            f"unknown loss {loss!r}.{hint} Valid losses: {', '.join(LOSSES)} (or leave it out).",
            "loss")
    engine = Engine(len(shape) - 1)
    layers = engine.desugar_list(data["layers"], "layers")
    return Spec(name, shape, layers, loss, origin)
