"""The context pack: what every reviewer sees, cut to a token budget.

Token counts are estimates: :data:`CHARS_PER_TOKEN` characters per token (code and English through
common BPE tokenizers average 3.5-4 characters per token; the lower figure errs toward fitting).
Whole files are kept in diff order while they fit; the first file that does not fit is cut at a
hunk boundary; every file left out or cut is listed so the reviewers know what they did not see.
Lockfiles and generated files (the policy's ``size_exclude``) go last. No network imports.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from .changeset import ChangeSet, FileChange, matches

__all__ = ["CHARS_PER_TOKEN", "ContextPack", "build_context", "estimate_tokens", "safe_path"]

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
    capped). ``files`` is the changed-files list as shown (cut to its share of the budget;
    ``unlisted`` more files were not listed). ``diff_tokens`` is the estimate for ``diff``;
    ``budget_tokens`` the budget it had.
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


def _cut_file(f: FileChange, budget_chars: int) -> str:
    """The file's diff header plus as many whole hunks as fit in ``budget_chars``."""
    text = f.text
    first = text.find("\n@@")
    head = text[: first + 1] if first != -1 else text
    out = head
    for hunk in f.hunks:
        block = (f"@@ -{hunk.old_start},{hunk.old_len} +{hunk.new_start},{hunk.new_len} @@"
                 f"{(' ' + hunk.header) if hunk.header else ''}\n" + "\n".join(hunk.lines) + "\n")
        if len(out) + len(block) > budget_chars:
            break
        out += block
    return out if len(out) > len(head) else ""


def build_context(change: ChangeSet, *, budget_tokens: int, exclude: list[str],
                  norms: str = "") -> ContextPack:
    """Build the context pack for ``change`` with at most ``budget_tokens`` of diff.

    Args:
        change: the parsed change.
        budget_tokens: estimated tokens allowed for the diff text.
        exclude: globs of lockfiles/generated files, reviewed last.
        norms: repository review norms (free text), passed through.
    """
    total_chars = int(budget_tokens * CHARS_PER_TOKEN)
    listed, list_chars = _listed(change.files, int(total_chars * FILE_LIST_SHARE))
    budget_chars = max(0, total_chars - list_chars)
    ordered = sorted(change.files, key=lambda f: matches(f.path, exclude))
    parts: list[str] = []
    used = 0
    omitted: list[str] = []
    cut: list[str] = []
    if not change.files and change.diff:
        parts.append(change.diff[:budget_chars])
        used = len(parts[0])
    for f in ordered:
        if used + len(f.text) <= budget_chars:
            parts.append(f.text)
            used += len(f.text)
            continue
        partial = _cut_file(f, budget_chars - used) if not omitted else ""
        if partial:
            parts.append(partial)
            used += len(partial)
            cut.append(f.path)
        else:
            omitted.append(f.path)
    diff = "".join(parts)
    shown = max(len(listed), 20)
    body = change.body
    if len(body) > MAX_BODY_CHARS:
        body = body[:MAX_BODY_CHARS] + "\n[... description cut ...]"
    return ContextPack(
        title=change.title, body=body, files=listed, unlisted=len(change.files) - len(listed),
        diff=diff, omitted=omitted, cut=cut, added=change.added, removed=change.removed,
        norms=norms, diff_tokens=estimate_tokens(diff), budget_tokens=budget_tokens,
        omitted_shown=[safe_path(p) for p in omitted[:shown]],
        cut_shown=[safe_path(p) for p in cut[:shown]])


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
