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


FINITE = "Input should be a finite number"
# name -> (replacements in GOOD, key "" appending a table; the path named; the message)
ABSURD = {
    "timeout inf": ({"timeout_s = 90": "timeout_s = inf"}, "profiles.canary.seats.0.timeout_s",
                    FINITE),
    "timeout nan": ({"timeout_s = 90": "timeout_s = nan"}, "profiles.canary.seats.0.timeout_s",
                    FINITE),
    "timeout 1e-300": ({"timeout_s = 90": "timeout_s = 1e-300"},
                       "profiles.canary.seats.0.timeout_s", "greater than or equal to 1"),
    "timeout 0": ({"timeout_s = 90": "timeout_s = 0"}, "profiles.canary.seats.0.timeout_s",
                  "greater than or equal to 1"),
    "timeout a day": ({"timeout_s = 90": "timeout_s = 86400"},
                      "profiles.canary.seats.0.timeout_s", "less than or equal to 3600"),
    "price inf": ({"timeout_s = 90": "price_in_per_mtok = inf"},
                  "profiles.canary.seats.0.price_in_per_mtok", FINITE),
    "price nan": ({"timeout_s = 90": "price_out_per_mtok = nan"},
                  "profiles.canary.seats.0.price_out_per_mtok", FINITE),
    "price -inf": ({"timeout_s = 90": "price_cached_per_mtok = -inf"},
                   "profiles.canary.seats.0.price_cached_per_mtok", FINITE),
    "price 1e12": ({"timeout_s = 90": "price_cache_write_per_mtok = 1e12"},
                   "profiles.canary.seats.0.price_cache_write_per_mtok",
                   "less than or equal to 1000"),
    "context window beyond any model": ({'model = "gpt-5"': 'model = "gpt-5"\n'
                                         "context_window = 100_000_000_000"},
                                        "profiles.canary.seats.1.context_window",
                                        "less than or equal to 10000000"),
    "output tokens 1e12": ({'model = "gpt-5"': 'model = "gpt-5"\n'
                            "max_output_tokens = 1_000_000_000_000"},
                           "profiles.canary.seats.1.max_output_tokens",
                           "less than or equal to 1000000"),
    "negative seed": ({'model = "gpt-5"': 'model = "gpt-5"\nseed = -1'},
                      "profiles.canary.seats.1.seed", "greater than or equal to 0"),
    "share nan": ({"quorum = 2": "quorum = 2\nmax_unreviewed_share = nan"},
                  "profiles.canary.policy.max_unreviewed_share", FINITE),
    "pending inf": ({"": "[gate]\npending_timeout_s = inf\n"}, "gate.pending_timeout_s", FINITE),
    "pending 0": ({"": "[gate]\npending_timeout_s = 0\n"}, "gate.pending_timeout_s",
                  "greater than or equal to 60"),
    "history a billion rounds": ({"": "[gate]\nhistory_rounds = 1_000_000_000\n"},
                                 "gate.history_rounds", "less than or equal to 100"),
    "context max_tokens 1e15": ({"": "[context]\nmax_tokens = 1_000_000_000_000_000\n"},
                                "context.max_tokens", "less than or equal to 10000000"),
}


def absurd(name: str) -> str:
    """GOOD with the case's change: a replacement, or (key "") a table appended."""
    changes, _, _ = ABSURD[name]
    text = GOOD
    for old, new in changes.items():
        text = text + new if old == "" else text.replace(old, new, 1)
    return text


def error_line(text: str, path: str) -> str:
    """The line of a configuration error that names ``path``."""
    return next((line for line in text.splitlines() if line.startswith(f"  {path}: ")), "")


@pytest.mark.parametrize("name", ABSURD)
def test_non_finite_and_absurd_numbers_are_rejected_naming_the_field(tmp_path, name):
    """inf, nan, 1e-300 seconds, a 100-billion-token window, a billion history rounds...: a
    configuration error naming the field's path and the bound, never a profile that loads."""
    _, path, message = ABSURD[name]
    (tmp_path / "reviewgate.toml").write_text(absurd(name))
    with pytest.raises(ConfigError) as info:
        load_config(root=tmp_path)
    assert message in error_line(str(info.value), path), str(info.value)


@pytest.mark.parametrize("name", ["timeout inf", "pending inf", "price nan"])
def test_config_check_is_not_ready_with_an_absurd_number(tmp_path, capsys, name):
    """`config check` exits 2 naming the field instead of saying "ready"."""
    from reviewgate.cli import main

    _, path, message = ABSURD[name]
    config = tmp_path / "reviewgate.toml"
    config.write_text(absurd(name))
    assert main(["config", "check", "--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert message in error_line(captured.err, path) and "ready" not in captured.out


def test_the_bounds_leave_the_documented_values_valid(tmp_path):
    """The README's example values, the built-in local profile and the bounds themselves load."""
    edges = GOOD.replace("timeout_s = 90", "timeout_s = 3600\nprice_in_per_mtok = 1000\nseed = 0")
    (tmp_path / "reviewgate.toml").write_text(edges.replace(
        'model = "glm-4.6:cloud"', 'model = "glm-4.6:cloud"\ncontext_window = 10_000_000')
        + "[gate]\npending_timeout_s = 60\nhistory_rounds = 100\n")
    config = load_config(root=tmp_path)
    assert config.gate.pending_timeout_s == 60 and config.gate.history_rounds == 100
    assert load_config(root=tmp_path / "none").profile(None)[1].seats[0].timeout_s == 180
