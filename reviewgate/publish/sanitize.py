"""Model (and pull request author) text made safe to post as Markdown.

The text is parsed with a CommonMark parser (markdown-it-py, with linkify-it-py finding the bare
URLs and ``www.`` addresses that GitHub's and Forgejo's autolink extensions would link), the
tree is rewritten, and rendered back to Markdown with mdformat, which escapes every text
character that could start a construct. In the rewritten tree:

- a link (inline, reference-style, autolink or bare URL) becomes its text followed by its
  address in inline code; reference definitions are dropped (their uses are already shown);
- an image becomes the word "image", its alt text and its address in inline code;
- raw HTML (inline or block) becomes literal text or a code block;
- in text nodes, ``scheme://`` and ``www.`` addresses that linkify-it does not link (an
  unknown top-level domain) are put in inline code too, as GFM's extended autolinks would
  link them;
- ``@`` mentions get a zero-width space after the ``@`` (no notification, and no e-mail
  or XMPP autolink, whatever follows the ``@``), and so do ``#`` and ``GH-`` before a digit
  (no reference to an issue or pull request here or in another repository, no back-link).

- every text, code span and code block is passed through
  :func:`reviewgate.publish.markers.neutralize`: no ``reviewgate:`` survives, however it was
  written (entities are decoded by the parser first, so ``reviewgate&#58;`` is caught too).

The output is parsed again; should it still hold a link, an image or raw HTML, the whole text
is posted as one code span instead. Before parsing: lone surrogates become U+FFFD, zero-width
and bidi controls are removed (Unicode TR 9; CVE-2021-42574 "Trojan Source"), HTML comments are
dropped and the prompt's fence marker (``UNTRUSTED-`` + the run's nonce) is replaced.

:func:`code` builds a code span from the *raw* text (CommonMark 0.31 section 6.1: a backtick
fence longer than any run of backticks inside, no backslash escapes, since a code span shows
them literally); :func:`plain` is one line of plain text (a commit status description).
Imports: no network library.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdformat.renderer import MDRenderer

from ..core.extract import replace_surrogates
from .markers import neutralize

__all__ = ["FIELD_MAX", "code", "has_active_markup", "plain", "sanitize"]

#: Longest model-written text kept in one field of a comment, in characters.
FIELD_MAX = 2000
_PARSER = MarkdownIt("commonmark", {"linkify": True}).enable("linkify")
_RENDER_OPTIONS = {"parser_extension": [], "mdformat": {"number": False, "wrap": "keep"}}
_HTML_COMMENT = re.compile(r"<!--.*?(-->|$)", re.DOTALL)
#: The prompt's fence marker (:mod:`reviewgate.context.prompts`): ``UNTRUSTED-`` + 16 hex digits.
_FENCE = re.compile(r"UNTRUSTED-[0-9a-fA-F]{16}")
#: What a forge turns into a mention, an e-mail or XMPP link, or a reference to an issue or
#: pull request (here or in another repository: ``owner/repo#12``, ``GH-12``, ``org/repo@sha``,
#: each of which notifies or back-links elsewhere): ``@`` before anything but a blank (cmark-gfm
#: links ``a@_x.example`` too), ``#`` or ``GH-`` before a digit. A zero-width space goes after.
_MENTION = re.compile(r"@(?=\S)|#(?=[0-9])|(?<![A-Za-z0-9])GH-(?=[0-9])", re.IGNORECASE)
_ZWSP_AT = "\\g<0>\u200b"
#: In a parsed text node: a scheme or ``www.`` address (GFM "extended autolinks"). Only a
#: letter before it stops a forge (cmark-gfm reads the scheme back over letters: ``2https://``
#: is a link).
_BARE_URL = re.compile(r"((?<![A-Za-z])(?:[A-Za-z][A-Za-z0-9+.-]{1,20}://|www\.)[^\s<>`]*)",
                       re.IGNORECASE)
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
                        "\u2066-\u206f\ufeff\ufff9-\ufffb]")
#: Token types that make a rendered comment do something beyond showing text.
_ACTIVE = {"link_open", "image", "html_inline", "html_block"}


def _text(content: str) -> Token:
    return Token("text", "", 0, content=neutralize(content))


def _code(content: str) -> Token:
    """An inline code token of ``content`` (blanks folded, markers neutralized); a span with
    nothing left is a space of text: an empty code span renders as a bare run of two backticks,
    which a later field's backticks on the same line would close (the text between becoming
    code, and the code after it live Markdown)."""
    folded = neutralize(" ".join(content.split()))
    if not folded:
        return _text(" " if content else "")
    return Token("code_inline", "code", 0, markup="`", content=folded)


def _inline(children: list[Token]) -> list[Token]:
    """Inline tokens with links, images, HTML and mentions neutralized."""
    out: list[Token] = []
    i = 0
    while i < len(children):
        tok = children[i]
        if tok.type == "link_open":
            href = str(tok.attrs.get("href") or "")
            j = i + 1
            while j < len(children) and children[j].type != "link_close":
                j += 1
            inner = _inline(children[i + 1:j])
            label = "".join(c.content for c in inner if c.type in ("text", "code_inline"))
            if tok.markup in ("autolink", "linkify") or label.replace("\u200b", "") == href:
                out.append(_code(label.replace("\u200b", "") or href))
            else:
                out.extend(inner)
                if href:
                    out += [_text(" ("), _code(href), _text(")")]
            i = j + 1
            continue
        if tok.type == "image":
            alt = "".join(c.content for c in tok.children or []) or tok.content
            src = str(tok.attrs.get("src") or "")
            out.append(_text(("image " + _MENTION.sub(_ZWSP_AT, alt)).rstrip()))
            if src:
                out += [_text(" ("), _code(src), _text(")")]
        elif tok.type == "html_inline":
            out.append(_text(tok.content))
        elif tok.type == "code_inline":
            out.append(_code(tok.content))
        elif tok.type == "text":
            # addresses linkify-it leaves alone (a TLD it does not know) that a forge's
            # autolink extension would still link: shown as code as well
            for k, part in enumerate(_BARE_URL.split(tok.content)):
                if k % 2:
                    out.append(_code(part))
                elif part:
                    out.append(_text(_MENTION.sub(_ZWSP_AT, part)))
        else:
            out.append(tok)
        i += 1
    return out


def _blocks(tokens: list[Token]) -> list[Token]:
    out = []
    for tok in tokens:
        if tok.type == "inline":
            tok.children = _inline(tok.children or [])
        elif tok.type == "html_block":
            content = tok.content if tok.content.endswith("\n") else tok.content + "\n"
            tok = Token("code_block", "code", 0, content=neutralize(content), block=True)
        elif tok.type in ("code_block", "fence"):
            tok.content = neutralize(tok.content)
            tok.info = neutralize(tok.info)
        out.append(tok)
    return out


def _cell(tokens: list[Token]) -> list[Token]:
    """One paragraph holding every block's inline content (code blocks as inline code), for a
    table cell: no line break can turn escaped text back into a construct."""
    children: list[Token] = []
    for tok in tokens:
        if tok.type == "inline":
            part = [(_text(" ") if c.type in ("softbreak", "hardbreak") else c)
                    for c in tok.children or []]
        elif tok.type in ("code_block", "fence") and tok.content.strip():
            part = [_code(tok.content)]
        else:
            continue
        if children and part:
            children.append(_text(" "))
        children.extend(part)
    inline = Token("inline", "", 0, children=children, content="")
    return [Token("paragraph_open", "p", 1, block=True), inline,
            Token("paragraph_close", "p", -1, block=True)]


def has_active_markup(markdown: str) -> bool:
    """True when ``markdown`` renders a link, an image or raw HTML (CommonMark, plus bare URLs
    as the forges' autolink extensions link them)."""
    for tok in _PARSER.parse(markdown):
        if tok.type in _ACTIVE or any(c.type in _ACTIVE for c in tok.children or []):
            return True
    return False


def _prepare(text: str | None) -> str:
    """Surrogates replaced, invisible characters and HTML comments dropped, the prompt's fence
    marker replaced."""
    text = replace_surrogates(text or "")
    text = _INVISIBLE.sub("", text)
    text = _HTML_COMMENT.sub("", text)
    return _FENCE.sub("[prompt fence]", text)


def code(text: str | None, *, cell: bool = False, limit: int = 300) -> str:
    """``text`` as one inline code span built from the raw text (a path, a location, an
    address): one line, no backslash escapes (a code span would show them), a backtick fence
    one longer than the longest run of backticks inside (CommonMark 0.31, section 6.1), markers
    neutralized. ``cell``: ``|`` escaped as ``\\|`` for a GFM table cell (the table parser
    removes that escape, even in a code span). Empty text gives an empty string.

    Args:
        text: any text (None is empty).
        cell: the span goes in a table cell.
        limit: characters kept; longer text is cut and ends with "…".
    """
    text = neutralize(" ".join(_prepare(text).split()))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    if not text:
        return ""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    out = f"{fence}{pad}{text}{pad}{fence}"
    return out.replace("|", "\\|") if cell else out


def plain(text: str | None, *, limit: int = 140) -> str:
    """``text`` as one line of plain text (a commit status description, which no forge renders
    as Markdown): whitespace folded, invisible characters dropped, ``@`` mentions defused (a
    zero-width space after the ``@``), markers neutralized, cut to ``limit`` characters."""
    text = _MENTION.sub(_ZWSP_AT, neutralize(" ".join(_prepare(text).split())))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sanitize(text: str | None, *, cell: bool = False, limit: int = FIELD_MAX) -> str:
    """Make model or pull request author text safe to post in Markdown (module docstring).

    Args:
        text: any text (None is empty).
        cell: fold to one line and escape ``|`` for a Markdown table cell.
        limit: characters of ``text`` kept; longer text is cut and ends with "…".

    Returns:
        Markdown with no working link, image, raw HTML, mention or hidden marker. Never raises.
    """
    text = _prepare(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    env: dict = {}
    tokens = _blocks(_PARSER.parse(text, env))
    if cell:
        tokens = _cell(tokens)
    out = MDRenderer().render(tokens, _RENDER_OPTIONS, {}).strip()
    if cell:
        out = " ".join(out.split())
    if has_active_markup(out):  # a backstop: never expected, always safe
        return code(text, cell=cell, limit=limit)
    if cell:
        out = out.replace("|", "\\|")
    return neutralize(out)
