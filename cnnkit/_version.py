"""The version of cnnkit, in a module of its own so that any part of the package can read
it without importing the package's public surface (``cnnkit/__init__.py``).

Example:
    >>> from cnnkit._version import __version__
    >>> __version__
    '0.1.0'
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
