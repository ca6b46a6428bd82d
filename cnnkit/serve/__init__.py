"""The local web viewer: draw a digit (or drop an image, or pick a test example) and watch
a trained run's network classify it, layer by layer.

``cnnkit serve RUN`` starts it. The page shows the class probabilities, every layer's
volume as a grid of activation maps, the first-layer filters, and, for a clicked unit, its
receptive field on the input and its saliency. Built on :mod:`cnnkit.inspect` and
:mod:`cnnkit.spec`; neither imports this package. The server holds up under hostile input
and load: see :mod:`cnnkit.serve.server` and :class:`ServerLimits`.

Example:
    >>> from cnnkit.serve import MAX_UPLOAD_BYTES, ServerLimits
    >>> MAX_UPLOAD_BYTES
    2097152
    >>> ServerLimits().workers, ServerLimits().queue
    (4, 64)
"""

from .budget import MemoryBudget
from .server import STATIC_FILES, ServerLimits, ViewerServer, make_server, serve
from .viewer import MAX_IMAGE_PIXELS, MAX_UPLOAD_BYTES, RequestError, Viewer

__all__ = ["MAX_IMAGE_PIXELS", "MAX_UPLOAD_BYTES", "STATIC_FILES", "MemoryBudget",
           "RequestError", "ServerLimits", "Viewer", "ViewerServer", "make_server", "serve"]
