"""Forge adapters (one module each) and :func:`make_forge`, which picks one by name.

Gitea shares the Forgejo adapter (same API for everything the gate uses). Adding a forge is one
new module plus one line in :data:`REGISTRY`.
"""

from __future__ import annotations

import importlib
import os

from ..core.errors import UserError, register_secret
from .base import ChangedFile, Comment, Forge, PullRequest, StatusRow

__all__ = ["REGISTRY", "TOKEN_ENV", "ChangedFile", "Comment", "Forge", "PullRequest",
           "StatusRow", "forge_token", "make_forge"]

REGISTRY: dict[str, str] = {
    "forgejo": "forgejo:ForgejoForge",
    "gitea": "forgejo:GiteaForge",
    "github": "github:GitHubForge",
}

#: Where the forge token is read from, first set wins. ``REVIEWGATE_FORGE_TOKEN`` is the one to
#: set (a bot token with write access); the others are the Actions runners' automatic tokens.
TOKEN_ENV = ("REVIEWGATE_FORGE_TOKEN", "FORGEJO_TOKEN", "GITEA_TOKEN", "GITHUB_TOKEN")


def forge_token() -> str | None:
    """The forge token from the first set variable of :data:`TOKEN_ENV` (never printed)."""
    for name in TOKEN_ENV:
        value = os.environ.get(name, "").strip()
        if value:
            register_secret(value)
            return value
    return None


def make_forge(kind: str, *, url: str, repo: str, token: str | None,
               bot_login: str | None = None) -> Forge:
    """Build the adapter for ``kind`` (forgejo, gitea, github).

    Raises:
        UserError: unknown kind, or ``repo`` is not ``owner/name``.
    """
    if kind not in REGISTRY:
        raise UserError(f"unknown forge {kind!r}; choose one of {', '.join(REGISTRY)}")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise UserError(f"--repo must be OWNER/NAME, got {repo!r}")
    module, cls = REGISTRY[kind].split(":")
    return getattr(importlib.import_module(f".{module}", __name__), cls)(
        url, repo, token, bot_login=bot_login)
