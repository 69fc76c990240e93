"""``decision.json``: the complete, replayable record of one run.

It holds a schema version, hashes of the input and of the configuration, the resolved profile
(seat settings and the names of key variables, never their values), every ballot (raw answers,
usage, latency, error) and the decision with its reasons. ``reviewgate review --replay FILE``
reads it back. Imports: stdlib, pydantic and the leaf modules only.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from ..core.changeset import ChangeSet
from ..core.config import Profile
from ..core.changeset import matches
from ..core.coverage import FileLedger, Ledger
from ..context.packing import ContextPack, FileLine
from ..core.decision import Decision
from ..core.errors import InputError
from ..context.redaction import scrub
from ..core.verdict import Ballot
from .budget import BudgetState
from .incremental import RoundPlan

__all__ = ["SCHEMA_VERSION", "InputRecord", "PackRecord", "Record", "Usage", "load_record"]

#: Bumped when a field changes meaning or goes away.
SCHEMA_VERSION = 1


class PackRecord(BaseModel):
    """What one seat's context pack held (estimated tokens): its budget, the diff and context
    sizes, files whose diff was left out or cut, files given context (whole or excerpts) and
    files whose context did not fit."""

    budget_tokens: int = 0
    diff_tokens: int = 0
    context_tokens: int = 0
    omitted: list[str] = Field(default_factory=list)
    cut: list[str] = Field(default_factory=list)
    context_files: list[str] = Field(default_factory=list)
    whole_files: list[str] = Field(default_factory=list)
    context_left_out: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, pack: ContextPack) -> PackRecord:
        """The summary of ``pack``."""
        return cls(budget_tokens=pack.budget_tokens, diff_tokens=pack.diff_tokens,
                   context_tokens=pack.context_tokens, omitted=pack.omitted, cut=pack.cut,
                   context_files=pack.context_files, whole_files=pack.whole_files,
                   context_left_out=pack.context_left_out)


class InputRecord(BaseModel):
    """What was reviewed: source, title, SHAs, the input hash and the size of the change.

    ``omitted`` are files no seat saw; ``packs`` what each seat's pack held; ``ignored`` files
    matched the ``ignore`` globs; ``norms_files`` were read from the base branch; ``unread``
    changed files whose text could not be read for context (path -> reason). ``round`` says
    whether the round reviewed the whole pull request or the incremental diff since the previous
    round (and why), the commit range and the findings carried; in an incremental round
    ``files``, ``added``, ``removed`` and ``digest`` describe the incremental diff and
    ``changed_lines``/``changed_files`` the whole pull request (what the decision sizes).
    ``ledger`` is what each seat's pack held of each changed file
    (:mod:`reviewgate.core.coverage`; None in records written before it existed).
    """

    source: str
    title: str
    head_sha: str | None = None
    base_sha: str | None = None
    merge_base: str | None = None
    digest: str
    files: list[FileLine]
    added: int
    removed: int
    changed_lines: int
    changed_files: int
    omitted: list[str] = Field(default_factory=list)
    cut: list[str] = Field(default_factory=list)
    budget_tokens: int = 0
    diff_tokens: int = 0
    redacted: int = 0
    packs: dict[str, PackRecord] = Field(default_factory=dict)
    ignored: list[str] = Field(default_factory=list)
    norms_files: list[str] = Field(default_factory=list)
    unread: dict[str, str] = Field(default_factory=dict)
    round: RoundPlan = Field(default_factory=RoundPlan)
    ledger: Ledger | None = None

    def coverage_ledger(self, exclude: list[str]) -> Ledger:
        """The recorded ledger; for a record written before ledgers existed, one made of its
        files left out of every pack (lockfiles and generated files, ``exclude``, excepted as
        that version counted them), one line each."""
        if self.ledger is not None:
            return self.ledger
        return Ledger(files=[FileLedger(path=p, cause="not shown", lines=1)
                             for p in self.omitted if not matches(p, exclude)],
                      total=self.changed_lines)

    @classmethod
    def of(cls, change: ChangeSet, *, changed_lines: int, changed_files: int,
           omitted: list[str], cut: list[str], budget_tokens: int,
           diff_tokens: int, packs: dict[str, PackRecord] | None = None,
           plan: RoundPlan | None = None, ledger: Ledger | None = None) -> InputRecord:
        """Summarise a change set (the diff itself is not stored, only its hash)."""
        return cls(source=change.source, title=change.title, head_sha=change.head_sha,
                   base_sha=change.base_sha, merge_base=change.diff_base, digest=change.digest(),
                   files=[FileLine(path=f.path, status=f.status, added=f.added,
                                   removed=f.removed) for f in change.files],
                   added=change.added, removed=change.removed, changed_lines=changed_lines,
                   changed_files=changed_files, omitted=omitted, cut=cut,
                   budget_tokens=budget_tokens, diff_tokens=diff_tokens, packs=packs or {},
                   round=plan or RoundPlan(), ledger=ledger)


class ConfigRecord(BaseModel):
    """The profile that ran, its hash and where the configuration came from."""

    profile_name: str
    digest: str
    source: str
    profile: Profile


class Usage(BaseModel):
    """Totals paid by this run: tokens, USD, the run's wall time in seconds; ``cached_ballots``
    came from the verdict cache and cost nothing this time."""

    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    wall_s: float = 0.0
    cached_ballots: int = 0


class Record(BaseModel):
    """The whole ``decision.json``. ``warnings``: what the run corrected on its way (an answer
    that echoed the prompt's fence lines, :mod:`reviewgate.ensemble.echo`); ``budget``: the
    round's upper-bound estimate against ``[budget]`` (:mod:`reviewgate.ensemble.budget`)."""

    schema_version: int = SCHEMA_VERSION
    tool: str
    created_at: str
    replayed_from: str | None = None
    input: InputRecord
    config: ConfigRecord
    ballots: list[Ballot]
    decision: Decision
    usage: Usage
    warnings: list[str] = Field(default_factory=list)
    budget: BudgetState | None = None

    def dump(self) -> str:
        """Pretty JSON text with a trailing newline; known env secrets and secret-looking
        strings are redacted. Lone surrogates (undecodable bytes a model sent) stay as ``\\udcXX``
        escapes, so the text always encodes as UTF-8 and reads back the same."""
        text = json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
        text = scrub(text)[0]
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def load_record(path: str | Path) -> Record:
    """Read a ``decision.json``.

    Raises:
        InputError: the file is missing, not JSON, of another schema version or malformed.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not JSON: {exc}") from None
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        raise InputError(f"{path}: schema_version {version!r} is not supported "
                         f"(this reviewgate reads {SCHEMA_VERSION})")
    try:
        return Record.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{path}: not a valid decision record: {loc}: {first['msg']}") from None
