"""Convolution kernels learned without back-propagation: k-means on patches, and random.

Goodfellow et al. 2016 (section 9.9) name three ways to obtain kernels without supervised training:
random initialisation, design by hand (Gabor filters, :mod:`cnnkit.features.gabor`), and
an unsupervised criterion, for example k-means on small image patches whose centroids
become the kernels (Coates, Lee and Ng 2011). That recipe is:

1. sample patches of the kernel's size from the training images;
2. normalise each patch (subtract its mean, divide by its standard deviation);
3. whiten the patch set (ZCA), so that clusters follow edges rather than brightness;
4. run k-means (here spherical k-means, as Coates and Ng recommend: unit-norm centroids,
   assignment by largest dot product);
5. use each centroid as a kernel.

Steps 2-3 are affine maps of the patch, so the centroid ``c`` applied to a whitened
patch equals the kernel ``W^T c`` applied to the raw patch plus a constant. The
per-patch normalisation of step 2 is not affine, so it is applied only while learning;
:func:`kmeans_filters` returns a kernel and bias for raw inputs, ready for a
convolution layer.
"""

from __future__ import annotations

import math

import torch

from .._validation import ArgumentError, ShapeError, one_of, positive_int, to_tuple

__all__ = ["extract_patches", "kmeans", "kmeans_filters", "random_filters_", "zca_whitening"]


def extract_patches(x: torch.Tensor, kernel, count: int, *,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Sample ``count`` patches of size ``kernel`` uniformly from a batch of images.

    Args:
        x: images ``(N, C, *spatial)`` with 1, 2 or 3 spatial dimensions.
        kernel: patch size, int or one per spatial dimension.
        count: number of patches.
        generator: for reproducible draws.

    Shape:
        ``(N, C, *S)`` -> ``(count, C * prod(kernel))``, each row one flattened patch in
        the same (channel, then spatial) order as a convolution weight ``(C, *kernel)``.

    Raises:
        ShapeError: the patch does not fit the images.

    Example:
        >>> x = torch.arange(16.).view(1, 1, 4, 4)
        >>> p = extract_patches(x, 2, 5, generator=torch.Generator().manual_seed(0))
        >>> p.shape, bool(((p[:, 1] - p[:, 0]) == 1).all())
        (torch.Size([5, 4]), True)
    """
    if x.dim() not in (3, 4, 5):
        raise ShapeError(f"x must be (N, C, *spatial) with 1 to 3 spatial dimensions. Received: "
                         f"x of shape {tuple(x.shape)}.")
    n = x.dim() - 2
    kernel = to_tuple(kernel, n, "kernel")
    positive_int(count, "count")
    spatial = x.shape[2:]
    if any(k > s for k, s in zip(kernel, spatial)):
        raise ShapeError(f"kernel {kernel} does not fit images of spatial size {tuple(spatial)}. "
                         f"Received: kernel={kernel}. Use a smaller kernel.")
    image = torch.randint(0, x.shape[0], (count,), generator=generator)
    starts = [torch.randint(0, s - k + 1, (count,), generator=generator) for s, k in zip(spatial, kernel)]
    # One gather of every patch: index grids of shape (count, *kernel) per spatial axis.
    index = [image.view(-1, *([1] * n))]
    for axis, (start, k) in enumerate(zip(starts, kernel)):
        offsets = torch.arange(k).view(*([1] * (axis + 1)), k, *([1] * (n - axis - 1)))
        index.append(start.view(-1, *([1] * n)) + offsets)
    moved = x.movedim(1, -1)  # (N, *S, C): advanced indexing then yields (count, *kernel, C)
    patches = moved[tuple(index)]
    return patches.movedim(-1, 1).reshape(count, -1)


def zca_whitening(patches: torch.Tensor, epsilon: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """ZCA whitening of a patch set: returns ``(mean, W)`` with ``white = (p - mean) @ W``.

    ``W = U diag(1 / sqrt(lambda + epsilon)) U^T`` from the eigen-decomposition of the
    covariance; ``epsilon`` keeps near-constant directions from being blown up.

    Example:
        >>> p = torch.randn(5000, 3, dtype=torch.float64) @ torch.tensor([[2., 0, 0], [1, 1, 0], [0, 0, .5]], dtype=torch.float64)
        >>> mean, w = zca_whitening(p, epsilon=0.0)
        >>> cov = torch.cov(((p - mean) @ w).T)
        >>> bool(torch.allclose(cov, torch.eye(3, dtype=cov.dtype), atol=1e-6))
        True
    """
    if not epsilon >= 0:
        raise ArgumentError(f"epsilon must be non-negative. Received: epsilon={epsilon!r}.")
    mean = patches.mean(dim=0)
    centred = patches - mean
    covariance = centred.T @ centred / max(len(patches) - 1, 1)
    values, vectors = torch.linalg.eigh(covariance)
    scale = (values.clamp_min(0) + epsilon).rsqrt()
    return mean, (vectors * scale) @ vectors.T


def kmeans(points: torch.Tensor, k: int, *, iterations: int = 20, spherical: bool = True,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """k-means centroids of ``points`` (rows), batched on the device.

    ``spherical=True``: unit-norm centroids, each point assigned to the centroid of largest
    dot product, centroids re-estimated as the normalised sum of their points (Coates and
    Ng 2012). ``spherical=False``: Lloyd's algorithm with Euclidean distance. An empty
    cluster is re-seeded with a random point.

    Shape:
        ``(P, D)`` -> ``(k, D)``.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> centres = torch.tensor([[5., 0.], [0., 5.]])
        >>> pts = torch.cat([centres[i] + 0.1 * torch.randn(50, 2, generator=g) for i in (0, 1)])
        >>> c = kmeans(pts, 2, spherical=False, generator=g)
        >>> sorted(c.round().tolist())
        [[0.0, 5.0], [5.0, 0.0]]
    """
    positive_int(k, "k")
    positive_int(iterations, "iterations")
    if points.dim() != 2 or len(points) < k:
        raise ShapeError(f"points must be (P, D) with at least k={k} rows. Received: points of "
                         f"shape {tuple(points.shape)}.")
    pick = torch.randperm(len(points), generator=generator)[:k]
    centroids = points[pick].clone()
    if spherical:
        centroids = torch.nn.functional.normalize(centroids, dim=1)
    for _ in range(iterations):
        if spherical:
            assign = (points @ centroids.T).argmax(dim=1)
        else:
            assign = torch.cdist(points, centroids).argmin(dim=1)
        sums = torch.zeros_like(centroids).index_add_(0, assign, points)
        counts = torch.bincount(assign, minlength=k).to(points.dtype)
        empty = counts == 0
        if empty.any():
            refill = torch.randint(0, len(points), (int(empty.sum()),), generator=generator)
            sums[empty] = points[refill]
            counts[empty] = 1
        centroids = (torch.nn.functional.normalize(sums, dim=1) if spherical
                     else sums / counts.unsqueeze(1))
    return centroids


def kmeans_filters(x: torch.Tensor, filters: int, kernel, *, patches: int = 10_000,
                   iterations: int = 20, whiten: bool = True, epsilon: float = 0.1,
                   seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Convolution kernels from k-means on image patches (Coates, Lee and Ng 2011).

    Args:
        x: training images ``(N, C, *spatial)``.
        filters: number of kernels (clusters).
        kernel: kernel size, int or one per spatial dimension.
        patches: number of patches sampled.
        iterations: k-means iterations.
        whiten: ZCA-whiten the patches first (recommended: edges instead of blobs).
        epsilon: whitening regulariser.
        seed: seeds the patch sampling and the k-means start.

    Returns:
        ``(weight, bias)``: ``weight (filters, C, *kernel)`` and ``bias (filters,)`` such
        that ``conv(x, weight, bias)`` at a location equals the centroid's dot product
        with the whitened (mean-subtracted) raw patch there.

    Example:
        >>> from cnnkit.data import load_dataset
        >>> w, b = kmeans_filters(load_dataset("digits").x, 8, 3, patches=2000)
        >>> w.shape, b.shape
        (torch.Size([8, 1, 3, 3]), torch.Size([8]))
    """
    positive_int(filters, "filters")
    generator = torch.Generator().manual_seed(seed)
    n = x.dim() - 2
    kernel = to_tuple(kernel, max(n, 1), "kernel")
    raw = extract_patches(x, kernel, patches, generator=generator).double()
    # Per-patch brightness and contrast normalisation, for learning only (not affine).
    # Coates and Ng add 10 to the variance of 0-255 pixels so that flat patches are not
    # blown up; 1 % of the patch set's variance is the same guard at any pixel scale.
    learn = raw - raw.mean(dim=1, keepdim=True)
    guard = 0.01 * learn.var().clamp_min(1e-12)
    learn = learn / (learn.var(dim=1, keepdim=True) + guard).sqrt()
    if whiten:
        mean, w = zca_whitening(learn, epsilon)
        learn = (learn - mean) @ w
    centroids = kmeans(learn, filters, iterations=iterations, generator=generator)
    if whiten:
        # centroid . ((p - mean) @ W) = (W @ centroid) . p - (W @ centroid) . mean
        kernels = centroids @ w.T
        bias = -(kernels @ mean)
    else:
        kernels, bias = centroids, torch.zeros(filters, dtype=centroids.dtype)
    shape = (filters, x.shape[1], *kernel)
    return kernels.reshape(shape).to(x.dtype), bias.to(x.dtype)


@torch.no_grad()
def random_filters_(weight: torch.Tensor, kind: str = "gaussian", *, normalize: bool = True,
                    zero_mean: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill a convolution weight with random kernels, in place (Goodfellow et al. 2016,
    section 9.9).

    Args:
        weight: ``(C_out, C_in / groups, *kernel)``.
        kind: ``"gaussian"``, ``"uniform"`` (in [-1, 1]) or ``"sign"`` (+-1).
        normalize: scale each kernel to unit L2 norm, so that random features of different
            sizes respond on the same scale.
        zero_mean: subtract each kernel's mean (no response to flat regions).

    Example:
        >>> w = random_filters_(torch.empty(4, 1, 3, 3), generator=torch.Generator().manual_seed(0))
        >>> [round(v, 5) for v in w.flatten(1).norm(dim=1).tolist()], bool(w.flatten(1).mean(1).abs().max() < 1e-6)
        ([1.0, 1.0, 1.0, 1.0], True)
    """
    one_of(kind, ("gaussian", "uniform", "sign"), "kind")
    if weight.dim() < 3:
        raise ShapeError(f"weight must be (C_out, C_in, *kernel). Received: weight.shape={tuple(weight.shape)}.")
    if kind == "gaussian":
        values = torch.randn(weight.shape, generator=generator)
    elif kind == "uniform":
        values = torch.rand(weight.shape, generator=generator) * 2 - 1
    else:
        values = torch.randint(0, 2, weight.shape, generator=generator).float() * 2 - 1
    flat = values.flatten(1)
    if zero_mean:
        flat = flat - flat.mean(dim=1, keepdim=True)
    if normalize:
        flat = flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-12)
    else:
        flat = flat / math.sqrt(flat.shape[1])
    weight.copy_(flat.view_as(weight))
    return weight
