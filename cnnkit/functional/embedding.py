"""Embedding: integer tokens to learned vectors, laid out as channels for a convolution.

A sequence of ``L`` token ids is a one-channel 1-D signal ``(N, 1, L)``; its embedding is
the ``D``-channel signal ``(N, D, L)`` that a 1-D convolution reads (Kim 2014). Any number
of spatial dimensions works the same way.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validation import ArgumentTypeError, ShapeError

__all__ = ["embedding"]


def embedding(ids: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Look up the row of ``weight`` for every id: ``out[n, :, *s] = weight[ids[n, 0, *s]]``.

    Args:
        ids: integer token ids ``(N, 1, *S)``, each in ``[0, V)``.
        weight: the table ``(V, D)``.

    Shape:
        ``(N, 1, *S)`` -> ``(N, D, *S)``.

    Raises:
        ArgumentTypeError: ids that are not integers.
        ShapeError: more than one input channel, or an id outside the table.

    Example:
        >>> table = torch.arange(6.0).reshape(3, 2)
        >>> embedding(torch.tensor([[[2, 0]]]), table)
        tensor([[[4., 0.],
                 [5., 1.]]])
    """
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise ArgumentTypeError(
            f"embedding takes integer token ids. Received: ids of dtype {ids.dtype}. Encode the "
            f"text with a vocabulary (cnnkit.data.text) and pass int64 ids.", argument="ids")
    if ids.dim() < 2 or ids.shape[1] != 1:
        raise ShapeError(
            f"embedding takes ids of shape (N, 1, *S): one channel of token ids. Received: ids "
            f"of shape {tuple(ids.shape)}. Add the channel with ids.unsqueeze(1).",
            argument="ids")
    vocab = weight.shape[0]
    # The range check reads the data: skipped while a graph is traced (ONNX export, compile).
    traced = torch.compiler.is_compiling() or torch.compiler.is_exporting()
    if not traced and ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab):
        bad = int(ids.max()) if int(ids.max()) >= vocab else int(ids.min())
        raise ShapeError(
            f"embedding has {vocab} rows (ids 0 to {vocab - 1}). Received: id {bad}. Build the "
            f"layer with vocab at least {bad + 1}, or map unknown tokens to an id in range.",
            argument="ids")
    out = F.embedding(ids[:, 0], weight)           # (N, *S, D)
    return out.movedim(-1, 1)                      # (N, D, *S)
