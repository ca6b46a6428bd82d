"""Convolution with a fixed connection table: each output map reads only some input maps.

LeCun et al. 1998 (section II-B, table I): layer C3 of LeNet-5 connects each of its 16
feature maps to a subset of the 6 maps of S2, "to keep the number of connections within
reasonable bounds" and "to break the symmetry in the network", so that different maps
extract different features. A table lists, for each output map, the input maps it reads;
only those kernels exist (1,516 parameters in C3 instead of 2,416).

The weights are stored compactly, one kernel per connection ``(connections, *kernel)``, in
the table's order (output by output, the inputs of each as listed). A fixed 0/1 placement
matrix scatters them into the full ``(C_out, C_in, *kernel)`` kernel, whose missing
connections are zero; then the convolution is an ordinary one.
"""

from __future__ import annotations

import torch

from .._validation import ArgumentError, ArgumentTypeError, ShapeError
from .conv import conv

__all__ = ["TABLES", "check_table", "placement", "table_conv", "table_kernel"]

# LeCun et al. 1998, table I: C3 map -> the S2 maps it reads. The first six read three
# neighbouring maps, the next six four neighbouring maps, the next three four maps not
# all neighbours, and the last all six.
TABLES = {
    "lenet5_c3": (
        (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
        (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
        (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
        (0, 1, 2, 3, 4, 5),
    ),
}


def check_table(table, name: str = "connection_table") -> tuple[tuple[int, ...], ...]:
    """A connection table (a name in ``TABLES``, or one list of input maps per output map)
    as a tuple of tuples.

    Raises:
        ArgumentTypeError: not a name or a list of lists of ints.
        ArgumentError: an unknown name, an empty row, a negative or repeated input map.

    Example:
        >>> check_table([[0, 1], [2]])
        ((0, 1), (2,))
        >>> len(check_table("lenet5_c3"))
        16
    """
    if isinstance(table, str):
        if table not in TABLES:
            raise ArgumentError(
                f"{name} must be one of {', '.join(map(repr, TABLES))} or a list of lists (the "
                f"input maps of each output map). Received: {name}={table!r}.", argument=name)
        return TABLES[table]
    if not isinstance(table, (list, tuple)) or not table or not all(
            isinstance(row, (list, tuple)) for row in table):
        raise ArgumentTypeError(
            f"{name} must be a non-empty list with one list of input maps per output map, e.g. "
            f"[[0, 1], [1, 2]]. Received: {name}={table!r}.", argument=name)
    rows = []
    for index, row in enumerate(table):
        if not row or not all(isinstance(i, int) and not isinstance(i, bool) for i in row):
            raise ArgumentTypeError(
                f"{name}[{index}] must be a non-empty list of input map indices (ints). "
                f"Received: {name}[{index}]={row!r}.", argument=name)
        if min(row) < 0 or len(set(row)) != len(row):
            raise ArgumentError(
                f"{name}[{index}] must list distinct input maps, each at least 0. Received: "
                f"{name}[{index}]={list(row)!r}.", argument=name)
        rows.append(tuple(row))
    return tuple(rows)


def placement(table, in_channels: int, dtype=None, device=None) -> torch.Tensor:
    """The 0/1 matrix ``(C_out * C_in, connections)`` that puts each stored kernel at its
    (output, input) place of the full kernel.

    Example:
        >>> placement([[1], [0, 1]], 2)
        tensor([[0., 0., 0.],
                [1., 0., 0.],
                [0., 1., 0.],
                [0., 0., 1.]])
    """
    table = check_table(table)
    rows = [o * in_channels + i for o, inputs in enumerate(table) for i in inputs]
    matrix = torch.zeros(len(table) * in_channels, len(rows), dtype=dtype, device=device)
    matrix[rows, range(len(rows))] = 1.0
    return matrix


def table_kernel(weight: torch.Tensor, place: torch.Tensor, out_channels: int,
                 in_channels: int) -> torch.Tensor:
    """The full kernel ``(C_out, C_in, *kernel)`` from the stored ``(connections, *kernel)``
    one and the :func:`placement` matrix; a matrix product, so gradients reach the stored
    kernels and the map exports to ONNX."""
    full = place @ weight.reshape(weight.shape[0], -1)
    return full.reshape(out_channels, in_channels, *weight.shape[1:])


def table_conv(x: torch.Tensor, weight: torch.Tensor, table, bias: torch.Tensor | None = None,
               stride=1, padding=0, dilation=1, padding_mode: str = "zeros") -> torch.Tensor:
    """Convolution in which output map ``o`` sums over the input maps ``table[o]`` only.

    ``Z[o, j] = sum_{l in table[o]} sum_m V[l, j*s + m*d] K[o, l, m] + b[o]``: eq. 9.7 of
    Goodfellow et al. 2016 with the missing kernels ``K[o, l]`` fixed at zero.

    Args:
        x: input ``(N, C_in, *spatial)``.
        weight: one kernel per connection ``(connections, *kernel)``, in table order.
        table: a name in ``TABLES`` or one list of input maps per output map.
        bias: ``(C_out,)`` or None.
        stride, padding, dilation, padding_mode: as for :func:`cnnkit.functional.conv`.

    Shape:
        ``(N, C_in, *W)`` -> ``(N, len(table), *O)``, O as for a convolution.

    Raises:
        ShapeError: the weight does not hold one kernel per connection, or the table names
            an input map the input does not have.

    Example:
        >>> out = table_conv(torch.ones(1, 2, 4, 4), torch.ones(3, 3, 3), [[0], [0, 1]])
        >>> out[0, :, 0, 0].tolist()
        [9.0, 18.0]
    """
    table = check_table(table)
    connections = sum(len(row) for row in table)
    if weight.shape[0] != connections or weight.dim() < 2:
        raise ShapeError(
            f"table_conv: weight must hold one kernel per connection: shape ({connections}, "
            f"*kernel) for this table. Received: weight.shape={tuple(weight.shape)}.",
            argument="weight")
    in_channels = x.shape[1] if x.dim() > 1 else 0
    highest = max(max(row) for row in table)
    if highest >= in_channels:
        raise ShapeError(
            f"table_conv: the connection table reads input map {highest}, but the input has "
            f"{in_channels} channels. Received: input of shape {tuple(x.shape)}.",
            argument="connection_table")
    place = placement(table, in_channels, weight.dtype, weight.device)
    kernel = table_kernel(weight, place, len(table), in_channels)
    return conv(x, kernel, bias, stride, padding, dilation, 1, padding_mode)
