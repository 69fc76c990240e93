"""What would stop a profile's providers from reviewing: credentials, extras, the embedded
runtime, a quorum the seats cannot meet. Printing is the CLI's (``config check``)."""

from __future__ import annotations

import os

from ..core.config import Profile

__all__ = ["profile_problems"]


def profile_problems(profile: Profile) -> list[str]:
    """What would stop this profile from reviewing as configured: a missing credential
    variable (Ollama Cloud needs ``OLLAMA_API_KEY``), a missing extra (``local`` needs
    xllamacpp and the packaged model), a CPU the prebuilt runtime cannot run on
    (:func:`reviewgate.providers.local.runtime_problem`), a quorum the seats cannot meet."""
    from .local import missing_modules, runtime_problem  # at call time: tests substitute

    problems = []
    runtime_checked = False
    for seat in profile.seats:
        env = seat.key_env
        if env is not None and not os.environ.get(env, "").strip():
            problems.append(f"seat {seat.name}: {env} is not set (the seat would abstain)")
        if seat.provider == "local":
            absent = missing_modules(seat)
            if absent:
                problems.append(f"seat {seat.name}: {', '.join(absent)} not installed: "
                                "pip install --only-binary xllamacpp "
                                "'reviewgate-ensemble[local]'")
            elif not runtime_checked:  # once: every local seat shares the runtime
                runtime_checked = True
                problem = runtime_problem()
                if problem:
                    problems.append(f"embedded model: {problem}")
        if seat.provider == "openai-compatible" and not seat.base_url:
            problems.append(f"seat {seat.name}: openai-compatible needs base_url")
    seats = len(profile.seats)
    if profile.policy.quorum > seats:
        problems.append(f"policy: quorum {profile.policy.quorum} needs {profile.policy.quorum} "
                        f"voting ballots per hat, but the profile has {seats} seat"
                        f"{'s' if seats != 1 else ''} (one ballot per seat and hat): every "
                        "review would end in error")
    return problems
