"""Gabor filters (Goodfellow et al. 2016, eq. 9.15-9.18): a filter bank, an initialiser and
a picture.

The weight of a V1 simple cell at image point ``(x, y)`` is a Gabor function (eq 9.16)

    ``w(x, y) = alpha * exp(-beta_x x'^2 - beta_y y'^2) * cos(f x' + phi)``

in coordinates translated to the centre ``(x0, y0)`` and rotated by ``tau`` (eq 9.17-9.18)

    ``x' = (x - x0) cos(tau) + (y - y0) sin(tau)``,
    ``y' = -(x - x0) sin(tau) + (y - y0) cos(tau)``.

Generalisation to ``d`` dimensions: with ``u`` the unit vector of the orientation and
``p - p0`` the offset from the centre, ``x' = u . (p - p0)`` (along the carrier) and
``y'^2 = |p - p0|^2 - x'^2`` (the squared distance across it). In 2-D, ``u = (cos tau,
sin tau)`` and this is eq 9.16 exactly. In 1-D, ``u = +-1``: orientation only mirrors
the filter. In 3-D the orientation is a direction, given as ``(azimuth, elevation)`` or
spread over the sphere by :func:`gabor_parameters`.

Kernels are indexed ``[..., row, column]``: ``x`` runs along the last axis, ``y`` along the
one before, ``z`` before that; coordinates are measured in pixels from the kernel centre.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, positive_int, to_tuple

__all__ = ["gabor", "gabor_", "gabor_bank", "gabor_parameters", "render_gabor_bank"]


def _direction(orientation, dims: int) -> tuple[float, ...]:
    """Unit vector (x, y, z order) of an orientation: an angle in 1-D/2-D, two angles in 3-D."""
    if dims == 3:
        if isinstance(orientation, (int, float)):
            orientation = (float(orientation), 0.0)
        if not isinstance(orientation, Sequence) or len(orientation) != 2:
            raise ArgumentError(
                f"orientation of a 3-D Gabor filter must be (azimuth, elevation) in radians. "
                f"Received: orientation={orientation!r}."
            )
        az, el = (float(a) for a in orientation)
        return (math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el))
    if not isinstance(orientation, (int, float)) or isinstance(orientation, bool):
        raise ArgumentTypeError(
            f"orientation of a {dims}-D Gabor filter must be an angle tau in radians. "
            f"Received: orientation={orientation!r}."
        )
    if dims == 1:
        return (1.0 if math.cos(orientation) >= 0 else -1.0,)
    return (math.cos(orientation), math.sin(orientation))


def gabor(
    size,
    frequency: float,
    orientation=0.0,
    phase: float = 0.0,
    sigma: float | None = None,
    aspect: float = 0.5,
    *,
    beta_x: float | None = None,
    beta_y: float | None = None,
    alpha: float = 1.0,
    center=None,
    dims: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """One Gabor filter sampled on a pixel grid (eq 9.16-9.18, generalised to 1-D and 3-D).

    Args:
        size: kernel size, an int (with ``dims``) or one per dimension (rows last-but-one,
            columns last).
        frequency: ``f``, radians per pixel along ``x'`` (wavelength ``2 pi / f``).
        orientation: ``tau`` in radians (1-D, 2-D) or ``(azimuth, elevation)`` (3-D).
        phase: ``phi`` in radians (0: even, centre-on; pi/2: odd, an edge detector).
        sigma: width of the envelope along ``x'`` in pixels: ``beta_x = 1 / (2 sigma^2)``
            (default: a quarter of the largest kernel size).
        aspect: envelope width ratio: ``beta_y = aspect^2 * beta_x`` (< 1 elongates the
            filter along its stripes, as simple cells are).
        beta_x, beta_y: the precisions of eq 9.16 directly (override ``sigma`` / ``aspect``).
        alpha: amplitude.
        center: ``(x0, y0[, z0])`` offset of the centre from the kernel centre, in pixels.
        dims: number of dimensions when ``size`` is an int (default 2).
        dtype: dtype of the result.

    Shape:
        -> ``size`` (``(H, W)`` in 2-D).

    Raises:
        ArgumentError, ArgumentTypeError: a malformed size or orientation.

    Example:
        >>> g = gabor(7, frequency=math.pi / 2, orientation=0.0)
        >>> g.shape, round(float(g[3, 3]), 3)  # the centre: alpha * exp(0) * cos(0)
        (torch.Size([7, 7]), 1.0)
    """
    if dims is None:
        dims = 2 if isinstance(size, int) else len(size)
    if dims not in (1, 2, 3):
        raise ArgumentError(f"dims must be 1, 2 or 3. Received: dims={dims!r}.")
    size = to_tuple(size, dims, "size")
    if sigma is None:
        sigma = max(size) / 4
    if beta_x is None:
        beta_x = 1.0 / (2.0 * sigma * sigma)
    if beta_y is None:
        beta_y = aspect * aspect * beta_x
    center = (0.0,) * dims if center is None else tuple(float(c) for c in center)
    if len(center) != dims:
        raise ArgumentError(
            f"center must have {dims} values (x0, y0, ...). Received: center={center!r}."
        )
    u = _direction(orientation, dims)
    # Axis order of the tensor is (z, y, x); offsets d_x, d_y, d_z from the (shifted) centre.
    axes = [torch.arange(s, dtype=torch.float64) - (s - 1) / 2 for s in size]
    grids = torch.meshgrid(*axes, indexing="ij")
    offsets = [grids[dims - 1 - i] - center[i] for i in range(dims)]  # x first
    along = sum(ui * di for ui, di in zip(u, offsets))
    across2 = sum(di * di for di in offsets) - along * along
    w = alpha * torch.exp(-beta_x * along * along - beta_y * across2) * torch.cos(frequency * along + phase)
    return w.to(dtype)


def _sphere_directions(count: int) -> list[tuple[float, float]]:
    """``count`` (azimuth, elevation) pairs spread evenly over a hemisphere (golden spiral).

    A direction and its opposite give mirrored filters, so half the sphere suffices.
    """
    golden = math.pi * (3.0 - math.sqrt(5.0))
    out = []
    for i in range(count):
        z = 1.0 - (i + 0.5) / count  # elevation sine in (0, 1]: the upper hemisphere
        out.append(((i * golden) % (2 * math.pi), math.asin(z)))
    return out


def gabor_parameters(
    kernel,
    orientations: int = 8,
    frequencies: Sequence[float] = (math.pi / 2, math.pi / 4),
    phases: Sequence[float] = (0.0, math.pi / 2),
    scales: Sequence[float] | None = None,
    aspect: float = 0.5,
) -> list[dict]:
    """The settings of every filter in a Gabor bank, orientation varying fastest.

    Orientations are ``tau = k pi / orientations`` (2-D; ``tau`` and ``tau + pi`` give
    the same filter up to phase), directions spread over a hemisphere (3-D), or the one
    axis (1-D). The order is (scale, frequency, phase, orientation), so the first
    ``orientations`` filters already cover every orientation.

    Args:
        kernel: kernel size, one int per dimension (its length sets the dimension).
        orientations: number of orientations (ignored in 1-D).
        frequencies: carrier frequencies ``f`` in radians per pixel.
        phases: phases ``phi`` in radians.
        scales: envelope widths ``sigma`` in pixels (default ``K/6`` and ``K/4`` for the
            largest kernel size ``K``).
        aspect: ``beta_y / beta_x = aspect^2``.

    Example:
        >>> len(gabor_parameters((7, 7)))  # 8 orientations x 2 frequencies x 2 phases x 2 scales
        64
    """
    kernel = tuple(kernel)
    dims = len(kernel)
    positive_int(orientations, "orientations")
    if scales is None:
        scales = (max(kernel) / 6, max(kernel) / 4)
    if dims == 1:
        angles = [0.0]
    elif dims == 2:
        angles = [k * math.pi / orientations for k in range(orientations)]
    else:
        angles = _sphere_directions(orientations)
    out = []
    for sigma in scales:
        for f in frequencies:
            for phi in phases:
                for tau in angles:
                    out.append({"frequency": float(f), "orientation": tau, "phase": float(phi),
                                "sigma": float(sigma), "aspect": float(aspect)})
    return out


def gabor_bank(kernel, orientations: int = 8, frequencies=(math.pi / 2, math.pi / 4),
               phases=(0.0, math.pi / 2), scales=None, aspect: float = 0.5,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A bank of Gabor filters over orientation, frequency, phase and scale.

    Args: as for :func:`gabor_parameters` (which lists each filter's settings, in order).

    Shape:
        -> ``(n_filters, *kernel)``.

    Example:
        >>> gabor_bank((9, 9), orientations=4, frequencies=(1.0,), phases=(0.0,), scales=(2.0,)).shape
        torch.Size([4, 9, 9])
    """
    kernel = tuple(kernel)
    params = gabor_parameters(kernel, orientations, frequencies, phases, scales, aspect)
    return torch.stack([gabor(kernel, dims=len(kernel), dtype=dtype, **p) for p in params])


@torch.no_grad()
def gabor_(weight: torch.Tensor, orientations: int = 8, frequencies=(math.pi / 2, math.pi / 4),
           phases=(0.0, math.pi / 2), scales=None, aspect: float = 0.5, gain: float = 1.0,
           zero_mean: bool = True) -> torch.Tensor:
    """Fill a convolution weight with a Gabor bank, in place (a ``torch.nn.init``-style init).

    Output channel ``o`` gets filter ``o mod n_filters`` of :func:`gabor_bank` (orientation
    varies fastest, so a few channels already span every orientation), the same filter on
    each of its input channels. Each filter is made zero-mean (``zero_mean``: it then
    ignores flat brightness, as edge detectors do) and scaled to an L2 norm of
    ``gain / sqrt(C_in / groups)``, so that a unit-variance input gives outputs of variance
    about ``gain^2``.

    Args:
        weight: ``(C_out, C_in / groups, *kernel)`` with 1, 2 or 3 kernel dimensions.
        orientations, frequencies, phases, scales, aspect: the bank, see :func:`gabor_parameters`.
        gain: output scale (``sqrt(2)`` before a ReLU keeps the variance, as He init does).
        zero_mean: subtract each filter's mean.

    Returns:
        ``weight``, filled.

    Raises:
        ShapeError: a weight without 1 to 3 kernel dimensions.

    Example:
        >>> w = gabor_(torch.empty(16, 3, 7, 7))
        >>> round(float(w[0].norm()), 4)
        1.0
    """
    dims = weight.dim() - 2
    if dims not in (1, 2, 3):
        raise ShapeError(
            f"gabor_ needs a convolution weight (C_out, C_in / groups, *kernel) with 1, 2 or 3 "
            f"kernel dimensions. Received: weight.shape={tuple(weight.shape)}."
        )
    kernel = tuple(weight.shape[2:])
    bank = gabor_bank(kernel, orientations, frequencies, phases, scales, aspect, dtype=torch.float64)
    flat = bank.reshape(bank.shape[0], -1)
    if zero_mean and flat.shape[1] > 1:
        flat = flat - flat.mean(1, keepdim=True)
    norms = flat.norm(dim=1, keepdim=True)
    # A filter with nothing left after removing its mean (a 1-pixel kernel) stays at zero.
    flat = torch.where(norms > 1e-12, flat / norms.clamp_min(1e-12), torch.zeros_like(flat))
    flat = flat * (gain / math.sqrt(weight.shape[1]))
    index = torch.arange(weight.shape[0]) % flat.shape[0]
    filled = flat[index].reshape(weight.shape[0], 1, *kernel).expand(weight.shape)
    weight.copy_(filled.to(weight.dtype))
    return weight


def render_gabor_bank(filters: torch.Tensor, path=None, dims: int = 2, columns: int | None = None,
                      cmap: str = "gray", cell: float = 0.8) -> np.ndarray:
    """Draw a filter bank as a grid of images (matplotlib, Agg) and return the RGBA pixels.

    Args:
        filters: a bank ``(n, *kernel)`` or a convolution weight ``(C_out, C_in, *kernel)``
            (input channel 0 of each filter is drawn), with ``dims`` kernel dimensions.
            2-D filters are drawn as images, 3-D ones by their middle slice along the first
            axis, 1-D ones as curves.
        path: where to write the PNG (None: only return the pixels).
        dims: number of kernel dimensions (1, 2 or 3).
        columns: grid columns (default ``ceil(sqrt(n))``).
        cmap: matplotlib colour map for 2-D and 3-D filters.
        cell: size of one cell in inches (at 100 dpi).

    Returns:
        ``(height, width, 4)`` uint8 array: the picture as written to ``path``.

    Raises:
        ShapeError: ``filters`` with neither ``dims + 1`` nor ``dims + 2`` dimensions.

    Example:
        >>> pixels = render_gabor_bank(gabor_bank((7, 7), orientations=4, scales=(2.0,)))
        >>> pixels.dtype, pixels.shape[2]
        (dtype('uint8'), 4)
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if dims not in (1, 2, 3):
        raise ArgumentError(f"dims must be 1, 2 or 3. Received: dims={dims!r}.")
    t = filters.detach().to("cpu", torch.float64)
    if t.dim() == dims + 2:
        t = t[:, 0]
    if t.dim() != dims + 1:
        raise ShapeError(
            f"render_gabor_bank with dims={dims} needs a bank (n, *kernel) of {dims + 1} or a "
            f"weight (C_out, C_in, *kernel) of {dims + 2} dimensions. Received: filters of "
            f"shape {tuple(filters.shape)}. Pass the dims that match the kernel."
        )
    if dims == 3:
        t = t[:, t.shape[1] // 2]
    count = t.shape[0]
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    fig = Figure(figsize=(columns * cell, rows * cell), dpi=100)
    canvas = FigureCanvasAgg(fig)
    limit = float(t.abs().max()) or 1.0
    for i in range(count):
        ax = fig.add_subplot(rows, columns, i + 1)
        if dims == 1:
            ax.plot(t[i].numpy(), color="black", linewidth=1.0)
            ax.set_ylim(-limit, limit)
        else:
            # One colour scale for the whole bank: relative strengths stay visible.
            ax.imshow(t[i].numpy(), cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.98, wspace=0.1, hspace=0.1)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba()).copy()
    if path is not None:
        fig.savefig(path, dpi=100)
    return pixels
