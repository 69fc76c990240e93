"""Consolidation: the same finding in other words is recognised; different findings stay apart."""

from __future__ import annotations

import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from reviewgate.core.config import Policy
from reviewgate.core.consolidate import Item, group_findings, similarity_matrix
from reviewgate.core.decision import decide
from reviewgate.core.verdict import Ballot, Finding, Verdict


def f(severity: str, title: str, location: str = "", detail: str = "") -> Finding:
    return Finding(severity=severity, title=title, location=location, detail=detail,
                   recommendation="fix it")


def ballot(seat: str, hat: str, *risks: Finding, vote: str = "NOT_OK") -> Ballot:
    verdict = Verdict(vote=vote, confidence=0.7, summary="s", risks=list(risks),
                      opportunities=[], split=False, suggested_split=[], questions=[])
    return Ballot(seat=seat, hat=hat, provider="p", model="m", vote=vote, verdict=verdict)


def together(groups: list[list[int]], a: int, b: int) -> bool:
    return any(a in g and b in g for g in groups)


def test_same_location_different_words_group():
    """Two reviewers at the same file and nearby line, with no shared words, name one issue."""
    items = [Item("tech-a", "Unbounded retry loop hammers the server", "src/client.py:120"),
             Item("tech-b", "Missing backoff between attempts", "src/client.py:122"),
             Item("tech-c", "Docs typo in the README heading", "README.md:3")]
    groups = group_findings(items)
    assert together(groups, 0, 1)
    assert not together(groups, 0, 2) and not together(groups, 1, 2)


def test_same_words_in_different_files_stay_apart():
    """Identical wording about two different files is two issues."""
    text = "Possible None dereference when the user has no profile"
    items = [Item("tech-a", text, "src/api/users.py:40"),
             Item("tech-b", text, "src/api/teams.py:40")]
    assert group_findings(items) == [[0], [1]]


def test_same_file_far_apart_lines_need_more_than_topic_words():
    """Two different bugs in one file, hundreds of lines apart, with generic shared words."""
    items = [Item("tech-a", "XSS: unsanitized URL interpolated into HTML", "app/embed.rb:13"),
             Item("tech-b", "SSRF: arbitrary URL fetched with open(url)", "app/embed.rb:248")]
    assert group_findings(items) == [[0], [1]]


def test_identifiers_link_texts_without_locations():
    """A shared code identifier (split camelCase, joined forms) links different wordings."""
    items = [
        Item("aug", "santizeAnchors drops the href of relative links, so in-page navigation "
                    "breaks"),
        Item("bug", "The new santize_anchors helper strips relative hrefs; anchors no longer "
                    "navigate within the page"),
        Item("gre", "Rate limiter key uses the client IP from X-Forwarded-For without trusting "
                    "the proxy list"),
        Item("aug", "Cache invalidation misses the per-tenant prefix in invalidateTenantCache"),
    ]
    groups = group_findings(items)
    assert together(groups, 0, 1)
    assert [2] in groups and [3] in groups


def test_paths_quoted_in_text_count_as_locations():
    """Findings without a location field still use the file and line quoted in their text."""
    items = [Item("a", "Light theme colour flipped in app/styles/desktop/topic.scss:291"),
             Item("b", "Lightness values inverted at app/styles/desktop/topic.scss:291 for the "
                       "light theme"),
             Item("c", "Light theme colour flipped in app/styles/mobile/topic.scss:182")]
    groups = group_findings(items)
    assert together(groups, 0, 1) and not together(groups, 0, 2)


def test_two_findings_of_one_ballot_are_not_merged_on_topic_alone():
    """One reviewer listing two risks about one function means two issues unless nearly equal."""
    items = [Item("tech-a", "paginate() allows negative offsets, Django querysets reject them"),
             Item("tech-a", "paginate() comment about negative offsets is misleading"),
             Item("tech-b", "Negative offset reaches queryset slicing in paginate(), which Django "
                            "rejects")]
    groups = group_findings(items)
    assert together(groups, 0, 2) and not together(groups, 0, 1)


def test_similarity_does_not_depend_on_the_order_of_the_findings():
    """Listing the findings in another order gives each pair the same similarity, within 0..1;
    the same words at the same place score high, unrelated words in other files score 0."""
    items = [Item("a", "Race on the shared session cache", "src/session.py:51"),
             Item("b", "Unlocked write to the session cache", "src/session.py:53"),
             Item("c", "Typo in the README title", "README.md:1"),
             Item("d", "Race on the shared session cache", "src/session.py:51")]
    sim = similarity_matrix(items)
    order = [2, 0, 3, 1]
    moved = similarity_matrix([items[k] for k in order])
    for i in range(4):
        assert sim[i][i] == 0.0
        for j in range(4):
            assert 0.0 <= sim[i][j] <= 1.0
            assert moved[order.index(i)][order.index(j)] == pytest.approx(sim[i][j])
    assert sim[0][3] > 0.9 and sim[0][1] > sim[0][2] and sim[0][2] == 0.0


def test_decision_lists_corroborated_findings_with_their_seats():
    """Corroboration counts seats: the same issue from two seats is corroborated, from two hats
    of one seat it is not."""
    race = f("high", "Race on the shared session cache", "src/session.py:51",
             "two threads write _cache without the lock")
    race2 = f("medium", "Unlocked write to _cache", "src/session.py:53",
              "the session cache is mutated outside the lock")
    ballots = [ballot("a", "tech", race), ballot("b", "tech", race2),
               ballot("c", "tech", vote="OK"), ballot("a", "product", race2),
               ballot("b", "product", vote="OK"), ballot("c", "product", vote="OK")]
    d = decide(ballots, Policy(), hats=["tech", "product"], changed_lines=10, changed_files=1)
    [cluster] = d.clusters
    assert cluster.corroborated and cluster.seats == ["a", "b"]
    assert cluster.severity == "high" and cluster.ballots == 3
    lone = decide(ballots[:1] + [ballot("a", "product", race2)] + ballots[2:3]
                  + [ballot("b", "tech", vote="OK")] + ballots[4:], Policy(),
                  hats=["tech", "product"], changed_lines=10, changed_files=1)
    assert [c.corroborated for c in lone.clusters] == [False]


def test_corroborated_blocker_policy_uses_consolidation():
    """blockers='corroborated': a blocker worded differently by two seats defers."""
    b1 = f("blocker", "SQL injection in search()", "app/search.py:10",
           "user input concatenated into the SQL string")
    b2 = f("blocker", "search() builds its query from raw user input", "app/search.py:12",
           "use bound parameters instead of string formatting")
    ballots = [ballot("a", "tech", b1), ballot("b", "tech", b2), ballot("c", "tech", vote="OK"),
               ballot("a", "product", vote="OK"), ballot("b", "product", vote="OK"),
               ballot("c", "product", vote="OK")]
    d = decide(ballots, Policy(blockers="corroborated"), hats=["tech", "product"],
               changed_lines=10, changed_files=1)
    assert d.decision == "defer" and d.consolidated_by == "deterministic"
    assert any("blocker finding" in r for r in d.reasons)


def test_invalid_external_grouping_falls_back_and_says_so():
    """A grouping that is not a partition of the findings is ignored, and the record says so."""
    ballots = [ballot("a", "tech", f("low", "one")), ballot("b", "tech", f("low", "two"))]
    d = decide(ballots, Policy(), hats=["tech"], changed_lines=1, changed_files=1,
               groups=[[0, 1], [1]], consolidated_by="seat:a")
    assert d.consolidated_by.startswith("deterministic (seat:a")
    assert sorted(i for g in d.groups for i in g) == [0, 1]


def test_six_ballots_of_eight_findings_group_quickly_and_completely():
    """48 findings come out as a partition of every index (speed is measured in bench/)."""
    items = [Item(f"h-{s}", f"finding {k} about module{k % 5} function_{k} in detail",
                  f"src/m{k % 7}.py:{10 * k}") for s in range(6) for k in range(8)]
    groups = group_findings(items)
    assert sorted(i for g in groups for i in g) == list(range(48))


WORDS = ["cache", "lock", "offset", "negative", "queryset", "token", "retry", "timeout",
         "santizeAnchors", "get_item_key", "session", "leak"]
finding_st = st.builds(
    lambda sev, words, path, line: f(sev, " ".join(words), f"{path}:{line}" if path else ""),
    st.sampled_from(["blocker", "high", "medium", "low"]),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=5),
    st.sampled_from(["", "a.py", "src/b.py"]), st.integers(1, 80))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(finding_st, max_size=4), min_size=2, max_size=6), st.randoms())
def test_consolidation_does_not_depend_on_order(per_ballot, rnd):
    """Shuffling ballots and the findings inside each ballot never changes the clusters."""
    seats = ["a", "b", "c"]
    ballots = [ballot(seats[k % 3], ["tech", "product"][k // 3], *risks)
               for k, risks in enumerate(per_ballot)]
    hats = sorted({b.hat for b in ballots})

    def clusters(bs):
        d = decide(bs, Policy(), hats=hats, changed_lines=1, changed_files=1)
        return sorted(sorted((m.seat, m.hat, m.finding.title, m.finding.location)
                             for m in c.members) for c in d.clusters)

    expected = clusters(ballots)
    shuffled = [b.model_copy(update={"verdict": b.verdict.model_copy(update={
        "risks": rnd.sample(b.verdict.risks, len(b.verdict.risks))})}) for b in ballots]
    rnd.shuffle(shuffled)
    assert clusters(shuffled) == expected
