"""The three loss layers of the Wikipedia article "Convolutional neural network": softmax
cross-entropy, sigmoid cross-entropy, Euclidean.

All three accept per-location outputs (structured outputs, Goodfellow et al. 2016,
section 9.6): the class dimension is dimension 1 and any spatial dimensions follow.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validation import ArgumentError, ShapeError, one_of

__all__ = ["LOSSES", "euclidean_loss", "loss_function", "sigmoid_cross_entropy", "softmax_cross_entropy"]

_REDUCTIONS = ("mean", "sum", "none")


def softmax_cross_entropy(logits: torch.Tensor, target: torch.Tensor, *,
                          label_smoothing: float = 0.0, reduction: str = "mean",
                          weight: torch.Tensor | None = None) -> torch.Tensor:
    """Softmax cross-entropy for one of K mutually exclusive classes.

    ``loss = -log softmax(z)[y]``, averaged over samples (and locations).

    Args:
        logits: ``(N, K)`` or ``(N, K, *spatial)`` unnormalised scores.
        target: ``(N,)`` or ``(N, *spatial)`` class indices in ``[0, K)``, or class
            probabilities of the same shape as ``logits``.
        label_smoothing: in [0, 1): mix the one-hot target with the uniform distribution.

    Shape:
        ``(N, K, *S)``, ``(N, *S)`` -> scalar (``reduction="none"``: ``(N, *S)``).

    Raises:
        ShapeError: target shape does not match; ArgumentError: labels outside [0, K).

    Example:
        >>> softmax_cross_entropy(torch.zeros(2, 4), torch.tensor([0, 3]))
        tensor(1.3863)
    """
    one_of(reduction, _REDUCTIONS, "reduction")
    if logits.dim() < 2:
        raise ShapeError(f"logits must be (N, K, ...). Received: logits.shape={tuple(logits.shape)}.")
    if target.dtype.is_floating_point:
        if target.shape != logits.shape:
            raise ShapeError(
                f"probability targets must have the logits' shape {tuple(logits.shape)}. "
                f"Received: target.shape={tuple(target.shape)}."
            )
    else:
        expected = (logits.shape[0], *logits.shape[2:])
        if tuple(target.shape) != expected:
            raise ShapeError(
                f"class-index targets must have shape {expected} for logits of shape "
                f"{tuple(logits.shape)}. Received: target.shape={tuple(target.shape)}."
            )
        classes = logits.shape[1]
        if target.numel() and (int(target.min()) < 0 or int(target.max()) >= classes):
            raise ArgumentError(
                f"labels must lie in [0, {classes}) for {classes} classes. Received: labels from "
                f"{int(target.min())} to {int(target.max())}. Check the data's labels or the "
                f"number of outputs of the last layer."
            )
    if not 0.0 <= label_smoothing < 1.0:
        raise ArgumentError(f"label_smoothing must be in [0, 1). Received: label_smoothing={label_smoothing!r}.")
    return F.cross_entropy(logits, target, weight=weight, reduction=reduction,
                           label_smoothing=label_smoothing)


def sigmoid_cross_entropy(logits: torch.Tensor, target: torch.Tensor, *,
                          reduction: str = "mean", pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Sigmoid cross-entropy for K independent probabilities in [0, 1].

    ``loss = -(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))``, computed stably from
    the logits, averaged over all elements.

    Shape:
        ``logits`` and ``target`` of the same shape -> scalar.

    Example:
        >>> sigmoid_cross_entropy(torch.zeros(1, 2), torch.tensor([[0., 1.]]))
        tensor(0.6931)
    """
    one_of(reduction, _REDUCTIONS, "reduction")
    if target.shape != logits.shape:
        raise ShapeError(
            f"target must have the logits' shape {tuple(logits.shape)}. "
            f"Received: target.shape={tuple(target.shape)}."
        )
    return F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype), reduction=reduction,
                                              pos_weight=pos_weight)


def euclidean_loss(prediction: torch.Tensor, target: torch.Tensor, *,
                   reduction: str = "mean") -> torch.Tensor:
    """Euclidean loss for real-valued targets: ``1 / (2N) * sum_n ||yhat_n - y_n||^2``.

    ``reduction="mean"`` divides by the batch size N (not by every element), as the
    Euclidean loss layer defines it; ``"sum"`` drops the 1/N; ``"none"`` gives one value
    per sample.

    Shape:
        ``(N, *)`` and ``(N, *)`` -> scalar (``"none"``: ``(N,)``).

    Example:
        >>> euclidean_loss(torch.tensor([[1., 2.]]), torch.tensor([[0., 0.]]))
        tensor(2.5000)
    """
    one_of(reduction, _REDUCTIONS, "reduction")
    if target.shape != prediction.shape:
        raise ShapeError(
            f"target must have the prediction's shape {tuple(prediction.shape)}. "
            f"Received: target.shape={tuple(target.shape)}."
        )
    per_sample = 0.5 * (prediction - target).pow(2).reshape(prediction.shape[0], -1).sum(dim=1)
    if reduction == "none":
        return per_sample
    return per_sample.sum() if reduction == "sum" else per_sample.mean()


LOSSES = {
    "softmax_cross_entropy": softmax_cross_entropy,
    "sigmoid_cross_entropy": sigmoid_cross_entropy,
    "euclidean": euclidean_loss,
}


def loss_function(name: str):
    """Look up a loss by its spec name (``softmax_cross_entropy``, ``sigmoid_cross_entropy``,
    ``euclidean``)."""
    return LOSSES[one_of(name, tuple(LOSSES), "loss")]
