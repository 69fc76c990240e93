"""Model answers that echo the prompt: its fence lines and nonce never reach a comment.

The prompt fences untrusted text with ``UNTRUSTED-<nonce> BEGIN ...`` and ``UNTRUSTED-<nonce>
END`` lines (``templates/review.j2``, :mod:`reviewgate.context.prompts`). A model, the small
embedded one above all, can repeat them in its summary or a finding; posted, they would show the
run's nonce and the prompt's structure. Every text of every verdict is cleaned before anything
is rendered: a line holding the fence marker becomes ``[prompt text removed]``, and the run
records a warning per ballot. The raw answers stay as they were in ``decision.json`` (a replay
cleans them the same way). Imports: stdlib and the verdict model.
"""

from __future__ import annotations

import re

from ..core.verdict import Ballot

__all__ = ["FENCE", "REMOVED", "strip_echo"]

#: The fence marker of a prompt: ``UNTRUSTED-`` and a 16-hex-digit nonce.
FENCE = re.compile(r"UNTRUSTED-[0-9a-fA-F]{16}")
#: What a removed line becomes.
REMOVED = "[prompt text removed]"


def _clean(text: str) -> tuple[str, int]:
    if "UNTRUSTED-" not in text or not FENCE.search(text):
        return text, 0
    lines = text.split("\n")
    hit = [i for i, line in enumerate(lines) if FENCE.search(line)]
    for i in hit:
        lines[i] = REMOVED
    return "\n".join(lines), len(hit)


def strip_echo(ballots: list[Ballot]) -> list[str]:
    """Replace, in place, every line of every verdict text (summary, findings, opportunities,
    split parts, questions, carried-finding notes) that holds the prompt's fence marker.

    Returns:
        one warning per ballot that echoed the prompt (``tech-a: the answer repeated the
        prompt's fence lines (3 lines removed)``); empty when none did.
    """
    warnings = []
    for b in ballots:
        if b.verdict is None:
            continue
        v, removed = b.verdict, 0

        def clean(text: str) -> str:
            nonlocal removed
            out, n = _clean(text)
            removed += n
            return out

        v.summary = clean(v.summary)
        v.opportunities = [clean(o) for o in v.opportunities]
        v.suggested_split = [clean(x) for x in v.suggested_split]
        v.questions = [clean(q) for q in v.questions]
        for r in v.risks:
            r.title, r.location = clean(r.title), clean(r.location)
            r.detail, r.recommendation = clean(r.detail), clean(r.recommendation)
        for m in b.marks:
            m.note = clean(m.note)
        if removed:
            warnings.append(f"{b.key}: the answer repeated the prompt's fence lines "
                            f"({removed} line(s) removed)")
    return warnings
