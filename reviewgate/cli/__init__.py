"""The command line edge: the only package that parses arguments, prints and picks exit codes.

``main`` is the ``reviewgate`` console script; ``python -m reviewgate.cli`` runs it too.
"""

from .main import EXIT_FOR, main

__all__ = ["EXIT_FOR", "main"]
