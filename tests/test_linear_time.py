"""Crafted author text cannot slow the gate: every reader of it runs in linear time
(DESIGN.md section 9).

No wall-clock bound: each check compares the time on 1 MB with the time on 100 KB of the same
generated text (best of 3 runs each, so a busy machine does not decide) and fails when 10 times
the input took more than :data:`MAX_GROWTH` times as long. Linear readers measure 7 to 13 times
here (a 1 MB input with 90,000 redactions allocates more per character than 100 KB does); a
quadratic reader takes about 100 times as long, a cubic one never finishes (the alarm stops it).
"""

from __future__ import annotations

import gc
import signal
import time
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reviewgate.context.excerpts import excerpt
from reviewgate.context.packing import description_sections
from reviewgate.context.redaction import redact_secrets, scrub
from reviewgate.core.changeset import FileChange, Hunk, parse_unified_diff
from reviewgate.core.errors import InputError
from reviewgate.core.locations import parse_location
from reviewgate.forge.http import next_link

#: growth ratios of timings: never beside the embedded model (xdist group, tests/conftest.py)
pytestmark = pytest.mark.timing

#: Time on 10 times the input, as a multiple of the time on the input (linear: about 10; the
#: margin is for allocation and cache effects, far below the 100 of a quadratic reader).
MAX_GROWTH = 15
SMALL, LARGE = 100_000, 1_000_000
#: The least a small input's time counts as (CPU seconds): below a millisecond the ratio is noise
#: (x23 measured for 0.2 ms against 5 ms on 1 MB); a super-linear reader still fails, its large
#: input taking far over MAX_GROWTH milliseconds.
FLOOR_S = 1e-3
#: Seconds after which one timed call is stopped: far above a linear reader's time on 1 MB,
#: only there so that a super-linear one fails instead of running for hours.
ALARM_S = 60

#: The units an author repeats to make a pattern backtrack or rescan.
UNITS = ["token.", "a=", "sk-", "://", "@", "Bearer ", " ", "\t", "#", "*", "`", '"', "'", "\\",
         "<!--", "-----BEGIN RSA PRIVATE KEY-----", "AbC1+/dEfG2h", "eyJ-", "glpat-", "xoxb-",
         "ghp_", "password=", "<", ">", ";", ":", "token ", "ab://u:p@", "x", "1", "**", "[",
         "(", ".", "_", "-", "=", "@@ -1", "L", " line ", "é"]


@contextmanager
def _alarm(seconds: float):
    """Raise TimeoutError in the main thread after ``seconds`` (the regex engine checks for
    signals while it backtracks)."""
    def ring(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")
    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _best(fn, text: str, runs: int = 3) -> float:
    """Shortest of ``runs`` timed calls of ``fn(text)``, in CPU seconds of this thread
    (garbage collection off). CPU time, not wall time: under ``pytest -n auto`` the other
    worker (or the embedded model's two threads) shares the cores, and time spent waiting for
    a core would count as growth."""
    best = float("inf")
    gc.disable()
    try:
        for _ in range(runs):
            start = time.thread_time()
            with _alarm(ALARM_S):
                fn(text)
            best = min(best, time.thread_time() - start)
    finally:
        gc.enable()
    return best


def _growth(fn, make) -> float:
    """Time of ``fn`` on ``make(LARGE)`` over its time on ``make(SMALL)``; measured again with
    more runs before a high figure is believed."""
    small, large = make(SMALL), make(LARGE)
    ratio = _best(fn, large) / max(_best(fn, small), FLOOR_S)
    if ratio > MAX_GROWTH:
        ratio = min(ratio, _best(fn, large, 5) / max(_best(fn, small, 5), FLOOR_S))
    return ratio


def _line(head: str, body: str, tail: str):
    """A maker of one line of about ``size`` characters: ``head``, ``body`` repeated, ``tail``."""
    def make(size: int) -> str:
        return head + body * max(1, (size - len(head) - len(tail)) // len(body)) + tail
    return make


def _as_diff(text: str) -> list[FileChange]:
    """``text`` as a file name, in a hunk header and as the hunk's lines of a git diff."""
    diff = (f"diff --git a/{text} b/{text}\n--- a/{text}\n+++ b/{text}\n"
            f"@@ -1 +1 @@ {text}\n-{text}\n+{text}\n"
            f'diff --git "a/{text}" "b/{text}"\n@@ -1{text} +1 @@\n')
    try:
        return parse_unified_diff(diff)
    except InputError:  # a quoted path with a bad escape: refused, in linear time too
        return []


def _excerpt(text: str) -> list:
    """``text`` as a long line above a hunk, looked through for the enclosing definition."""
    source = f"{text}\n    x = 1\n    y = 2\n"
    change = FileChange(path="a.py", hunks=[Hunk(old_start=3, old_len=1, new_start=3,
                                                 new_len=1, lines=["+    y = 2"])])
    return excerpt(change, source)


READERS = {
    "scrub": scrub,
    "description_sections": description_sections,
    "parse_unified_diff": _as_diff,
    "parse_location": parse_location,
    "next_link": next_link,
    "excerpt": _excerpt,
}

#: How a line an author crafts may start: a diff line, a heading, a key, a header value.
STARTS = ["", "+", "+    # ", "# x", "## ", "**", "@@ -1", "-----BEGIN RSA PRIVATE KEY-----\n",
          "password=", "Authorization: Bearer ", "a.py line 1", "<a>; ", "public "]


def _units(most: int):
    return st.lists(st.sampled_from(UNITS), min_size=1, max_size=most).map("".join)


@pytest.mark.parametrize("reader", READERS)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(head=st.tuples(st.sampled_from(STARTS), _units(2)).map("".join), body=_units(3),
       tail=st.tuples(_units(2), st.sampled_from(["", "\nthe text\n"])).map("".join))
@example(head="+    # ", body="token.", tail="\n")
@example(head="# x", body=" ", tail="y\nthe text")
@example(head="", body="eyJ-", tail="")
@example(head="", body="ab://u:pw9@", tail="")
@example(head="", body="<", tail="")
@example(head="", body="public ", tail="x")
def test_time_grows_linearly_on_crafted_lines(reader, head, body, tail):
    """A line of repeated adversarial units: 10 times as long takes at most ~12 times as
    long in every reader of author text (a reader that rescans or backtracks takes ~100)."""
    ratio = _growth(READERS[reader], _line(head, body, tail))
    assert ratio <= MAX_GROWTH, f"{reader}: x{ratio:.1f} on {head!r} + {body!r}... + {tail!r}"


KNOWN = {  # reader, head, repeated unit, tail
    "redaction: token. in one comment": (scrub, "+    # ", "token.", "\n"),
    "redaction: password=password=...": (scrub, "+", "password=", "hunter2xY9ab0Q77\n"),
    "redaction: a JSON Web Token prefix": (scrub, "", "eyJ-", ""),
    "redaction: URLs with a password": (scrub, "", "ab://u:pw9@", ""),
    "redaction: base64 and a key header": (scrub, "-----BEGIN RSA PRIVATE KEY-----\n",
                                           "AbC1+/dEfG2hIjK3", "\n"),
    "redaction: Bearer then blanks": (scrub, "Authorization: Bearer ", " ", "x"),
    "description: heading, blanks, text": (description_sections, "# x", " ", "y\nbody"),
    "description: hashes": (description_sections, "", "#", " x\nbody"),
    "description: bold": (description_sections, "**", "*", "**\nbody"),
    "diff: quoted name with escapes": (_as_diff, '"', '\\"', ""),
    "diff: hunk header digits": (_as_diff, "", "1", ""),
    "location: digits and blanks": (parse_location, "a.py line 1", " ", "x"),
    "link: many openers": (next_link, "", "<", ""),
    "link: openers and closers": (next_link, "", "<a>; ", ""),
    "excerpt: modifier words": (_excerpt, "", "public ", "x"),
}


@pytest.mark.parametrize("name", KNOWN)
def test_time_grows_linearly_on_known_attacks(name):
    """The adversarial lines found so far, each at 100 KB and 1 MB."""
    reader, head, body, tail = KNOWN[name]
    ratio = _growth(reader, _line(head, body, tail))
    assert ratio <= MAX_GROWTH, f"{name}: x{ratio:.1f}"


def _regression(fn, make, small: int, large: int) -> float:
    """Growth of ``fn``'s time from ``make(small)`` to ``make(large)`` characters."""
    return _best(fn, make(large)) / max(_best(fn, make(small)), FLOOR_S)


def test_token_dots_comment_line_is_redacted_in_linear_time():
    """A diff comment of ``token.`` x 3,000 (18 KB) ran for minutes (the assigned-value
    pattern backtracked cubically); now 200 KB of it takes about 10 times what 20 KB does."""
    ratio = _regression(redact_secrets, _line("+    # ", "token.", "\n"), 20_000, 200_000)
    assert ratio <= MAX_GROWTH
    text = "+    # " + "token." * 3000 + "\n"
    assert redact_secrets(text) == (text, 0)


def test_heading_with_a_run_of_blanks_is_read_in_linear_time():
    """A description line ``# x`` + 4,000 blanks + ``y`` ran for over a minute (the heading
    pattern backtracked cubically); now 200 KB of it takes about 10 times what 20 KB does."""
    ratio = _regression(description_sections, _line("# x", " ", "y\nthe text"),
                        20_000, 200_000)
    assert ratio <= MAX_GROWTH
    [section] = description_sections("# x" + " " * 4000 + "y\nthe text")
    assert section.title == ("x" + " " * 4000)[:80] and section.text == "the text"
