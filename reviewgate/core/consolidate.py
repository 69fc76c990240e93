"""Consolidation: recognise the same finding raised by different ballots, whatever the wording.

A pure, deterministic, offline function (no model): :func:`group_findings` takes the findings of
every ballot and returns groups of indices, one group per distinct issue. Two findings are
compared by

* **text** — TF-IDF cosine over stemmed words (English Snowball stemmer), code identifiers kept
  whole *and* split (``santizeAnchors`` -> ``santizeanchors``, ``santize``, ``anchors``;
  ``get_item_key`` -> ``get``, ``item``, ``key``), file and function names; the document
  frequency is taken over the findings being grouped, so a word every reviewer uses weighs
  little and a rare identifier weighs much;
* **location** — when both findings name a file (their ``location`` field, else a path quoted in
  the text): the same file at nearby lines raises the similarity, far-apart lines lower it,
  different files in both ``location`` fields never group (``same words, different files``),
  different files only quoted in the text halve it.

Groups are built by average-linkage agglomeration: the two most similar groups merge while their
mean pairwise similarity is at least :attr:`Params.threshold`; two groups that already hold a
finding of the same ballot (one reviewer listing two risks) merge only at
:attr:`Params.same_ballot_threshold`, a stricter bar. Inputs are put in a canonical order first,
so the result does not depend on the order of seats, hats or findings.

Measured on ``eval/crb-public`` (30 pull requests, findings of 12 review tools labelled by a judge
against golden comments) with ``bench/bench_eval.py``. Imports: stdlib and ``snowballstemmer``.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import snowballstemmer

from .locations import parse_location

__all__ = ["Item", "Params", "group_findings", "similarity_matrix"]


@dataclass(frozen=True)
class Item:
    """One finding to group.

    ``ballot`` identifies who raised it (e.g. ``tech-claude``; findings of one ballot are assumed
    distinct unless very similar); ``text`` is everything it says (title, detail); ``location``
    is ``path:line``, ``path:start-end``, ``path`` or empty.
    """

    ballot: str
    text: str
    location: str = ""


@dataclass(frozen=True)
class Params:
    """Thresholds of the grouping (similarities are in 0..1).

    ``threshold``: the mean similarity two groups need to merge; ``same_ballot_threshold``: the
    same when both groups hold a finding of one ballot; ``near_lines``: lines this close (or
    closer) in one file count as the same place; ``far_factor``: similarity multiplier for the
    same file more than three times ``near_lines`` apart; ``text_file_factor``: multiplier when
    the files are known only from the texts and differ.
    """

    threshold: float = 0.12
    same_ballot_threshold: float = 0.30
    near_lines: int = 10
    far_factor: float = 0.5
    text_file_factor: float = 0.0


# --- features ------------------------------------------------------------------------------------

_STOP = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each either few for from further
had has have having here how i if in into is it its itself just may me might more most must my no
nor not now of off on once only or other our out over own same she should so some such than that
the their them then there these they this those through thus to too under until up upon very via
was we were what when where whether which while who whom why will with within without would you
your e g ie eg etc however therefore since instead rather
""".split())

_TOKEN = re.compile(r"`[^`\n]+`|[A-Za-z_$][\w$]*(?:(?:\.|::|->|#|/)[A-Za-z_$][\w$-]*)*(?:\(\))?")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_IDENTISH = re.compile(r"[_./:#(]|[a-z][A-Z]")
_EXT = (r"py|pyi|js|mjs|cjs|jsx|ts|tsx|rb|go|java|kt|kts|scala|rs|c|h|cc|cpp|cxx|hpp|cs|php|"
        r"scss|sass|less|css|html?|erb|haml|hbs|vue|svelte|sql|ya?ml|json|toml|ini|cfg|md|rst|"
        r"sh|bash|swift|m|mm|ex|exs|erl|hs|ml|lua|pl|r|dart|tf|proto|gradle|xml|lock|txt")
#: A line number has at most 9 digits (``int`` refuses over 4,300): a longer one names no line.
_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]*\w\.(?:" + _EXT + r"))\b"
                   r"(?:(?::|#L| lines? |, lines? )(\d{1,9}+)(?!\d))?", re.IGNORECASE)


@functools.lru_cache(maxsize=1)
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


def _features(text: str) -> Counter[str]:
    """Term counts: ``w:`` stemmed words (identifiers split and joined), ``i:`` whole
    identifiers (dotted names, calls, paths, anything in backticks)."""
    out: Counter[str] = Counter()
    for match in _TOKEN.finditer(text):
        raw = match.group(0)
        token = raw.strip("`")
        parts = [p.lower() for p in _CAMEL.findall(token)]
        words = [p for p in parts if len(p) > 1 and not p.isdigit() and p not in _STOP]
        for word in words:
            out["w:" + _stem(word)] += 1
        if len(parts) > 1:
            joined = "".join(p for p in parts if not p.isdigit())
            if joined not in _STOP:
                out["w:" + _stem(joined)] += 1
        if len(token) > 2 and (raw.startswith("`") or _IDENTISH.search(token)):
            out["i:" + token.lower().rstrip("()")] += 1
    return out


def _normal_path(path: str) -> str:
    path = path.strip().strip("`'\"").lower()
    for prefix in ("a/", "b/", "./"):
        if path.startswith(prefix):
            path = path[len(prefix):]
    return path


def _field_location(location: str) -> tuple[str, int | None] | None:
    loc = parse_location(location)
    return None if loc is None else (_normal_path(loc.path), loc.line)


def _text_locations(text: str) -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    for m in _PATH.finditer(text):
        path = _normal_path(m.group(1))
        line = int(m.group(2)) if m.group(2) else None
        if found.get(path) is None:
            found[path] = line
    return found


def _same_file(a: str, b: str) -> bool:
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


@dataclass(frozen=True)
class _Where:
    """Where a finding points: files (with a line when known), and whether from the field."""

    files: dict[str, int | None]
    from_field: bool


def _where(item: Item) -> _Where:
    field = _field_location(item.location)
    if field is not None:
        return _Where({field[0]: field[1]}, True)
    return _Where(_text_locations(item.text), False)


def _adjust(sim: float, a: _Where, b: _Where, params: Params) -> float:
    """Apply the location evidence to a text similarity."""
    if not a.files or not b.files:
        return sim
    pairs = [(p, q) for p in a.files for q in b.files if _same_file(p, q)]
    if not pairs:
        return sim * params.text_file_factor
    gaps = [abs(a.files[p] - b.files[q]) for p, q in pairs  # type: ignore[operator]
            if a.files[p] is not None and b.files[q] is not None]
    if not gaps:
        return sim
    gap = min(gaps)
    if gap <= params.near_lines:
        return sim + (1.0 - sim) * 0.5 * (1.0 - gap / (params.near_lines + 1))
    if gap > 3 * params.near_lines:
        return sim * params.far_factor
    return sim


def similarity_matrix(items: Sequence[Item], params: Params = Params()) -> list[list[float]]:
    """Pairwise similarity in 0..1 of ``items`` (text and location; the diagonal is 0).

    The weights are TF-IDF with sublinear term frequency (``1 + ln tf``) and smoothed inverse
    document frequency (``ln(1 + N / df)``) over these items, compared by cosine.
    """
    feats = [_features(it.text) for it in items]
    n = len(items)
    df: Counter[str] = Counter()
    for f in feats:
        df.update(f.keys())
    vectors: list[dict[str, float]] = []
    for f in feats:
        vec = {k: (1.0 + math.log(c)) * math.log(1.0 + n / df[k]) for k, c in f.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vectors.append({k: v / norm for k, v in vec.items()})
    wheres = [_where(it) for it in items]
    sim = [[0.0] * n for _ in range(n)]
    for i in range(n):
        vi = vectors[i]
        for j in range(i + 1, n):
            vj = vectors[j]
            small, large = (vi, vj) if len(vi) <= len(vj) else (vj, vi)
            text = sum(w * large[k] for k, w in small.items() if k in large)
            sim[i][j] = sim[j][i] = _adjust(min(text, 1.0), wheres[i], wheres[j], params)
    return sim


def group_findings(items: Sequence[Item], params: Params = Params()) -> list[list[int]]:
    """Group ``items`` into distinct issues.

    Returns:
        groups of indices into ``items``; every index appears exactly once; each group is sorted
        and groups are ordered by their smallest index. The same items in any order give the same
        partition (the work is done in a canonical order).
    """
    n = len(items)
    if n == 0:
        return []
    order = sorted(range(n), key=lambda i: (items[i].location, items[i].text, items[i].ballot))
    canon = [items[i] for i in order]
    sim = similarity_matrix(canon, params)
    # Average linkage with Lance-Williams updates: link[a][b] is the mean similarity.
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    ballots: dict[int, set[str]] = {i: {canon[i].ballot} for i in range(n)}
    link = {i: {j: sim[i][j] for j in range(n) if j != i} for i in range(n)}
    while True:
        best: tuple[float, int, int] | None = None
        alive = sorted(members)
        for x, a in enumerate(alive):
            row = link[a]
            for b in alive[x + 1:]:
                s = row[b]
                bar = (params.same_ballot_threshold if ballots[a] & ballots[b]
                       else params.threshold)
                if s >= bar and (best is None or s > best[0]):
                    best = (s, a, b)
        if best is None:
            break
        _, a, b = best
        na, nb = len(members[a]), len(members[b])
        for c in members:
            if c in (a, b):
                continue
            merged = (link[a][c] * na + link[b][c] * nb) / (na + nb)
            link[a][c] = link[c][a] = merged
            del link[c][b]
        del link[a][b]
        del link[b]
        members[a].extend(members.pop(b))
        ballots[a] |= ballots.pop(b)
    groups = [sorted(order[i] for i in group) for group in members.values()]
    return sorted(groups, key=lambda g: g[0])
