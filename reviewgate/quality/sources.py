"""Where a dataset's diffs come from: files inside the dataset's folder, and URLs when asked.

A downloaded dataset is input from strangers, and what its ``diff`` entries name is sent to the
models. So an entry is read only when it is

* a path inside the dataset's folder: checked as a repository path
  (:func:`reviewgate.core.paths.check_repo_path`: relative, normalized, no ``..``, no
  backslash or control character), resolved with its symbolic links and still inside the
  folder, a regular file (no device or pipe), at most :data:`MAX_DIFF_BYTES`; or
* an ``http``/``https`` URL, fetched only with ``allow_urls`` (``reviewgate eval
  --allow-urls``): redirects followed only on the URL's own origin (scheme, host, port; at
  most :data:`MAX_REDIRECTS`), the body counted while it is read and cut at
  :data:`MAX_DIFF_BYTES`, the whole fetch within :data:`FETCH_DEADLINE_S`.

Anything else is an :class:`~reviewgate.core.errors.InputError` naming the pull request, the
entry and why, before a model is called.
"""

from __future__ import annotations

import os
import re
import stat
import time
from pathlib import Path

import httpx

from ..core.changeset import decode_diff
from ..core.errors import InputError
from ..core.paths import UnsafePath, check_repo_path
from ..forge.http import origin, shown_url

__all__ = ["FETCH_DEADLINE_S", "MAX_DIFF_BYTES", "MAX_REDIRECTS", "diff_source", "read_diff"]

#: Largest diff read from a file or a URL, in bytes (decoded bytes for a compressed body).
MAX_DIFF_BYTES = 16 * 1024 * 1024
#: Redirects followed per URL, all on the URL's own origin.
MAX_REDIRECTS = 5
#: Seconds to connect, and between two chunks of a body.
FETCH_TIMEOUT_S = 30.0
#: Seconds one URL may take in all (redirects and the whole body).
FETCH_DEADLINE_S = 120.0

#: ``scheme://``: the entry is a URL (any other entry is a path).
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _named(pr_id: str, entry: str) -> str:
    return f"{pr_id}: diff {entry[:200]!r}"


def diff_source(folder: Path, pr_id: str, entry: str, *, allow_urls: bool) -> Path | httpx.URL:
    """Check one ``diff`` entry and return what to read: the resolved file, or the URL.

    Args:
        folder: the dataset's folder (the folder of its ``dataset.json``).
        pr_id: the pull request's id, for the messages.
        entry: the ``diff`` value as the dataset wrote it.
        allow_urls: whether URLs may be fetched.

    Raises:
        InputError: a URL without ``allow_urls``, or not http/https; a path that is not a
            normalized relative path, leaves the folder (also through a symbolic link), does
            not exist, or is not a regular file. Nothing is read or fetched.
    """
    if _URL.match(entry):
        try:
            url = httpx.URL(entry)
        except httpx.InvalidURL as exc:
            raise InputError(f"{pr_id}: diff URL {shown_url(entry)!r} is malformed: "
                             f"{exc}") from None
        if url.scheme not in ("http", "https"):
            raise InputError(f"{pr_id}: diff URL {shown_url(url)!r} refused: only http and "
                             "https URLs are fetched")
        if not allow_urls:
            raise InputError(f"{pr_id}: diff URL {shown_url(url)!r} not fetched: URLs in a "
                             "dataset are fetched only with --allow-urls")
        return url
    try:
        check_repo_path(entry)
    except UnsafePath as exc:
        raise InputError(f"{_named(pr_id, entry)} refused: not a path inside the dataset's "
                         f"folder ({exc.reason})") from None
    home = folder.resolve()
    target = (home / entry).resolve()
    if not target.is_relative_to(home):
        raise InputError(f"{_named(pr_id, entry)} refused: a symbolic link leads out of the "
                         f"dataset's folder {home}")
    try:
        mode = target.stat().st_mode
    except OSError as exc:
        raise InputError(f"{_named(pr_id, entry)}: cannot read {target}: "
                         f"{exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise InputError(f"{_named(pr_id, entry)} refused: {target} is not a regular file")
    return target


def read_diff(source: Path | httpx.URL, pr_id: str, *, max_bytes: int | None = None) -> str:
    """The text of a source checked by :func:`diff_source` (bytes that are not UTF-8 kept as
    :func:`~reviewgate.core.changeset.decode_diff` keeps them).

    Args:
        source: the resolved file or the URL.
        pr_id: the pull request's id, for the messages.
        max_bytes: the most bytes read, counted while reading (None: :data:`MAX_DIFF_BYTES`).

    Raises:
        InputError: the file cannot be read; the URL fails, answers an error status, redirects
            to another origin or more than :data:`MAX_REDIRECTS` times, or takes longer than
            :data:`FETCH_DEADLINE_S`; either is longer than ``max_bytes``.
    """
    max_bytes = MAX_DIFF_BYTES if max_bytes is None else max_bytes
    if isinstance(source, httpx.URL):
        return decode_diff(_fetch(source, pr_id, max_bytes))
    try:
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"{pr_id}: cannot read diff {source}: {exc.strerror}") from None
    if len(data) > max_bytes:
        raise InputError(f"{pr_id}: diff {source} refused: larger than {max_bytes:,} bytes")
    return decode_diff(data)


def _fetch(url: httpx.URL, pr_id: str, max_bytes: int) -> bytes:
    """GET ``url`` following same-origin redirects only, the body capped at ``max_bytes``."""
    first, home = url, origin(url)
    named = f"{pr_id}: diff URL {shown_url(first)}"
    deadline = time.monotonic() + FETCH_DEADLINE_S
    try:
        with httpx.Client(timeout=FETCH_TIMEOUT_S, follow_redirects=False,
                          headers={"User-Agent": "reviewgate-eval"}) as client:
            for _ in range(MAX_REDIRECTS + 1):
                if time.monotonic() > deadline:
                    break
                with client.stream("GET", url) as response:
                    if response.is_redirect:
                        try:
                            url = url.join(response.headers["location"])
                        except httpx.InvalidURL:
                            raise InputError(f"{named}: redirected to a malformed URL") from None
                        if origin(url) != home:
                            raise InputError(f"{named}: redirected to {shown_url(url)}, on "
                                             "another origin: not followed (put that URL in "
                                             "the dataset if you trust it)")
                        continue
                    if response.status_code >= 400:
                        raise InputError(f"{named}: HTTP {response.status_code}")
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise InputError(f"{named} refused: larger than {max_bytes:,} bytes "
                                         f"(Content-Length {int(declared):,})")
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > max_bytes:
                            raise InputError(f"{named} refused: larger than {max_bytes:,} "
                                             "bytes")
                        if time.monotonic() > deadline:
                            raise InputError(f"{named}: took longer than "
                                             f"{FETCH_DEADLINE_S:g} s")
                    return bytes(body)
    except httpx.HTTPError as exc:
        raise InputError(f"{named}: cannot fetch: {type(exc).__name__}: {exc}") from None
    if time.monotonic() > deadline:
        raise InputError(f"{named}: took longer than {FETCH_DEADLINE_S:g} s")
    raise InputError(f"{named}: more than {MAX_REDIRECTS} redirects")
