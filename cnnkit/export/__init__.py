"""Export networks to other formats, each export checked by running the written file.

:func:`to_onnx` writes an ONNX file with a dynamic batch dimension and, by default, runs it
in onnxruntime on a fresh random batch to compare with PyTorch. It needs the ``export``
extra: ``pip install "cnnkit[export]"``. ``docs/export.md`` lists which layers export.

Example:
    >>> from cnnkit.export import UNSUPPORTED_LAYERS
    >>> sorted(UNSUPPORTED_LAYERS)[:2]
    ['FFTConv', 'FixedRoIMaxPool']
"""

from .onnx import (UNSUPPORTED_LAYERS, ExportError, ExportReport, MissingDependencyError,
                   compare_onnx, read_metadata, run_metadata, to_onnx)

__all__ = ["UNSUPPORTED_LAYERS", "ExportError", "ExportReport", "MissingDependencyError",
           "compare_onnx", "read_metadata", "run_metadata", "to_onnx"]
