"""``python -m reviewgate.cli``: the same as the ``reviewgate`` command."""

import sys

from .main import main

sys.exit(main())
