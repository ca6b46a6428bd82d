"""Containers: a sequence that names the failing layer, residual and parallel blocks."""

from __future__ import annotations

import torch
import torch.nn as nn

from .._validation import ArgumentError, CnnkitError, ShapeError, one_of

__all__ = ["Parallel", "Residual", "Sequential"]


def _located(error: Exception, where: str) -> Exception:
    """Prefix a cnnkit error with the path of the layer that raised it (once)."""
    message = str(error)
    if message.startswith("layers["):
        return error
    new = type(error)(f"{where}: {message}") if isinstance(error, CnnkitError) else error
    return new


class Sequential(nn.Sequential):
    """``nn.Sequential`` whose errors say which layer failed: ``layers[3] (Conv2d): ...``.

    Example:
        >>> from cnnkit.layers import Conv2d, ReLU
        >>> Sequential(Conv2d(1, 2, 3), ReLU())(torch.randn(1, 1, 5, 5)).shape
        torch.Size([1, 2, 3, 3])
    """

    def __init__(self, *layers, path: str = "layers"):
        super().__init__(*layers)
        self.path = path

    def forward(self, x):
        for index, layer in enumerate(self):
            try:
                x = layer(x)
            except CnnkitError as error:
                where = f"{self.path}[{index}] ({type(layer).__name__})"
                located = _located(error, where)
                if located is error:
                    raise
                raise located from error
        return x


class Residual(nn.Module):
    """``y = body(x) + shortcut(x)`` (ResNet); the shortcut is the identity by default.

    Shape:
        ``body(x)`` and ``shortcut(x)`` must have the same shape; that shape is the output.

    Example:
        >>> from cnnkit.layers import Conv2d
        >>> Residual(Conv2d(4, 4, 3, padding="same"))(torch.randn(1, 4, 6, 6)).shape
        torch.Size([1, 4, 6, 6])
    """

    def __init__(self, body: nn.Module, shortcut: nn.Module | None = None):
        super().__init__()
        self.body = body
        self.shortcut = shortcut if shortcut is not None else nn.Identity()

    def forward(self, x):
        main, skip = self.body(x), self.shortcut(x)
        if main.shape != skip.shape:
            raise ShapeError(
                f"residual branches disagree: body gives {tuple(main.shape)}, shortcut gives "
                f"{tuple(skip.shape)}. Give the body padding='same' and the input's channel "
                f"count, or add a shortcut (a 1x1 convolution) that matches it."
            )
        return main + skip


class Parallel(nn.Module):
    """Branches applied to the same input, merged by concatenating channels (Inception)
    or by adding them.

    Args:
        branches: the branch modules.
        merge: ``"concat"`` (along channels) or ``"add"``.

    Shape:
        concat: ``(N, sum C_b, *S)``, every branch giving the same ``S``;
        add: the common shape.

    Example:
        >>> from cnnkit.layers import Conv2d
        >>> Parallel([Conv2d(3, 4, 1), Conv2d(3, 2, 3, padding="same")])(torch.randn(1, 3, 5, 5)).shape
        torch.Size([1, 6, 5, 5])
    """

    def __init__(self, branches, merge: str = "concat"):
        super().__init__()
        if len(branches) < 1:
            raise ArgumentError("branches must hold at least one branch. Received: branches=[].")
        self.branches = nn.ModuleList(branches)
        self.merge = one_of(merge, ("concat", "add"), "merge")

    def forward(self, x):
        outs = [branch(x) for branch in self.branches]
        if self.merge == "add":
            first = outs[0].shape
            for index, out in enumerate(outs):
                if out.shape != first:
                    raise ShapeError(
                        f"parallel branches to add disagree: branch 0 gives {tuple(first)}, branch "
                        f"{index} gives {tuple(out.shape)}."
                    )
            return torch.stack(outs).sum(0)
        first = outs[0].shape[2:]
        for index, out in enumerate(outs):
            if out.shape[2:] != first:
                raise ShapeError(
                    f"parallel branches to concatenate disagree in spatial size: branch 0 gives "
                    f"{tuple(outs[0].shape)}, branch {index} gives {tuple(out.shape)}. Use "
                    f"padding='same' and the same stride in every branch."
                )
        return torch.cat(outs, dim=1)

    def extra_repr(self) -> str:
        return "" if self.merge == "concat" else f"merge={self.merge!r}"
