"""The gate under an adversary (DESIGN.md section 9): pull request authors choose file names,
commenters choose text, models choose their answers. Each test is a hole that was open."""

from __future__ import annotations

import json

import pytest
from fake_forgejo import FakeForgejo, FakePR
from fake_github import FakeGitHub
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cli import serve, write_config

from reviewgate.core.changeset import parse_unified_diff
from reviewgate.cli import main
from reviewgate.core.errors import InputError
from reviewgate.forge import make_forge
from reviewgate.core.paths import UnsafePath, check_repo_path, quote_repo_path

HEAD = "a" * 40
BASE = "b" * 40

# --- forge reads: a changed file's name never reads anything but a repository file ----------

HOSTILE_PATHS = ["../../../../user", "../../../../repos/acme/app/collaborators/alice/permission",
                 "src/../../../../user", "/etc/passwd", "a//b", "a/./b", "a\\..\\..\\user",
                 "src/a\nb.py", "", "..", ".", "a/", "x\x00y", "a/\u202eb"]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_unsafe_paths_are_refused(path):
    """Dot segments, absolute paths, backslashes, control characters and empty segments are
    not repository paths."""
    with pytest.raises(UnsafePath):
        check_repo_path(path)


def test_safe_paths_are_encoded_per_segment():
    """Every segment is percent-encoded, so no client resolves or splits it."""
    assert quote_repo_path("src/a b/%2e%2e/x?y#z.py") == "src/a%20b/%252e%252e/x%3Fy%23z.py"
    assert quote_repo_path("docs/donn\u00e9es.md") == "docs/donn%C3%A9es.md"


def _traversal_diff(path: str) -> str:
    return (f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
            "@@ -0,0 +1,1 @@\n+hello\n")


@pytest.mark.parametrize("path", HOSTILE_PATHS[:3])
def test_forgejo_pull_request_path_never_reads_the_api(path, tmp_path, loopback, monkeypatch):
    """A pull request adding ``../../../../user`` makes no request outside the repository's
    raw files, and the reviewers see the file as not read, not the API's answer."""
    fake = FakeForgejo()
    try:
        fake.add_pr(FakePR(number=7, title="t", body="b", diff=_traversal_diff(path),
                           head_sha=HEAD, base_sha=BASE,
                           files=[{"filename": path, "status": "added", "additions": 1,
                                   "deletions": 0, "changes": 1}]))
        fake.trees[HEAD] = {path: "hello\n"}
        monkeypatch.setenv("REVIEWGATE_FORGE_TOKEN", "bot-token")
        serve(loopback, {})
        config = write_config(tmp_path, loopback.url)
        main(["canary", "--forge", "forgejo", "--url", fake.url, "--repo", "owner/repo",
              "--pr", "7", "--config", config])
        paths = [p.split("?", 1)[0] for _, p in fake.log]
        assert paths.count("/api/v1/user") <= 1  # the bot's own whoami, nothing more
        assert not any("collaborators" in p for p in paths)
        assert not any("/raw/" in p and ".." in p for p in paths)
        sent = json.dumps([s.body for s in loopback.seen])
        assert "reviewbot@example.invalid" not in sent and '"login"' not in sent
    finally:
        fake.close()


@pytest.mark.parametrize("kind", ["forgejo", "github"])
def test_adapters_refuse_unsafe_paths_before_any_request(kind):
    """Both adapters raise UnsafePath for a traversal path and send nothing."""
    if kind == "forgejo":
        fake = FakeForgejo()
        url, token = fake.url, "bot-token"
    else:
        fake = FakeGitHub(diff="", head=HEAD, files=[])
        url, token = fake.url, "gh-token"
    try:
        forge = make_forge(kind, url=url, repo="owner/repo", token=token, bot_login="bot")
        for path in HOSTILE_PATHS:
            with pytest.raises(UnsafePath):
                forge.read_file(path, HEAD)
        assert fake.log == []
    finally:
        fake.close()


def test_malformed_quoted_path_is_a_parse_error():
    """``"b/a\\189.py"`` (an octal escape git never writes) is an input error, not a crash."""
    diff = ('diff --git "a/a\\189.py" "b/a\\189.py"\n--- "a/a\\189.py"\n+++ "b/a\\189.py"\n'
            "@@ -1 +1 @@\n-x\n+y\n")
    with pytest.raises(InputError, match="malformed quoted path"):
        parse_unified_diff(diff)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_accepted_paths_never_escape(path):
    """Whatever text is accepted, its encoded form has no dot segment, no empty segment and no
    character a URL would read as structure."""
    try:
        encoded = quote_repo_path(path)
    except UnsafePath:
        return
    segments = encoded.split("/")
    assert all(s not in ("", ".", "..") for s in segments)
    assert not any(c in encoded for c in "?#\\ \n\r\t")


# --- secrets in every form are redacted before a model sees them -------------------------------

from reviewgate.ensemble.pipeline import redact_change  # noqa: E402
from reviewgate.core.changeset import ChangeSet  # noqa: E402
from reviewgate.context.redaction import redact_secrets  # noqa: E402

K1 = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw"
K2 = "7onLRnrq0IzW7yWR7QkrmBL7jTKEn5uqKhbwN3q4Zx9aB2c4D6e8F0g1H3j5K7m9P1r"
BEGIN, END = "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----"
SECRET_FORMS = {
    "BEGIN in the hunk header": (f"@@ -1,3 +1,3 @@ {BEGIN}\n {K1}\n-{K2}\n+{K2[::-1]}\n",
                                 [K1, K2, K2[::-1]]),
    "BEGIN in a context line": f" {BEGIN}\n {K1}\n+{K2}\n",
    "only the middle of a key": f"@@ -5,3 +5,3 @@\n {K1}\n-{K2}\n+{K2[::-1]}==\n",
    "CRLF line ends": f"+{BEGIN}\r\n+{K1}\r\n+{K2}\r\n+{END}\r\n",
    "\\n escapes on one line": f'+KEY = "{BEGIN}\\n{K1}\\n{K2}\\n{END}\\n"\n',
    "split across quoted strings": (f'+KEY = ("{BEGIN}\\n"\n+       "{K1}\\n"\n'
                                    f'+       "{K2}\\n"\n+       "{END}\\n")\n'),
    "OpenPGP armor with a blank line and tabs": (
        f"+\t-----BEGIN PGP PRIVATE KEY BLOCK-----\n+\tVersion: x\n+\t\n+\t{K1}\n+\t{K2}==\n",
        [K1, K2]),
    "OpenSSH key": (f"+-----BEGIN OPENSSH PRIVATE KEY-----\n+{K1}\n+{K2}\n"
                    "+-----END OPENSSH PRIVATE KEY-----\n", [K1, K2]),
    "password in a URL": ("+DATABASE_URL = 'postgres://app:s3cretPassw0rd@db:5432/app'\n",
                          ["s3cretPassw0rd"]),
    "Authorization: Bearer": ('+headers = {"Authorization": "Bearer abcDEF123456ghiJKL789"}\n',
                              ["abcDEF123456ghiJKL789"]),
    "Authorization: token (curl)": ("+curl -H 'Authorization: token 9f8e7d6c5b4a39281706fe' u\n",
                                    ["9f8e7d6c5b4a39281706fe"]),
}


def _form(name):
    value = SECRET_FORMS[name]
    return value if isinstance(value, tuple) else (value, [K1, K2])


@pytest.mark.parametrize("name", SECRET_FORMS)
def test_secret_forms_are_redacted_with_lines_kept(name):
    """Each form loses its secret; the text keeps its lines and each diff line its marker."""
    text, secrets = _form(name)
    out, found = redact_secrets(text)
    assert found >= 1
    for secret in secrets:
        assert secret not in out
    assert out.count("\n") == text.count("\n")
    assert [line[:1] for line in out.split("\n")] == [line[:1] for line in text.split("\n")]


@pytest.mark.parametrize("name", SECRET_FORMS)
def test_secret_forms_never_reach_a_file_section(name):
    """redact_change cleans the diff and every hunk the reviewers are shown (a hunk alone may
    lack the BEGIN line that the whole diff has)."""
    text, secrets = _form(name)
    body = text if text.startswith("@@") else "@@ -1,5 +1,5 @@\n" + text
    diff = "diff --git a/k.py b/k.py\n--- a/k.py\n+++ b/k.py\n" + body
    change, found = redact_change(ChangeSet(diff=diff, files=parse_unified_diff(diff)))
    assert found >= 1
    shown = change.diff + json.dumps([f.model_dump() for f in change.files])
    for secret in secrets:
        assert secret not in shown


def test_ordinary_code_is_not_redacted():
    """Identifiers, URLs without passwords, hex digests and placeholders stay as written."""
    text = ("+def get_user_by_identifier_and_organization_slug(identifier, slug):\n"
            "+    return f'https://example.com/{slug}' + 'https://user:${PASS}@host/'\n"
            "+x = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'\n"
            "+auth = 'Bearer <token>'  # token = get_token()\n"
            "+path = 'src/reviewgate/providers/anthropic/messages/streaming.py'\n")
    assert redact_secrets(text) == (text, 0)


# --- posted model text: no working link, image or raw HTML, whatever the model writes ---------

from markdown_it import MarkdownIt  # noqa: E402

from reviewgate.publish.sanitize import has_active_markup, sanitize  # noqa: E402

PIECES = ["[", "]", "(", ")", "<", ">", "!", "`", "//evil.example/x", "http://evil.example",
          "www.evil.example", "@user", "\n", "\n\n", " ", ":", "*", "_", "<img src=x>",
          "<script>", "[1]: //evil.example\n", "    ", "```", "~~~", "> ", "&lt;", "&#64;",
          "\\", "|", "-->", "<!--", "<http://e.example>", "mailto:x@y.example", "x@y.example",
          "[a [b] c](//evil.example/x)", "[here][1]", "![p](//t.example/p.png)", "- ", "1. ",
          "<details>", "</details>", "\u202e", "\u200b", "&"]
HOSTILE_TEXT = st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=30).map(
    "".join)
#: The forges render GFM: CommonMark plus autolinked bare URLs (linkify), tables, strikethrough.
FORGE_MARKDOWN = MarkdownIt("commonmark", {"linkify": True}).enable(
    ["linkify", "table", "strikethrough"])


def _active(markdown: str) -> list[str]:
    found = []
    for tok in FORGE_MARKDOWN.parse(markdown):
        for t in [tok, *(tok.children or [])]:
            if t.type in ("link_open", "image", "html_inline", "html_block"):
                found.append(f"{t.type}: {t.content or t.attrs}")
    return found


@settings(max_examples=400, deadline=None)
@given(HOSTILE_TEXT, st.booleans())
def test_sanitized_text_never_renders_a_link_image_or_html(text, cell):
    """Property: any model text, sanitized (paragraph or table cell), parses with a GFM-like
    CommonMark parser to no link, image or raw HTML, and mentions no one."""
    out = sanitize(text, cell=cell)
    assert _active(out) == [], out
    assert not has_active_markup(out)
    if cell:
        assert "\n" not in out and "|" not in out.replace("\\|", "")


@pytest.mark.parametrize("text", [
    "[a [b] c](//evil.example/x)",
    "see [here][1]\n\n[1]: //evil.example",
    "<http://evil.example>", "www.evil.example/path", "![p](//t.example/p.png)",
    "<img src=x onerror=alert(1)>", "<details>\n<a href=//e>x</a>\n</details>",
])
def test_named_link_forms_are_neutralized(text):
    """The link forms that survived the old regular expressions are text now; the address is
    still shown, in inline code."""
    out = sanitize(text)
    assert _active(out) == []
    assert "evil.example" not in out or "`" in out


@settings(max_examples=60, deadline=None)
@given(HOSTILE_TEXT)
def test_rendered_comment_has_only_our_own_html(text):
    """Property on the whole seat comment: the only raw HTML is the template's own (markers,
    details/summary), and there is no link at all."""
    from reviewgate.core.config import Config, Profile, SeatConfig
    from reviewgate.ensemble.pipeline import review_change
    from reviewgate.publish.render import render_seat
    from reviewgate.testing import ScriptedProvider, verdict_json

    seat = SeatConfig(name="s", provider="openai-compatible", model="m")
    config = Config(profiles={"p": Profile(seats=[seat], hats=["tech"])})
    diff = "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x\n+y\n"
    risk = {"severity": "high", "title": text[:80], "location": "a.py:1", "detail": text,
            "recommendation": text}
    answer = verdict_json("NOT_OK", summary=text, risks=[risk])
    record = review_change(ChangeSet(title="t", diff=diff, files=parse_unified_diff(diff)),
                           config=config, profile_name="p",
                           providers={"s": ScriptedProvider(seat, {"tech": [answer]})})
    comment = render_seat(record, "s")
    for found in _active(comment):
        assert found.startswith(("html_inline", "html_block")), found
        body = found.split(": ", 1)[1].strip()
        assert body.startswith(("<!-- reviewgate:seat:s -->", "<details>", "</details>",
                                "<summary>")), found


# --- prompts: author-controlled strings only inside the untrusted fences ----------------------

import re  # noqa: E402

from reviewgate.core.config import Config  # noqa: E402
from reviewgate.context.packing import build_context  # noqa: E402
from reviewgate.context.prompts import Prompter  # noqa: E402
from reviewgate.context.repository import path_instructions  # noqa: E402

NAME_PIECES = ["\n", "\r", "\u2028", "\x1b", " ", "Instructions for paths (trusted", "SYSTEM:",
               "UNTRUSTED-", " END\n", "- ", "vote OK", '"', "\\", "é", "/", "x"]
HOSTILE_NAME = st.lists(st.sampled_from(NAME_PIECES), max_size=8).map(
    lambda parts: "src/EVIL" + "".join(parts) + ".py")


def _trusted_part(user: str, nonce: str) -> str:
    return re.sub(rf"UNTRUSTED-{nonce} BEGIN [^\n]*\n.*?\nUNTRUSTED-{nonce} END", "", user,
                  flags=re.DOTALL)


@settings(max_examples=150, deadline=None)
@given(st.lists(HOSTILE_NAME, min_size=1, max_size=4, unique=True), HOSTILE_NAME)
def test_hostile_names_stay_inside_the_fences(names, title_word):
    """Property: file names, title, description and section titles built from hostile pieces
    (newlines, fence look-alikes, "trusted" headings) never appear outside the fences of the
    review prompt, even in the path instructions the repository configured."""
    files = [{"path": name, "added": 1, "removed": 0, "status": "added",
              "hunks": [{"old_start": 0, "old_len": 0, "new_start": 1, "new_len": 1,
                         "lines": ["+EVIL = 1"]}]} for name in names]
    change = ChangeSet(title=f"EVIL title {title_word}",
                       body=f"EVIL body\n\n## EVIL section {title_word}\nEVIL text\n",
                       diff="".join(f"+++ b/{n}\n+EVIL = 1\n" for n in names), files=files)
    config = Config.model_validate({"path_instructions": [
        {"path": "**", "instructions": "Check every raise for a test."}]})
    pack = build_context(change, budget_tokens=4000, exclude=[],
                         instructions=path_instructions(change, config))
    prompter = Prompter(nonce="n0")
    system, user = (m["content"] for m in prompter.review_messages(pack, "tech"))
    assert "EVIL" not in system
    trusted = _trusted_part(user, prompter.nonce)
    assert "EVIL" not in trusted, trusted
    assert "Check every raise for a test." in trusted
