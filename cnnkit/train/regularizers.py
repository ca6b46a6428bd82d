"""Weight penalties and constraints of the Wikipedia article "Convolutional neural
network": L1, L2, elastic net, max-norm.
"""

from __future__ import annotations

import fnmatch

import torch
import torch.nn as nn

__all__ = ["apply_max_norm", "penalized_weights", "weight_penalty"]


def _is_weight(name: str, param: torch.Tensor) -> bool:
    # Biases and normalisation scales are not penalised: they do not overfit in the same way.
    return param.dim() >= 2 and name.endswith("weight")


def _multiplier(name: str, multipliers: dict) -> float:
    for pattern, value in multipliers.items():
        if fnmatch.fnmatchcase(name, pattern):
            return float(value)
    return 1.0


def penalized_weights(model: nn.Module, multipliers: dict | None = None):
    """(name, weight, multiplier) of every penalised weight (multipliers by name pattern)."""
    multipliers = multipliers or {}
    out = []
    for name, param in model.named_parameters():
        if param.requires_grad and _is_weight(name, param):
            scale = _multiplier(name, multipliers)
            if scale:
                out.append((name, param, scale))
    return out


def weight_penalty(weights, l1: float = 0.0, l2: float = 0.0) -> torch.Tensor | None:
    """``sum_w m_w * (l1 * |w|_1 + 0.5 * l2 * |w|_2^2)``: L1, L2 or both (elastic net).

    Example:
        >>> w = torch.nn.Parameter(torch.tensor([[3.0, -4.0]]))
        >>> weight_penalty([("w", w, 1.0)], l1=1.0, l2=2.0).item()  # 1 * 7 + 0.5 * 2 * 25
        32.0
    """
    if not (l1 or l2) or not weights:
        return None
    total = None
    for _, weight, scale in weights:
        term = 0.0
        if l1:
            term = term + l1 * weight.abs().sum()
        if l2:
            term = term + 0.5 * l2 * weight.pow(2).sum()
        total = scale * term if total is None else total + scale * term
    return total


@torch.no_grad()
def apply_max_norm(weights, max_norm: float) -> None:
    """Clamp the norm of each filter / unit (a row of the weight) to ``max_norm``.

    Hinton et al. 2012: ``w_i <- w_i * min(1, c / ||w_i||)`` after every update, for each
    output unit i (one filter of a convolution: all its input channels and taps).

    Example:
        >>> w = torch.nn.Parameter(torch.tensor([[3.0, 4.0], [0.3, 0.4]]))
        >>> apply_max_norm([("w", w, 1.0)], 1.0); w.data
        tensor([[0.6000, 0.8000],
                [0.3000, 0.4000]])
    """
    for _, weight, _ in weights:
        rows = weight.view(weight.shape[0], -1)
        norms = rows.norm(dim=1, keepdim=True)
        rows.mul_(torch.clamp(max_norm / norms.clamp_min(1e-12), max=1.0))
