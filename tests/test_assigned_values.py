"""A value assigned to a secret-looking name is redacted when it is a literal, never when it is
code the reviewers need to read (encode/httpx#3319: ``password=self.cert[2],`` reached the
reviewers as ``password=[REDACTED:assigned],``)."""

from __future__ import annotations

import pytest

from reviewgate.context.assigned_values import assigned_edits, looks_key
from reviewgate.context.redaction import redact_secrets

CODE = [
    "password=self.cert[2],",
    '    token = request.headers["x"]',
    "secret_key=settings.SECRET_KEY",
    "api_key: str = Field(...)",
    'PASSWORD = os.environ["PW"]',
    "    password=self.cert[2],  # type: ignore",
    "AUTH_TOKEN = get_token()",
    "token = os.environ.get('GITHUB_TOKEN')",
    "DEFAULT_TOKEN = DEFAULT_TOKEN_V2_ABC",
    "if token == 'abc':",
    'secret: "Please paste your token 1234 here"',
    "self.auth = auth.Auth2Client(x)",
]
LITERALS = [
    ('password="hunter2xY9ab0Q77"', 'password="[REDACTED:assigned]"'),
    ("API_KEY=AbCd1234EfGh5678IjKl", "API_KEY=[REDACTED:assigned]"),
    ("client_secret: 9f8e7d6c5b4a3f2e1d0c", "client_secret: [REDACTED:assigned]"),
    ("+PASSWORD=hunter2xY9ab0Q77", "+PASSWORD=[REDACTED:assigned]"),
    ('{"api_key": "AbCd1234EfGh5678IjKl"}', '{"api_key": "[REDACTED:assigned]"}'),
    ("db_password = 'Zq8xP2mL9vR4tW7k'", "db_password = '[REDACTED:assigned]'"),
    ("TOKEN := `Zq8xP2mL9vR4tW7k`", "TOKEN := `[REDACTED:assigned]`"),
    ("'secret' => 'Zq8xP2mL9vR4tW7k',", "'secret' => '[REDACTED:assigned]',"),
]


@pytest.mark.parametrize("line", CODE)
def test_code_assigned_to_a_secret_name_is_shown(line):
    """Attribute access, subscripts, calls, identifiers and sentences stay as written."""
    assert redact_secrets(line) == (line, 0)


@pytest.mark.parametrize("line,redacted", LITERALS)
def test_literal_secrets_are_redacted(line, redacted):
    """Quoted strings and key-like bare tokens (.env, YAML, INI) lose their value only."""
    assert redact_secrets(line) == (redacted, 1)


def test_each_assignment_on_a_line_is_judged_alone():
    """Code next to a literal on one line: only the literal goes."""
    line = 'connect(password=self.cert[2], token="Zq8xP2mL9vR4tW7k")'
    assert redact_secrets(line) == (
        'connect(password=self.cert[2], token="[REDACTED:assigned]")', 1)


def test_a_key_is_not_an_identifier():
    """Bare tokens: letters and digits alternating read as a key; words with a digit do not."""
    assert looks_key("hunter2xY9ab0Q77") and looks_key("9f8e7d6c5b4a3f2e1d0c")
    assert not looks_key("DEFAULT_TOKEN_V2") and not looks_key("sha256_checksum1")
    assert not looks_key("a1b2c3d4e5f6.g7") and not looks_key("x1y2z3w4v5u6(")


def test_a_keyword_repeated_in_one_name_is_read_once():
    """Edits stay sorted and non-overlapping when one name holds many keywords."""
    text = "token_secret_password_auth = 'Zq8xP2mL9vR4tW7k' and token=Ab1Cd2Ef3Gh4Ij5K"
    edits = assigned_edits(text)
    assert [text[s:e] for s, e, _ in edits] == ["Zq8xP2mL9vR4tW7k", "Ab1Cd2Ef3Gh4Ij5K"]
