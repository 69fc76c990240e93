"""Configuration loading and validation."""

from __future__ import annotations

import pytest

from reviewgate.core.config import load_config
from reviewgate.core.errors import ConfigError

GOOD = """
default_profile = "canary"
[profiles.canary]
hats = ["tech", "product"]
[[profiles.canary.seats]]
name = "claude"
provider = "anthropic"
model = "claude-sonnet-4-5"
timeout_s = 90
[[profiles.canary.seats]]
name = "gpt"
provider = "openai"
model = "gpt-5"
[[profiles.canary.seats]]
name = "glm"
provider = "ollama"
model = "glm-4.6:cloud"
[profiles.canary.policy]
quorum = 2
split_max_changed_lines = 300
"""


def test_reviewgate_toml_is_found_and_validated(tmp_path):
    """reviewgate.toml at the root loads; the default profile and policy apply."""
    (tmp_path / "reviewgate.toml").write_text(GOOD)
    config = load_config(root=tmp_path)
    name, profile = config.profile(None)
    assert name == "canary" and [s.name for s in profile.seats] == ["claude", "gpt", "glm"]
    assert profile.policy.split_max_changed_lines == 300 and profile.seats[0].timeout_s == 90
    assert profile.seats[0].key_env == "ANTHROPIC_API_KEY"


def test_pyproject_table(tmp_path):
    """[tool.reviewgate] in pyproject.toml is read when there is no reviewgate.toml."""
    body = GOOD.replace("[profiles", "[tool.reviewgate.profiles").replace(
        "[[profiles", "[[tool.reviewgate.profiles").replace('default_profile = "canary"', "")
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n" + body)
    config = load_config(root=tmp_path)
    assert config.profile("canary")[0] == "canary" and "pyproject.toml" in config.source


def test_errors_name_the_bad_key(tmp_path):
    """A wrong type or unknown key is reported with its full path."""
    (tmp_path / "reviewgate.toml").write_text(GOOD.replace("timeout_s = 90", 'timeout_s = "soon"')
                                              .replace("quorum = 2", "quorum = 2\nquorom = 3"))
    with pytest.raises(ConfigError) as info:
        load_config(root=tmp_path)
    text = str(info.value)
    assert "profiles.canary.seats.0.timeout_s" in text and "profiles.canary.policy.quorom" in text


def test_no_config_means_local_profile(tmp_path):
    """Without any configuration the built-in local profile runs, with its notice."""
    name, profile = load_config(root=tmp_path).profile(None)
    assert name == "local" and len(profile.seats) == 3
    assert {s.seed for s in profile.seats} == {1, 2, 3} and "NOT a real review" in profile.notice


def test_unknown_profile_and_bad_toml(tmp_path):
    """An unknown profile and invalid TOML are configuration errors with clear messages."""
    (tmp_path / "reviewgate.toml").write_text(GOOD)
    with pytest.raises(ConfigError, match="unknown profile 'nope'"):
        load_config(root=tmp_path).profile("nope")
    (tmp_path / "reviewgate.toml").write_text("[profiles\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(root=tmp_path)


def test_duplicate_seat_names_rejected(tmp_path):
    """Two seats with one name would make ballots ambiguous."""
    (tmp_path / "reviewgate.toml").write_text(GOOD.replace('name = "gpt"', 'name = "claude"'))
    with pytest.raises(ConfigError, match="repeated: claude"):
        load_config(root=tmp_path)
