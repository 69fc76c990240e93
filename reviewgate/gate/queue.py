"""A GitHub merge queue's group commit, judged by the pass of the pull request's own head.

A merge queue builds a temporary commit for each group (branch
``gh-readonly-queue/<base branch>/pr-<number>-<head SHA>``) and waits for the required checks on
that commit (the ``merge_group`` event, action ``checks_requested``; payload
``merge_group.head_sha``, ``head_ref``, ``base_ref``, ``base_sha``). The group commit is the pull
request re-based on the queue: the combination is the tests' job, so the gate reviews nothing
here (DESIGN.md section 4, rule 9): it sets its context on the group's head SHA to ``success``
exactly when its own pass (a decision or an audited override) stands for the pull request's
head named in the ref, which must still be the pull request's head; the merge base is not
compared (the queue re-bases by design). No model is called and nothing is commented.

Sources: GitHub docs "Managing a merge queue" and the ``merge_group`` webhook payload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..core.errors import ForgeError, UserError
from ..forge.base import Forge, safe_message
from .status import read_gate

__all__ = ["MergeGroup", "judge_merge_group", "merge_group"]

#: The end of a queue branch: ``pr-<number>-<the pull request's head SHA>``.
_TAIL = re.compile(r"/pr-([1-9][0-9]{0,9})-([0-9a-f]{40})\Z")
_PREFIX = "refs/heads/gh-readonly-queue/"


@dataclass(frozen=True)
class MergeGroup:
    """One merge group: its commit (``head_sha``), the pull request it holds and the head SHA
    that pull request had when it was queued, and the base branch."""

    head_sha: str
    number: int
    pr_head: str
    base: str


def merge_group(event: dict[str, Any]) -> MergeGroup:
    """The merge group of a ``merge_group`` event payload.

    The ref is read anchored at its end (the base branch may itself hold ``/``: ``release/2.x``)
    and must start with ``refs/heads/gh-readonly-queue/<base_ref's branch>/``.

    Raises:
        UserError: not a ``merge_group`` payload, or a ref that is not a queue branch of its
            base (the message names the field).
    """
    group = event.get("merge_group")
    if not isinstance(group, dict):
        raise UserError("not a merge_group event: the payload has no merge_group")
    head_sha, ref, base_ref = (group.get("head_sha"), group.get("head_ref"),
                               group.get("base_ref"))
    if not (isinstance(head_sha, str) and re.fullmatch(r"[0-9a-f]{40}", head_sha)):
        raise UserError("merge_group.head_sha is not a commit SHA")
    if not (isinstance(ref, str) and isinstance(base_ref, str)
            and base_ref.startswith("refs/heads/") and len(ref) < 1024):
        raise UserError("merge_group.head_ref / base_ref are not branch refs")
    base = base_ref.removeprefix("refs/heads/")
    m = _TAIL.search(ref)
    if m is None or ref[:m.start()] != _PREFIX + base:
        raise UserError(f"merge_group.head_ref is not a queue branch of {base}: "
                        f"{ref[:200]!r}")
    return MergeGroup(head_sha=head_sha, number=int(m.group(1)), pr_head=m.group(2), base=base)


@dataclass
class GroupResult:
    """What the gate set on the group's commit: ``state`` (``success``/``failure``) and why."""

    state: str
    description: str
    group: MergeGroup
    url: str = ""


def judge_merge_group(forge: Forge, event: dict[str, Any], *, context: str,
                      owner: str | None = None) -> GroupResult:
    """Set the gate's context on a merge group's commit from the pass of its pull request's
    head (module docstring). Forge requests: the pull request, the gate's identity when
    ``owner`` is None, the head's statuses, the permission of a person who overrode (only
    then), and the one status POST.

    Raises:
        UserError: the payload is not a merge group (nothing is posted).
        ForgeError: the pull request or its statuses cannot be read, or the status POST
            failed.
    """
    group = merge_group(event)
    pr = forge.get_pull(group.number)
    state, url = "failure", ""
    if pr.head_sha != group.pr_head:
        why = (f"head moved: the group holds {group.pr_head[:12]}, pull request "
               f"#{group.number} is now at {pr.head_sha[:12]}")
    elif pr.base_ref and pr.base_ref != group.base:
        why = f"pull request #{group.number} targets {pr.base_ref[:40]}, not {group.base[:40]}"
    else:
        reading = read_gate(forge, group.number, context, owner=owner, bind_base=False,
                            pr=pr)
        url = reading.url
        if reading.passed:
            state = "success"
            why = (f"passed on #{group.number}'s head {pr.head_sha[:12]}"
                   + (" (override)" if reading.override else ""))
        elif reading.gate == "missing":
            why = f"#{group.number}'s head {pr.head_sha[:12]} was never reviewed"
        else:
            why = f"#{group.number}'s head {pr.head_sha[:12]}: {reading.gate}"
    description = f"merge queue: {why}"[:140]
    try:
        forge.set_status(group.head_sha, state=state, context=context, description=description,
                         target_url=url)
    except ForgeError as exc:
        raise ForgeError(f"merge group {group.head_sha[:12]}: {safe_message(exc)}",
                         status_code=exc.status_code) from None
    return GroupResult(state=state, description=description, group=group, url=url)
