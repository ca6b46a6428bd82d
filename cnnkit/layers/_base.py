"""The base of every cnnkit layer: the class is the one source of its settings and geometry.

A layer class declares, once:

* its **settings**: the constructor's signature gives their names, order and defaults;
  ``kinds`` says how each one is checked (:mod:`cnnkit.layers.kinds`), and
  :meth:`Layer.check_together` holds the rules between settings. The same checks run for
  ``Conv2d(...)`` in Python and for ``conv: {...}`` in a spec, with one wording;
* which settings the **input** gives (``in_channels`` from a volume's channels,
  ``input_size`` from its spatial size), so that a spec infers them;
* its **weight-free geometry**, as class methods of the settings and an input shape:
  :meth:`Layer.output_shape`, :meth:`Layer.receptive_field`, :meth:`Layer.param_count`
  and :meth:`Layer.flop_count`, computed by :mod:`cnnkit.functional.shapes`. The spec infers
  shapes and the summary fills its table from them without building anything;
* whether it exports to ONNX (``onnx``: True, or the reason it does not).

Example:
    >>> from cnnkit.layers import Conv2d
    >>> settings = Conv2d.check_settings({"in_channels": 1, "out_channels": 6, "kernel": 5})
    >>> Conv2d.output_shape(settings, (1, 28, 28))
    (6, 24, 24)
    >>> Conv2d.param_count(settings, (1, 28, 28), (6, 24, 24))
    156
    >>> layer = Conv2d(1, 6, 5)
    >>> type(layer)(**layer.settings()).settings() == layer.settings()
    True
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, ClassVar

import torch.nn as nn

from .._validation import ArgumentError, ArgumentTypeError, CnnkitError, did_you_mean
from ..functional import shapes
from ..functional.shapes import Geometry, InputSource
from .kinds import Kind

__all__ = ["FROM_INPUT", "REQUIRED", "Layer", "is_default", "SlidingWindow", "rank_alias"]

REQUIRED = inspect.Parameter.empty   # a setting without a default
FROM_INPUT = InputSource()           # "the input": where a layer's input comes from by default

# What of the input shape (channels first, no batch) gives an inferred setting.
_INFERRED = {
    "channels": lambda shape: shape[0],
    "features": lambda shape: shape[0],
    "spatial": lambda shape: tuple(shape[1:]),
}


def is_default(value, default) -> bool:
    """True when ``value`` is ``default`` or its per-dimension expansion (``(1, 1)`` for 1,
    ``((0, 0), (0, 0))`` for padding 0)."""
    if value == default:
        return True
    if isinstance(value, tuple) and value and not isinstance(default, tuple):
        return all(v == default or v == (default, default) for v in value)
    return False


class Layer(nn.Module):
    """A cnnkit Module whose class describes its settings and geometry (see the module doc).

    A subclass's ``__init__`` declares the settings in its signature and its body is
    ``Layer.__init__(self, locals())``: the arguments are checked against ``kinds`` and
    ``check_together``, stored (``settings()``), set as attributes (except ``bias``, which
    names the parameter), and then :meth:`create` makes the parameters. A subclass that
    adds settings to another layer declares them all and inherits its ``create``.

    Class attributes:
        kinds: constructor setting -> its :class:`~cnnkit.layers.kinds.Kind`.
        inferred: setting -> what of the input gives it (``"channels"``, ``"features"``,
            ``"spatial"``); a spec infers these and only checks them when written.
        takes: the input it accepts: ``"volume"`` ``(C, *spatial)``, ``"flat"`` ``(F,)``
            or ``"any"``.
        sized: the built layer works only for the input shape it was built for.
        fixed_dims: the number of spatial dimensions that a 1-D/2-D/3-D alias fixes.
        onnx: True when it exports to ONNX, else the reason it does not.
        index_input: it takes integer indices (token ids), not real values.
    """

    kinds: ClassVar[dict[str, Kind]] = {}
    inferred: ClassVar[dict[str, str]] = {}
    takes: ClassVar[str] = "any"
    sized: ClassVar[bool] = False
    fixed_dims: ClassVar[int | None] = None
    onnx: ClassVar[bool | str] = True
    index_input: ClassVar[bool] = False
    rank_aliases: ClassVar[dict[int, type]] = {}

    def __init__(self, arguments: dict | None = None):
        super().__init__()
        given = {name: arguments[name] for name in self.signature() if name in (arguments or {})}
        settings = type(self).check_settings(given)
        self._settings = settings
        for name, value in settings.items():
            if name != "bias":
                object.__setattr__(self, name, value)
        self.create()

    def create(self) -> None:
        """Make the parameters, buffers and sub-modules from the checked settings."""

    # ---- the settings ------------------------------------------------------------------
    @classmethod
    def signature(cls) -> dict[str, Any]:
        """Setting name -> default (``REQUIRED`` where there is none), in constructor order."""
        cached = cls.__dict__.get("_signature_cache")
        if cached is None:
            parameters = inspect.signature(cls.__init__).parameters
            cached = {name: p.default for name, p in parameters.items()
                      if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
            cls._signature_cache = cached
        return cached

    @classmethod
    def check_settings(cls, given: dict, *, source: InputSource | None = None) -> dict:
        """Check and normalise settings; return every setting in constructor order.

        Settings missing from ``given`` take their default; inferred settings without a
        default may be missing (a spec checks a layer before it knows the input), and so
        are left out. ``source`` says where the input comes from when the inferred
        settings come from an input shape, for the wording of errors.

        Raises:
            ArgumentError, ArgumentTypeError: a bad value, naming the setting
                (``error.argument``).
        """
        signature = cls.signature()
        unknown = [name for name in given if name not in signature]
        if unknown:
            raise ArgumentTypeError(
                f"{cls.__name__} got an unknown setting {unknown[0]!r}."
                f"{did_you_mean(unknown[0], signature)} Settings: {', '.join(signature)}.",
                argument=unknown[0])
        rank = cls._rank_of(given)
        settings: dict[str, Any] = {}
        for name, default in signature.items():
            if name in given:
                value = given[name]
            elif default is REQUIRED:
                if name in cls.inferred:
                    continue
                raise ArgumentTypeError(f"{cls.__name__} needs {name} (no default). Received: "
                                        f"no {name}.", argument=name)
            else:
                value = default
            kind = cls.kinds.get(name)
            settings[name] = kind.check(value, name, rank) if kind is not None else value
        if "dims" in signature:
            settings["dims"] = rank
        cls.check_together(settings, source)
        return settings

    @classmethod
    def _rank_of(cls, given: dict) -> int:
        if "dims" not in cls.signature():
            return cls.fixed_dims or 0
        dims = given.get("dims", cls.fixed_dims or cls.signature()["dims"])
        if cls.fixed_dims is not None and dims != cls.fixed_dims:
            raise ArgumentError(f"{cls.__name__} is {cls.fixed_dims}-D. Received: dims={dims!r}. "
                                f"Use the {dims}-D class or leave dims out.", argument="dims")
        if dims not in (1, 2, 3):
            raise ArgumentError(f"dims must be 1, 2 or 3. Received: dims={dims!r}.",
                                argument="dims")
        return dims

    @classmethod
    def check_together(cls, settings: dict, source: InputSource | None = None) -> None:
        """Rules between settings (``out_channels`` divisible by ``groups``). Settings may
        be missing (inferred ones before the input is known): a rule skips those."""

    @classmethod
    def settings_from_input(cls, settings: dict, shape: tuple) -> dict:
        """The inferred settings for an input ``shape`` (channels first, no batch)."""
        return {name: _INFERRED[what](shape) for name, what in cls.inferred.items()}

    def settings(self) -> dict:
        """The constructor settings, checked and normalised: ``type(layer)(**settings)``
        builds the same layer."""
        return dict(self._settings)

    @classmethod
    def default_of(cls, name: str, settings: dict):
        """What counts as the default of a setting, given the others (a pooling's stride
        defaults to its window)."""
        return cls.signature()[name]

    @classmethod
    def is_sized(cls, settings: dict) -> bool:
        """Whether a layer with these settings works only for the input shape it was built
        for (dense after a flatten, untied biases, weights per location)."""
        return cls.sized

    def extra_repr(self) -> str:
        parts = []
        for name, value in self._settings.items():
            default = type(self).default_of(name, self._settings)
            if name == "dims":  # the class name or the tuples' lengths show the rank
                continue
            if default is not REQUIRED and (is_default(value, default)
                                            or value == self._normalised(name, default)):
                continue
            kind = self.kinds.get(name)
            parts.append(f"{name}=" + (kind.show(value) if kind else repr(value)))
        return ", ".join(parts)

    def _normalised(self, name: str, value):
        kind = self.kinds.get(name)
        try:
            return kind.check(value, name, self._settings.get("dims", 1)) if kind else value
        except CnnkitError:
            return value

    # ---- weight-free geometry (class level: no Module needed) --------------------------
    @classmethod
    def output_shape(cls, settings: dict, shape: tuple,
                     source: InputSource = FROM_INPUT) -> tuple:
        """The output shape (no batch) for an input ``shape``; element-wise by default.

        Raises:
            ShapeError: the input cannot work (a kernel larger than the input), naming
                ``source``.
        """
        return tuple(shape)

    @classmethod
    def receptive_field(cls, settings: dict, shape: tuple,
                        geometry: Geometry) -> Geometry | None:
        """The receptive-field geometry after this layer, or None where it is irregular.
        By default unchanged (the layer looks at one position)."""
        return geometry

    @classmethod
    def notes(cls, settings: dict, shape: tuple) -> list[str]:
        """Warnings about this layer on an input ``shape`` that are not errors (input rows a
        window never reaches). None by default."""
        return []

    @classmethod
    def param_count(cls, settings: dict, shape: tuple, out: tuple) -> int:
        """Learned parameters for an input ``shape`` and output ``out``."""
        return 0

    @classmethod
    def flop_count(cls, settings: dict, shape: tuple, out: tuple) -> int:
        """Multiply-adds of one forward pass of one sample."""
        return 0

    def spatial_output(self, size) -> tuple[int, ...]:
        """Spatial output size for a spatial input ``size`` (raises if it cannot work)."""
        channels = self._settings.get("in_channels", 1)
        return tuple(type(self).output_shape(self._settings, (channels, *size))[1:])


_AXES = {1: ("position",), 2: ("row", "column"), 3: ("depth slice", "row", "column")}


class SlidingWindow(Layer):
    """What every layer that slides a window over a volume shares, weights or not: the
    (lo, hi) padding of each axis, the receptive-field geometry (Goodfellow et al. 2016,
    eq. 9.8) and the note when ``(W - K + 2P) / S + 1`` is not a whole number. Settings it
    reads: ``kernel``, ``stride`` and, where the layer has them, ``padding``, ``dilation``
    and ``ceil_mode``."""

    @classmethod
    def padding_pairs(cls, settings, shape) -> tuple[tuple[int, int], ...]:
        """The (lo, hi) padding for an input ``shape``."""
        n = len(shape) - 1
        return shapes.padding_pairs(settings.get("padding", ((0, 0),) * n), settings["kernel"],
                                    settings["stride"], settings.get("dilation", (1,) * n),
                                    tuple(shape[1:]))

    @classmethod
    def receptive_field(cls, settings, shape, geometry):
        pairs = cls.padding_pairs(settings, shape)
        return shapes.compose_geometry(geometry, settings["kernel"], settings["stride"],
                                       settings.get("dilation", (1,) * len(pairs)),
                                       [lo for lo, _ in pairs])

    @classmethod
    def notes(cls, settings, shape):
        return _window_notes(settings, shape, cls.padding_pairs(settings, shape))


def _window_notes(settings: dict, shape: tuple, pairs) -> list[str]:
    """A note for a sliding window whose output-size formula ``(W - K + 2P) / S + 1`` is
    not a whole number: the output floors, and the input rows (columns, ...) at the high end
    that no window reads are named."""
    spatial = tuple(shape[1:])
    dilation = settings.get("dilation", (1,) * len(spatial))
    unseen = shapes.unseen_positions(spatial, settings["kernel"], settings["stride"], pairs,
                                     dilation, ceil_mode=settings.get("ceil_mode", False))
    formulas, missed, extra = [], [], []
    for axis, (edge, w, k, s, (lo, hi), d) in enumerate(zip(
            unseen, spatial, settings["kernel"], settings["stride"], pairs, dilation)):
        if edge is None:
            continue
        span = shapes.effective_kernel(k, d)
        formulas.append(f"({w} - {span} + {lo + hi}) / {s} + 1 = {(w - span + lo + hi) / s + 1:g}")
        name, (first, last) = _AXES[len(spatial)][axis], edge
        missed.append(f"{name} {first}" if first == last else f"{name}s {first} to {last}")
        extra.append(s - (w - span + lo + hi) % s)
    if not missed:
        return []
    formulas = list(dict.fromkeys(formulas))
    pad = shapes.format_spatial(extra) if len(set(extra)) > 1 else str(extra[0])
    return [f"(W - K + 2P) / S + 1 is not a whole number ({', '.join(formulas)}): "
            f"{' and '.join(missed)} of its {shapes.format_spatial(spatial)} input "
            f"{'is' if len(missed) == 1 and ' to ' not in missed[0] else 'are'} never seen. "
            f"Pad by {pad} more, or change the stride or the window, to use them."]


def rank_alias(base: type[Layer], n: int, doc: str | None = None) -> type[Layer]:
    """``Conv2d = rank_alias(Conv, 2)``: ``base`` with ``dims`` fixed to ``n``.

    ``help()`` and ``inspect.signature`` show ``base``'s signature without ``dims``.
    """
    @functools.wraps(base.__init__)
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("dims", n)
        base.__init__(self, *args, **kwargs)

    alias = type(f"{base.__name__}{n}d", (base,), {
        "fixed_dims": n, "__init__": __init__, "__module__": base.__module__,
        "__doc__": doc or f"{n}-D :class:`{base.__name__}`."})
    alias.__qualname__ = alias.__name__
    base.rank_aliases = {**base.__dict__.get("rank_aliases", {}), n: alias}
    signature = inspect.signature(base.__init__)
    alias.__signature__ = signature.replace(
        parameters=[p for name, p in signature.parameters.items() if name not in ("self", "dims")])
    return alias
