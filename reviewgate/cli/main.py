"""The command line: the only module that parses arguments, prints and picks exit codes.

Exit codes (documented in the README):

====  ==========================================================
0     merge (gate-status: the gate passed for the current head)
10    defer
11    split
12    error: the gate could not decide (quorum, crash, forge failure)
13    gate-status: pending, missing or stale
2     usage or configuration mistake
====  ==========================================================
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .. import __version__
from ..core.errors import InputError, ReviewgateError, UserError, redact

if TYPE_CHECKING:  # imported where used: `reviewgate --version` stays fast
    from ..core.changeset import ChangeSet
    from ..core.config import Config
    from ..ensemble.record import Record

EXIT_FOR = {"merge": 0, "defer": 10, "split": 11, "error": 12}
EXIT_USAGE = 2
EXIT_ERROR = 12
EXIT_NOT_PASSED = 13


def _err(message: str) -> None:
    print(f"reviewgate: {redact(message)}", file=sys.stderr)


# --- input ----------------------------------------------------------------------------------

def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, check=True)
    except FileNotFoundError:
        raise InputError("git is not installed") from None
    except subprocess.CalledProcessError as exc:
        raise InputError(f"git {' '.join(args)} failed: {exc.stderr.strip()}") from None
    return out.stdout


def git_reader(path: str, ref: str, git_dir: str | None = None) -> str | None:
    """The text of ``path`` at commit ``ref`` (``git cat-file blob REF:PATH``) in the working
    directory's repository, or in ``git_dir``; None when it does not exist there or is not
    UTF-8.

    Raises:
        UnsafePath: ``path`` is not a normalized relative repository path (git is not run).
    """
    from ..core.paths import check_repo_path

    check_repo_path(path)
    where = ["--git-dir", git_dir] if git_dir else []
    try:
        out = subprocess.run(["git", *where, "cat-file", "blob", f"{ref}:{path}"],
                             capture_output=True, check=False, timeout=30)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    try:
        return out.stdout.decode("utf-8")
    except UnicodeDecodeError:
        return None


def change_from_git(spec: str) -> ChangeSet:
    """A change set from a local git range ``BASE..HEAD`` (or ``BASE...HEAD``: from the merge
    base). Title and body come from HEAD's commit message."""
    from ..core.changeset import ChangeSet, parse_unified_diff

    if "..." in spec:
        base, head = spec.split("...", 1)
        base = _git("merge-base", base, head or "HEAD").strip()
    elif ".." in spec:
        base, head = spec.split("..", 1)
    else:
        raise InputError(f"--git expects BASE..HEAD, got {spec!r}")
    head = head or "HEAD"
    try:
        base_sha = _git("rev-parse", "--verify", f"{base}^{{commit}}").strip()
    except InputError:
        try:
            single = _git("rev-list", "--count", head).strip() == "1"
        except InputError:
            single = False
        if single:
            raise InputError(f"the repository has a single commit, so {base} does not exist; "
                             "review that commit with: git show --format= HEAD | reviewgate "
                             "review --diff -") from None
        raise
    head_sha = _git("rev-parse", "--verify", f"{head}^{{commit}}").strip()
    diff = _git("diff", "--no-color", "--no-ext-diff", base_sha, head_sha)
    title = _git("log", "-1", "--format=%s", head_sha).strip()
    body = _git("log", "-1", "--format=%b", head_sha).strip()
    return ChangeSet(title=title, body=body, diff=diff, files=parse_unified_diff(diff),
                     base_sha=base_sha, head_sha=head_sha, source=f"git {spec}")


def change_from_diff(path: str) -> ChangeSet:
    """A change set from a unified diff file (``-``: standard input)."""
    from ..core.changeset import ChangeSet, parse_unified_diff

    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read diff {path}: {exc.strerror}") from None
    files = parse_unified_diff(text)
    if not files:
        raise InputError(f"{path} contains no unified diff (no '--- '/'+++ ' or 'diff --git' "
                         "file headers)")
    return ChangeSet(diff=text, files=files, source=f"diff {path}")


# --- output -----------------------------------------------------------------------------------

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
    _actions_outputs(record)


def _actions_outputs(record: Record) -> None:
    """In Actions: the decision comment to the step summary, ``decision=`` to the outputs."""
    from ..publish.render import render_decision

    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(render_decision(record) + "\n")
    outputs = os.environ.get("GITHUB_OUTPUT")
    if outputs:
        with open(outputs, "a", encoding="utf-8") as fh:
            fh.write(f"decision={record.decision.decision}\nstate={record.decision.state}\n")


# --- commands ---------------------------------------------------------------------------------

def _load(args: argparse.Namespace) -> Config:
    from ..core.config import load_config

    return load_config(args.config)


def cmd_review(args: argparse.Namespace) -> int:
    """``reviewgate review``: review a diff or git range and print the decision."""
    from ..ensemble.pipeline import replay_record, review_change
    from .progress import progress_printer
    from ..ensemble.record import load_record

    if args.replay:
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

            rows = estimate_review(change, config=config, profile_name=name, reader=reader)
            sys.stdout.write(Prompter().render("estimate.md.j2", rows=rows, profile=name))
            return 0
        if profile.notice:
            print(f"note: {profile.notice}", file=sys.stderr)
        with progress_printer(profile) as on_progress:
            result = review_change(change, config=config, profile_name=name,
                                   on_progress=on_progress, cache_read=not args.no_cache,
                                   reader=reader)
    _emit(result, args.format, args.out)
    return EXIT_FOR[result.decision.decision]


def cmd_config_check(args: argparse.Namespace) -> int:
    """``reviewgate config check``: the effective configuration and which keys are present."""
    from .progress import print_config

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
                                   judge=args.judge, on_progress=on_progress)
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

    sys.stdout.write(shtab.complete(build_parser(), shell=args.shell) + "\n")
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


def cmd_init(args: argparse.Namespace) -> int:
    """``reviewgate init``: write a commented ``reviewgate.toml`` and the workflow; never
    overwrite a file."""
    from ..context.prompts import Prompter

    root = Path(args.dir)
    folder = ".github" if args.forge == "github" else ".forgejo"
    targets = {root / "reviewgate.toml": "init/reviewgate.toml.j2",
               root / folder / "workflows" / "reviewgate.yml": "init/workflow.yml.j2"}
    existing = [str(p) for p in targets if p.exists()]
    if existing:
        raise UserError(f"not overwriting {', '.join(existing)}: remove it or run "
                        "`reviewgate config check` on it")
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


def add_command(sub: argparse._SubParsersAction, name: str, help_: str,
                *examples: str) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` ends with ``examples`` (one command line each)."""
    return sub.add_parser(name, help=help_, formatter_class=argparse.RawDescriptionHelpFormatter,
                          epilog="examples:\n" + "\n".join(f"  {e}" for e in examples))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="reviewgate", description="Multi-model ensemble pull-request review gate.")
    parser.add_argument("--version", action="version", version=f"reviewgate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    review = add_command(
        sub, "review", "review a diff or git range and decide",
        "reviewgate review --diff change.patch --title 'Fix retries' --out decision.json",
        "reviewgate review --git main...HEAD --profile canary",
        "git show --format= HEAD | reviewgate review --diff - --estimate")
    src = review.add_argument_group("input (default: --git HEAD~1..HEAD)")
    src.add_argument("--diff", metavar="FILE", help="a unified diff file; - reads stdin")
    src.add_argument("--git", metavar="BASE..HEAD", help="a range of the local repository")
    src.add_argument("--replay", metavar="DECISION_JSON",
                     help="reproduce a recorded run from its decision.json (no model calls)")
    review.add_argument("--title", help="pull request title")
    review.add_argument("--body", help="pull request description")
    review.add_argument("--body-file", metavar="FILE", help="read the description from FILE")
    review.add_argument("--profile", help="profile name (default: the config's default)")
    review.add_argument("--config", metavar="PATH", help="reviewgate.toml or pyproject.toml")
    review.add_argument("--out", metavar="FILE", help="write decision.json here")
    review.add_argument("--format", choices=["markdown", "json"], default="markdown")
    review.add_argument("--estimate", action="store_true",
                        help="print the tokens and cost the review would take; call no model")
    review.add_argument("--no-cache", action="store_true",
                        help="ask every model again (the verdict cache is refreshed, not read)")
    review.set_defaults(func=cmd_review)

    config = sub.add_parser("config", help="inspect the configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = add_command(
        config_sub, "check", "effective configuration and credentials",
        "reviewgate config check",
        "reviewgate config check --config .forgejo/reviewgate.toml --profile canary")
    check.add_argument("--config", metavar="PATH")
    check.add_argument("--profile")
    check.set_defaults(func=cmd_config_check)
    schema = config_sub.add_parser("schema", help="the JSON Schema of reviewgate.toml")
    schema.set_defaults(func=cmd_config_schema)

    init = add_command(
        sub, "init", "write a commented reviewgate.toml and the workflow",
        "reviewgate init",
        "reviewgate init --forge github --dir path/to/repo")
    init.add_argument("--forge", choices=["forgejo", "gitea", "github"], default="forgejo")
    init.add_argument("--dir", default=".", help="the repository root (default: here)")
    init.set_defaults(func=cmd_init)

    completion = add_command(
        sub, "completion", "print a shell completion script",
        "reviewgate completion bash > ~/.local/share/bash-completion/completions/reviewgate",
        "reviewgate completion zsh > ~/.zfunc/_reviewgate")
    completion.add_argument("shell", choices=["bash", "zsh", "tcsh"])
    completion.set_defaults(func=cmd_completion)

    ev = add_command(
        sub, "eval", "measure consolidation and review quality on a dataset",
        "reviewgate eval ../shared/eval/crb-public --recorded augment,bugbot,greptile",
        "reviewgate eval data/dataset.json --profile canary --judge claude --format json")
    ev.add_argument("dataset", help="dataset.json (or its folder)")
    ev.add_argument("--recorded", metavar="A,B,C",
                    help="replay these reviewers' recorded findings as seats (no model call)")
    ev.add_argument("--judge", metavar="SEAT",
                    help="live runs: a seat that judges matches to golden comments")
    ev.add_argument("--profile", help="profile name (live runs; recorded runs use its policy)")
    ev.add_argument("--config", metavar="PATH", help="reviewgate.toml or pyproject.toml")
    ev.add_argument("--format", choices=["markdown", "json"], default="markdown")
    ev.add_argument("--out", metavar="FILE", help="also write the report here")
    ev.set_defaults(func=cmd_eval)

    rp = add_command(
        sub, "replay", "decide recorded ballots again under another policy (no model call)",
        "reviewgate replay decision.json --config stricter.toml",
        "reviewgate replay runs/ --profile canary --format json")
    rp.add_argument("path", help="a decision.json, or a folder of them")
    rp.add_argument("--config", metavar="PATH", help="the configuration whose policy to try")
    rp.add_argument("--profile", help="the profile whose policy to try")
    rp.add_argument("--format", choices=["markdown", "json"], default="markdown")
    rp.set_defaults(func=cmd_replay)

    from .forge import add_forge_commands
    add_forge_commands(sub)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run one subcommand and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UserError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except ReviewgateError as exc:
        _err(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt as exc:
        _err(f"interrupted ({exc})" if str(exc) else "interrupted")
        return EXIT_ERROR
    except Exception as exc:  # the last resort: one line and exit 12, never a traceback
        first = (str(exc).splitlines() or [""])[0][:300]
        _err(f"internal error: {type(exc).__name__}: {first} (please report this)")
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
