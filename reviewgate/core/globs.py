"""gitignore-style globs (``**`` works), for lockfiles, generated and ignored files, through the
pathspec library (gitignore(5)). ``matches`` is git's own reading; ``matches_file`` the owners'
``ignore``, where a pattern names files unless it ends in ``/``."""

from __future__ import annotations

import functools
import re

import pathspec
from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

__all__ = ["matches", "matches_file"]

@functools.lru_cache(maxsize=64)
def _spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)

@functools.lru_cache(maxsize=64)
def _file_rules(patterns: tuple[str, ...]) -> list[tuple[re.Pattern[str], bool, bool]]:
    rules = []
    for pattern in patterns:
        regex, include = GitIgnoreSpecPattern.pattern_to_regex(pattern)
        if regex is not None and include is not None:
            rules.append((re.compile(regex), include, pattern.rstrip().endswith("/")))
    return rules

def matches_file(path: str, patterns: list[str] | tuple[str, ...]) -> bool:
    """Like :func:`matches`, for the owners' ``ignore``: gitignore-style globs, the last
    matching pattern deciding (``!`` re-includes), except that a pattern not ending in ``/``
    names files only, never a directory: ``*.md`` does not take in ``src/util.md/index.js``
    (which a ``require('./util.md')`` loads). Directories are ignored with ``docs/`` or
    ``docs/**``."""
    result = False
    for rx, include, for_dirs in _file_rules(tuple(patterns)):
        m = rx.match(path)
        if m is not None and (for_dirs or m.groupdict().get("ps_d") is None):
            result = include
    return result

def matches(path: str, patterns: list[str] | tuple[str, ...]) -> bool:
    """True when ``path`` matches any gitignore-style pattern (``**`` supported; a pattern
    without a slash matches at any depth). Reference: gitignore(5), via the pathspec library."""
    return bool(patterns) and _spec(tuple(patterns)).match_file(path)
