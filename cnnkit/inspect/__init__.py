"""Tools to look inside a network: the summary table (shapes, receptive fields, parameters,
multiply-adds per layer).

Example:
    >>> from cnnkit.inspect import summary
    >>> summary({"input": [3, 32, 32], "layers": [{"conv": {"filters": 8, "kernel": 3}}]}).total_params
    224
"""

from .summary import Summary, summary

__all__ = ["Summary", "summary"]
