"""Review-quality datasets: pull requests with golden comments and other reviewers' findings.

The format (``dataset.json``; README, "Measuring review quality")::

    {"name", "source", "judge",
     "prs": [{"id", "title", "url",
              "golden": [{"id", "comment", "severity", "path"?, "line"?, "side"?, "commit"?}],
              "recorded": {REVIEWER: [{"text", "path", "line", "golden"}]},
              "diff"?, "body"?, "expect"?, "pr"?, "commit"?}],
     "build"?: {...}}

``recorded`` are findings another reviewer produced, each labelled with the id of the golden
comment a judge matched it to (or null). ``diff`` is a path inside the dataset's folder, or an
http(s) URL fetched only when asked (:mod:`reviewgate.quality.sources` checks and reads it);
``expect`` is ``merge`` for a clean pull request. A golden comment taken from a review
(``reviewgate dataset build``, :mod:`reviewgate.quality.harvest`) keeps where it was written:
``path``, ``line`` on ``side`` (``RIGHT`` the new file, ``LEFT`` the old) of the diff from the
merge base to ``commit``; an entry keeps its pull request's number (``pr``: several entries of
one pull request are one pull request in the per-pull-request figures) and the ``commit`` its
diff ends at; ``build`` is what the builder read and left out. Imports: stdlib and pydantic
only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..core.errors import InputError

__all__ = ["Dataset", "EvalPR", "Golden", "RecordedFinding", "load_dataset"]


class Golden(BaseModel):
    """A real issue of the pull request, as a human reviewer wrote it; where it was written
    when known (``path``, ``line`` on ``side`` of the diff ending at ``commit``)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    comment: str
    severity: str = "medium"
    path: str | None = None
    line: int | None = None
    side: Literal["RIGHT", "LEFT"] | None = None
    commit: str | None = None

    @property
    def location(self) -> str:
        """``path:line``, ``path`` or empty."""
        if not self.path:
            return ""
        return f"{self.path}:{self.line}" if self.line is not None else self.path


class RecordedFinding(BaseModel):
    """One finding another reviewer produced; ``golden`` is the golden id a judge matched it to."""

    model_config = ConfigDict(extra="ignore")

    text: str
    path: str | None = None
    line: int | None = None
    golden: str | None = None

    @property
    def location(self) -> str:
        """``path:line``, ``path`` or empty."""
        if not self.path:
            return ""
        return f"{self.path}:{self.line}" if self.line is not None else self.path


class EvalPR(BaseModel):
    """One pull request of the dataset."""

    model_config = ConfigDict(extra="ignore")

    id: str
    title: str = ""
    url: str = ""
    golden: list[Golden] = Field(default_factory=list)
    recorded: dict[str, list[RecordedFinding]] = Field(default_factory=dict)
    diff: str | None = None
    body: str | None = None
    expect: Literal["merge"] | None = None
    pr: int | None = None
    commit: str | None = None

    @property
    def pull(self) -> str:
        """The pull request this entry belongs to: its number, else the entry's own id."""
        return f"#{self.pr}" if self.pr is not None else self.id


class Dataset(BaseModel):
    """A whole dataset; ``path`` is where it was read from (relative ``diff`` paths start there)."""

    model_config = ConfigDict(extra="ignore")

    name: str = ""
    source: str = ""
    judge: str = ""
    prs: list[EvalPR]
    build: dict[str, Any] = Field(default_factory=dict)
    path: Path | None = None

    @property
    def reviewers(self) -> list[str]:
        """Every reviewer with recorded findings on some pull request, sorted."""
        return sorted({r for pr in self.prs for r in pr.recorded})


def load_dataset(path: str | Path) -> Dataset:
    """Read and validate a ``dataset.json`` (a directory means its ``dataset.json``).

    Raises:
        InputError: the file is missing, not JSON, or not in the format above (the message
            names the first bad field).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "dataset.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read dataset {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"dataset {path} is not JSON: {exc}") from None
    try:
        dataset = Dataset.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InputError(f"dataset {path}: {loc}: {first['msg']}") from None
    dataset.path = path
    return dataset
