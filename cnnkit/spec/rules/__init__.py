"""Layer rules of the spec catalogue, one file per family.

Every module in this package is imported when :mod:`cnnkit.spec` is, so a new building
block plugs into the spec by adding a file here that calls
:func:`cnnkit.spec.register_layer` (see docs/spec.md, "How to register a layer").
"""

import importlib
import pkgutil

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
    importlib.import_module(f"{__name__}.{_info.name}")
