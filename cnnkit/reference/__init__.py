"""Slow NumPy loop implementations written straight from the textbook equations.

These are test oracles: every fast path in :mod:`cnnkit.functional` is compared against
them, forward and backward. Nothing in the library imports this package.
Import the sub-modules directly, e.g. ``from cnnkit.reference import conv``.
"""
