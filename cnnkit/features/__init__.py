"""Filters without supervised training (seed 003, section 9.9-9.10): Gabor banks.

Example:
    >>> import torch
    >>> from cnnkit import features
    >>> features.gabor_(torch.empty(8, 1, 5, 5)).shape
    torch.Size([8, 1, 5, 5])
"""

from .gabor import gabor, gabor_, gabor_bank, gabor_parameters, render_gabor_bank

__all__ = ["gabor", "gabor_", "gabor_bank", "gabor_parameters", "render_gabor_bank"]
