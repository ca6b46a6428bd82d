"""The ``cnnkit`` command: thin sub-commands over the library.

Each sub-command is a module here with ``add_parser(subparsers)`` and ``run(args) -> int``,
listed in :data:`cnnkit.cli.main.COMMANDS`.
"""

from .main import main

__all__ = ["main"]
