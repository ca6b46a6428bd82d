"""Convolution with a fixed connection table (LeNet-5's C3, LeCun et al. 1998, table I)."""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from .._validation import ArgumentError
from ..functional.conv import conv
from ..functional.table_conv import check_table, placement, table_kernel
from ._base import FROM_INPUT, Layer, rank_alias
from .conv import SHARED_OR_NONE, SlidingKernel
from .kinds import Kind

__all__ = ["ConnectionTable", "TableConv", "TableConv1d", "TableConv2d", "TableConv3d"]


class ConnectionTable(Kind):
    """A connection table: a name in :data:`cnnkit.functional.table_conv.TABLES` (kept as
    the name) or one list of input maps per output map (kept as tuples)."""

    def check(self, value, name, rank):
        rows = check_table(value, name)
        return value if isinstance(value, str) else rows

    def plain(self, value):
        return value if isinstance(value, str) else [list(row) for row in value]


class TableConv(SlidingKernel):
    """A convolution whose output map ``o`` reads only the input maps ``connection_table[o]``
    (LeCun et al. 1998, section II-B: LeNet-5's C3 reads 3, 4 or 6 of the 6 maps of S2).

    Only the listed kernels are parameters: ``sum(len(row)) * prod(kernel)`` weights and
    one bias per output map (1,516 for C3 with ``"lenet5_c3"``). Each output map is
    initialised from its own fan-in, as ``torch.nn.Conv2d`` initialises a full one.

    Args:
        in_channels: channels of the input volume.
        connection_table: ``"lenet5_c3"`` or one list of input maps per output map; the
            number of rows is the number of output maps.
        kernel: kernel size, int or one per dimension.
        stride, padding, dilation, padding_mode: as for :class:`cnnkit.layers.Conv`.
        bias: ``"shared"`` (one per output map) or ``"none"``.
        dims: number of spatial dimensions (1, 2 or 3).

    Shape:
        ``(N, C_in, *W)`` -> ``(N, len(connection_table), *O)``, O as for a convolution.

    Raises:
        ArgumentError: a table row names an input map the input does not have.

    Example:
        >>> c3 = TableConv2d(6, "lenet5_c3", 5)
        >>> c3(torch.randn(1, 6, 14, 14)).shape, sum(p.numel() for p in c3.parameters())
        (torch.Size([1, 16, 10, 10]), 1516)
    """

    kinds = {**SlidingKernel.kinds, "connection_table": ConnectionTable(), "bias": SHARED_OR_NONE}

    def __init__(self, in_channels, connection_table, kernel, stride=1, padding=0, dilation=1,
                 bias="shared", padding_mode="zeros", *, dims=2):
        Layer.__init__(self, locals())

    @staticmethod
    def rows(settings) -> tuple[tuple[int, ...], ...]:
        """The table as one tuple of input maps per output map."""
        return check_table(settings["connection_table"])

    @classmethod
    def check_together(cls, settings, source=None):
        in_channels = settings.get("in_channels")
        if in_channels is None or "connection_table" not in settings:
            return
        highest = max(max(row) for row in cls.rows(settings))
        if highest >= in_channels:
            where = f" coming from {source.text}" if source is not None else ""
            raise ArgumentError(
                f"connection_table reads input map {highest}, but the input has {in_channels} "
                f"channels{where}. Received: connection_table="
                f"{ConnectionTable().plain(settings['connection_table'])!r}. Use maps 0 to "
                f"{in_channels - 1}, or give the layer before more channels.",
                argument="connection_table")

    @classmethod
    def _as_conv(cls, settings) -> dict:
        return {**settings, "out_channels": len(cls.rows(settings)), "groups": 1}

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        return super().output_shape(cls._as_conv(settings), shape, source)

    @classmethod
    def param_count(cls, settings, shape, out):
        rows = cls.rows(settings)
        weights = sum(len(row) for row in rows) * math.prod(settings["kernel"])
        return weights + (len(rows) if settings["bias"] == "shared" else 0)

    @classmethod
    def flop_count(cls, settings, shape, out):
        connections = sum(len(row) for row in cls.rows(settings))
        return connections * math.prod(settings["kernel"]) * math.prod(out[1:])

    def create(self) -> None:
        rows = self.rows(self._settings)
        self.out_channels = len(rows)
        self.groups = 1
        connections = sum(len(row) for row in rows)
        self.weight = nn.Parameter(torch.empty(connections, *self.kernel))
        shared = self._settings["bias"] == "shared"
        self.bias = nn.Parameter(torch.empty(len(rows))) if shared else None
        # Not saved: the table rebuilds it.
        self.register_buffer("placement", placement(rows, self.in_channels), persistent=False)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """U(-1/sqrt(F), 1/sqrt(F)) for each output map's kernels and bias, F its fan-in
        (the bound ``torch.nn.Conv2d`` uses), so that maps reading 3 or 6 inputs start on
        the same scale."""
        start = 0
        for o, row in enumerate(self.rows(self._settings)):
            bound = 1 / math.sqrt(len(row) * math.prod(self.kernel))
            self.weight[start:start + len(row)].uniform_(-bound, bound)
            if self.bias is not None:
                self.bias[o].uniform_(-bound, bound)
            start += len(row)

    def full_kernel(self) -> torch.Tensor:
        """The ``(C_out, C_in, *kernel)`` kernel, zero where the table has no connection."""
        place = self.placement.to(self.weight.dtype)
        return table_kernel(self.weight, place, self.out_channels, self.in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        return conv(x, self.full_kernel(), self.bias, self.stride, self.padding, self.dilation,
                    1, self.padding_mode)


TableConv1d = rank_alias(TableConv, 1)
TableConv2d = rank_alias(TableConv, 2)
TableConv3d = rank_alias(TableConv, 3)
