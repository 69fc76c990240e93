"""Prompts and every other user-facing text, rendered from jinja2 templates.

Templates and personas ship in the wheel (``reviewgate/templates``, ``reviewgate/personas``; in a
source checkout, the top-level ``templates/`` and ``personas/``). A repository overrides any file
by putting one of the same name in its own folders (``templates_dir`` / ``personas_dir``).

Prompt order favours prefix caching: the system message and the shared part of the user message
(instructions, pull-request text, diff) come first and are identical for every hat; the hat's
persona comes last. Untrusted text (diff, title, body) is fenced with a random per-run nonce.
No network imports.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any

import jinja2

from .packing import ContextPack, safe_path
from ..core.errors import ConfigError
from ..core.schema import HAT_MARKER
from ..core.schema import verdict_schema

__all__ = ["HAT_MARKER", "Message", "Prompter", "defuse_control_tokens", "shipped_dir"]

#: Chat-template control tokens a runtime that tokenizes the whole prompt with its special
#: tokens (llama.cpp, Ollama) would take for turn boundaries: ChatML and Llama 3 ``<|...|>``,
#: DeepSeek's fullwidth ``<｜...｜>``, Gemma's ``<start_of_turn>``/``<end_of_turn>``,
#: ``<s>``/``</s>``/``<bos>``/``<eos>``/``<pad>``/``<unk>``, Llama 2 ``[INST]``/``<<SYS>>``.
_CONTROL_TOKEN = re.compile(r"<(?=\|[A-Za-z0-9_.-]{1,48}\|>|｜[^｜>\n]{1,48}｜>|"
                            r"(?:start|end)_of_turn>|/?s>|(?:bos|eos|pad|unk|mask)>)"
                            r"|\[(?=/?INST\])|<(?=</?SYS>>)")


def defuse_control_tokens(text: str) -> str:
    """``text`` with every chat-template control token altered (its opening ``<`` or ``[``
    becomes ``‹``), so no text from a pull request can end a turn or open one: it stays inside
    its untrusted fence whatever runtime tokenizes it. Linear time."""
    return _CONTROL_TOKEN.sub("‹", text)

Message = dict[str, str]


def shipped_dir(name: str) -> Path:
    """The shipped ``personas`` or ``templates`` folder (inside the wheel, or the checkout)."""
    package = Path(__file__).resolve().parent.parent  # reviewgate/
    for candidate in (package / name, package.parent / name):
        if candidate.is_dir():
            return candidate
    raise ConfigError(f"shipped folder {name!r} not found next to {package}; reinstall "
                      "reviewgate")


class Prompter:
    """Renders prompts, comments and status texts.

    Args:
        templates_dir: a folder whose templates override the shipped ones, or None.
        personas_dir: a folder whose ``<hat>.md`` files override the shipped personas, or None.
        nonce: the fence nonce (random hex by default; tests pass a fixed one).

    Raises:
        ConfigError: a hat has no persona file; a template is missing or uses an undefined name.
    """

    def __init__(self, *, templates_dir: Path | None = None, personas_dir: Path | None = None,
                 nonce: str | None = None):
        searchpath = [str(p) for p in (templates_dir, shipped_dir("templates")) if p]
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(searchpath), undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False)
        self.env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2)
        self.env.filters["safe_path"] = safe_path
        self.persona_dirs = [p for p in (personas_dir, shipped_dir("personas")) if p]
        self.nonce = nonce or secrets.token_hex(8)
        self._system: dict[tuple[bool, bool], str] = {}

    def persona(self, hat: str) -> str:
        """The persona text for ``hat`` (``<hat>.md``), override first."""
        for folder in self.persona_dirs:
            path = Path(folder) / f"{hat}.md"
            if path.is_file():
                return path.read_text(encoding="utf-8")
        raise ConfigError(f"no persona file for hat {hat!r}: add {hat}.md to personas_dir "
                          f"(looked in {', '.join(str(p) for p in self.persona_dirs)})")

    def render(self, template: str, **data: Any) -> str:
        """Render one template with ``data``.

        Raises:
            ConfigError: the template is missing or refers to an undefined name.
        """
        try:
            return self.env.get_template(template).render(**data)
        except jinja2.TemplateNotFound as exc:
            raise ConfigError(f"template not found: {exc.name}") from None
        except jinja2.UndefinedError as exc:
            raise ConfigError(f"template {template}: {exc.message}") from None

    def _fence_safe(self, pack: ContextPack) -> None:
        self.fence_safe_texts([pack.diff, pack.body, pack.title, pack.context,
                               *pack.omitted_shown, *pack.cut_shown,
                               *(f.path for f in pack.files), *pack.ignored,
                               *pack.context_left_out,
                               *(p for ins in pack.instructions for p in ins.files),
                               *(f"{c.title}\n{c.location}\n{c.detail}" for c in pack.carried)])

    def fence_safe_texts(self, texts: list[str]) -> None:
        """Pick a new nonce until no text of ``texts`` holds the fence marker."""
        marker = f"UNTRUSTED-{self.nonce}"
        while any(marker in t for t in texts):
            self.nonce = secrets.token_hex(8)
            marker = f"UNTRUSTED-{self.nonce}"

    def review_messages(self, pack: ContextPack, hat: str, *,
                        schema_in_prompt: bool = True) -> list[Message]:
        """The chat messages for one ballot: ``[system, user]``, the hat-specific part last.
        ``schema_in_prompt=False`` leaves the JSON schema text out of the system message (for
        endpoints that enforce the schema as a grammar). A pack with carried findings (an
        incremental round) asks for a :class:`~reviewgate.core.verdict.RoundVerdict`."""
        self._fence_safe(pack)
        key = (schema_in_prompt, bool(pack.carried))
        if key not in self._system:
            schema = json.dumps(verdict_schema("strict", carried=key[1]),
                                indent=1) if schema_in_prompt else ""
            self._system[key] = self.render("system.j2", schema=schema, carried=key[1])
        system = self._system[key]
        user = defuse_control_tokens(self.render("review.j2", pack=pack, nonce=self.nonce,
                                                 hat=hat, persona=self.persona(hat)))
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def reask_messages(self, messages: list[Message], answer: str, errors: str) -> list[Message]:
        """``messages`` plus the invalid answer and a request to fix it (one re-ask)."""
        return [*messages, {"role": "assistant", "content": answer},
                {"role": "user", "content": self.render("reask.j2", errors=errors)}]
