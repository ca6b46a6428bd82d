"""Argument checking shared by every layer, function and the spec.

Every error names the argument (or the spec path), echoes what it received and says
the fix, in the style ``<name> must be ... Received: <name>=<value>. <fix>``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "CnnkitError",
    "ArgumentError",
    "ArgumentTypeError",
    "ShapeError",
    "SpecError",
    "closest",
    "one_of",
    "positive_int",
    "to_tuple",
]


class CnnkitError(Exception):
    """Base class of every error cnnkit raises on purpose.

    Args:
        message: one line that names what is wrong, echoes what was received and says the fix.
        argument: the name of the argument (layer setting, function argument) the message is
            about, when there is one. The spec uses it to point at the key a user wrote and
            the CLI to name the flag a user typed.
    """

    def __init__(self, message: str = "", *, argument: str | None = None):
        super().__init__(message)
        self.argument = argument


class ArgumentError(CnnkitError, ValueError):
    """An argument has a value that cannot work."""


class ArgumentTypeError(CnnkitError, TypeError):
    """An argument has the wrong type."""


class ShapeError(CnnkitError, ValueError):
    """A tensor or volume has a shape that the operation cannot take."""


class SpecError(CnnkitError, ValueError):
    """A network spec is malformed; ``path`` says where (``layers[3].conv.kernel``)."""

    def __init__(self, message: str, path: str = ""):
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)
        self.argument = None


def closest(name: str, choices: Iterable[str]) -> str | None:
    """Return the choice closest to ``name`` (for "did you mean" hints), or None."""
    matches = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.5)
    return matches[0] if matches else None


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A " Did you mean 'x'?" suffix, or an empty string when nothing is close."""
    match = closest(name, choices)
    return f" Did you mean {match!r}?" if match else ""


def one_of(value: Any, choices: Sequence[str], name: str) -> str:
    """Check that ``value`` is one of ``choices`` and return it.

    Raises:
        ArgumentError: naming ``name``, echoing ``value`` and listing the choices.
    """
    if value in choices:
        return value
    hint = did_you_mean(value, choices) if isinstance(value, str) else ""
    listed = ", ".join(repr(c) for c in choices)
    raise ArgumentError(f"{name} must be one of {listed}. Received: {name}={value!r}.{hint}",
                        argument=name)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive_int(value: Any, name: str, *, allow_zero: bool = False) -> int:
    """Check that ``value`` is a positive int (or >= 0 with ``allow_zero``)."""
    if not _is_int(value):
        raise ArgumentTypeError(
            f"{name} must be an int. Received: {name}={value!r} ({type(value).__name__}).",
            argument=name)
    low = 0 if allow_zero else 1
    if value < low:
        what = "non-negative" if allow_zero else "positive"
        raise ArgumentError(f"{name} must be {what}. Received: {name}={value!r}.", argument=name)
    return value


def to_tuple(value: Any, n: int, name: str, *, allow_zero: bool = False) -> tuple[int, ...]:
    """Expand an int or a sequence of ``n`` ints into a tuple of ``n`` checked ints.

    Args:
        value: one int used for every dimension, or one int per dimension.
        n: the number of spatial dimensions.
        name: the argument's name, used in error messages.
        allow_zero: accept 0 (paddings, output paddings); otherwise values must be >= 1.

    Raises:
        ArgumentTypeError: a value is not an int.
        ArgumentError: a value is out of range or the sequence has the wrong length.

    Example:
        >>> to_tuple(3, 2, "kernel")
        (3, 3)
        >>> to_tuple([1, 2, 3], 3, "stride")
        (1, 2, 3)
    """
    if _is_int(value):
        items: tuple = (value,) * n
    elif isinstance(value, Sequence) and not isinstance(value, str):
        items = tuple(value)
        if len(items) != n:
            raise ArgumentError(
                f"{name} must be an int or a sequence of {n} ints (one per spatial "
                f"dimension). Received: {name}={value!r} with {len(items)} values.", argument=name
            )
    else:
        raise ArgumentTypeError(
            f"{name} must be an int or a sequence of {n} ints. "
            f"Received: {name}={value!r} ({type(value).__name__}).", argument=name
        )
    for item in items:
        if not _is_int(item):
            raise ArgumentTypeError(
                f"{name} must contain ints. Received: {name}={value!r}.", argument=name
            )
        if item < (0 if allow_zero else 1):
            what = "non-negative" if allow_zero else "positive"
            raise ArgumentError(
                f"{name} must be {what} in every dimension. Received: {name}={value!r}.",
                argument=name
            )
    return items
