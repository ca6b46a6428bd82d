"""cnnkit: convolutional neural networks on PyTorch, every building block, fast and checked.

Example:
    >>> import cnnkit
    >>> cnnkit.__version__
    '0.1.0'
"""

__version__ = "0.1.0"

from . import functional, layers
from ._validation import (ArgumentError, ArgumentTypeError, CnnkitError, ShapeError, SpecError)

__all__ = [
    "ArgumentError", "ArgumentTypeError", "CnnkitError", "ShapeError", "SpecError",
    "__version__", "functional", "layers",
]
