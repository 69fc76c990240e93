"""The context pack: what every reviewer sees, cut to a token budget.

Token counts are estimates: :data:`CHARS_PER_TOKEN` characters per token (code and English through
common BPE tokenizers average 3.5-4 characters per token; the lower figure errs toward fitting).
Files go in priority order (:func:`reviewgate.context.excerpts.priority`: source, tests, docs,
the rest;
lockfiles and generated files, the policy's ``size_exclude``, last). Each file's diff is kept
whole while it fits; the first file that does not fit is cut at a hunk boundary; every file left
out or cut is listed so the reviewers know what they did not see.

What the diff leaves of the budget goes to repository context read at the head SHA (``sources``):
first the enclosing function or class around each hunk of each shown file, in the same order,
then whole files where they fit (replacing their excerpts). Files whose context did not fit are
listed too. Lockfiles and generated files never get context. No network imports.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from ..core.changeset import ChangeSet, FileChange, file_keys, matches, visible_breaks
from .excerpts import excerpt, priority, render_numbered

__all__ = ["CHARS_PER_TOKEN", "CarriedShown", "ContextPack", "PathInstructionShown", "Section",
           "build_context",
           "description_sections", "estimate_tokens", "safe_path"]

#: Characters per token used for every budget estimate.
CHARS_PER_TOKEN = 3.5
#: The body (pull-request description) is cut to this many characters.
MAX_BODY_CHARS = 6000
#: Share of the budget the changed-files list (and the lists of files not shown) may take; the
#: rest is diff text, so a pull request of 20,000 files still shows diff.
FILE_LIST_SHARE = 0.2
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def safe_path(path: str) -> str:
    """A file name as shown to reviewers: control characters, newlines and line separators
    escaped (``\\n``, ``\\x1b``), so a name cannot open a line of its own in the prompt."""
    return _CONTROL.sub(lambda m: repr(m.group(0))[1:-1], path)


def estimate_tokens(text: str) -> int:
    """Estimated token count of ``text`` (characters / :data:`CHARS_PER_TOKEN`, rounded up)."""
    return int(len(text) / CHARS_PER_TOKEN) + 1


class PathInstructionShown(BaseModel):
    """A ``[[path_instructions]]`` entry that matches changed files: its glob, its text and the
    changed files it applies to."""

    path: str
    instructions: str
    files: list[str]


class Section(BaseModel):
    """One headed section of the pull-request description (``## Out of scope``): the author's
    text, shown to reviewers as such."""

    title: str
    text: str


class CarriedShown(BaseModel):
    """A finding of the previous round as shown to the reviewers of an incremental round
    (model text: fenced as untrusted in the prompt); ``id`` is ``C1``.."""

    id: str
    severity: str
    title: str
    location: str
    detail: str


class FileLine(BaseModel):
    """One row of the changed-files list."""

    path: str
    status: str
    added: int
    removed: int


class ContextPack(BaseModel):
    """Pull-request text, budgeted diff and norms.

    ``omitted`` lists files left out of ``diff`` entirely; ``cut`` lists files whose diff was
    shortened (``omitted_shown``/``cut_shown``: the names as shown to reviewers, escaped and
    capped); ``shown`` gives, per file key (:func:`reviewgate.core.changeset.file_keys`), how
    many of its hunks (a prefix) ``diff`` holds, 1 for a shown file without hunks (a rename,
    a mode change: its header), which is what :mod:`reviewgate.core.coverage` counts.
    ``files`` is the changed-files list as shown (cut to its share of the budget;
    ``unlisted`` more files were not listed).
    ``diff_tokens`` is the estimate for ``diff``; ``budget_tokens`` the budget it had. In an
    incremental round ``increment`` is the commit range the diff covers
    (``abc1234..def5678``), ``files``/``added``/``removed`` still describe the whole pull
    request, and ``carried`` holds the previous round's open findings to judge.
    """

    title: str
    body: str
    files: list[FileLine]
    diff: str
    omitted: list[str] = Field(default_factory=list)
    cut: list[str] = Field(default_factory=list)
    added: int = 0
    removed: int = 0
    norms: str = ""
    diff_tokens: int = 0
    budget_tokens: int = 0
    unlisted: int = 0
    omitted_shown: list[str] = Field(default_factory=list)
    cut_shown: list[str] = Field(default_factory=list)
    context: str = ""
    context_files: list[str] = Field(default_factory=list)
    whole_files: list[str] = Field(default_factory=list)
    context_left_out: list[str] = Field(default_factory=list)
    context_tokens: int = 0
    instructions: list[PathInstructionShown] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    ignored: list[str] = Field(default_factory=list)
    increment: str = ""
    increment_files: int = 0
    carried: list[CarriedShown] = Field(default_factory=list)
    shown: dict[str, int] = Field(default_factory=dict)


def _cut_file(f: FileChange, budget_chars: int) -> tuple[str, int]:
    """The file's diff header plus as many whole hunks as fit in ``budget_chars``, and how
    many hunks that is (``("", 0)`` when not even the first fits)."""
    text = f.text
    first = text.find("\n@@")
    head = visible_breaks(text[: first + 1] if first != -1 else text)
    parts, used, kept = [head], len(head), 0
    for hunk in f.hunks:
        block = visible_breaks(
            f"@@ -{hunk.old_start},{hunk.old_len} +{hunk.new_start},{hunk.new_len} @@"
            f"{(' ' + hunk.header) if hunk.header else ''}\n" + "\n".join(hunk.lines) + "\n")
        if used + len(block) > budget_chars:
            break
        parts.append(block)
        used += len(block)
        kept += 1
    return ("".join(parts), kept) if kept else ("", 0)


def build_context(change: ChangeSet, *, budget_tokens: int, exclude: list[str],
                  norms: str = "", sources: dict[str, str] | None = None, around: int = 20,
                  whole_files: bool = True, context_max_tokens: int | None = None,
                  instructions: list[PathInstructionShown] | None = None,
                  ignored: list[str] | None = None,
                  unread: list[str] | None = None,
                  listing: list[FileChange] | None = None, increment: str = "",
                  carried: list[CarriedShown] | None = None) -> ContextPack:
    """Build the context pack for ``change`` with at most ``budget_tokens`` of diff and
    repository context.

    Args:
        change: the parsed change.
        budget_tokens: estimated tokens allowed for the diff text plus the context.
        exclude: globs of lockfiles/generated files: reviewed last, never given context.
        norms: repository review norms (trusted text read from the base branch), passed through.
        sources: path -> post-change file text (read at the head SHA); None: no context.
        around: lines each side of a hunk when no enclosing definition is found.
        whole_files: give whole files when the budget allows.
        context_max_tokens: at most this many tokens of context, whatever the budget left.
        instructions: the path instructions that apply, passed through.
        ignored: files left out by the ``ignore`` globs, passed through for the listing.
        unread: changed files whose text could not be read: listed with the files whose
            context did not fit (unless their diff was left out anyway).
        listing: the files to list as the pull request's (an incremental round lists the whole
            pull request's files while ``change`` is the incremental diff); None: ``change``'s.
        increment: the commit range of an incremental diff (``abc1234..def5678``).
        carried: the previous round's open findings, shown for judgement.
    """
    total_chars = int(budget_tokens * CHARS_PER_TOKEN)
    everything = change.files if listing is None else listing
    listed, list_chars = _listed(everything, int(total_chars * FILE_LIST_SHARE))
    budget_chars = max(0, total_chars - list_chars)
    keys = dict(zip(map(id, change.files), file_keys(change.files), strict=True))
    ordered = sorted(change.files, key=lambda f: (matches(f.path, exclude), priority(f.path)))
    parts: list[str] = []
    used = 0
    omitted: list[str] = []
    cut: list[str] = []
    held: dict[str, int] = {}  # file key -> hunks of it in the pack (a prefix; 1: a header)
    cut_off = False  # once one file is left out for the budget, later ones are not cut in
    if not change.files and change.diff:
        parts.append(change.diff[:budget_chars])
        used = len(parts[0])
    for f in ordered:
        key = keys[id(f)]
        if f.unreadable:  # binary or patch left out: no text a reviewer could see
            omitted.append(f.path)
            held[key] = 0
            continue
        text = visible_breaks(f.text)
        if used + len(text) <= budget_chars:
            parts.append(text)
            used += len(text)
            held[key] = max(1, len(f.hunks))  # a rename or mode change: its header
            continue
        partial, kept = _cut_file(f, budget_chars - used) if not cut_off else ("", 0)
        held[key] = kept
        if partial:
            parts.append(partial)
            used += len(partial)
            cut.append(f.path)
        else:
            omitted.append(f.path)
            cut_off = True
    diff = "".join(parts)
    left_out = set(omitted)
    context = _pack_context([f for f in ordered if f.path not in left_out
                             and not matches(f.path, exclude)], sources or {},
                            _context_chars(budget_chars - used, context_max_tokens),
                            around=around, whole_files=whole_files)
    shown = max(len(listed), 20)
    body = change.body
    if len(body) > MAX_BODY_CHARS:
        body = body[:MAX_BODY_CHARS] + "\n[... description cut ...]"
    return ContextPack(
        title=change.title, body=body, files=listed, unlisted=len(everything) - len(listed),
        diff=diff, omitted=omitted, cut=cut, added=sum(f.added for f in everything),
        removed=sum(f.removed for f in everything),
        norms=norms, diff_tokens=estimate_tokens(diff), budget_tokens=budget_tokens,
        omitted_shown=[safe_path(p) for p in omitted[:shown]],
        cut_shown=[safe_path(p) for p in cut[:shown]], context=context.text,
        context_files=context.files, whole_files=context.whole,
        context_left_out=context.left_out + [p for p in unread or [] if p not in left_out],
        context_tokens=estimate_tokens(context.text) if context.text else 0,
        instructions=instructions or [], sections=description_sections(body),
        ignored=ignored or [], increment=increment,
        increment_files=len(change.files) if increment else 0, carried=carried or [],
        shown=held)


def _context_chars(left: int, max_tokens: int | None) -> int:
    return left if max_tokens is None else min(left, int(max_tokens * CHARS_PER_TOKEN))


class _Packed(BaseModel):
    text: str = ""
    files: list[str] = Field(default_factory=list)
    whole: list[str] = Field(default_factory=list)
    left_out: list[str] = Field(default_factory=list)


def _pack_context(files: list[FileChange], sources: dict[str, str], budget_chars: int, *,
                  around: int, whole_files: bool) -> _Packed:
    """Excerpts first (priority order), then whole files where they fit in what is left."""
    candidates = [f for f in files if f.path in sources and f.status != "deleted" and f.hunks]
    blocks: dict[str, str] = {}
    used = 0
    left_out: list[str] = []
    for f in candidates:
        ranges = excerpt(f, sources[f.path], around=around)
        if not ranges:
            continue
        block = f"--- {safe_path(f.path)} (around the hunks)\n" + render_numbered(
            f, sources[f.path], ranges)
        if used + len(block) <= budget_chars:
            blocks[f.path] = block
            used += len(block)
        else:
            left_out.append(f.path)
    whole: list[str] = []
    if whole_files:
        for f in candidates:
            if f.path not in blocks:
                continue
            block = f"--- {safe_path(f.path)} (whole file)\n" + render_numbered(
                f, sources[f.path], None)
            extra = len(block) - len(blocks[f.path])
            if used + extra <= budget_chars:
                blocks[f.path] = block
                used += extra
                whole.append(f.path)
    return _Packed(text=visible_breaks("".join(blocks[f.path] for f in candidates
                                               if f.path in blocks)),
                   files=[f.path for f in candidates if f.path in blocks], whole=whole,
                   left_out=left_out)


def _heading(line: str) -> str | None:
    """The title of a heading line (``## Title ##``: 1 to 6 ``#``, a blank, the title, closing
    ``#`` and blanks dropped; or a line that is only ``**Title**``, maybe with a colon), ``""``
    for a heading with no title, None for any other line. Read once from each end: the pattern
    it replaces (``#{1,6}[ \\t]+(.*?)[ \\t#]*[ \\t]*$``) backtracked cubically on ``# x`` +
    4,000 blanks + ``y``."""
    if line.startswith("**"):
        close = line.find("*", 2)
        rest = line[close + 2:] if close >= 0 else ""
        if not 3 <= close <= 82 or not line.startswith("**", close):
            return None
        rest = rest[1:] if rest.startswith(":") else rest
        return line[2:close] if not rest.strip(" \t") else None
    hashes = len(line) - len(line.lstrip("#"))
    blanks = len(line) - hashes - len(line[hashes:].lstrip(" \t"))
    if not 1 <= hashes <= 6 or not blanks:
        return None
    title = line[hashes + blanks:]
    if title[:1] not in ("", "#"):
        return title.rstrip(" \t#")
    # the title may not start with "#": it starts with the last blank, if one can be spared
    return " " + title.rstrip(" \t#") if blanks >= 2 else None


def _headings(body: str) -> list[tuple[int, int, str]]:
    """(line start, line end, title) of each heading line of ``body`` (lines end with LF)."""
    out: list[tuple[int, int, str]] = []
    start = 0
    while start <= len(body):
        end = body.find("\n", start)
        end = len(body) if end < 0 else end
        if body.startswith(("#", "**"), start):
            title = _heading(body[start:end])
            if title is not None:
                out.append((start, end, title))
        start = end + 1
    return out


def description_sections(body: str) -> list[Section]:
    """The headed sections of a pull-request description (Markdown ``#`` headings, or a line
    that is only ``**bold**``), in order; text before the first heading is a section with an
    empty title. Empty when the description has no headings. Time is linear in ``len(body)``."""
    heads = _headings(body)
    if not heads:
        return []
    first = heads[0][0]
    out = [Section(title="", text=body[:first].strip())] if body[:first].strip() else []
    for n, (_, line_end, title) in enumerate(heads):
        end = heads[n + 1][0] if n + 1 < len(heads) else len(body)
        text = body[line_end:end].strip()
        title = title.strip().rstrip(":")
        if title and text:
            out.append(Section(title=title[:80], text=text))
    return out


def _listed(files: list[FileChange], budget_chars: int) -> tuple[list[FileLine], int]:
    """The first files whose list rows fit ``budget_chars`` (at least 20 when there are), and
    the characters the rows take (counted twice: the omitted list may repeat them)."""
    rows: list[FileLine] = []
    used = 0
    for f in files:
        cost = 2 * (len(f.path) + 40)
        if used + cost > budget_chars and len(rows) >= 20:
            break
        rows.append(FileLine(path=safe_path(f.path), status=f.status, added=f.added,
                             removed=f.removed))
        used += cost
    return rows, used
