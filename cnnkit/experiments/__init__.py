"""The source material's claims as runnable experiments that print a table.

Example:
    >>> from cnnkit.experiments import EXPERIMENTS
    >>> sorted(EXPERIMENTS)
    ['unsupervised_filters']
"""

from .unsupervised_filters import run as unsupervised_filters

EXPERIMENTS = {"unsupervised_filters": unsupervised_filters}

__all__ = ["EXPERIMENTS", "unsupervised_filters"]
