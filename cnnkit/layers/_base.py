"""Shared plumbing for cnnkit's Modules: settings shown in ``extra_repr`` only when changed."""

from __future__ import annotations

import torch.nn as nn


def is_default(value, default) -> bool:
    """True when ``value`` is ``default`` or its per-dimension expansion (``(1, 1)`` for 1,
    ``((0, 0), (0, 0))`` for padding 0)."""
    if value == default:
        return True
    if isinstance(value, tuple) and value and not isinstance(default, tuple):
        return all(v == default or v == (default, default) for v in value)
    return False


class Layer(nn.Module):
    """A cnnkit Module: remembers the settings it was built with, for repr and the spec.

    Subclasses list their constructor settings and defaults in ``_defaults``; ``settings()``
    returns them, and ``extra_repr`` shows only those that differ from the default
    (PyTorch ``_ConvNd`` style).
    """

    _defaults: dict = {}
    _always_shown: tuple = ()

    def settings(self) -> dict:
        """The constructor settings of this layer, as plain Python values."""
        return {name: getattr(self, name) for name in self._always_shown + tuple(self._defaults)}

    def extra_repr(self) -> str:
        parts = []
        for name, value in self.settings().items():
            if name in self._defaults and is_default(value, self._defaults[name]):
                continue
            parts.append(f"{name}={value!r}")
        return ", ".join(parts)
