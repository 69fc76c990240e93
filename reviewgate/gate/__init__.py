"""The gate run on a forge: review a pull request, publish the reasoning, set the commit status,
and let only the repository's owners steer it.

- :mod:`.run`: one run end to end (:func:`run_canary`);
- :mod:`.comments`: the gate's own comments and the decision comment's round history;
- :mod:`.status`: the gate's identity, run claims, error status, :func:`read_gate`;
- :mod:`.reviews`: line comments as one comment review per round;
- :mod:`.commands`: comment commands read from Markdown (:func:`handle_comment`);
- :mod:`.override`: audited overrides bound to a head SHA (:func:`override_gate`);
- :mod:`.queue`: a merge queue's group commit, judged by its pull request's pass
  (:func:`judge_merge_group`);
- :mod:`.binding`: the diff checked against git's trees of the merge base and the head.
"""

from .commands import CommentOutcome, find_command, handle_comment
from .comments import read_rounds
from .override import WRITE_PERMISSIONS, OverrideRefused, override_gate
from .queue import judge_merge_group
from .run import CanaryResult, run_canary
from .status import GateReading, read_gate

__all__ = ["WRITE_PERMISSIONS", "CanaryResult", "CommentOutcome", "GateReading",
           "OverrideRefused", "find_command", "handle_comment", "judge_merge_group",
           "override_gate", "read_gate", "read_rounds", "run_canary"]
