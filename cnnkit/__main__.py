"""``python -m cnnkit ...``: the same as the ``cnnkit`` command."""

import sys

from .cli.main import main

sys.exit(main())
