"""Filters without supervised training (Goodfellow et al. 2016, sections 9.9-9.10): random
kernels, hand-designed Gabor banks, kernels learned by k-means on image patches, and the
neocognitron's S-cells learned by winner-take-all Hebbian reinforcement (Fukushima 1980).

Example:
    >>> import torch
    >>> from cnnkit import features
    >>> features.gabor_(torch.empty(8, 1, 5, 5)).shape
    torch.Size([8, 1, 5, 5])
"""

from .gabor import gabor, gabor_, gabor_bank, gabor_parameters, render_gabor_bank
from .kmeans import extract_patches, kmeans, kmeans_filters, random_filters_, zca_whitening
from .neocognitron import learn_s_cells

__all__ = ["extract_patches", "gabor", "gabor_", "gabor_bank", "gabor_parameters", "kmeans",
           "kmeans_filters", "learn_s_cells", "random_filters_", "render_gabor_bank",
           "zca_whitening"]
