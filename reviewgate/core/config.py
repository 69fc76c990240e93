"""Configuration: profiles of seats, hats and the decision policy, loaded from TOML.

Sources, first found wins: an explicit ``--config PATH``; ``reviewgate.toml`` in the repository
root (the working directory); ``[tool.reviewgate]`` in ``pyproject.toml``. With none of them the
built-in ``local`` profile runs (the embedded offline model in three seats).

Units: ``timeout_s`` seconds, ``max_output_tokens`` / ``context_window`` tokens, prices in USD per
million tokens. Every number is bounded where it is declared (pydantic constraints, the reason in
each model's docstring) and no float of the configuration may be ``inf`` or ``nan`` (TOML
accepts both): a bad value is a :class:`~reviewgate.core.errors.ConfigError` naming its path
(``profiles.canary.seats.0.timeout_s: Input should be a finite number``). Imports: stdlib and
pydantic only.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import (Field, ValidationError,
                      model_validator)

from .errors import ConfigError
from .seat import DEFAULT_ENDPOINT, DEFAULT_KEY_ENV, MAX_CONTEXT_WINDOW, ProviderName, SeatConfig
from .seat import Strict as _Strict

__all__ = [
    "DEFAULT_ENDPOINT",
    "DEFAULT_KEY_ENV",
    "Config",
    "Budget",
    "ContextConfig",
    "GateConfig",
    "PathInstruction",
    "Policy",
    "Profile",
    "ProviderName",
    "SeatConfig",
    "load_config",
]

class Policy(_Strict):
    """The decision policy (DESIGN.md section 4); every field is a default that can be changed.

    ``blockers``: ``any`` means one blocker from any non-abstaining ballot defers; ``corroborated``
    means only blockers raised by two or more seats defer (single-reviewer blockers become
    operator questions). ``defer_on_corroborated``: the lowest severity at which a finding
    raised by two or more distinct seats makes the decision at least ``defer`` (the severity of
    such a finding is the median of its seats', see :attr:`reviewgate.core.decision.Cluster.
    median_severity`); ``blocker`` decides as before this rule, ``off`` disables it.
    ``max_unreviewed_share``: the share of changed lines that may go unseen by a quorum of
    voting ballots (binary, undecodable, cut to the budget, over a file limit:
    :mod:`reviewgate.core.coverage`) before the decision is at least ``defer``; the default 0
    means any line. ``size_exclude``: gitignore-style globs of lockfiles and generated files,
    left out of the size that rule 5 (split) measures and packed last; they are reviewed like
    every other file (only the top-level ``ignore`` leaves files out of review). ``consolidate``:
    ``deterministic`` groups the findings offline (:mod:`reviewgate.core.consolidate`);
    ``seat:NAME`` asks that configured seat to group them in one extra call and falls back to
    the deterministic grouping if the call fails.
    """

    quorum: int = Field(default=2, ge=1)
    blockers: Literal["any", "corroborated"] = "any"
    defer_on_corroborated: Literal["blocker", "high", "medium", "low", "off"] = "high"
    split_max_changed_lines: int = Field(default=400, ge=1)
    split_max_files: int = Field(default=10, ge=1)
    split_votes: int = Field(default=2, ge=1)
    max_unreviewed_share: float = Field(default=0.0, ge=0.0, le=1.0)
    consolidate: str = Field(default="deterministic",
                             pattern=r"^(deterministic|seat:[A-Za-z0-9_.-]+)$")
    size_exclude: list[str] = Field(default_factory=lambda: [
        "*.lock", "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "uv.lock",
        "Cargo.lock", "go.sum", "*.min.js", "*.min.css", "*.pb.go", "*_pb2.py", "*.snap",
        "vendor/*", "dist/*",
    ])


class Profile(_Strict):
    """A named ensemble: seats x hats and the policy. A ``demo`` profile (the built-in ``local``
    one) reviews, but in gate mode never posts ``success``."""

    seats: list[SeatConfig] = Field(min_length=1)
    hats: list[str] = Field(default_factory=lambda: ["tech", "product"], min_length=1)
    policy: Policy = Field(default_factory=Policy)
    notice: str | None = None
    demo: bool = False

    @model_validator(mode="after")
    def _unique_names(self) -> Profile:
        names = [s.name for s in self.seats]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"seat names must be unique; repeated: {', '.join(dupes)}")
        if len(set(self.hats)) != len(self.hats):
            raise ValueError("hat names must be unique")
        wanted = self.policy.consolidate
        if wanted.startswith("seat:") and wanted[5:] not in names:
            raise ValueError(f"policy.consolidate names seat {wanted[5:]!r}, which is not a "
                             f"seat of this profile ({', '.join(names)})")
        return self


class GateConfig(_Strict):
    """Forge-side settings: the commit status context, labels and the history kept in comments.

    ``bot_login`` is the login whose statuses and comments are the gate's (default: the token's
    user); ``pending_timeout_s`` is how long, in seconds, a ``pending`` status may stand before
    ``gate-status`` reads it as ``error`` (a run that was killed). ``comments``: ``per-seat``
    posts one comment per seat plus the decision comment; ``single`` only the decision comment,
    each seat's section collapsed in it. ``inline``: post findings that fall on diff lines as
    line comments of one pull request review per round.

    Bounds: ``history_rounds`` 1 to 100 (the rounds live in the decision comment, which GitHub
    caps at 65,536 characters; 100 rounds take about 35,000); ``pending_timeout_s`` 60 to
    604,800 s (a week: under a minute every review in progress would read as ``error``, and
    ``inf`` would keep a killed run's ``pending`` forever, the very case it exists for).
    """

    context: str = "reviewgate/quality-gate"
    labels: dict[str, str] = Field(default_factory=dict)
    history_rounds: int = Field(default=10, ge=1, le=100)
    bot_login: str | None = None
    pending_timeout_s: float = Field(default=1800.0, ge=60, le=7 * 24 * 3600)
    comments: Literal["per-seat", "single"] = "per-seat"
    inline: bool = True


class PathInstruction(_Strict):
    """``[[path_instructions]]``: review instructions for files matching a gitignore-style glob
    (the shape of CodeRabbit's ``path_instructions``), shown to reviewers as trusted text."""

    path: str = Field(min_length=1)
    instructions: str = Field(min_length=1, max_length=4000)


class ContextConfig(_Strict):
    """``[context]``: what reviewers see besides the diff.

    ``around``: lines each side of a hunk when no enclosing function or class is found;
    ``whole_files``: give whole changed files when the budget allows; ``max_files``: changed
    files whose post-change text is read (priority order); ``max_file_bytes``: larger files are
    not read; ``norms_files``: read from the base branch, in order, all that exist;
    ``norms_max_chars``: the norms shown are cut at this many characters; ``max_tokens``: the
    most context (excerpts and whole files, estimated tokens) one prompt carries, whatever room
    a large window leaves, to bound cost.

    Bounds: ``max_tokens`` at most 10,000,000 (the largest context window); ``max_files`` at most
    10,000 (one forge read each); ``max_file_bytes`` at most 64 MiB (read into memory whole);
    ``norms_max_chars`` at most 1,000,000.
    """

    enabled: bool = True
    max_tokens: int = Field(default=24_000, ge=0, le=MAX_CONTEXT_WINDOW)
    around: int = Field(default=20, ge=0, le=500)
    whole_files: bool = True
    max_files: int = Field(default=50, ge=0, le=10_000)
    max_file_bytes: int = Field(default=262_144, ge=1, le=64 * 1024 * 1024)
    norms_files: list[str] = Field(default_factory=lambda: [
        ".reviewgate/norms.md", "AGENTS.md", "CONTRIBUTING.md"])
    norms_max_chars: int = Field(default=12_000, ge=0, le=1_000_000)


LOCAL_NOTICE = (
    "This is the built-in `local` profile: Gemma 3 270M, a tiny offline model running on this "
    "machine. It is NOT a real review. Configure real seats in reviewgate.toml (see the README, "
    "'Configuration'), then run `reviewgate config check`."
)


def builtin_local_profile() -> Profile:
    """Three seats of the embedded Gemma 3 270M model with seeds 1, 2, 3."""
    seats = [
        SeatConfig(name=f"gemma-{seed}", provider="local", model="gemma3-270m-q4_k_m",
                   seed=seed, timeout_s=180.0, max_output_tokens=450, temperature=0.7,
                   context_window=8192)
        for seed in (1, 2, 3)
    ]
    return Profile(seats=seats, notice=LOCAL_NOTICE, demo=True)


class Budget(_Strict):
    """``[budget]``: what a review may cost, in USD, compared before any model is called with
    the run's upper-bound estimate (every ballot's estimated prompt tokens plus its output
    limit, at its seat's prices; :mod:`reviewgate.ensemble.budget`).

    ``run_usd``: one review round. ``pull_request_usd``: every round of one pull request, the
    earlier ones summed from the gate's own round history. Over either, the round runs with
    ``fallback_profile`` when one is set (and says so), else no model is called and the gate
    says ``error`` ("not reviewed: estimated $1.18 over the $0.50 run budget"). A seat with no
    price (an unknown model with none set) makes the estimate unknown, which a budget refuses
    unless ``allow_unpriced``; the embedded model and a self-hosted Ollama cost nothing.
    """

    run_usd: float | None = Field(default=None, gt=0, le=10_000)
    pull_request_usd: float | None = Field(default=None, gt=0, le=1_000_000)
    fallback_profile: str | None = None
    allow_unpriced: bool = False

    @property
    def active(self) -> bool:
        """True when a budget is set."""
        return self.run_usd is not None or self.pull_request_usd is not None


class Config(_Strict):
    """The whole configuration file.

    ``personas_dir`` / ``templates_dir`` override the shipped personas and templates (paths are
    relative to the file that sets them). ``redact_secrets`` (default on) redacts secret-looking
    strings of the diff, title and description before any model sees them
    (:mod:`reviewgate.context.redaction`). ``cache`` (default on) keeps ballots with a valid
    verdict in the verdict cache (``cache_dir``, default:
    :func:`reviewgate.ensemble.cache.default_cache_dir`), so
    a re-run on an unchanged diff asks no model. ``context`` says what reviewers see besides
    the diff (:class:`ContextConfig`); ``path_instructions`` add per-path review instructions;
    ``ignore`` lists gitignore-style globs of files never reviewed (listed as ignored).
    ``budget`` bounds what a review may cost (:class:`Budget`). ``source`` records where the
    configuration came from.
    """

    default_profile: str | None = None
    profiles: dict[str, Profile] = Field(default_factory=dict)
    personas_dir: Path | None = None
    templates_dir: Path | None = None
    gate: GateConfig = Field(default_factory=GateConfig)
    redact_secrets: bool = True
    cache: bool = True
    cache_dir: Path | None = None
    context: ContextConfig = Field(default_factory=ContextConfig)
    path_instructions: list[PathInstruction] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)
    budget: Budget = Field(default_factory=Budget)
    source: str = "built-in defaults"

    @model_validator(mode="after")
    def _known_fallback(self) -> Config:
        fallback = self.budget.fallback_profile
        if fallback is not None and fallback not in {"local", *self.profiles}:
            raise ValueError(f"budget.fallback_profile names profile {fallback!r}, which is not "
                             f"configured ({', '.join(sorted(self.profiles)) or 'none'})")
        return self

    def profile(self, name: str | None) -> tuple[str, Profile]:
        """Resolve a profile by name; None picks ``default_profile``, else the only/first one.

        Raises:
            ConfigError: the name is not a configured profile.
        """
        profiles = {"local": builtin_local_profile(), **self.profiles}
        chosen = name or self.default_profile or (next(iter(self.profiles)) if self.profiles
                                                  else "local")
        if chosen not in profiles:
            raise ConfigError(f"unknown profile {chosen!r}; configured: "
                              f"{', '.join(sorted(profiles))} (from {self.source})")
        return chosen, profiles[chosen]

    def digest(self, profile: str) -> str:
        """sha256 of everything that decides what a round reviews and how: the resolved profile
        (seats, hats, policy), the ``ignore`` globs, redaction, the context settings and the
        path instructions. An incremental round builds on an earlier one only under the same
        digest (a file the earlier round ignored was never reviewed)."""
        _, prof = self.profile(profile)
        data = json.dumps({"profile": prof.model_dump(mode="json"), "ignore": self.ignore,
                           "redact_secrets": self.redact_secrets,
                           "context": self.context.model_dump(mode="json"),
                           "path_instructions": [p.model_dump(mode="json")
                                                 for p in self.path_instructions]},
                          sort_keys=True)
        return "sha256:" + hashlib.sha256(data.encode()).hexdigest()


def _known_keys() -> set[str]:
    return {name for model in (Config, Profile, SeatConfig, Policy, GateConfig, ContextConfig,
                               PathInstruction, Budget)
            for name in model.model_fields if name != "source"}


def _format_errors(exc: ValidationError, where: str) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden" and err["loc"]:
            near = difflib.get_close_matches(str(err["loc"][-1]), _known_keys(), n=1,
                                             cutoff=0.6)
            msg = f"unknown key{f' (did you mean {near[0]!r}?)' if near else ''}"
        lines.append(f"  {loc}: {msg}")
    return f"invalid configuration in {where}:\n" + "\n".join(lines)


def _validate(data: dict, where: str, base: Path) -> Config:
    try:
        config = Config.model_validate({**data, "source": where})
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, where)) from None
    for name, profile in config.profiles.items():
        for seat in profile.seats:
            if seat.provider == "replay":  # only records replay answers (decision.json)
                raise ConfigError(f"{where}: profiles.{name} seat {seat.name}: provider "
                                  "'replay' is internal (it replays the answers of a recorded "
                                  "decision.json); use `reviewgate review --replay` instead")
    for attr in ("personas_dir", "templates_dir", "cache_dir"):
        value = getattr(config, attr)
        if value is not None and not value.is_absolute():
            setattr(config, attr, (base / value).resolve())
    return config


def load_config(path: str | os.PathLike | None = None, *, root: Path | None = None) -> Config:
    """Load and validate the configuration.

    Args:
        path: an explicit file (``reviewgate.toml`` shape, or a ``pyproject.toml`` whose
            ``[tool.reviewgate]`` table is read).
        root: where to look for ``reviewgate.toml`` / ``pyproject.toml``; default: the cwd.

    Raises:
        ConfigError: the file is missing (explicit path), is not TOML, or fails validation; the
            message names the file and each bad key.
    """
    root = root or Path.cwd()
    candidates: list[Path]
    if path is not None:
        candidates = [Path(path)]
        if not candidates[0].is_file():
            raise ConfigError(f"configuration file not found: {path}")
    else:
        candidates = [root / "reviewgate.toml", root / "pyproject.toml"]
    for file in candidates:
        if not file.is_file():
            continue
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
        if file.name == "pyproject.toml":
            table = data.get("tool", {}).get("reviewgate")
            if table is None:
                if path is not None:
                    raise ConfigError(f"{file} has no [tool.reviewgate] table")
                continue
            return _validate(table, f"{file} [tool.reviewgate]", file.parent)
        return _validate(data, str(file), file.parent)
    return Config()
