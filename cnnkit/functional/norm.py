"""Normalisation: batch normalisation and local response normalisation (AlexNet)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validation import ArgumentError, ShapeError, positive_int

__all__ = ["local_response_norm"]


def local_response_norm(x: torch.Tensor, size: int = 5, alpha: float = 1e-4,
                        beta: float = 0.75, k: float = 2.0) -> torch.Tensor:
    """Local response normalisation across channels (Krizhevsky et al. 2012, section 3.3).

    ``b[c] = a[c] / (k + alpha * sum_{c' = c - floor(n/2)}^{c + floor((n-1)/2)} a[c']^2)^beta``

    The sum runs over ``size`` neighbouring channels (clipped at the ends). ``alpha``
    multiplies the *sum*, as in the paper (PyTorch and Caffe multiply the mean; pass
    ``alpha * size`` there to get the same numbers). Defaults are AlexNet's.

    Shape:
        ``(N, C, *spatial)`` -> same shape, 1-D, 2-D or 3-D.

    Example:
        >>> local_response_norm(torch.ones(1, 3, 1, 1), size=3, alpha=1.0, beta=1.0, k=0.0)[0, :, 0, 0]
        tensor([0.5000, 0.3333, 0.5000])
    """
    positive_int(size, "size")
    if x.dim() < 3:
        raise ShapeError(
            f"local_response_norm expects an input (N, C, *spatial). Received: input of shape {tuple(x.shape)}."
        )
    if beta < 0:
        raise ArgumentError(f"beta must be non-negative. Received: beta={beta!r}.")
    return F.local_response_norm(x, size, alpha=alpha * size, beta=beta, k=k)
