"""Data augmentation on whole batches, on the device that holds them.

The Wikipedia article "Convolutional neural network" ("artificial data") and Simard,
Steinkraus and Platt (2003) enlarge a training set with distorted copies of its images:
shifts, flips, small rotations and scalings, and elastic deformations. Every transform here
works on a batch ``(N, C, *spatial)`` at once, draws one set of random parameters per image,
and takes a ``torch.Generator`` so that a seed fixes the result.

Each transform splits into ``sample_params(x, generator)`` (the random draw) and
``apply(x, params)`` (the deterministic warp); calling it does both. The parameters are
plain tensors, which makes a transform's effect checkable.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, one_of, to_tuple

__all__ = [
    "Augmentation",
    "Compose",
    "ElasticDeform",
    "RandomAffine",
    "RandomCrop",
    "RandomFlip",
    "RandomTranslate",
    "AUGMENTATIONS",
    "from_config",
    "gaussian_smooth",
    "translate",
]

_PAD_MODES = ("constant", "reflect", "replicate", "circular")
_GRID_PAD_MODES = ("zeros", "border", "reflection")


def _check_batch(x, who: str, ranks: Sequence[int] = (1, 2, 3)) -> int:
    if not isinstance(x, torch.Tensor):
        raise ArgumentTypeError(
            f"{who} takes a batch tensor (N, C, *spatial). Received: {type(x).__name__}."
        )
    n = x.dim() - 2
    if n not in ranks:
        dims = " or ".join(str(r) for r in ranks)
        raise ShapeError(
            f"{who} expects a batch (N, C, *spatial) with {dims} spatial dimensions. "
            f"Received: input of shape {tuple(x.shape)}."
        )
    if not x.is_floating_point():
        raise ArgumentTypeError(
            f"{who} works on floating-point batches. Received: dtype {x.dtype}. Convert "
            f"with x.float() (cnnkit's loaders already give float32)."
        )
    return n


def _rand(shape, generator, device) -> torch.Tensor:
    """Uniform [0, 1) numbers drawn from ``generator`` (on its own device), then moved."""
    if generator is None:
        return torch.rand(shape, device=device)
    return torch.rand(shape, generator=generator, device=generator.device).to(device)


def _randint(low: int, high: int, shape, generator, device) -> torch.Tensor:
    """Integers uniform in ``[low, high]`` (both included)."""
    if generator is None:
        return torch.randint(low, high + 1, shape, device=device)
    return torch.randint(low, high + 1, shape, generator=generator,
                         device=generator.device).to(device)


def _probability(p, name: str = "p") -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ArgumentError(f"{name} must be a probability in [0, 1]. Received: {name}={p!r}.")
    return float(p)


def _non_negative(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ArgumentError(f"{name} must be a number >= 0. Received: {name}={value!r}.")
    return float(value)


def _per_image(mask: torch.Tensor, ndim: int) -> torch.Tensor:
    return mask.view(-1, *([1] * (ndim - 1)))


class Augmentation(abc.ABC):
    """Base class: ``t(x, generator=None)`` is ``t.apply(x, t.sample_params(x, generator))``.

    Subclasses define the random draw (``sample_params``) and the warp (``apply``)
    separately, so that a test can apply chosen parameters exactly.
    """

    ranks: tuple[int, ...] = (1, 2, 3)

    @abc.abstractmethod
    def sample_params(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """Draw this batch's random parameters (one set per image)."""

    @abc.abstractmethod
    def apply(self, x: torch.Tensor, params) -> torch.Tensor:
        """Transform the batch with the given parameters."""

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None):
        _check_batch(x, type(self).__name__, self.ranks)
        return self.apply(x, self.sample_params(x, generator))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


# ----------------------------------------------------------------------------- shifts


def _gather_window(x: torch.Tensor, starts: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Per image, the window ``x[n, :, s0:s0+size0, s1:s1+size1, ...]`` (one gather per
    spatial dimension, no loop over images)."""
    n = x.dim() - 2
    for d in range(n):
        idx = starts[:, d, None] + torch.arange(size[d], device=x.device)
        view = [x.shape[0]] + [1] * (n + 1)
        view[2 + d] = size[d]
        target = list(x.shape)
        target[2 + d] = size[d]
        x = x.gather(2 + d, idx.view(view).expand(target))
    return x


def translate(x: torch.Tensor, shifts: torch.Tensor, *, padding_mode: str = "constant",
              fill: float = 0.0) -> torch.Tensor:
    """Shift every image by its own whole number of pixels.

    ``out[n, :, i] = x[n, :, i - shifts[n]]``; positions that come from outside the image
    are filled by ``padding_mode`` (``"constant"`` with ``fill``, ``"reflect"``,
    ``"replicate"``, ``"circular"``).

    Args:
        x: batch ``(N, C, *spatial)`` with 1 to 3 spatial dimensions.
        shifts: int tensor ``(N, n_spatial)``; positive moves content towards larger
            indices (down, right).
        padding_mode: how vacated positions are filled.
        fill: the value for ``padding_mode="constant"``.

    Shape:
        ``(N, C, *S)`` -> ``(N, C, *S)``.

    Raises:
        ShapeError: ``shifts`` is not ``(N, n_spatial)``.

    Example:
        >>> x = torch.arange(5.0).view(1, 1, 5)
        >>> translate(x, torch.tensor([[2]])).tolist()
        [[[0.0, 0.0, 0.0, 1.0, 2.0]]]
    """
    n = _check_batch(x, "translate")
    one_of(padding_mode, _PAD_MODES, "padding_mode")
    shifts = torch.as_tensor(shifts, device=x.device)
    if tuple(shifts.shape) != (x.shape[0], n) or shifts.is_floating_point():
        raise ShapeError(
            f"shifts must be an int tensor of shape (N, {n}) = ({x.shape[0]}, {n}), one "
            f"shift per image and spatial dimension. Received: shifts of shape "
            f"{tuple(shifts.shape)} and dtype {shifts.dtype}."
        )
    shifts = shifts.long()
    # The largest shift per dimension sets the padding (one device sync per batch).
    margin = [int(shifts[:, d].abs().max()) if len(shifts) else 0 for d in range(n)]
    return _translate(x, shifts, margin, padding_mode, fill)


def _translate(x, shifts, margin, padding_mode, fill):
    size = tuple(x.shape[2:])
    if not any(margin):
        return x
    xp = _pad(x, margin, padding_mode, fill)
    starts = torch.tensor(margin, device=x.device) - shifts
    return _gather_window(xp, starts, size)


def _pad(x: torch.Tensor, margin: Sequence[int], mode: str, fill: float) -> torch.Tensor:
    pads: list[int] = []
    for m in reversed(margin):  # F.pad lists the last dimension first
        pads += [m, m]
    if mode == "constant":
        return F.pad(x, pads, mode="constant", value=fill)
    if mode == "reflect" and any(m >= s for m, s in zip(margin, x.shape[2:])):
        raise ArgumentError(
            f"padding_mode='reflect' needs a padding smaller than the image "
            f"({tuple(x.shape[2:])}). Received: a padding of {tuple(margin)}. Use "
            f"padding_mode='replicate' or 'constant', or a smaller shift."
        )
    return F.pad(x, pads, mode=mode)


class RandomTranslate(Augmentation):
    """Shift each image by a random whole number of pixels in ``[-max_shift, max_shift]``
    per spatial dimension (pad + shifted window, vectorised over the batch).

    Args:
        max_shift: the largest shift, one int or one per spatial dimension; 0 is identity.
        padding_mode: ``"constant"`` (with ``fill``), ``"reflect"``, ``"replicate"`` or
            ``"circular"``.
        fill: value of vacated pixels with ``"constant"``.

    Shape:
        ``(N, C, *S)`` -> ``(N, C, *S)``; params: int ``(N, n_spatial)`` shifts.

    Raises:
        ArgumentError: a negative ``max_shift``; unknown ``padding_mode``.

    Example:
        >>> t = RandomTranslate(2)
        >>> t(torch.rand(8, 1, 28, 28), generator=torch.Generator().manual_seed(0)).shape
        torch.Size([8, 1, 28, 28])
    """

    def __init__(self, max_shift=2, *, padding_mode: str = "constant", fill: float = 0.0):
        self.max_shift = max_shift
        self.padding_mode = one_of(padding_mode, _PAD_MODES, "padding_mode")
        self.fill = float(fill)
        count = len(max_shift) if isinstance(max_shift, Sequence) else 1
        to_tuple(max_shift, count, "max_shift", allow_zero=True)  # check early

    def sample_params(self, x, generator=None) -> torch.Tensor:
        n = _check_batch(x, "RandomTranslate")
        limits = to_tuple(self.max_shift, n, "max_shift", allow_zero=True)
        u = _rand((x.shape[0], n), generator, x.device)
        lim = torch.tensor(limits, device=x.device, dtype=torch.float32)
        # floor(u * (2m + 1)) - m is uniform over the 2m + 1 integers -m .. m.
        return (torch.floor(u * (2 * lim + 1)) - lim).long()

    def apply(self, x, params) -> torch.Tensor:
        n = _check_batch(x, "RandomTranslate")
        shifts = torch.as_tensor(params, device=x.device).long()
        if tuple(shifts.shape) != (x.shape[0], n):
            return translate(x, shifts, padding_mode=self.padding_mode, fill=self.fill)
        # Pad by max_shift, known without looking at the shifts (no device sync); the
        # shifts are ones sample_params drew, within +-max_shift (clamped to be safe).
        margin = to_tuple(self.max_shift, n, "max_shift", allow_zero=True)
        return _translate(x, shifts.clamp(-torch.tensor(margin, device=x.device),
                                          torch.tensor(margin, device=x.device)),
                          margin, self.padding_mode, self.fill)


class RandomCrop(Augmentation):
    """Pad each image by ``padding`` and cut a random window of ``size`` from it.

    With ``size=None`` the window has the input's size, which makes this a random
    translation by up to ``padding`` pixels (the CIFAR recipe: ``RandomCrop(padding=4)``).

    Args:
        size: output spatial size, int or one per dimension; ``None`` keeps the input's.
        padding: pixels added on every side first, int or one per dimension.
        padding_mode: ``"constant"`` (with ``fill``), ``"reflect"``, ``"replicate"`` or
            ``"circular"``.
        fill: value of padded pixels with ``"constant"``.

    Shape:
        ``(N, C, *S)`` -> ``(N, C, *size)``; params: int ``(N, n_spatial)`` window starts
        in the padded image.

    Raises:
        ShapeError: ``size`` larger than the padded input.

    Example:
        >>> t = RandomCrop(24)
        >>> t(torch.rand(4, 3, 28, 28), generator=torch.Generator().manual_seed(0)).shape
        torch.Size([4, 3, 24, 24])
    """

    def __init__(self, size=None, *, padding=0, padding_mode: str = "constant",
                 fill: float = 0.0):
        self.size = size
        self.padding = padding
        self.padding_mode = one_of(padding_mode, _PAD_MODES, "padding_mode")
        self.fill = float(fill)

    def _geometry(self, x):
        n = _check_batch(x, "RandomCrop")
        pad = to_tuple(self.padding, n, "padding", allow_zero=True)
        padded = tuple(s + 2 * p for s, p in zip(x.shape[2:], pad))
        size = tuple(x.shape[2:]) if self.size is None else to_tuple(self.size, n, "size")
        if any(s > q for s, q in zip(size, padded)):
            raise ShapeError(
                f"RandomCrop size={size} is larger than the padded input {padded} (input "
                f"{tuple(x.shape[2:])}, padding={self.padding}). Pass a smaller size or "
                f"a larger padding."
            )
        return n, pad, padded, size

    def sample_params(self, x, generator=None) -> torch.Tensor:
        n, _, padded, size = self._geometry(x)
        slack = torch.tensor([q - s for q, s in zip(padded, size)], device=x.device)
        u = _rand((x.shape[0], n), generator, x.device)
        return torch.floor(u * (slack + 1)).long()

    def apply(self, x, params) -> torch.Tensor:
        _, pad, _, size = self._geometry(x)
        xp = _pad(x, pad, self.padding_mode, self.fill) if any(pad) else x
        return _gather_window(xp, params.to(x.device).long(), size)


# ----------------------------------------------------------------------------- flips


class RandomFlip(Augmentation):
    """Mirror each image with probability ``p`` along one axis: an exact permutation of
    its pixels.

    Args:
        axis: ``"horizontal"`` (mirror left-right: the last dimension), ``"vertical"``
            (top-bottom: the second-to-last) or a spatial dimension index (0 is the first
            spatial dimension).
        p: probability that an image is flipped.

    Shape:
        ``(N, C, *S)`` -> ``(N, C, *S)``; params: bool ``(N,)``, True where flipped.

    Raises:
        ArgumentError: unknown ``axis`` or ``p`` outside [0, 1].

    Example:
        >>> x = torch.arange(3.0).view(1, 1, 1, 3)
        >>> RandomFlip("horizontal", p=1.0)(x).tolist()
        [[[[2.0, 1.0, 0.0]]]]
    """

    def __init__(self, axis="horizontal", *, p: float = 0.5):
        if isinstance(axis, str):
            one_of(axis, ("horizontal", "vertical"), "axis")
        elif isinstance(axis, bool) or not isinstance(axis, int) or not 0 <= axis <= 2:
            raise ArgumentError(
                f"axis must be 'horizontal', 'vertical' or a spatial dimension 0, 1 or 2. "
                f"Received: axis={axis!r}."
            )
        self.axis = axis
        self.p = _probability(p)

    def _dim(self, x) -> int:
        n = x.dim() - 2
        if self.axis == "horizontal":
            return x.dim() - 1
        if self.axis == "vertical":
            if n < 2:
                raise ShapeError(
                    f"axis='vertical' needs images with at least 2 spatial dimensions. "
                    f"Received: input of shape {tuple(x.shape)}. Use axis='horizontal' for "
                    f"1-D signals."
                )
            return x.dim() - 2
        if self.axis >= n:
            raise ShapeError(
                f"axis={self.axis} is not a spatial dimension of an input with {n}. "
                f"Received: input of shape {tuple(x.shape)}."
            )
        return 2 + self.axis

    def sample_params(self, x, generator=None) -> torch.Tensor:
        self._dim(x)
        return _rand((x.shape[0],), generator, x.device) < self.p

    def apply(self, x, params) -> torch.Tensor:
        dim = self._dim(x)
        return torch.where(_per_image(params.to(x.device), x.dim()), x.flip(dim), x)


# ----------------------------------------------------------------------------- warps


def _range(value, name: str, centre: float) -> tuple[float, float]:
    """A number ``s`` means ``(centre - s, centre + s)``; a pair is taken as it is."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ArgumentError(f"{name} must be >= 0. Received: {name}={value!r}.")
        return (centre - float(value), centre + float(value))
    if isinstance(value, Sequence) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        low, high = float(value[0]), float(value[1])
        if low > high:
            raise ArgumentError(f"{name} must be (low, high) with low <= high. "
                                f"Received: {name}={value!r}.")
        return (low, high)
    raise ArgumentTypeError(
        f"{name} must be a number or a (low, high) pair. Received: {name}={value!r}."
    )


def _as_2d(x: torch.Tensor) -> torch.Tensor:
    """(N, C, L) -> (N, C, 1, L): 1-D signals warp as one-row images."""
    return x.unsqueeze(2) if x.dim() == 3 else x


class RandomAffine(Augmentation):
    """Small random rotations, scalings and translations (``affine_grid`` + bilinear
    ``grid_sample``), one draw per image.

    Args:
        degrees: rotation angle range: ``a`` means uniform in ``[-a, a]`` degrees, or a
            ``(low, high)`` pair; positive angles turn the image counter-clockwise as
            displayed (rows downwards), like ``torch.rot90``. 2-D only.
        scale: zoom factor range: ``s`` means ``[1 - s, 1 + s]``, or ``(low, high)``;
            ``1`` leaves the size (values above 1 magnify).
        translate: shift range as a fraction of the size, ``t`` means ``[-t, t]``.
        p: probability that an image is transformed (the others stay exact copies).
        padding_mode: ``"zeros"``, ``"border"`` or ``"reflection"`` for pixels that come
            from outside.

    Shape:
        ``(N, C, H, W)`` or ``(N, C, L)`` -> same; params: float ``(N, 2, 3)`` matrices
        mapping output to input coordinates (normalised to [-1, 1]) and a bool ``(N,)``.

    Raises:
        ShapeError: rotation asked for a 1-D input.

    Example:
        >>> t = RandomAffine(degrees=10, scale=(0.9, 1.1))
        >>> t(torch.rand(4, 1, 28, 28), generator=torch.Generator().manual_seed(0)).shape
        torch.Size([4, 1, 28, 28])
        >>> x = torch.rand(2, 1, 40)
        >>> bool((RandomAffine(scale=0.0)(x) == x).all())   # zero strength: identity
        True
    """

    ranks = (1, 2)

    def __init__(self, degrees=0.0, *, scale=0.0, translate=0.0, p: float = 1.0,
                 padding_mode: str = "zeros"):
        self.degrees = _range(degrees, "degrees", 0.0)
        self.scale = _range(scale, "scale", 1.0)
        self.translate = _range(translate, "translate", 0.0)
        if self.scale[0] <= 0:
            raise ArgumentError(f"scale must stay above 0. Received: scale={scale!r}.")
        self.p = _probability(p)
        self.padding_mode = one_of(padding_mode, _GRID_PAD_MODES, "padding_mode")

    def _is_identity(self) -> bool:
        return (self.degrees == (0.0, 0.0) and self.scale == (1.0, 1.0)
                and self.translate == (0.0, 0.0)) or self.p == 0.0

    def sample_params(self, x, generator=None):
        n = _check_batch(x, "RandomAffine", self.ranks)
        if n == 1 and self.degrees != (0.0, 0.0):
            raise ShapeError(
                f"RandomAffine cannot rotate 1-D signals. Received: degrees={self.degrees} "
                f"with an input of shape {tuple(x.shape)}. Use degrees=0 (scale and "
                f"translate work in 1-D)."
            )
        count = x.shape[0]
        u = _rand((count, 5), generator, x.device).to(torch.float32)

        def lerp(bounds, col):
            return bounds[0] + (bounds[1] - bounds[0]) * u[:, col]

        angle = lerp(self.degrees, 0) * (math.pi / 180.0)
        zoom = lerp(self.scale, 1)
        tx, ty = lerp(self.translate, 2), lerp(self.translate, 3)
        apply = u[:, 4] < self.p
        h, w = (1, x.shape[-1]) if n == 1 else x.shape[-2:]
        cos, sin = torch.cos(angle) / zoom, -torch.sin(angle) / zoom
        # Output -> input in pixel units (x right, y down) is R(angle) / zoom, which turns
        # the content counter-clockwise as displayed; normalised coordinates divide x by
        # W/2 and y by H/2, which rescales the off-diagonal terms.
        theta = torch.zeros(count, 2, 3, device=x.device)
        theta[:, 0, 0] = cos
        theta[:, 0, 1] = sin * (h / w)
        theta[:, 1, 0] = -sin * (w / h)
        theta[:, 1, 1] = cos if n == 2 else torch.ones_like(cos)
        theta[:, 0, 2] = -2.0 * tx
        theta[:, 1, 2] = -2.0 * ty if n == 2 else torch.zeros_like(ty)
        return theta, apply

    def apply(self, x, params) -> torch.Tensor:
        _check_batch(x, "RandomAffine", self.ranks)
        if self._is_identity():
            return x
        theta, mask = params
        x2 = _as_2d(x)
        grid = F.affine_grid(theta.to(x.device, x.dtype), list(x2.shape), align_corners=False)
        out = F.grid_sample(x2, grid, mode="bilinear", padding_mode=self.padding_mode,
                            align_corners=False).view_as(x)
        return torch.where(_per_image(mask.to(x.device), x.dim()), out, x)


def _gaussian_matrix(size: int, sigma: float, truncate: float, device, dtype) -> torch.Tensor:
    """``G[i, j] = k(i - j)``: the zero-padded convolution with the truncated, normalised
    Gaussian ``k`` as a ``size x size`` matrix."""
    radius = max(1, int(truncate * sigma + 0.5))
    t = torch.arange(-radius, radius + 1, device=device, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    kernel = kernel / kernel.sum()
    offset = (torch.arange(size, device=device).view(-1, 1)
              - torch.arange(size, device=device).view(1, -1))
    inside = offset.abs() <= radius
    matrix = torch.where(inside, kernel[(offset + radius).clamp(0, 2 * radius)],
                         torch.zeros((), device=device, dtype=torch.float64))
    return matrix.to(dtype)


def gaussian_smooth(field: torch.Tensor, sigma: float, truncate: float = 4.0) -> torch.Tensor:
    """Smooth ``(N, K, *spatial)`` maps with a Gaussian of std ``sigma`` pixels, each map
    on its own: separable, zero padding, radius ``round(truncate * sigma)``, as
    ``scipy.ndimage.gaussian_filter(mode="constant")``.

    Each axis is one matrix product with a banded ``size x size`` matrix, which on small
    maps is far faster than a convolution with a long kernel.

    Shape:
        ``(N, K, *S)`` -> ``(N, K, *S)``, 1 or 2 spatial dimensions.

    Example:
        >>> impulse = torch.zeros(1, 1, 9); impulse[0, 0, 4] = 1.0
        >>> round(float(gaussian_smooth(impulse, 1.0).sum()), 4)
        1.0
    """
    if sigma <= 0:
        return field
    n = field.dim() - 2
    last = _gaussian_matrix(field.shape[-1], sigma, truncate, field.device, field.dtype)
    out = field @ last.T  # along the last axis (symmetric matrix; .T for clarity)
    if n == 2:
        rows = _gaussian_matrix(field.shape[-2], sigma, truncate, field.device, field.dtype)
        out = rows @ out
    return out


class ElasticDeform(Augmentation):
    """Elastic deformation (Simard, Steinkraus and Platt 2003, section 2).

    Per image, each pixel gets a random displacement ``(dy, dx)`` with both components
    uniform in [-1, 1]; the displacement fields are smoothed by a Gaussian of standard
    deviation ``sigma`` (pixels) and multiplied by ``alpha`` (pixels); the new image
    takes, at every pixel ``p``, the old image's value at ``p + displacement(p)`` by
    bilinear interpolation. Small ``sigma`` gives nearly random, large ``sigma`` nearly
    rigid displacements; the paper used ``sigma=4``, ``alpha=34`` on 28x28 MNIST. For
    1-D signals the field has one component (a time warp).

    Args:
        alpha: scale of the displacements in pixels; 0 is identity.
        sigma: smoothness, the Gaussian's standard deviation in pixels.
        p: probability that an image is deformed.
        padding_mode: ``"zeros"``, ``"border"`` or ``"reflection"``.

    Shape:
        ``(N, C, H, W)`` or ``(N, C, L)`` -> same; params: float displacement field
        ``(N, n_spatial, *spatial)`` in pixels (component ``k`` along spatial dimension
        ``k``) and a bool ``(N,)``.

    Raises:
        ArgumentError: negative ``alpha`` or ``sigma``.

    Example:
        >>> t = ElasticDeform(alpha=34.0, sigma=4.0)
        >>> gen = torch.Generator().manual_seed(0)
        >>> field, _ = t.sample_params(torch.rand(2, 1, 28, 28), gen)
        >>> field.shape
        torch.Size([2, 2, 28, 28])
        >>> x = torch.rand(2, 1, 28, 28)
        >>> bool((ElasticDeform(alpha=0.0, sigma=4.0)(x) == x).all())
        True
    """

    ranks = (1, 2)

    def __init__(self, alpha: float = 34.0, sigma: float = 4.0, *, p: float = 1.0,
                 padding_mode: str = "zeros"):
        self.alpha = _non_negative(alpha, "alpha")
        self.sigma = _non_negative(sigma, "sigma")
        self.p = _probability(p)
        self.padding_mode = one_of(padding_mode, _GRID_PAD_MODES, "padding_mode")

    def sample_params(self, x, generator=None):
        n = _check_batch(x, "ElasticDeform", self.ranks)
        count = x.shape[0]
        # Drawn in float32 whatever the batch's dtype, so a seed gives the same field.
        noise = _rand((count, n, *x.shape[2:]), generator, x.device).to(x.dtype)
        field = gaussian_smooth(noise * 2.0 - 1.0, self.sigma) * self.alpha
        apply = _rand((count,), generator, x.device) < self.p
        return field, apply

    def apply(self, x, params) -> torch.Tensor:
        n = _check_batch(x, "ElasticDeform", self.ranks)
        if self.alpha == 0.0 or self.p == 0.0:
            return x
        field, mask = params
        field = field.to(x.device, x.dtype)
        size = x.shape[2:]
        # Pixel centre i of a size-S axis sits at (2i + 1) / S - 1 in grid_sample's
        # normalised coordinates (align_corners=False); a displacement of d pixels is 2d/S.
        axes = [(2 * torch.arange(s, device=x.device, dtype=x.dtype) + 1) / s - 1 for s in size]
        if n == 1:
            gx = axes[0].view(1, 1, -1) + field[:, 0:1] * (2.0 / size[0])   # (N, 1, L)
            grid = torch.stack([gx, torch.zeros_like(gx)], dim=-1)           # (N, 1, L, 2)
            out = F.grid_sample(_as_2d(x), grid, mode="bilinear",
                                padding_mode=self.padding_mode, align_corners=False)
            out = out.view_as(x)
        else:
            gy = axes[0].view(1, -1, 1) + field[:, 0] * (2.0 / size[0])
            gx = axes[1].view(1, 1, -1) + field[:, 1] * (2.0 / size[1])
            grid = torch.stack([gx, gy], dim=-1)  # grid_sample wants (x, y) order
            out = F.grid_sample(x, grid, mode="bilinear", padding_mode=self.padding_mode,
                                align_corners=False)
        return torch.where(_per_image(mask.to(x.device), x.dim()), out, x)


# ----------------------------------------------------------------------------- compose


class Compose:
    """Apply transforms one after the other, all drawing from the same generator.

    Args:
        transforms: a sequence of augmentations (or any ``f(x)`` / ``f(x, generator=)``).

    Example:
        >>> aug = Compose([RandomTranslate(2), RandomFlip(p=0.5), ElasticDeform(8.0, 3.0)])
        >>> gen = lambda: torch.Generator().manual_seed(0)
        >>> x = torch.rand(4, 1, 16, 16)
        >>> torch.equal(aug(x, generator=gen()), aug(x, generator=gen()))
        True
    """

    def __init__(self, transforms: Sequence):
        if isinstance(transforms, Augmentation) or not isinstance(transforms, Sequence):
            raise ArgumentTypeError(
                f"transforms must be a list of augmentations. Received: "
                f"transforms={transforms!r}. Wrap a single one in a list."
            )
        for k, t in enumerate(transforms):
            if not callable(t):
                raise ArgumentTypeError(
                    f"transforms[{k}] must be callable. Received: {t!r}."
                )
        self.transforms = list(transforms)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None):
        for t in self.transforms:
            if isinstance(t, (Augmentation, Compose)):
                x = t(x, generator=generator)
            else:
                x = t(x)
        return x

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


# ----------------------------------------------------------------------------- from a config

# Names a training config uses for each augmentation, and the argument a bare value sets.
AUGMENTATIONS = {
    "translate": (RandomTranslate, "max_shift"),
    "crop": (RandomCrop, "size"),
    "flip": (RandomFlip, "axis"),
    "affine": (RandomAffine, "degrees"),
    "rotate": (RandomAffine, "degrees"),
    "elastic": (ElasticDeform, "alpha"),
}


def from_config(items, path: str = "config.augment") -> Compose:
    """Build a :class:`Compose` from config entries such as
    ``[{"translate": 2}, {"elastic": {"alpha": 8, "sigma": 3}}]``.

    A bare value sets the main argument (``translate: 2`` is ``RandomTranslate(2)``);
    a mapping gives keyword arguments; a bare name uses the defaults.

    Raises:
        ArgumentError: an unknown augmentation name (the valid ones are listed) or an
            argument the augmentation does not take.

    Example:
        >>> aug = from_config([{"translate": 2}, {"elastic": {"alpha": 8.0, "sigma": 3.0}}])
        >>> [type(t).__name__ for t in aug.transforms]
        ['RandomTranslate', 'ElasticDeform']
    """
    from .._validation import did_you_mean

    if isinstance(items, (str, dict)):
        items = [items]
    transforms = []
    for k, item in enumerate(items):
        if isinstance(item, str):
            name, value = item, None
        elif isinstance(item, dict) and len(item) == 1:
            name, value = next(iter(item.items()))
        else:
            raise ArgumentError(
                f"{path}[{k}] must be a name or a one-key mapping such as {{translate: 2}}. "
                f"Received: {item!r}."
            )
        if name not in AUGMENTATIONS:
            raise ArgumentError(
                f"{path}[{k}]: unknown augmentation {name!r}.{did_you_mean(name, AUGMENTATIONS)} "
                f"Valid: {', '.join(AUGMENTATIONS)}."
            )
        cls, main = AUGMENTATIONS[name]
        kwargs = dict(value) if isinstance(value, dict) else ({} if value is None else {main: value})
        try:
            transforms.append(cls(**kwargs))
        except TypeError as error:
            raise ArgumentError(f"{path}[{k}].{name}: {error}. Received: {value!r}.") from error
    return Compose(transforms)
