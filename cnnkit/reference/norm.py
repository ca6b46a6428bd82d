"""Normalisation and loss layers by loops: LRN, batch norm, and the three losses of the
Wikipedia article "Convolutional neural network".

Local response normalisation follows Krizhevsky, Sutskever and Hinton (2012), section 3.3,
with ``alpha`` multiplying the *sum* of squares over ``n`` neighbouring channels
``c - floor(n/2) .. c + floor((n-1)/2)`` (clipped to the channels that exist).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "batch_norm",
    "euclidean_loss",
    "lrn",
    "lrn_backward",
    "lrn_neighbours",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
]


def lrn_neighbours(c: int, channels: int, size: int) -> range:
    """Channels whose squares enter channel ``c``'s denominator.

    Example:
        >>> list(lrn_neighbours(0, 8, 5)), list(lrn_neighbours(4, 8, 4))
        ([0, 1, 2], [2, 3, 4, 5])
    """
    return range(max(0, c - size // 2), min(channels - 1, c + (size - 1) // 2) + 1)


def _denominator_base(a, c, size, alpha, k):
    """``D[c] = k + alpha * sum_{c' near c} a[c']^2`` for every other index at once."""
    channels = a.shape[1]
    total = sum(a[:, q] ** 2 for q in lrn_neighbours(c, channels, size))
    return k + alpha * total


def lrn(a, size=5, alpha=1e-4, beta=0.75, k=2.0) -> np.ndarray:
    """``b[c] = a[c] / (k + alpha * sum_{c'} a[c']^2)^beta`` over the neighbours of ``c``.

    Shape:
        ``(N, C, *S)`` -> same.

    Example:
        >>> lrn(np.ones((1, 3, 1)), size=3, alpha=1.0, beta=1.0, k=0.0)[0, :, 0]
        array([0.5       , 0.33333333, 0.5       ])
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.zeros_like(a)
    for c in range(a.shape[1]):
        b[:, c] = a[:, c] / _denominator_base(a, c, size, alpha, k) ** beta
    return b


def lrn_backward(a, G, size=5, alpha=1e-4, beta=0.75, k=2.0) -> np.ndarray:
    """Gradient of :func:`lrn` with respect to ``a``.

    ``d b[c] / d a[q] = [c = q] D[c]^-beta - 2 alpha beta a[c] a[q] D[c]^(-beta-1)``
    for ``q`` a neighbour of ``c``, so
    ``da[q] = G[q] D[q]^-beta - 2 alpha beta a[q] sum_{c : q near c} G[c] a[c] D[c]^(-beta-1)``.

    Example:
        >>> lrn_backward(np.ones((1, 1, 1)), np.ones((1, 1, 1)), size=1, alpha=1.0, beta=1.0, k=1.0)
        array([[[0.]]])
    """
    a = np.asarray(a, dtype=np.float64)
    G = np.asarray(G, dtype=np.float64)
    channels = a.shape[1]
    D = [_denominator_base(a, c, size, alpha, k) for c in range(channels)]
    da = np.zeros_like(a)
    for c in range(channels):
        da[:, c] += G[:, c] * D[c] ** -beta
        for q in lrn_neighbours(c, channels, size):
            da[:, q] -= 2 * alpha * beta * a[:, q] * G[:, c] * a[:, c] * D[c] ** (-beta - 1)
    return da


def batch_norm(x, gamma=None, beta=None, eps=1e-5, mean=None, var=None) -> np.ndarray:
    """Batch normalisation: ``(x - mu_c) / sqrt(var_c + eps) * gamma_c + beta_c``.

    Training mode (``mean``/``var`` None): ``mu_c`` and ``var_c`` (biased, divide by the
    count) are taken over the batch and every location of channel ``c``. Inference:
    pass the running ``mean`` and ``var``.

    Example:
        >>> batch_norm(np.array([[1.0], [3.0]]), eps=0.0)[:, 0]
        array([-1.,  1.])
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros_like(x)
    for c in range(x.shape[1]):
        values = x[:, c]
        mu = values.sum() / values.size if mean is None else mean[c]
        v = ((values - mu) ** 2).sum() / values.size if var is None else var[c]
        out[:, c] = (values - mu) / math.sqrt(v + eps)
        if gamma is not None:
            out[:, c] = out[:, c] * gamma[c] + beta[c]
    return out


def _log_softmax(z):
    """log softmax along the class vector ``z`` (1-D), shifted by max(z) for stability."""
    shifted = z - z.max()
    return shifted - math.log(np.exp(shifted).sum())


def softmax_cross_entropy(logits, target, label_smoothing=0.0, weight=None,
                          reduction="mean") -> np.ndarray | float:
    """Softmax cross-entropy, one location at a time.

    At each sample (and location) with class scores ``z``: ``q = (1 - eps) y + eps / K``
    for the one-hot or probability target ``y``, and ``loss = -sum_k q_k log softmax(z)_k``.
    ``mean`` averages over samples and locations; with class ``weight`` (index targets,
    no smoothing) each location's loss is multiplied by ``weight[y]`` and the sum divided
    by the sum of those weights.

    Shape:
        logits ``(N, K, *S)``, target ``(N, *S)`` class indices or ``(N, K, *S)``
        probabilities.

    Example:
        >>> round(softmax_cross_entropy(np.zeros((2, 4)), np.array([0, 3])), 6)
        1.386294
    """
    logits = np.asarray(logits, dtype=np.float64)
    target = np.asarray(target)
    N, K = logits.shape[:2]
    spatial = logits.shape[2:]
    losses = np.zeros((N,) + spatial)
    weights = np.ones((N,) + spatial)
    for b in range(N):
        for s in np.ndindex(*spatial):
            z = logits[(b, slice(None)) + s]
            if np.issubdtype(target.dtype, np.floating):
                y = target[(b, slice(None)) + s].astype(np.float64)
            else:
                label = int(target[(b,) + s])
                y = np.zeros(K)
                y[label] = 1.0
                if weight is not None:
                    weights[(b,) + s] = weight[label]
            q = (1 - label_smoothing) * y + label_smoothing / K
            losses[(b,) + s] = -(q * _log_softmax(z)).sum() * weights[(b,) + s]
    if reduction == "none":
        return losses
    if reduction == "sum":
        return float(losses.sum())
    return float(losses.sum() / weights.sum())


def sigmoid_cross_entropy(logits, target, reduction="mean"):
    """``-(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))`` per element, averaged.

    Example:
        >>> round(sigmoid_cross_entropy(np.zeros((1, 2)), np.array([[0.0, 1.0]])), 6)
        0.693147
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    losses = np.zeros_like(z)
    for i in np.ndindex(*z.shape):
        p = 1.0 / (1.0 + math.exp(-z[i]))
        losses[i] = -(y[i] * math.log(p) + (1 - y[i]) * math.log(1 - p))
    if reduction == "none":
        return losses
    return float(losses.sum() if reduction == "sum" else losses.mean())


def euclidean_loss(prediction, target, reduction="mean"):
    """``1 / (2N) sum_n ||yhat_n - y_n||^2`` (``sum``: without 1/N; ``none``: per sample).

    Example:
        >>> euclidean_loss(np.array([[1.0, 2.0]]), np.zeros((1, 2)))
        2.5
    """
    yhat = np.asarray(prediction, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    N = yhat.shape[0]
    per_sample = np.array([0.5 * ((yhat[b] - y[b]) ** 2).sum() for b in range(N)])
    if reduction == "none":
        return per_sample
    return float(per_sample.sum() if reduction == "sum" else per_sample.sum() / N)
