"""Embedding layer: token ids to learned vectors, as channels (Kim 2014's text CNN)."""

from __future__ import annotations

import torch
import torch.nn as nn

from ..functional.embedding import embedding
from ._base import FROM_INPUT, Layer
from .kinds import Count

__all__ = ["Embedding"]


class Embedding(Layer):
    """A table of ``vocab`` learned vectors of ``dim`` values; ids ``(N, 1, *S)`` become the
    ``dim``-channel volume ``(N, dim, *S)`` that a convolution reads.

    Args:
        vocab: number of distinct ids (the table's rows).
        dim: values per vector (the output channels).

    Shape:
        ``(N, 1, *S)`` int64 -> ``(N, dim, *S)``.

    Example:
        >>> layer = Embedding(100, 16)
        >>> layer(torch.randint(0, 100, (2, 1, 30))).shape
        torch.Size([2, 16, 30])
    """

    kinds = {"vocab": Count(), "dim": Count()}
    takes = "volume"
    index_input = True

    def __init__(self, vocab: int, dim: int):
        Layer.__init__(self, locals())

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        return (settings["dim"], *shape[1:])

    @classmethod
    def param_count(cls, settings, shape, out):
        return settings["vocab"] * settings["dim"]

    def create(self) -> None:
        # N(0, 1), as torch.nn.Embedding.
        self.weight = nn.Parameter(torch.randn(self.vocab, self.dim))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return embedding(ids, self.weight)
