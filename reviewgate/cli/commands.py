"""The local subcommands: ``review``, ``config check|schema``, ``init``, ``completion``,
``eval`` and ``replay``. Each takes the parsed arguments and returns an exit code."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..core.errors import InputError, UserError
from .common import EXIT_FOR, EXIT_USAGE, actions_outputs
from .inputs import GitHistory, change_from_diff, change_from_git, git_reader, previous_round

if TYPE_CHECKING:
    from ..core.config import Config
    from ..ensemble.record import Record


def _markdown(record: Record) -> str:
    from ..publish.render import render_decision, render_seat

    parts = [render_decision(record)]
    parts += [render_seat(record, seat.name) for seat in record.config.profile.seats]
    return "\n\n---\n\n".join(p.strip() for p in parts) + "\n"


def _emit(record: Record, fmt: str, out: str | None) -> None:
    if out:
        Path(out).write_text(record.dump(), encoding="utf-8")
    if fmt == "json":
        sys.stdout.write(record.dump())
    else:
        text = _markdown(record)
        if sys.stdout.isatty():
            from rich.console import Console
            from rich.markdown import Markdown
            Console().print(Markdown(text))
        else:
            sys.stdout.write(text)
    actions_outputs(record)




def _warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


def _load(args: argparse.Namespace) -> Config:
    from ..core.config import load_config

    return load_config(args.config)


def cmd_review(args: argparse.Namespace) -> int:
    """``reviewgate review``: review a diff or git range and print the decision."""
    if args.replay and args.previous:
        raise UserError("--previous applies to a new review, not to --replay")
    if args.replay:
        from ..ensemble.pipeline import replay_record
        from ..ensemble.record import load_record
        from .progress import progress_printer

        record = load_record(args.replay)
        with progress_printer(record.config.profile) as on_progress:
            result = replay_record(record, source=args.replay, on_progress=on_progress)
    else:
        config = _load(args)
        if args.diff and args.git:
            raise UserError("use either --diff or --git, not both")
        change = change_from_diff(args.diff) if args.diff else change_from_git(args.git
                                                                               or "HEAD~1..HEAD")
        reader = None if args.diff else git_reader
        if args.title is not None:
            change.title = args.title
        if args.body_file:
            try:
                change.body = Path(args.body_file).read_text(encoding="utf-8")
            except OSError as exc:
                raise InputError(f"cannot read {args.body_file}: {exc.strerror}") from None
        elif args.body is not None:
            change.body = args.body
        name, profile = config.profile(args.profile)
        if args.estimate:
            from ..ensemble.pipeline import estimate_review
            from ..context.prompts import Prompter

            rows = estimate_review(
                change, config=config, profile_name=name, reader=reader,
                previous=previous_round(args.previous) if args.previous else None,
                history=None if args.diff else GitHistory(), on_warning=_warn)
            sys.stdout.write(Prompter().render("estimate.md.j2", rows=rows, profile=name))
            return 0
        if profile.notice:
            print(f"note: {profile.notice}", file=sys.stderr)
        previous = previous_round(args.previous) if args.previous else None
        from ..providers import warm_up

        warm_up(profile.seats)  # the embedded model loads while the prompts are built
        from ..ensemble.pipeline import review_change
        from .progress import progress_printer

        with progress_printer(profile) as on_progress:
            result = review_change(change, config=config, profile_name=name,
                                   on_progress=on_progress, cache_read=not args.no_cache,
                                   reader=reader, previous=previous,
                                   history=None if args.diff else GitHistory(),
                                   no_previous="no --previous decision.json given")
        if previous is not None:
            print(f"round: {result.input.round.describe()}", file=sys.stderr)
        for warning in result.warnings:
            _warn(warning)
    _emit(result, args.format, args.out)
    return EXIT_FOR[result.decision.decision]


def cmd_config_check(args: argparse.Namespace) -> int:
    """``reviewgate config check``: the effective configuration and which keys are present."""
    from .config_report import print_config

    config = _load(args)
    name, profile = config.profile(args.profile)
    problems = print_config(config, name, profile)
    return EXIT_USAGE if problems else 0


def cmd_eval(args: argparse.Namespace) -> int:
    """``reviewgate eval``: score consolidation and findings on a review-quality dataset."""
    from ..quality.dataset import load_dataset
    from ..quality.evaluate import evaluate_live, evaluate_recorded
    from .progress import eval_progress
    from ..context.prompts import Prompter

    dataset = load_dataset(args.dataset)
    with eval_progress() as on_progress:
        if args.recorded:
            reviewers = [r.strip() for r in args.recorded.split(",") if r.strip()]
            if len(set(reviewers)) != len(reviewers) or not reviewers:
                raise UserError(f"--recorded expects distinct reviewer names, "
                                f"got {args.recorded!r}")
            policy = None
            if args.config or args.profile:
                policy = _load(args).profile(args.profile)[1].policy
            report = evaluate_recorded(dataset, reviewers, policy=policy,
                                       on_progress=on_progress)
        else:
            config = _load(args)
            report = evaluate_live(dataset, config=config, profile_name=args.profile,
                                   judge=args.judge, on_progress=on_progress,
                                   allow_urls=args.allow_urls)
    if args.format == "json":
        text = report.model_dump_json(indent=2) + "\n"
    else:
        text = Prompter().render("eval_report.md.j2", r=report)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    """``reviewgate replay``: decide stored ballots again under another policy (no model call).

    Exit 0 when no decision flips, 10 when at least one does (so a script can tell)."""
    import json

    from ..context.prompts import Prompter
    from ..publish.render import sanitize
    from ..ensemble.shadow import load_records, shadow_decide

    records = load_records(args.path)
    policy = None
    if args.config or args.profile:
        policy = _load(args).profile(args.profile)[1].policy
    shadows = [shadow_decide(rec, policy or rec.config.profile.policy, source=src)
               for src, rec in records]
    if args.format == "json":
        sys.stdout.write(json.dumps([{
            "source": x.source, "title": x.title, "before": x.before.decision,
            "after": x.after.decision, "flipped": x.flipped, "reasons_added": x.reasons_added,
            "reasons_removed": x.reasons_removed, "state": x.after.state,
            "consolidated_by": x.after.consolidated_by} for x in shadows], indent=2) + "\n")
    else:
        sys.stdout.write(Prompter().render("shadow.md.j2", shadows=shadows, s=sanitize))
    return 10 if any(x.flipped for x in shadows) else 0


def cmd_completion(args: argparse.Namespace) -> int:
    """``reviewgate completion SHELL``: a shell completion script (shtab, from this parser)."""
    import shtab

    sys.stdout.write(shtab.complete(args.parser, shell=args.shell) + "\n")
    return 0


def cmd_config_schema(args: argparse.Namespace) -> int:
    """``reviewgate config schema``: the JSON Schema of ``reviewgate.toml`` (from the models)."""
    import json

    from ..core.config import Config

    schema = Config.model_json_schema()
    schema.get("properties", {}).pop("source", None)
    schema["title"] = "reviewgate.toml"
    sys.stdout.write(json.dumps(schema, indent=2) + "\n")
    return 0


#: Files that already configure an updater for the pinned action SHAs (never overwritten).
UPDATER_FILES = {
    "github": [".github/dependabot.yml", ".github/dependabot.yaml"],
    "renovate": ["renovate.json", "renovate.json5", ".renovaterc", ".renovaterc.json",
                 ".github/renovate.json", ".gitea/renovate.json", ".forgejo/renovate.json"],
}


def cmd_init(args: argparse.Namespace) -> int:
    """``reviewgate init``: write a commented ``reviewgate.toml`` and the workflow, and a
    Dependabot (GitHub) or Renovate (Forgejo, Gitea) stanza that keeps the pinned action SHAs
    current unless one exists; never overwrite a file."""
    from ..context.prompts import Prompter

    root = Path(args.dir)
    folder = ".github" if args.forge == "github" else ".forgejo"
    targets = {root / "reviewgate.toml": "init/reviewgate.toml.j2",
               root / folder / "workflows" / "reviewgate.yml": "init/workflow.yml.j2"}
    existing = [str(p) for p in targets if p.exists()]
    if existing:
        raise UserError(f"not overwriting {', '.join(existing)}: remove it or run "
                        "`reviewgate config check` on it")
    updater = "github" if args.forge == "github" else "renovate"
    present = [name for name in UPDATER_FILES[updater] if (root / name).exists()]
    if present:
        print(f"kept {root / present[0]}: make sure it updates the pinned action SHAs")
    else:
        targets[root / UPDATER_FILES[updater][0]] = (
            "init/dependabot.yml.j2" if updater == "github" else "init/renovate.json.j2")
    prompter = Prompter()
    for path, template in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(prompter.render(
            template, forge=args.forge, version=__version__,
            runner="ubuntu-latest" if args.forge == "github" else "docker",
            token_secret="GITHUB_TOKEN" if args.forge == "github" else "REVIEWGATE_BOT_TOKEN"),
            encoding="utf-8")
        print(f"wrote {path}")
    print("next: set the model keys as secrets, then run `reviewgate config check`")
    return 0
