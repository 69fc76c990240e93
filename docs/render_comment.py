"""Render the README's picture of a decision comment: a real run on psf/requests#6667's diff
(three scripted seats, two agreeing on a finding), rendered the way GitHub renders a comment
(cmark-gfm, CommonMark + GFM), captured with headless Chromium.

    python docs/render_comment.py            # writes docs/decision-comment.html and .png
    python docs/render_comment.py --check    # exit 1 when the files differ from a fresh render

Needs the test extra (``cmarkgfm``) and, for the picture, Chromium (``apt install chromium``).
The PNG carries the sha256 of the HTML it was taken from (a ``tEXt`` chunk,
``reviewgate-html-sha256``), so ``tests/test_rendered.py`` checks that the picture in the README
matches the renderer's output for this fixture.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HTML_OUT = ROOT / "docs" / "decision-comment.html"
PNG_OUT = ROOT / "docs" / "decision-comment.png"
KEY = b"reviewgate-html-sha256"
DIFF = ROOT / "tests" / "data" / "requests-6667-ssl-context" / "diff.patch"

STYLE = """
body { font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
       color: #1f2328; background: #fff; margin: 0; padding: 16px; width: 900px; }
.comment { border: 1px solid #d1d9e0; border-radius: 6px; padding: 8px 16px; }
h2 { border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; font-size: 1.5em; }
h3 { font-size: 1.25em; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; background: #eff1f3;
       padding: .2em .4em; border-radius: 6px; }
table { border-collapse: collapse; } th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
tr:nth-child(2n) { background: #f6f8fa; } blockquote { color: #59636e; margin: 0;
       padding: 0 1em; border-left: .25em solid #d1d9e0; }
summary { cursor: pointer; }
"""


def fixture_markdown() -> str:
    """The decision comment of the fixture run, as the gate would post it (times zeroed so
    the text is the same on every machine)."""
    from reviewgate.context.prompts import Prompter
    from reviewgate.core.changeset import ChangeSet
    from reviewgate.core.config import Config, Profile, SeatConfig
    from reviewgate.ensemble.pipeline import review_change
    from reviewgate.publish.inline import place_findings
    from reviewgate.publish.render import Round, render_decision
    from reviewgate.publish.rounds import tracked
    from reviewgate.testing import ScriptedProvider, verdict_json

    seats = [SeatConfig(name=n, provider="openai-compatible", model=m, context_window=32768,
                        max_output_tokens=2048, price_in_per_mtok=3.0, price_out_per_mtok=15.0)
             for n, m in (("claude", "claude-sonnet-5-5"), ("gpt", "gpt-5"),
                          ("glm", "glm-4.6:cloud"))]
    high = {"severity": "high", "title": "verify=True no longer loads the default CA bundle",
            "location": "src/requests/adapters.py:80",
            "detail": "`_preloaded_ssl_context` is built once at import; a `REQUESTS_CA_BUNDLE` "
                      "set later is ignored by `cert_verify()`.",
            "recommendation": "Load the bundle lazily, or document the import-time read."}
    low = {"severity": "low", "title": "`_urllib3_request_context` lacks a docstring",
           "location": "src/requests/adapters.py:89", "detail": "The new helper's contract "
           "(which keys it sets) is not written down.", "recommendation": "Add a docstring."}
    answers = {
        ("claude", "tech"): [verdict_json("NOT_OK", 0.74, risks=[high],
                                          summary="Caching the context changes when the CA "
                                                  "bundle is read.")],
        ("gpt", "tech"): [verdict_json("OK", 0.66, risks=[{**high, "title": "CA bundle read "
                                                            "once at import time"}, low])],
        ("glm", "tech"): [verdict_json("OK", 0.8)],
    }
    providers = {s.name: ScriptedProvider(s, {h: answers.get((s.name, h), [verdict_json()])
                                               for h in ("tech", "product")}) for s in seats}
    diff = DIFF.read_text(encoding="utf-8")
    change = ChangeSet.from_diff(diff, title="Avoid reloading root certificates to improve "
                                 "concurrent performance", head_sha="a" * 40,
                                 base_sha="b" * 40, source="psf/requests#6667")
    config = Config(profiles={"canary": Profile(seats=seats)}, cache=False)
    record = review_change(change, config=config, profile_name="canary", providers=providers,
                           prompter=Prompter(nonce="0" * 16), cache_read=False)
    record.usage.wall_s = 0.0
    for b in record.ballots:
        b.latency_s = 0.0
    history = [Round(head_sha="a" * 40, decision=record.decision.decision,
                     tallies=record.decision.tally_line(), fired_by="ci",
                     at="2026-12-06T08:00:00+00:00", findings=tracked(record.decision.clusters),
                     merge_base="b" * 40)]
    placed = place_findings(record.decision.clusters, change.files)
    return render_decision(record, history=history, placed=placed, inline=True, trailer=True)


def fixture_html() -> str:
    """The fixture comment rendered by cmark-gfm (GitHub's renderer), in a page."""
    import cmarkgfm
    from cmarkgfm.cmark import Options

    # raw HTML kept, as GitHub keeps the <details> its sanitizer allows
    body = cmarkgfm.github_flavored_markdown_to_html(fixture_markdown(),
                                                     options=Options.CMARK_OPT_UNSAFE)
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><style>{STYLE}</style>"
            f"</head>\n<body><div class=\"comment\">\n{body}</div></body></html>\n")


def png_text(data: bytes) -> dict[bytes, bytes]:
    """The ``tEXt`` chunks of a PNG (PNG specification, section 11.3.4.3)."""
    out, pos = {}, 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"tEXt":
            key, _, value = data[pos + 8:pos + 8 + length].partition(b"\0")
            out[key] = value
        pos += 12 + length
    return out


def with_text(data: bytes, key: bytes, value: bytes) -> bytes:
    """``data`` (a PNG) with a ``tEXt`` chunk ``key`` = ``value`` after its header chunk."""
    chunk = key + b"\0" + value
    record = struct.pack(">I", len(chunk)) + b"tEXt" + chunk + struct.pack(
        ">I", zlib.crc32(b"tEXt" + chunk))
    end_of_ihdr = 8 + 12 + struct.unpack(">I", data[8:12])[0]
    return data[:end_of_ihdr] + record + data[end_of_ihdr:]


def screenshot(html_path: Path, png_path: Path) -> None:
    """Headless Chromium's picture of ``html_path``, cropped to the page."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium not found: apt install chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", "--hide-scrollbars",
                        f"--user-data-dir={profile}", f"--screenshot={png_path}",
                        "--window-size=940,1040", html_path.as_uri()],
                       check=True, capture_output=True, timeout=120)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare; write nothing")
    args = parser.parse_args()
    page = fixture_html()
    digest = hashlib.sha256(page.encode()).hexdigest().encode()
    if args.check:
        same = (HTML_OUT.read_text(encoding="utf-8") == page
                and png_text(PNG_OUT.read_bytes()).get(KEY) == digest)
        print("up to date" if same else "stale: run python docs/render_comment.py")
        return 0 if same else 1
    HTML_OUT.write_text(page, encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "shot.png"
        screenshot(HTML_OUT, raw)
        PNG_OUT.write_bytes(with_text(raw.read_bytes(), KEY, digest))
    print(f"wrote {HTML_OUT.relative_to(ROOT)} and {PNG_OUT.relative_to(ROOT)} "
          f"(html sha256 {digest.decode()[:12]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
