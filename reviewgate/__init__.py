"""reviewgate: a multi-model ensemble pull-request review gate.

Three seats (models) review each pull request in two hats (tech, product); six ballots become one
decision (merge, defer, split or error), comments on the pull request and a commit status.

The public API is the names in ``__all__`` (a script may import them from ``reviewgate``); the
sub-packages are internal and may change between releases. ``docs/architecture.md`` draws them.
"""

__version__ = "0.2.0"

# The public names are imported on first use (PEP 562), so `reviewgate --version` and the CLI's
# start-up do not pay for pydantic, the SDKs or the templates.
_LAZY = {
    "ChangeSet": "core.changeset", "parse_unified_diff": "core.changeset",
    "Config": "core.config", "Policy": "core.config", "Profile": "core.config",
    "SeatConfig": "core.config",
    "load_config": "core.config",
    "Item": "core.consolidate", "group_findings": "core.consolidate",
    "Decision": "core.decision", "decide": "core.decision",
    "ConfigError": "core.errors", "ProviderError": "core.errors", "ReviewgateError": "core.errors",
    "UserError": "core.errors",
    "Ballot": "core.verdict", "Finding": "core.verdict", "Verdict": "core.verdict",
    "extract_verdict": "core.extract",
    "Record": "ensemble.record", "load_record": "ensemble.record",
    "review_change": "ensemble.pipeline",
    "GateReading": "gate", "read_gate": "gate", "run_canary": "gate",
    "make_forge": "forge",
}


def __getattr__(name: str):
    """Import a public name from its module on first access."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'reviewgate' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "Ballot",
    "ChangeSet",
    "Config",
    "ConfigError",
    "Decision",
    "Finding",
    "GateReading",
    "Item",
    "Policy",
    "Profile",
    "ProviderError",
    "Record",
    "ReviewgateError",
    "SeatConfig",
    "UserError",
    "Verdict",
    "__version__",
    "decide",
    "extract_verdict",
    "group_findings",
    "load_config",
    "load_record",
    "make_forge",
    "parse_unified_diff",
    "read_gate",
    "review_change",
    "run_canary",
]
