"""Secret-looking strings in a change are redacted before anything reaches a model or a comment.

Recognised (each replaced by ``[REDACTED:<kind>]``, the text around it kept):

* key formats with a fixed prefix: AWS access key ids (``AKIA``/``ASIA``), GitHub tokens
  (``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``, ``github_pat_``), GitLab (``glpat-``), Slack
  (``xox?-``), OpenAI/Anthropic (``sk-``, ``sk-ant-``), Google API keys (``AIza``), Stripe
  (``sk_live_``/``rk_test_`` ...), JSON Web Tokens (``eyJ...``);
* PEM private key blocks (``-----BEGIN ... PRIVATE KEY-----``): every key line, the line
  structure kept so a unified diff still parses;
* high-entropy values assigned to names like ``*_SECRET``, ``*_TOKEN``, ``*PASSWORD*``,
  ``*_API_KEY`` (at least 12 characters, letters and digits, Shannon entropy of at least 3.2 bits
  per character, so ``TOKEN = get_token()`` is left alone).

The count of redactions is reported, never what was redacted. Imports: stdlib only.
"""

from __future__ import annotations

import math
import re
from collections import Counter

__all__ = ["redact_secrets"]

# (kind, literal parts one of which any match holds, pattern): the literals are checked first,
# with plain substring search, so text without them costs no regex pass.
_PATTERNS: list[tuple[str, tuple[str, ...], re.Pattern[str]]] = [
    ("aws", ("AKIA", "ASIA"), re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("github", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
     re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b|\bgithub_pat_[A-Za-z0-9_]{22,}\b")),
    ("gitlab", ("glpat-",), re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b")),
    ("slack", ("xox",), re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    ("api-key", ("sk-",), re.compile(r"\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}\b")),
    ("google", ("AIza",), re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("stripe", ("k_live_", "k_test_"), re.compile(r"\b[rs]k_(?:live|test)_[0-9A-Za-z]{16,}\b")),
    ("jwt", ("eyJ",),
     re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
]
_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----(.*?)"
                  r"(-----END \1-----|\Z)", re.DOTALL)
_PEM_LINE = re.compile(r"^([+\- ]?[ \t]*)([A-Za-z0-9+/=:,\- ]{8,})$", re.MULTILINE)
#: Lower-case parts of the names :data:`_ASSIGNED` looks at: only lines holding one are searched.
_KEYWORDS = ("secret", "token", "passw", "pwd", "apikey", "api_key", "accesskey", "access_key",
             "privatekey", "private_key", "auth")
_ASSIGNED = re.compile(
    r"(?i)\b([A-Z0-9_.-]*(?:SECRET|TOKEN|PASSWORD|PASSWD|PWD|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|"
    r"CLIENT_?SECRET|AUTH)[A-Z0-9_.-]*)(['\"]?\s*(?::|=|=>|:=)\s*)(['\"]?)([^\s'\"`,;)]{12,})\3")


def _has_keyword(text: str) -> bool:
    low = text.lower()
    return any(word in low for word in _KEYWORDS)


def _entropy(value: str) -> float:
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _looks_secret(value: str) -> bool:
    if "(" in value or value.startswith(("$", "{", "<", "os.", "process.", "env")):
        return False
    has_alpha = any(ch.isalpha() for ch in value)
    has_digit = any(ch.isdigit() for ch in value)
    return has_alpha and has_digit and _entropy(value) >= 3.2


def redact_secrets(text: str) -> tuple[str, int]:
    """Redact secret-looking strings in ``text``.

    Returns:
        (the redacted text, how many secrets were redacted). Lines are never added or removed.
    """
    if not text:
        return text, 0
    count = 0

    def pem(m: re.Match[str]) -> str:
        nonlocal count
        count += 1
        body = _PEM_LINE.sub(lambda line: f"{line.group(1)}[REDACTED:private-key]", m.group(2))
        return f"-----BEGIN {m.group(1)}-----{body}{m.group(3)}"

    if "PRIVATE KEY" in text:
        text = _PEM.sub(pem, text)

    for kind, literals, pattern in _PATTERNS:
        if any(literal in text for literal in literals):
            text, n = pattern.subn(f"[REDACTED:{kind}]", text)
            count += n

    def assigned(m: re.Match[str]) -> str:
        nonlocal count
        if "[REDACTED" in m.group(4) or not _looks_secret(m.group(4)):
            return m.group(0)
        count += 1
        return f"{m.group(1)}{m.group(2)}{m.group(3)}[REDACTED:assigned]{m.group(3)}"

    if _has_keyword(text):
        lines = text.splitlines(keepends=True)
        text = "".join(_ASSIGNED.sub(assigned, line) if _has_keyword(line) else line
                       for line in lines)
    return text, count
