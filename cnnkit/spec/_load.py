"""Reading a spec: YAML file or text (with line and column for every error), or a dict."""

from __future__ import annotations

import os
import pathlib
import re
from typing import Any

import yaml

from .._validation import SpecError, did_you_mean
from ..functional.losses import LOSSES
from ._catalogue import Node, format_shape
from ..functional.shapes import Geometry
from ._engine import Engine, LayerRow, check_input_shape
from ._zoo import ModelRef, infer_module, read_model

__all__ = ["Spec", "load", "TASKS", "TASK_LOSSES", "TOP_LEVEL_KEYS"]

TOP_LEVEL_KEYS = ("name", "input", "layers", "model", "loss", "task", "standardize")
# What the network is trained to do, and the losses that fit each task (the first is its
# default). cnnkit.tasks defines the tasks; the spec sits below it and keeps the names, and
# a test checks that the two agree.
TASK_LOSSES = {
    "classify": ("softmax_cross_entropy",),
    "multilabel": ("sigmoid_cross_entropy",),
    "regress": ("euclidean", "mse", "smooth_l1"),
    "segment": ("softmax_cross_entropy",),
    "reconstruct": ("euclidean", "mse", "smooth_l1"),
    "detect": ("yolo", "fast_rcnn"),
}
TASKS = tuple(TASK_LOSSES)
_DEFAULT_NAME = "network"


class Spec:
    """A checked, desugared network spec whose shapes have been inferred.

    Attributes:
        name: the network's name.
        input: input shape without batch: ``(channels, *spatial)``.
        layers: the desugared layers (:class:`Node`).
        loss: loss name or None.
        task: what the network is trained to do (``classify``, ``multilabel``, ``regress``,
            ``segment``, ``reconstruct``, ``detect``; see docs/tasks.md), or None to derive
            it from the loss and the data.
        standardize: the Node of the top-level ``standardize: {mean, std}`` key (the
            per-channel input statistics fitted on the training split, applied before
            ``layers[0]``), or None. Its summary row is ``standardize``; the layers keep
            their paths.
        rows: one :class:`LayerRow` per layer (nested ones included), from shape inference.
        output_shape: output shape without batch.
        origin: the file the spec came from, if any.
        model: the ``model:`` entry (a registered zoo Module and its settings, see
            :mod:`cnnkit.spec._zoo`) of a spec written without ``layers:``, or None. Its
            one row is the whole Module (type: the model's name).

    Example:
        >>> spec = load({"input": [1, 8, 8], "layers": [{"conv": {"filters": 4, "kernel": 3}}, "flatten"]})
        >>> spec.output_shape
        (144,)
        >>> spec.to_dict(defaults=False)["layers"]
        [{'conv': {'filters': 4, 'kernel': 3}}, 'flatten']
    """

    def __init__(self, name: str, input: tuple, layers: list[Node], loss: str | None = None,
                 origin: str | None = None, task: str | None = None,
                 standardize: Node | None = None, model: ModelRef | None = None):
        self.name = name
        self.input = tuple(input)
        self.layers = layers
        self.loss = loss
        self.task = task
        self.standardize = standardize
        self.origin = origin
        self.model = model
        self.engine = Engine(self.rank)
        self.output_shape, self.rows = self._infer(self.engine, self.input)

    def _infer(self, engine: Engine, shape: tuple) -> tuple[tuple, list[LayerRow]]:
        front: list[LayerRow] = []
        if self.standardize is not None:
            # Element-wise: the shape and the receptive field stay; the walk checks that
            # mean and std give one value per input channel (or one for all).
            _, _, front = engine.walk([self.standardize], tuple(shape),
                                      Geometry.identity(len(shape) - 1), "standardize")
            front[0].path = "standardize"
        if self.model is not None:
            out, params, _ = infer_module(self.model, tuple(shape))
            return out, front + [LayerRow("model", self.model.name, "model", tuple(shape), out,
                                          None, params, 0, 0, None)]
        out, rows = engine.infer(self.layers, tuple(shape))
        return out, front + rows

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
        return self._infer(Engine(self.rank), shape)

    def to_dict(self, defaults: bool = True) -> dict:
        """The canonical (desugared) spec as plain Python data.

        Args:
            defaults: write every setting; False leaves out those equal to their default
                (the spec still reads back the same).
        """
        out: dict[str, Any] = {"name": self.name, "input": list(self.input)}
        if self.standardize is not None:
            out["standardize"] = self.standardize.to_dict(True)["standardize"]
        if self.model is not None:
            out["model"] = self.model.to_dict(defaults)
            out["loss"] = self.loss
        else:
            out.update({"layers": [node.to_dict(defaults) for node in self.layers],
                        "loss": self.loss})
        if not defaults and self.loss is None:
            del out["loss"]
        if self.task is not None:
            out["task"] = self.task
        return out

    def to_yaml(self, defaults: bool = False) -> str:
        """The canonical spec as YAML text (one line per layer); reads back the same."""
        return to_yaml(self.to_dict(defaults))

    def build(self):
        """Build the :class:`~cnnkit.spec.network.Network`.

        Raises:
            SpecError: the parameters would not fit in this machine's memory (naming the
                largest layer), before anything is allocated.
        """
        from .network import Network  # network.py imports this module
        _check_fits_in_memory(self)
        return Network(self)

    def __eq__(self, other) -> bool:
        return isinstance(other, Spec) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return (f"Spec(name={self.name!r}, input={format_shape(self.input)}, "
                f"layers={len(self.layers)}, output={format_shape(self.output_shape)})")


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on this platform
        return None


def _check_fits_in_memory(spec: Spec) -> None:
    """Refuse to build a network whose parameters alone exceed the machine's memory: the
    allocation would fail deep inside PyTorch, or the system would kill the process."""
    import torch

    top = [row for row in spec.rows if row.depth == 0]
    params = sum(row.params for row in top)
    itemsize = torch.empty((), dtype=torch.get_default_dtype()).element_size()
    memory = _physical_memory()
    if memory is None or params * itemsize <= memory:
        return
    largest = max(top, key=lambda row: row.params)
    raise SpecError(
        f"the network has {params:,} parameters ({params * itemsize / 2 ** 30:,.1f} GiB as "
        f"{str(torch.get_default_dtype()).removeprefix('torch.')}), more than this machine's "
        f"memory ({memory / 2 ** 30:,.1f} GiB); the largest layer, {largest.type}, has "
        f"{largest.params:,}. Use fewer units or filters, or a smaller input.", largest.source)


def to_yaml(data: dict) -> str:
    """YAML with block style for the structure and flow style for each layer's settings."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


# --------------------------------------------------------------------------------------
# YAML with marks, within bounds
# --------------------------------------------------------------------------------------
# A spec may come from anyone (a file sent along with a run, a page that builds a network).
# YAML's anchors and aliases let a few hundred bytes stand for billions of values ("billion
# laughs"), and nesting drives recursive code into RecursionError; so the composer counts
# every value as it would be after aliases are expanded and every nesting level, and stops
# at the bounds below with a line and column. A real spec is far below all of them.

MAX_SPEC_CHARS = 1 << 20   # characters of YAML text (1 MiB)
MAX_VALUES = 100_000       # values (mappings, lists, scalars) once aliases are expanded
MAX_DEPTH = 100            # levels of nesting
MAX_SCALAR_CHARS = 1000    # characters in one key or value


class _Bound(Exception):
    """A bound exceeded while composing: ``mark`` says where, ``message`` what and the fix."""

    def __init__(self, mark, message: str):
        super().__init__(message)
        self.mark, self.message = mark, message


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that keeps every document within the bounds above.

    Each composed node's size (itself and everything under it, an alias counting as the
    whole value it stands for) is known when it is finished, so a bomb is stopped at the
    first value that grows past :data:`MAX_VALUES`, after work proportional to the text.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = self.anchors.get(event.anchor)
            if node is not None and id(node) not in self._sizes:
                raise _Bound(event.start_mark,
                             f"alias *{event.anchor} stands for a value that contains the "
                             f"alias itself, so the value would never end. Write the value out "
                             f"instead of the alias.")
            return super().compose_node(parent, index)
        event = self.peek_event()
        mark, anchor = event.start_mark, getattr(event, "anchor", None)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Bound(mark, f"values nested deeper than {MAX_DEPTH} levels; a network spec "
                               f"needs far fewer. Check the brackets, or flatten the nesting.")
        node = super().compose_node(parent, index)
        self._depth -= 1
        if isinstance(node, yaml.ScalarNode):
            if len(node.value) > MAX_SCALAR_CHARS:
                raise _Bound(mark, f"a value of {len(node.value):,} characters; keys and values "
                                   f"in a spec are at most {MAX_SCALAR_CHARS:,}. Shorten it.")
            if "\0" in node.value:
                raise _Bound(mark, f"a value with a NUL character: {node.value[:40]!r}. Remove "
                                   f"the \\0 from it.")
            size = 1
        elif isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self._sizes[id(item)] for item in node.value)
        else:
            size = 1 + sum(self._sizes[id(k)] + self._sizes[id(v)] for k, v in node.value)
        if size > MAX_VALUES:
            named = f" (&{anchor})" if anchor else ""
            raise _Bound(mark, f"this value{named} stands for more than {MAX_VALUES:,} values "
                               f"once its YAML aliases are expanded; a network spec needs far "
                               f"fewer. Write the layers out, or use fewer aliases.")
        self._sizes[id(node)] = size
        return node


class _Marks:
    """Where each spec path was written: ``(line, column)`` of a mapping key or list item.

    Found on demand by walking the composed YAML along the path, so a spec with many
    values (or values reached through aliases) costs nothing up front.
    """

    _STEP = re.compile(r"\[(\d+)\]|\.?([^.\[]+)")

    def __init__(self, root: yaml.Node | None = None, hidden: tuple[str, ...] = ()):
        self.root = root
        self.hidden = hidden

    def without(self, key: str) -> _Marks:
        """These marks, except those of the top-level ``key`` (a value given in code)."""
        return _Marks(self.root, (*self.hidden, key))

    def get(self, path: str) -> tuple[int, int] | None:
        """``(line, column)`` of ``path`` (``layers[3].conv.kernel``), or None if not written."""
        if self.root is None or not path:
            return None
        steps = self._STEP.findall(path)
        if not steps or steps[0][1] in self.hidden or "".join(
                f"[{i}]" if i else (f".{k}" if n else k) for n, (i, k) in enumerate(steps)) != path:
            return None
        node, mark = self.root, None
        for index, key in steps:
            if index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
                node = node.value[int(index)]
                mark = node.start_mark
            elif key and isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                        node, mark = value_node, key_node.start_mark
                        break
                else:
                    return None
            else:
                return None
        return (mark.line + 1, mark.column + 1) if mark is not None else None


def _check_duplicate_keys(root: yaml.Node, origin: str | None) -> None:
    """Refuse a key written twice in one mapping (YAML would silently keep the last)."""
    seen_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in seen_nodes:  # an alias: its value was checked where it was written
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    key = key_node.value
                    if key in seen:
                        mark = key_node.start_mark
                        error = SpecError(
                            f"{_where(origin, mark.line + 1, mark.column + 1)}: key {key!r} "
                            f"appears twice in the same mapping (first on line {seen[key]}); "
                            f"YAML would silently keep the last. Remove one.")
                        error.path = f"{path}.{key}" if path else str(key)
                        raise error
                    seen[key] = key_node.start_mark.line + 1
                    stack.append((value_node, f"{path}.{key}" if path else str(key)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, f"{path}[{i}]") for i, item in enumerate(node.value))


def _where(origin: str | None, line: int, column: int) -> str:
    return f"{origin}:{line}:{column}" if origin else f"line {line}, column {column}"


def _line_column(text: str, position: int) -> tuple[int, int]:
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1


def _parse_yaml(text: str, origin: str | None) -> tuple[Any, _Marks]:
    """The data of YAML ``text`` and the marks of its values; SpecError for bad or hostile
    text, with the line and column and the fix."""
    if len(text) > MAX_SPEC_CHARS:
        raise SpecError(f"{origin or 'spec'}: the spec text has {len(text):,} characters; a "
                        f"spec is at most {MAX_SPEC_CHARS:,}. Check that this is a network "
                        f"spec.")
    loader = None
    try:
        loader = _BoundedLoader(text)  # checks the characters at once: ReaderError below
        root = loader.get_single_node()
        if root is not None:
            _check_duplicate_keys(root, origin)
        data = loader.construct_document(root) if root is not None else None
    except _Bound as bound:
        where = _where(origin, bound.mark.line + 1, bound.mark.column + 1)
        raise SpecError(f"{where}: {bound.message}") from None
    except yaml.reader.ReaderError as error:
        line, column = _line_column(text, error.position)
        code = error.character if isinstance(error.character, int) else ord(error.character)
        raise SpecError(
            f"{_where(origin, line, column)}: invalid YAML: character {chr(code)!r} "
            f"(#x{code:04x}) is not allowed in YAML text. Remove it.") from None
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
        message = " ".join(str(error).split())
        raise SpecError(f"{origin or 'spec'}: invalid YAML: {message}") from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, _Marks(root)


def _check_plain(data: Any) -> None:
    """Keep a spec given as Python data within the same bounds as YAML text: no value that
    contains itself, at most :data:`MAX_DEPTH` levels and :data:`MAX_VALUES` values."""
    count = 0
    open_ids: set[int] = set()
    stack: list[tuple[Any, str, int, bool]] = [(data, "", 1, False)]
    while stack:
        value, path, depth, leaving = stack.pop()
        if leaving:
            open_ids.discard(id(value))
            continue
        count += 1
        if count > MAX_VALUES:
            raise SpecError(f"the spec has more than {MAX_VALUES:,} values (lists, mappings "
                            f"and scalars, a shared one counted each time it appears); a "
                            f"network spec needs far fewer.", path)
        if not isinstance(value, (dict, list, tuple)):
            continue
        if id(value) in open_ids:
            raise SpecError(f"this {type(value).__name__} contains itself, so the spec would "
                            f"never end. Give a copy instead.", path)
        if depth > MAX_DEPTH:
            raise SpecError(f"values nested deeper than {MAX_DEPTH} levels; a network spec "
                            f"needs far fewer.", path)
        open_ids.add(id(value))
        stack.append((value, path, depth, True))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            child = (f"{path}.{key}" if path else str(key)) if isinstance(value, dict) \
                else f"{path}[{key}]"
            stack.append((item, child, depth + 1, False))


def _with_location(error: SpecError, marks: _Marks, origin: str | None) -> SpecError:
    """Prefix a SpecError with the file, line and column of its spec path."""
    path = error.path
    while path:
        found = marks.get(path)
        if found is not None:
            line, column = found
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
    marks = _Marks()
    if isinstance(source, Spec):
        if input is None:
            return source
        data = source.to_dict()
    elif isinstance(source, (str, pathlib.Path)):
        if isinstance(source, pathlib.Path) or _looks_like_path(source):
            origin = str(source)
            text = _read_spec_file(origin)
        else:
            text = source
        data, marks = _parse_yaml(text, origin)
    elif isinstance(source, dict):
        data = source
        _check_plain(data)
    else:
        raise SpecError(
            f"a spec is a path, YAML text, a dict or a Spec. Received: {_short_repr(source)} "
            f"({type(source).__name__}).")
    if input is not None:
        if isinstance(data, dict):
            data = {**data, "input": list(input) if isinstance(input, tuple) else input}
        marks = marks.without("input")
    try:
        return _from_dict(data, origin)
    except SpecError as error:
        raise _with_location(error, marks, origin) from None


def _short_repr(value, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _read_spec_file(origin: str) -> str:
    """The text of a spec file: UTF-8 (a byte-order mark is dropped), at most
    :data:`MAX_SPEC_CHARS` bytes; SpecError naming the file otherwise."""
    try:
        with open(origin, "rb") as f:
            raw = f.read(MAX_SPEC_CHARS + 1)
    except FileNotFoundError:
        raise SpecError(
            f"spec file {origin!r} not found (looked in {os.path.abspath(origin)}). "
            f"Check the path, or pass the YAML text or a dict.") from None
    except IsADirectoryError:
        raise SpecError(f"spec file {origin!r} is a directory. Pass a .yaml file.") from None
    except OSError as error:
        raise SpecError(f"spec file {origin!r} cannot be read ({error.strerror or error}). "
                        f"Check the path and its permissions.") from None
    if len(raw) > MAX_SPEC_CHARS:
        raise SpecError(f"spec file {origin!r} is larger than {MAX_SPEC_CHARS:,} bytes; a spec "
                        f"is far smaller. Check that this is a network spec.")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SpecError(f"spec file {origin!r} is UTF-16 text (it starts with a UTF-16 "
                        f"byte-order mark). Save it as UTF-8.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise SpecError(
            f"spec file {origin!r} is not UTF-8 text: byte 0x{raw[error.start]:02x} at line "
            f"{line}, column {column} ({error.reason}). Save the file as UTF-8.") from None
    if "\0" in text:
        line, column = _line_column(text, text.index("\0"))
        raise SpecError(f"spec file {origin!r} has a NUL byte at line {line}, column {column}: "
                        f"it is not UTF-8 text (UTF-16 without a byte-order mark, or a binary "
                        f"file). Save it as UTF-8.")
    return text


def _from_dict(data, origin: str | None) -> Spec:
    if not isinstance(data, dict):
        hint = (" If this was meant to be a file name, it was not found." if isinstance(data, str)
                else "")
        raise SpecError(
            f"a spec must be a mapping with keys {', '.join(TOP_LEVEL_KEYS)}. Received: "
            f"{_short_repr(data)} ({type(data).__name__}).{hint}")
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            hint = did_you_mean(key, TOP_LEVEL_KEYS) if isinstance(key, str) else ""
            raise SpecError(
                f"unknown top-level key {_short_repr(key)}.{hint} Valid top-level keys: "
                f"{', '.join(TOP_LEVEL_KEYS)}.", str(key))
    name = data.get("name", _DEFAULT_NAME)
    if not isinstance(name, str) or not name:
        raise SpecError(f"name must be a non-empty string. Received: name={_short_repr(name)}.",
                        "name")
    if not name.isprintable():
        raise SpecError(f"name must be printable text: it names run folders and files. "
                        f"Received: name={_short_repr(name)}. Remove the control characters.",
                        "name")
    if "input" not in data:
        raise SpecError(
            "missing. The spec must give the shape of one input sample, channels first. "
            "Add e.g. input: [1, 28, 28] (1 channel, 28x28) or input: [3, 32, 32].", "input")
    shape = check_input_shape(data["input"])
    model = None
    if "model" in data:
        if "layers" in data:
            raise SpecError("a spec gives either layers: or model: (a zoo Module that builds "
                            "the whole network), not both. Remove one.", "model")
        model = read_model(data["model"])
    elif "layers" not in data:
        raise SpecError("missing. Add a list of layers, e.g. layers: [{conv: {filters: 8, "
                        "kernel: 3}}, flatten, {dense: 10}].", "layers")
    loss = data.get("loss")
    if loss is not None and (not isinstance(loss, str) or loss not in LOSSES):
        hint = did_you_mean(loss, LOSSES) if isinstance(loss, str) else ""
        raise SpecError(
            f"unknown loss {_short_repr(loss)}.{hint} Valid losses: {', '.join(LOSSES)} (or leave it out).",
            "loss")
    task = data.get("task")
    if model is not None:  # the Module's own task and loss, where the spec gives none
        module = _meta_module(model, shape)
        if task is None and loss is None and isinstance(getattr(module, "task", None), str):
            task = module.task
        if loss is None and isinstance(getattr(module, "loss", None), str) \
                and (task is None or module.loss in TASK_LOSSES.get(task, ())):
            loss = module.loss
    if task is not None:
        if not isinstance(task, str) or task not in TASK_LOSSES:
            hint = did_you_mean(task, TASK_LOSSES) if isinstance(task, str) else ""
            raise SpecError(
                f"unknown task {_short_repr(task)}.{hint} Valid tasks: {', '.join(TASKS)} (or "
                f"leave it out to derive it from the loss and the data).", "task")
        if loss is not None and loss not in TASK_LOSSES[task]:
            fits = " or ".join(TASK_LOSSES[task])
            others = [t for t, losses in TASK_LOSSES.items() if loss in losses]
            raise SpecError(
                f"loss {loss!r} does not fit task {task!r}. Received: loss={loss!r}, task="
                f"{task!r}. Use loss: {fits}, leave the loss out (the task's default), or "
                f"task: {others[0]}.", "loss")
    engine = Engine(len(shape) - 1)
    standardize = _standardize_node(engine, data.get("standardize"))
    if model is not None:
        return Spec(name, shape, [], loss, origin, task, standardize, model)
    layers = engine.desugar_list(data["layers"], "layers")
    return Spec(name, shape, layers, loss, origin, task, standardize)


def _meta_module(model: ModelRef, shape: tuple):
    """The Module of ``model`` on the meta device (for its task and loss attributes)."""
    return infer_module(model, shape)[2]


def _standardize_node(engine: Engine, raw) -> Node | None:
    """The top-level ``standardize: {mean, std}`` as a Node (errors at ``standardize.*``)."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"mean", "std"}:
        raise SpecError(
            f"must be a mapping {{mean: [...], std: [...]}}: one value per input channel (or "
            f"one for all), fitted on the training split. Received: {_short_repr(raw)}.",
            "standardize")
    try:
        (node,) = engine.desugar_item({"standardize": raw}, "")
    except SpecError as error:
        raise _relocated(error, "standardize") from None
    return node  # its source is "": errors of shape inference say standardize.mean


def _relocated(error: SpecError, path: str) -> SpecError:
    """``error`` with its spec path ``.standardize.mean`` written ``standardize.mean``."""
    where = getattr(error, "path", None) or ""
    message = str(error)
    if where and message.startswith(where + ": "):
        message = message[len(where) + 2:]
    fixed = path + where[len(".standardize"):] if where.startswith(".standardize") else path
    return SpecError(message, fixed)
