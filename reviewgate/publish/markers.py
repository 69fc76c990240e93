"""The gate's own records in its comments: one header line, one trailer line, nothing else.

DESIGN.md section 4: the gate's records (markers, round history, audit rows) "are read only from
the gate's own comments and statuses, at places its renderer owns; no text from a pull request,
a comment, a file name or a model can produce or erase them, whatever its encoding."

Every comment the gate posts has this shape, assembled by :func:`compose` after everything
else is rendered::

    <!-- reviewgate:KIND[ ARG ...] -->          line 1, the header: what the comment is
    ... rendered text, sealed ...               no marker-like text, in any encoding
    <!-- reviewgate:rounds v2 BASE64URL -->     last line, decision comment only: round history

Readers look only there (:func:`read_header`, :func:`read_trailer`), and only in comments the
gate's login wrote. The text between is *sealed* (:func:`seal`): every occurrence of
``reviewgate`` + ``:`` is defused, however it is written: HTML entities (``&#58;``,
``&colon;``, ``&amp;#58;``), backslash escapes, invisible characters between the letters,
compatibility forms (NFKC: fullwidth ``：``) and common look-alikes (Cyrillic ``е``, the ratio
sign ``∶``). The check runs on the rendered body itself, not on its inputs, so no path into
the body is trusted. The trailer's data is base64url of JSON, redacted before encoding, so it
holds no text a reader could mistake for anything else. Imports: stdlib only.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

__all__ = ["Header", "compose", "content_of", "foreign_markers", "header", "neutralize",
           "read_header", "read_trailer", "seal", "trailer"]

PREFIX = "reviewgate"
#: The longest header line read (a header is short; a longer first line is not one).
HEADER_MAX = 300
_ARG = re.compile(r"[A-Za-z0-9._\[\]-]{1,100}")
_KIND = re.compile(r"[a-z][a-z-]{0,30}(?::[A-Za-z0-9._-]{1,100})?")
_HEADER = re.compile(r"<!-- reviewgate:([a-z][a-z-]{0,30}(?::[A-Za-z0-9._-]{1,100})?)"
                     r"((?: [A-Za-z0-9._\[\]-]{1,100}){0,4}) -->")
#: Most characters a trailer may take; what is written stays under a third of it.
TRAILER_MAX = 400_000
_TRAILER = re.compile(r"<!-- reviewgate:rounds v2 ([A-Za-z0-9_-]{0,400000}={0,2}) -->")
#: The trailer of reviewgate 0.2 (JSON with ``>`` escaped), read only at the same place.
_TRAILER_V1 = re.compile(r"<!-- reviewgate:rounds (\[.{0,400000}\]) -->")
#: An entity, possibly double-escaped (``&amp;#58;``), as the forge's Markdown would decode it.
_ENTITY = re.compile(r"&(?:amp;){0,8}"
                     r"(#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")

#: Characters that read as a colon or as a letter of "reviewgate" (Unicode confusables,
#: https://www.unicode.org/Public/security/latest/confusables.txt, the ones NFKC leaves alone).
_LOOKALIKE = str.maketrans({
    "\u02d0": ":", "\u02f8": ":", "\u0589": ":", "\u05c3": ":", "\u0703": ":", "\u0704": ":",
    "\u16ec": ":", "\u1361": ":", "\u1804": ":", "\u1808": ":", "\u205a": ":", "\u2236": ":",
    "\ua789": ":", "\ufe30": ":", "\u2e2c": ":",
    "\u0435": "e", "\u0454": "e", "\u04bd": "e", "\u0451": "e", "\u03b5": "e", "\u1d07": "e",
    "\u0430": "a", "\u03b1": "a", "\u0251": "a", "\u1d00": "a",
    "\u0456": "i", "\u0457": "i", "\u03b9": "i", "\u0131": "i", "\u026a": "i", "\u1fbe": "i",
    "\u0433": "r", "\u1d26": "r", "\u0280": "r", "\u2c85": "r",
    "\u0475": "v", "\u03bd": "v", "\u1d20": "v", "\u2228": "v",
    "\u051d": "w", "\u0461": "w", "\u1d21": "w", "\u026f": "w",
    "\u0261": "g", "\u0581": "g", "\u050d": "g", "\u0262": "g",
    "\u0442": "t", "\u03c4": "t", "\u1d1b": "t",
})
_WORD = PREFIX + ":"
#: ASCII whitespace and control characters: dropped from the view, as :func:`_units` drops them.
_ASCII_DROP = dict.fromkeys([*range(0x21), 0x7F])


@dataclass(frozen=True)
class Header:
    """A parsed header line: ``kind`` (``decision``, ``seat:NAME``, ``refusal``, ``review``,
    ``review-retired``, ``override``) and its arguments (logins, SHAs)."""

    kind: str
    args: tuple[str, ...] = ()


def header(kind: str, *args: str) -> str:
    """The header line ``<!-- reviewgate:KIND ARG... -->``.

    Raises:
        ValueError: ``kind`` or an argument holds characters a header never holds (a caller
            bug: logins and SHAs are checked before they get here).
    """
    if not _KIND.fullmatch(kind) or len(args) > 4 or not all(_ARG.fullmatch(a) for a in args):
        raise ValueError(f"not a header: {kind!r} {args!r}")
    return f"<!-- {PREFIX}:{kind}{''.join(' ' + a for a in args)} -->"


def header_arg(text: str) -> str:
    """``text`` (a login) as a header argument: characters outside ``[A-Za-z0-9._[]-]`` become
    ``_``, cut to 100 characters, ``_`` when empty."""
    out = "".join(ch if _ARG.fullmatch(ch) else "_" for ch in text[:100])
    return out or "_"


def read_header(body: str | None) -> Header | None:
    """The header of a comment body (its first line), or None when the first line is not
    exactly one."""
    first = (body or "")[:HEADER_MAX + 2].split("\n", 1)[0].rstrip("\r")
    m = _HEADER.fullmatch(first)
    if m is None:
        return None
    return Header(kind=m.group(1), args=tuple(m.group(2).split()))


def trailer(records: list[dict[str, Any]]) -> str:
    """The round-history trailer line for ``records`` (JSON-able dicts, already redacted)."""
    data = json.dumps(records, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return f"<!-- {PREFIX}:rounds v2 {base64.urlsafe_b64encode(data).decode('ascii')} -->"


def read_trailer(body: str | None) -> list[dict[str, Any]] | None:
    """The round history of a comment body, read from its last line only; None when the last
    line is not a trailer or its data does not decode to a JSON list of objects."""
    text = (body or "").rstrip("\r\n")
    last = text[text.rfind("\n") + 1:].rstrip("\r")
    m = _TRAILER.fullmatch(last)
    try:
        if m is not None:
            data = json.loads(base64.urlsafe_b64decode(m.group(1).encode("ascii")))
        else:
            old = _TRAILER_V1.fullmatch(last)
            if old is None:
                return None
            data = json.loads(old.group(1))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        return None
    return data


def _units(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """The text as a forge's Markdown would show it, unit by unit: (shown characters, the
    (start, end) span of the source each came from). Entities decode, backslash escapes and
    invisible characters vanish, compatibility forms and look-alikes fold, case folds. Linear
    in ``len(text)``."""
    shown: list[str] = []
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        end = i + 1
        if ch == "&":
            m = _ENTITY.match(text, i)
            if m is not None:
                decoded = html.unescape("&" + m.group(1))
                if decoded != "&" + m.group(1):
                    ch, end = decoded, m.end()
        elif ch == "\\":
            i += 1
            continue
        for c in unicodedata.normalize("NFKC", ch).casefold().translate(_LOOKALIKE):
            if c.isspace() or unicodedata.category(c) in ("Cf", "Cc", "Mn", "Me", "Zs"):
                continue
            shown.append(c)
            spans.append((i, end))
        i = end
    return shown, spans


def foreign_markers(text: str) -> list[tuple[int, int]]:
    """The source spans (start, end) of the colon of every ``reviewgate:`` that ``text``
    shows once rendered (see :func:`_units`); empty when there is none."""
    if not text:
        return []
    if text.isascii() and "&" not in text and "\\" not in text and _WORD not in text.lower(
            ).translate(_ASCII_DROP):
        return []  # the common case, at C speed: nothing can decode or fold into the word
    shown, spans = _units(text)
    view = "".join(shown)
    hits = []
    at = view.find(_WORD)
    while at >= 0:
        hits.append(spans[at + len(_WORD) - 1])
        at = view.find(_WORD, at + len(_WORD))
    return hits


def neutralize(text: str) -> str:
    """``text`` with every marker-like ``reviewgate:`` defused: the colon (however written)
    becomes ``-``. Everything else is kept."""
    hits = foreign_markers(text)
    if not hits:
        return text
    out, last = [], 0
    for start, end in sorted(set(hits)):
        if start < last:
            continue
        out.append(text[last:start])
        out.append("-")
        last = end
    out.append(text[last:])
    return neutralize("".join(out))  # a defused colon can reveal no new one; checked anyway


def seal(text: str) -> str:
    """The rendered text of a comment (without header and trailer) made free of marker-like
    text: :func:`neutralize`, then checked again on the result."""
    out = neutralize(text)
    if foreign_markers(out):  # pragma: no cover - neutralize removes every one it finds
        raise AssertionError("a marker survived sealing")
    return out


#: Said at the end of a body cut to fit a forge's limit.
CUT_NOTE = ("\n\n> ✂️ Cut here to fit the forge's limit of {limit:,} characters per comment. "
            "The full text is in `decision.json` (`reviewgate canary --out FILE`) and in the "
            "run's step summary.")


#: Longest text of one field of a round kept in the trailer, in characters.
TRAILER_FIELD_MAX = 300


def _short(value: Any) -> Any:
    if isinstance(value, str):
        return value[:TRAILER_FIELD_MAX]
    if isinstance(value, list):
        return [_short(v) for v in value]
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    return value


#: The lists of a round's outcome ledger entry (:func:`reviewgate.publish.rounds.track_round`).
_OUTCOME_LISTS = ("n", "r", "d", "c")


def _fit_records(records: list[dict[str, Any]], room: int) -> list[dict[str, Any]]:
    """``records`` with every text cut to :data:`TRAILER_FIELD_MAX` characters, then the
    rounds' lists (findings, files not reviewed, outcome ledger entries) halved, longest first,
    until the trailer takes at most ``room`` characters; the oldest rounds go last of all. The
    rows that make the audit (head, decision, who, when, spending so far) are the last thing
    cut. Every round that lost part of a list says which in ``cut`` (``findings``,
    ``unreviewed``, ``outcome``): a round whose findings or unreviewed files were cut is not
    built upon (the next round is whole: :func:`reviewgate.gate.history.previous_from_rounds`),
    and the outcome report counts it as cut."""
    out = [_short(dict(r)) for r in records]

    def mark(i: int, what: str) -> None:
        cut = out[i].get("cut") if isinstance(out[i].get("cut"), list) else []
        out[i]["cut"] = sorted({*cut, what})

    while len(trailer(out)) > room:
        lists = [(len(r.get(k) or []), i, k, None) for i, r in enumerate(out)
                 for k in ("findings", "unreviewed") if isinstance(r.get(k), list) and r[k]]
        lists += [(len(o[k]), i, "outcome", k) for i, r in enumerate(out)
                  if isinstance(o := r.get("outcome"), dict)
                  for k in _OUTCOME_LISTS if isinstance(o.get(k), list) and o[k]]
        if lists:
            _, i, key, sub = max(lists, key=lambda item: item[:3])
            if sub is None:
                out[i][key] = out[i][key][: len(out[i][key]) // 2]
            else:
                out[i][key] = {**out[i][key], sub: out[i][key][sub][: len(out[i][key][sub]) // 2]}
            mark(i, key)
        elif len(out) > 1:
            out.pop(0)
        else:
            break
    return out


def _cut(content: str, room: int) -> str:
    """The first ``room`` characters of ``content``, ending at a line, with every
    ``<details>`` and code fence it opened closed again."""
    kept = content[:max(0, room)]
    kept = kept[: kept.rfind("\n") + 1] if "\n" in kept else ""
    fences = sum(1 for line in kept.split("\n") if line.lstrip().startswith(("```", "~~~")))
    if fences % 2:
        kept += "```\n"
    kept += "\n</details>\n" * max(0, kept.count("<details>") - kept.count("</details>"))
    return kept


def content_of(body: str) -> str:
    """What :func:`compose` was given as ``content`` for ``body``: the text between its header
    line and its trailer line (when the last line is one), a note of a cut included."""
    lines = body.rstrip("\r\n").split("\n")
    if read_trailer(body) is not None:
        lines = lines[:-1]
    return "\n".join(lines[1:]).strip("\n")


def compose(head: str, content: str, records: list[dict[str, Any]] | None = None, *,
            limit: int | None = None) -> str:
    """A whole comment body: ``head`` (from :func:`header`), the sealed ``content``, and the
    round-history trailer when ``records`` is given. The result holds exactly the gate's
    markers, where it put them, and at most ``limit`` characters (a forge's comment limit):
    a longer content is cut at a line, its open blocks closed and a note added; the trailer's
    findings are cut before its rounds.

    Raises:
        ValueError: ``head`` is not a header line.
    """
    if read_header(head) is None:
        raise ValueError(f"not a header line: {head[:80]!r}")
    content = seal(content.strip("\n"))
    if records is not None:
        records = _fit_records(records, (limit or TRAILER_MAX) // 3)
    tail = trailer(records) + "\n" if records is not None else ""
    body = head + "\n" + content + "\n" + tail
    if limit is not None and len(body) > limit:
        note = CUT_NOTE.format(limit=limit)
        room = limit - len(head) - len(tail) - len(note) - 64
        body = head + "\n" + _cut(content, room) + note + "\n" + tail
    return body
