"""reviewgate: a multi-model ensemble pull-request review gate.

Three seats (models) review each pull request in two hats (tech, product); six ballots become one
decision (merge, defer, split or error), comments on the pull request and a commit status.
"""

__version__ = "0.1.0"

from .changeset import ChangeSet, parse_unified_diff  # noqa: E402
from .config import Config, Policy, Profile, SeatConfig, load_config  # noqa: E402
from .consolidate import Item, group_findings  # noqa: E402
from .decision import Decision, decide  # noqa: E402
from .errors import ConfigError, ProviderError, ReviewgateError, UserError  # noqa: E402
from .verdict import Ballot, Finding, Verdict, extract_verdict  # noqa: E402

__all__ = [
    "Ballot",
    "ChangeSet",
    "Config",
    "ConfigError",
    "Decision",
    "Finding",
    "Item",
    "Policy",
    "Profile",
    "ProviderError",
    "ReviewgateError",
    "SeatConfig",
    "UserError",
    "Verdict",
    "__version__",
    "decide",
    "extract_verdict",
    "group_findings",
    "load_config",
    "parse_unified_diff",
]
