"""Redaction runs on the rendered Markdown (the bytes a forge will show): a secret-looking span
that covers a code span's backtick or a tag's ``<`` must not re-pair the code spans of its line
and turn the raw text of the next one into live HTML or links (attack round 3: a quoted
``token="...`` value swallowed a backtick, and ``<img src=...>`` and ``[click](...)`` went live,
from a model's finding title and from an author's file name alike)."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_rendered import ALLOWED, SEATS, render_html, run, walk

from reviewgate.core import errors
from reviewgate.core.errors import keep_markup, markup_skeleton, redact_counted
from reviewgate.context.redaction import scrub
from reviewgate.publish.render import posted, render_decision
from reviewgate.testing import verdict_json

EVIL = "attacker.example"
DIFF = ("diff --git a/src/app.py b/src/app.py\n--- a/src/app.py\n+++ b/src/app.py\n"
        "@@ -1,1 +1,2 @@\n x = 1\n+y = 2\n")
#: A secret-looking start, what may close it (a quote, a backtick, a code span), a payload.
SECRETS = ['token=&quot;abcdefgh1234', 'token="Zx9abcdefgh1234', "password='Qw8erty12345",
           "api_key=`Kq7abcdefgh12", "https://user:pa|ss&w0rd@" + EVIL + "/x",
           "Bearer abcDEF123456789xyz", ""]
CLOSERS = ['`x"y`', "`x'y`", "`", '"', "'", " ", "&quot;", "<", "|", ""]
PAYLOADS = [f"`<img src=https://{EVIL}/p.png>`", f"`[click](https://{EVIL}/)`",
            f"<img src=https://{EVIL}/q.png>", f"[link](https://{EVIL}/)", "&lt;b&gt;",
            f" (`<img src=\"https://{EVIL}/pixel.png\"> [click](https://{EVIL}/)`)"]
HOSTILE = st.tuples(st.sampled_from(SECRETS), st.sampled_from(CLOSERS),
                    st.sampled_from(CLOSERS), st.sampled_from(PAYLOADS)).map("".join)


def _live(markdown: str) -> list[str]:
    """What would be live in the forge's rendering: tags outside Markdown's own, and any
    attribute that points at the attacker."""
    w = walk(markdown)
    html = render_html(markdown)
    bad = sorted(w.tags - ALLOWED)
    bad += [f"href/src to {EVIL}" for attr in ("href=", "src=")
            if f'{attr}"https://{EVIL}' in html]
    return bad


def test_the_reproduced_finding_stays_text():
    """The reproduction of attack round 3 (a finding title from a model)."""
    title = f'token=&quot;abcdefgh1234`x"y` (`<img src="https://{EVIL}/pixel.png"> ' \
            f'[click](https://{EVIL}/)`)'
    found = verdict_json("NOT_OK", risks=[{"severity": "high", "title": title,
                                           "location": "", "detail": "d",
                                           "recommendation": "r"}])
    result, _ = run(DIFF, {(s.name, h): [found] * 2 for s in SEATS for h in ("tech", "product")})
    body = render_decision(result, trailer=True)
    assert "REDACTED" in body  # the secret-looking value was redacted ...
    assert _live(body) == []  # ... and the code spans kept their pairs


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE, st.one_of(st.just(""), HOSTILE))
def test_no_redaction_makes_markup_live(title, location):
    """Whatever hostile title and location a seat writes, the posted comment has no live
    HTML or link of theirs."""
    found = verdict_json("NOT_OK", risks=[{"severity": "high", "title": title,
                                           "location": location, "detail": title,
                                           "recommendation": location or "r"}])
    result, _ = run(DIFF, {(s.name, h): [found] * 2 for s in SEATS for h in ("tech", "product")})
    assert _live(render_decision(result, trailer=True)) == []


@given(st.text(alphabet="ab`<>[]()!&\\|\n*x", max_size=40))
def test_keep_markup_keeps_the_skeleton(secret):
    """The replacement of any span keeps its Markdown characters in order, and every other
    character is gone."""
    out = keep_markup(secret, "***")
    assert markup_skeleton(out) == markup_skeleton(secret)
    assert "a" not in out and "b" not in out and "x" not in out


def test_every_redaction_kind_keeps_the_skeleton(monkeypatch):
    """Known secrets (the environment's), assigned values and URL passwords, each holding
    Markdown characters: redacted, structure unchanged, and posted() agrees."""
    monkeypatch.setenv("DEPLOY_TOKEN", "s3cr`et<valu[e")
    monkeypatch.setattr(errors, "_extra_secrets", {"an0ther|secr`et"})
    text = ("a `code` s3cr`et<valu[e b an0ther|secr`et c token=\"Zx9ab`cdefgh1234\" "
            "d https://u:pa|ss&w0rd@host.example/x `tail`")
    redacted, count = scrub(text)
    assert count >= 4, redacted
    for secret in ("s3cr", "valu", "an0ther", "Zx9ab", "pa|ss", "w0rd"):
        assert secret not in redacted
    unmarked = re.sub(r"\[REDACTED:[a-z-]+\]", "R", redacted)  # the markers are the gate's
    assert markup_skeleton(unmarked) == markup_skeleton(text)
    assert redact_counted("x s3cr`et<valu[e y")[0] == "x ***`***<***[*** y"
    assert markup_skeleton(posted(text)) == markup_skeleton(text)


def test_keys_next_to_an_underscore_are_redacted():
    """A fixed-prefix key touching an underscore (``x_ghp_...``, ``ghp_..._x``) is no word
    boundary for ``\\b``; the key is found all the same (attack round 3)."""
    from reviewgate.context.redaction import redact_secrets

    github = "ghp_" + "A1b2" * 9
    aws = "AKIA" + "ABCDEFGHIJKLMNOP"
    for text, kind in [(github, "github"), (github + "_x", "github"), ("x_" + github, "github"),
                       (aws + "_y", "aws"), ("MY_" + aws, "aws")]:
        redacted, count = redact_secrets(text)
        assert count == 1 and f"[REDACTED:{kind}]" in redacted, text
        assert "A1b2A1b2" not in redacted and "EFGHIJKL" not in redacted
    assert redact_secrets("xghp_" + "A1b2" * 9)[1] == 0  # inside a word: not a key's start


def test_what_a_forge_would_link_or_reference_stays_text():
    """cmark-gfm reads a URL's scheme back over letters only (``2https://`` is a link) and
    links ``a@_x.example`` and ``xmpp:a@-x.example``; GitHub references ``owner/repo#1``,
    ``GH-3`` and ``org/repo@sha`` across repositories (attack round 4)."""
    from reviewgate.publish.sanitize import sanitize

    for text in ["see 2https://evil.example/login now", "write to security@_evil.example",
                 "xmpp:ops@-evil.example/chat", "mail a@.evil.example", "www.>evil",
                 "x www.\\`evil.example"]:
        html = render_html(sanitize(text))
        assert "<a " not in html, (text, html)
    out = sanitize("as in torvalds/linux#1, GH-3, #4 and org/repo@0cc1bd6e1f2a")
    for ref in ("linux#1", "GH-3", "#4", "repo@0cc1"):
        assert ref not in out, out
    assert "torvalds/linux#\u200b1" in out  # still readable


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="`` ab<>[]()*_\\\n&!|\u200b", max_size=30),
       st.sampled_from(["code", "text", "cell"]),
       st.sampled_from(["<img src=x>", "``<img src=x>", "a`b``<img src=x>```", "```<img src=x>"]))
@example("x ` ` y", "cell", "``<img src=x>")
@example('api_key=`Kq7abcdefgh12`x"y` `[click](https://attacker.example/)`', "cell",
         'token=&quot;abcdefgh1234`x"y``x"y``<img src=x>`')
def test_a_sanitized_field_never_reaches_into_the_next(text, kind, after):
    """Fields are written side by side on one line; whatever one field holds, the code span
    written after it keeps its own text (found by the property test above: a model's ` ` became
    an empty code span, a bare run of two backticks, which the backticks inside the next field's
    code span closed, and its `<img>` went live)."""
    from reviewgate.publish.sanitize import code, sanitize

    if kind == "text":  # a block of its own (a detail, a recommendation), then the next one
        markdown = f"{sanitize(text)}\n\nnext ({code(after)})"
    else:  # inline, the next field on the same line
        field = code(text) if kind == "code" else sanitize(text, cell=True)
        markdown = f"- {field} ({code(after)})"
    html = render_html(markdown)
    assert "<img" not in html, (markdown, html)
    assert any("<img src=x>" in c for c in walk(markdown).codes), (markdown, html)
