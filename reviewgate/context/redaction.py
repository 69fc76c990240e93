"""Secret-looking strings in a change are redacted before anything reaches a model or a comment.

Recognised (each replaced by ``[REDACTED:<kind>]``, the text around it kept):

* key formats with a fixed prefix: AWS access key ids (``AKIA``/``ASIA``), GitHub tokens
  (``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``, ``github_pat_``), GitLab (``glpat-``), Slack
  (``xox?-``), OpenAI/Anthropic (``sk-``, ``sk-ant-``), Google API keys (``AIza``), Stripe
  (``sk_live_``/``rk_test_`` ...), JSON Web Tokens (``eyJ...``);
* PEM private key blocks (``-----BEGIN ... PRIVATE KEY-----``): every key line, the line
  structure kept so a unified diff still parses, whatever the line ends (LF, CRLF), and when the
  key is written on one line with ``\n`` escapes;
* key material without its ``BEGIN`` line (a hunk that shows only the middle of a key, a key
  split across quoted strings): runs of at least 40 base64 characters that mix upper and lower
  case and digits with at least 4.5 bits of Shannon entropy per character (random base64 has
  about 5.2; identifiers, paths and hex digests stay below or lack a class);
* passwords in URLs (``scheme://user:password@host``, the userinfo read with
  :func:`urllib.parse.urlsplit`);
* ``Authorization``/``Proxy-Authorization`` values and ``Bearer``/``Basic``/``token`` credentials
  (RFC 9110 section 11.6.2 "Authorization");
* literal values assigned to names like ``*_SECRET``, ``*_TOKEN``, ``*PASSWORD*``,
  ``*_API_KEY`` (:mod:`reviewgate.context.assigned_values`): a quoted string whose content looks
  secret, or a bare token that looks like a key (``.env``, YAML, INI); never code such as
  ``password=self.cert[2]``, ``TOKEN = get_token()`` or ``settings.SECRET_KEY``.

The count of redactions is reported, never what was redacted. Imports: stdlib and the core.

Why our own patterns and not detect-secrets: the gate must redact *in place* (the diff keeps
its lines so it still parses, the text around a secret stays readable), on every text that
leaves the machine, and fast on a 500,000-line diff (``bench/bench_redaction.py``);
detect-secrets reports findings per line (with hashed values) for a scanner, not a rewrite.
Every pattern is checked only when a cheap literal or character-class search finds a candidate.

Time is linear in the length of the text, whatever the author writes (DESIGN.md section 9): no
pattern has nested or overlapping quantifiers, the runs after a prefix are possessive, and where a
search from every start position would read a long run again (``eyJ-eyJ-...``, ``a://u:p@`` x
100,000, a keyword repeated in one identifier), a scan reads each run once.
``tests/test_linear_time.py`` checks that 1 MB takes at most 15 times as long as 100 KB (linear:
about 10; quadratic: about 100); ``bench/bench_linear.py`` times the adversarial lines.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..core.errors import keep_markup, redact_counted
from .assigned_values import ascii_lower, assigned_edits, entropy, find_all

__all__ = ["redact_secrets", "scrub"]

#: Where a key starts and ends: not inside a run of letters and digits. Not ``\b``: an
#: underscore is a word character, so ``ghp_...`` written as ``x_ghp_...`` or ``ghp_..._x``
#: has no word boundary there and slipped past.
_B = r"(?<![A-Za-z0-9])"
_E = r"(?![A-Za-z0-9])"
# (kind, literal parts one of which any match holds, pattern): the literals are checked first,
# with plain substring search, so text without them costs no regex pass.
_PATTERNS: list[tuple[str, tuple[str, ...], re.Pattern[str]]] = [
    ("aws", ("AKIA", "ASIA"), re.compile(_B + r"(?:AKIA|ASIA)[0-9A-Z]{16}" + _E)),
    ("github", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
     re.compile(_B + r"gh[pousr]_[A-Za-z0-9]{30,}" + _E + "|"
                + _B + r"github_pat_[A-Za-z0-9_]{22,}" + _E)),
    ("gitlab", ("glpat-",), re.compile(_B + r"glpat-[A-Za-z0-9_-]{20,}" + _E)),
    ("slack", ("xox",), re.compile(_B + r"xox[abposr]-[A-Za-z0-9-]{10,}" + _E)),
    ("api-key", ("sk-",),
     re.compile(_B + r"sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}" + _E)),
    ("google", ("AIza",), re.compile(_B + r"AIza[0-9A-Za-z_-]{35}" + _E)),
    ("stripe", ("k_live_", "k_test_"),
     re.compile(_B + r"[rs]k_(?:live|test)_[0-9A-Za-z]{16,}" + _E)),
]
#: The longest token of each fixed-prefix format that real issuers hand out (GitHub 40, and 93
#: for fine-grained tokens; GitLab 26; Slack about 80; OpenAI ``sk-proj-`` about 170, Anthropic
#: 108; Google 39; Stripe 107): a longer match is no key of that format, and may be a payload
#: in its clothes, so it is redacted as ``opaque`` (and counts as not reviewed).
_MAX_TOKEN = {"aws": 20, "github": 100, "gitlab": 64, "slack": 128, "api-key": 220,
              "google": 39, "stripe": 128}


def _replacement(kind: str):
    limit = _MAX_TOKEN.get(kind, 10**9)

    def replace(m: re.Match[str]) -> str:
        return keep_markup(m.group(0),
                           f"[REDACTED:{kind if len(m.group(0)) <= limit else 'opaque'}]")
    return replace


#: One segment of a JSON Web Token (base64url); possessive: never gives characters back.
_JWT_SEGMENT = re.compile(r"[A-Za-z0-9_-]*+")
_PEM_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
#: Base64 runs inside a key body (8+ characters: one chunk between ``\n`` escapes).
_KEY_CHUNK = re.compile(r"(?<!\\)[A-Za-z0-9+/]{8,}={0,2}")
#: Header lines inside a key block (RFC 1421 ``Proc-Type``, ``DEK-Info``; RFC 4880 armor headers).
_PEM_HEADER = re.compile(r"^\s*[\"']?(Proc-Type|DEK-Info|Comment|Version|Hash|Charset):",
                         re.IGNORECASE)
#: Candidate URLs with a userinfo part; :func:`urllib.parse.urlsplit` decides.
#: The candidate ends with the host (the netloc :func:`~urllib.parse.urlsplit` reads): a tail up
#: to the end of the line would be read again from every ``://`` in it.
_URL_USERINFO = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s/@'\"`<>]++@[^\s/?#'\"`<>]*+")
_AUTH = re.compile(r"(?i)(bearer|basic|token|digest)([ \t]++)([A-Za-z0-9._~+/-]{12,}+=*+)")
_AUTH_LITERALS = ("bearer ", "basic ", "token ", "digest ")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{1,20}$")
#: Maps the base64 alphabet to "a": a run of 40 is then a plain substring search (C speed).
_B64_TABLE = str.maketrans({c: "a" for c in
                            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"})
_NOT_A = re.compile(r"[^a]|$")


def _base64_runs(text: str):
    """(start, end) of every run of at least 40 base64 characters (``=`` padding included)."""
    mapped = text.translate(_B64_TABLE)
    needle = "a" * 40
    pos = mapped.find(needle)
    while pos >= 0:
        end = _NOT_A.search(mapped, pos).start()  # type: ignore[union-attr]
        padded = end
        while padded < len(text) and text[padded] == "=" and padded - end < 2:
            padded += 1
        yield pos, padded
        pos = mapped.find(needle, end)


_MARKER = re.compile(r"\[REDACTED:[a-z-]+\]")


def _apply(text: str, edits: list[tuple[int, int, str]]) -> tuple[str, int]:
    """``text`` with each (start, end, replacement) applied (sorted, non-overlapping); the
    list is emptied. A replacement that is one ``[REDACTED:kind]`` marker keeps the Markdown
    characters of what it replaces (:func:`reviewgate.core.errors.keep_markup`). Returns the new
    text and how many edits there were."""
    if not edits:
        return text, 0
    edits.sort()
    out, last, n = [], 0, 0
    for start, end, replacement in edits:
        if start < last:
            continue
        out.append(text[last:start])
        if _MARKER.fullmatch(replacement):
            replacement = keep_markup(text[start:end], replacement)
        out.append(replacement)
        last, n = end, n + 1
    out.append(text[last:])
    edits.clear()
    return "".join(out), n


def _is_word(ch: str) -> bool:
    """True for a character of ``\\w`` (what ``\\b`` looks at)."""
    return ch.isalnum() or ch == "_"


def _jwt_edits(text: str) -> list[tuple[int, int, str]]:
    """Every JSON Web Token (``eyJ<8+>.eyJ<8+>.<8+>``, base64url segments, a word boundary
    before it), as edits. Linear: when a start fails, every later ``eyJ`` in the same first
    segment would end that segment at the same place and fail the same way, so the scan goes on
    after the segment."""
    edits: list[tuple[int, int, str]] = []
    idx = text.find("eyJ")
    while idx >= 0:
        if idx and _is_word(text[idx - 1]):
            idx = text.find("eyJ", idx + 1)
            continue
        end1 = _JWT_SEGMENT.match(text, idx + 3).end()  # type: ignore[union-attr]
        resume = end1
        if end1 - idx >= 11 and text.startswith(".eyJ", end1):
            end2 = _JWT_SEGMENT.match(text, end1 + 4).end()  # type: ignore[union-attr]
            if end2 - end1 >= 12 and text.startswith(".", end2):
                end3 = _JWT_SEGMENT.match(text, end2 + 1).end()  # type: ignore[union-attr]
                if end3 - end2 >= 9:
                    edits.append((idx, end3, "[REDACTED:jwt]"))
                    resume = end3
        idx = text.find("eyJ", max(resume, idx + 1))
    return edits


def _key_line(line: str, kind: str = "private-key") -> str:
    """A key-body line with every base64 chunk redacted (the diff marker in column 0, indent,
    quotes and escapes kept)."""
    head, rest = (line[:1], line[1:]) if line[:1] in ("+", "-", " ") else ("", line)
    return head + _KEY_CHUNK.sub(f"[REDACTED:{kind}]", rest)


#: Two base64 runs separated by nothing but blanks: words of a command, not a key's lines
#: (a key's chunks are joined by escapes, quotes or concatenation).
_BLANK_SEPARATED = re.compile(r"[A-Za-z0-9+/=][ \t]++[A-Za-z0-9+/]")


def _is_key_body(line: str) -> bool:
    """True for a line of a PEM body: base64 chunks (maybe quoted, escaped, concatenated), a
    PEM or OpenPGP armor header (``Proc-Type:``, ``Version:``), or a blank line (OpenPGP armor
    puts one between its headers and the key; RFC 4880 section 6.2), nothing else."""
    body = line[1:] if line[:1] in ("+", "-", " ") else line
    if _PEM_HEADER.match(body) or not body.strip():
        return True
    if _BLANK_SEPARATED.search(body.strip()):
        return False
    rest = _KEY_CHUNK.sub("", body.replace("\\n", " ").replace("\\r", " "))
    return bool(_KEY_CHUNK.search(body)) and all(c in " \t\r'\"+,;\\" for c in rest)


def _redact_pem(text: str) -> tuple[str, int]:
    """Redact each PEM private key block: from its BEGIN line to its END line, or while the
    lines look like key body when no END follows (a hunk may cut the block). A block with no
    END is redacted as ``opaque``: nothing tells its lines from an encoded payload, so they
    count as not reviewed (:mod:`reviewgate.core.coverage`)."""
    lines = text.split("\n")
    count, i = 0, 0
    while i < len(lines):
        m = _PEM_BEGIN.search(lines[i])
        if not m:
            i += 1
            continue
        count += 1
        line = lines[i]
        after = line[m.end():]
        end = _PEM_END.search(after)
        tail = after[:end.start()] if end else after
        lines[i] = line[:m.end()] + _KEY_CHUNK.sub("[REDACTED:private-key]", tail) + (
            after[end.start():] if end else "")
        i += 1
        if end:
            continue
        last = i
        while last < len(lines) and not _PEM_END.search(lines[last]) and _is_key_body(
                lines[last]):
            last += 1
        ended = last < len(lines) and _PEM_END.search(lines[last]) is not None
        kind = "private-key" if ended else "opaque"
        for k in range(i, last):
            lines[k] = _key_line(lines[k], kind)
        i = last
        if ended:
            cut = _PEM_END.search(lines[i])
            lines[i] = _key_line(lines[i][:cut.start()]) + lines[i][cut.start():]  # type: ignore[union-attr]
            i += 1
    return "\n".join(lines), count


def _random_base64(run: str) -> bool:
    """True for a run that looks like key material rather than text or a digest."""
    value = run.rstrip("=")
    return (any(c.isupper() for c in value) and any(c.islower() for c in value)
            and any(c.isdigit() for c in value) and entropy(value) >= 4.5)


def _url_password(m: re.Match[str]) -> str | None:
    """The URL with its password replaced, or None when it has none (or a placeholder)."""
    url = m.group(0)
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return None
    if not password or password[0] in "$%{<*" or password.lower() in ("password", "pass"):
        return None
    userinfo = parts.netloc.rpartition("@")[0]
    user, _, written = userinfo.partition(":")
    return url.replace(f"{userinfo}@",
                       f"{user}:{keep_markup(written, '[REDACTED:url-password]')}@", 1)


def redact_secrets(text: str) -> tuple[str, int]:
    """Redact secret-looking strings in ``text`` (module docstring: what is recognised).

    Returns:
        (the redacted text, how many secrets were redacted). Lines are never added or removed.
    """
    if not text:
        return text, 0
    count = 0

    edits: list[tuple[int, int, str]] = []
    if "PRIVATE KEY" in text:
        text, n = _redact_pem(text)
        count += n

    for kind, literals, pattern in _PATTERNS:
        if any(literal in text for literal in literals):
            text, n = pattern.subn(_replacement(kind), text)
            count += n
    if "eyJ" in text:
        text, n = _apply(text, _jwt_edits(text))
        count += n

    for start, end in _base64_runs(text):
        run = text[start:end]
        # a diff line's "+" in column 0 is the diff's, not the run's
        marker = "+" if run[0] == "+" and (start == 0 or text[start - 1] == "\n") else ""
        if _random_base64(run[len(marker):]):
            edits.append((start, end, f"{marker}[REDACTED:key-material]"))
    text, n = _apply(text, edits)
    count += n

    if "@" in text:
        for idx in find_all(text, "://"):
            scheme = _SCHEME.search(text, max(0, idx - 21), idx)
            m = _URL_USERINFO.match(text, scheme.start()) if scheme else None
            clean = _url_password(m) if m else None
            if m and clean is not None:
                edits.append((m.start(), m.end(), clean))
        text, n = _apply(text, edits)
        count += n

    low = ascii_lower(text)
    for literal in _AUTH_LITERALS:
        for idx in find_all(low, literal):
            m = _AUTH.match(text, idx)
            if m and (idx == 0 or not text[idx - 1].isalnum()) and _looks_credential(m.group(3)):
                edits.append((m.start(3), m.end(3), "[REDACTED:authorization]"))
    text, n = _apply(text, edits)
    count += n

    text, n = _apply(text, assigned_edits(text))
    return text, count + n


def _looks_credential(value: str) -> bool:
    """A credential after ``Bearer``/``Basic``/``token``: letters and digits mixed, not an
    identifier or a placeholder (``Bearer <token>``, ``token ${{ secrets.X }}``)."""
    if value.startswith(("$", "{", "<")):
        return False
    has_alpha = any(ch.isalpha() for ch in value)
    has_digit = any(ch.isdigit() for ch in value)
    return has_alpha and has_digit and entropy(value) >= 3.0


def scrub(text: str) -> tuple[str, int]:
    """The one redaction of text that leaves the machine or reaches a model: secret-looking
    strings (:func:`redact_secrets`) and the values of the environment's secret variables
    (:func:`reviewgate.core.errors.redact_counted`). Returns the text and how many there were."""
    text, found = redact_secrets(text)
    text, known = redact_counted(text)
    return text, found + known
