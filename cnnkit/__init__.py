"""cnnkit: convolutional neural networks on PyTorch, every building block, fast and checked.

Example:
    >>> import cnnkit
    >>> cnnkit.__version__
    '0.1.0'
"""

from ._version import __version__
from . import functional, layers
from ._validation import (ArgumentError, ArgumentTypeError, CnnkitError, ShapeError, SpecError)
from . import spec  # after layers: functional <- layers <- spec <- models <- inspect
from .spec import build
from . import models
from .models import create_model, list_models
from . import inspect
from .inspect import summary
from . import data  # depends on nothing above; bundled data sets, loaders, augmentation
from . import runs  # run folders: below train and inspect
from .workflow import train_and_report  # above train and inspect, which never import each other

__all__ = [
    "ArgumentError", "ArgumentTypeError", "CnnkitError", "ShapeError", "SpecError",
    "__version__", "build", "create_model", "data", "functional", "inspect", "layers",
    "list_models", "models", "runs", "spec", "summary", "train_and_report",
]
