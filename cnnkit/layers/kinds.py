"""Kinds of layer settings: how each one is checked, and how a spec writes it.

A layer class maps each constructor setting to a kind (``kinds = {"kernel": PerDim(), ...}``).
The kind checks a value with one wording for Python and spec users alike, normalises it
(``kernel=3`` -> ``(3, 3)`` in 2-D) and gives its plain spec form back (``(3, 3)`` -> ``3``).

Example:
    >>> PerDim().check(3, "kernel", 2), PerDim().plain((3, 3)), PerDim().plain((1, 2))
    ((3, 3), 3, [1, 2])
    >>> Choice(("max", "avg")).check("avg", "mode", 2)
    'avg'
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .._validation import ArgumentError, ArgumentTypeError, one_of, to_tuple
from ..functional import shapes

__all__ = ["Boxes", "Choice", "Count", "Flag", "Kind", "Levels", "Number", "Padding", "PerDim",
           "Ratio", "collapse", "plain_padding"]


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


def _type_error(name: str, value, what: str) -> ArgumentTypeError:
    return ArgumentTypeError(f"{name} must be {what}. Received: {name}={value!r} "
                             f"({type(value).__name__}).", argument=name)


class Kind:
    """How one setting is checked and written. The base accepts anything as it is."""

    def check(self, value, name: str, rank: int):
        """The checked, normalised value (tuples for per-dimension values)."""
        return value

    def plain(self, value):
        """The spec (YAML) form of a checked value."""
        return value

    def read(self, value):
        """A value as a spec wrote it, before :meth:`check` (YAML reads some numbers as
        strings)."""
        return value

    def show(self, value) -> str:
        """A checked value as a layer's repr shows it."""
        return repr(value)


class Count(Kind):
    """A whole number of at least ``low`` (channels, units, groups)."""

    def __init__(self, low: int = 1):
        self.low = low

    def check(self, value, name, rank):
        if not isinstance(value, int) or isinstance(value, bool):
            raise _type_error(name, value, "an int")
        if value < self.low:
            what = {1: "positive", 0: "non-negative"}.get(self.low, f"at least {self.low}")
            raise ArgumentError(f"{name} must be {what}. Received: {name}={value!r}.",
                                argument=name)
        return value


class PerDim(Kind):
    """An int or one int per spatial dimension (kernel, stride, dilation, sizes)."""

    def __init__(self, allow_zero: bool = False, optional: bool = False):
        self.allow_zero, self.optional = allow_zero, optional

    def check(self, value, name, rank):
        if value is None and self.optional:
            return None
        return to_tuple(value, rank, name, allow_zero=self.allow_zero)

    def plain(self, value):
        return None if value is None else collapse(value)


class Padding(Kind):
    """``valid``, ``same``, ``full``, an int, ints or ``(lo, hi)`` pairs; ``valid`` is kept
    as zero pairs, so that one padding has one form."""

    def check(self, value, name, rank):
        padding = shapes.normalize_padding(value, rank, name)
        return shapes.normalize_padding(0, rank) if padding == "valid" else padding

    def plain(self, value):
        return plain_padding(value)


class Number(Kind):
    """A real number in a range (bounds included unless ``open_*``); ``what`` explains it."""

    def __init__(self, low: float | None = None, high: float | None = None, *,
                 open_low: bool = False, open_high: bool = False, what: str = "",
                 optional: bool = False):
        self.low, self.high, self.open_low, self.open_high = low, high, open_low, open_high
        self.what, self.optional = what, optional

    def read(self, value):
        # YAML 1.1 (PyYAML) reads 1e-5 (no dot) as a string.
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return value
        return value

    def span(self) -> str:
        """The range in words: ``positive``, ``in [0, 1)``, ``>= 2``."""
        low, high = self.low, self.high
        if high is None and low == 0:
            return "positive" if self.open_low else "non-negative"
        if low is not None and high is not None:
            return ("in " + ("(" if self.open_low else "[") + f"{low:g}, {high:g}"
                    + (")" if self.open_high else "]"))
        if low is not None:
            return f"{'>' if self.open_low else '>='} {low:g}"
        return f"{'<' if self.open_high else '<='} {high:g}"

    def check(self, value, name, rank):
        if value is None and self.optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _type_error(name, value, "a number")
        too_low = self.low is not None and (
            value <= self.low if self.open_low else value < self.low)
        too_high = self.high is not None and (
            value >= self.high if self.open_high else value > self.high)
        if too_low or too_high or math.isnan(value):
            note = f" ({self.what})" if self.what else ""
            raise ArgumentError(f"{name} must be {self.span()}{note}. Received: {name}={value!r}.",
                                argument=name)
        return float(value)


class Flag(Kind):
    """True or false."""

    def check(self, value, name, rank):
        if not isinstance(value, bool):
            raise _type_error(name, value, "true or false")
        return value


class Choice(Kind):
    """One of a few names; ``booleans`` maps True / False / None to names (``bias``), and
    ``optional`` accepts None (and the name ``none``) for "no choice"."""

    def __init__(self, choices, booleans: dict | None = None, optional: bool = False):
        self.choices, self.booleans, self.optional = tuple(choices), booleans or {}, optional

    def check(self, value, name, rank):
        if self.optional and value in (None, "none"):
            return None
        if isinstance(value, bool) or value is None:
            if value in self.booleans:
                return self.booleans[value]
        if not isinstance(value, str) and not (isinstance(value, bool) or value is None):
            raise _type_error(name, value, "one of " + ", ".join(map(repr, self.choices)))
        return one_of(value, self.choices, name)


class Ratio(Kind):
    """A shrink ratio in (1, 2), one or one per dimension (fractional max pooling)."""

    def check(self, value, name, rank):
        if value is None:
            return None
        return shapes.check_pool_ratio(value, rank, name)

    def plain(self, value):
        return None if value is None else collapse(value)


class Levels(Kind):
    """Pyramid levels: bins per dimension at each level (spatial pyramid pooling)."""

    def check(self, value, name, rank):
        return shapes.normalize_levels(value, rank, name)

    def plain(self, value):
        return [collapse(level) for level in value]

    def show(self, value) -> str:
        return repr(tuple(collapse(level) if not isinstance(collapse(level), list) else level
                          for level in value))


class Boxes(Kind):
    """Boxes fixed in a network: one list of ``2d`` numbers per box, the low corner then the
    high corner, each listing the last spatial dimension first (``[x1, y1, x2, y2]`` in 2-D).

    Example:
        >>> Boxes().check([[0, 0, 7, 7], [8, 0, 15, 7.5]], "boxes", 2)
        ((0.0, 0.0, 7.0, 7.0), (8.0, 0.0, 15.0, 7.5))
        >>> Boxes().plain(((0.0, 0.0, 7.0, 7.0),))
        [[0, 0, 7, 7]]
    """

    def check(self, value, name, rank):
        corner = {1: "x1, x2", 2: "x1, y1, x2, y2"}.get(rank, "x1, y1, z1, x2, y2, z2")
        what = f"a list of boxes, each [{corner}] (inclusive corners, input coordinates)"
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise _type_error(name, value, what)
        boxes = list(value)
        if not boxes:
            raise ArgumentError(f"{name} must hold at least one box [{corner}]. Received: "
                                f"{name}={value!r}.", argument=name)
        checked = []
        for k, box in enumerate(boxes):
            numbers = list(box) if isinstance(box, Iterable) and not isinstance(box, str) else None
            if (numbers is None or len(numbers) != 2 * rank or any(
                    isinstance(v, bool) or not isinstance(v, (int, float)) for v in numbers)):
                raise ArgumentTypeError(
                    f"{name}[{k}] must be {2 * rank} numbers [{corner}] for a {rank}-D input. "
                    f"Received: {name}[{k}]={box!r}.", argument=name)
            if not all(math.isfinite(v) and v >= 0 for v in numbers):
                raise ArgumentError(f"{name}[{k}] must be finite and non-negative. Received: "
                                    f"{name}[{k}]={box!r}.", argument=name)
            if any(numbers[rank + i] < numbers[i] for i in range(rank)):
                raise ArgumentError(
                    f"{name}[{k}] is inverted: each high corner coordinate must be >= the low "
                    f"one ([{corner}]). Received: {name}[{k}]={box!r}.", argument=name)
            checked.append(tuple(float(v) for v in numbers))
        return tuple(checked)

    def plain(self, value):
        return [[int(v) if float(v).is_integer() else v for v in box] for box in value]

    def show(self, value) -> str:
        return f"<{len(value)} boxes>"
