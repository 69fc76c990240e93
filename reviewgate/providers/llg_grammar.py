"""The grammar of a verdict schema for the embedded model, in llguidance's Lark syntax.

llama.cpp's server takes a grammar that begins with ``%llguidance`` to llguidance (Rust; built
into every xllamacpp wheel: xllamacpp README, "Structured outputs", ``LLAMA_LLGUIDANCE=ON``),
which computes the mask of allowed tokens from a lexer over the vocabulary. The same grammar in
GBNF costs a pass over all 262,144 tokens of Gemma 3 each time the sampled token is refused
(15 of 76 tokens of one answer at temperature 0): the three seats of a hat decoded 24% slower
(median hat, 48 answers each, 0 invalid both, the same mean length; `bench/bench_embedded.py`
measures the whole review). Syntax: llguidance ``docs/syntax.md`` (Lark rules, ``/regex/``
terminals in Rust regex syntax, ``x{m,n}`` repetition).

What the grammar lets a small model write between tokens changes what it says. llama.cpp's own
JSON grammars allow a newline and 20 spaces or tabs between tokens (and llguidance's ``%json``
as much; without whitespace a 270M model writes ``"risks":[{`` where it would write ``"risks":
[]``), and a small model fills the room: answers three to six times longer, often cut at the
token limit; llguidance's ``%json`` with fixed separators made longer answers too (8 of 48 cut).
This converter writes the grammar llama-cpp-python derived from the same schema before the
runtime moved to prebuilt wheels: one optional space between tokens, properties in the schema's
order, every bound kept (string lengths in code points, array sizes, enums, numbers as the
enum's literal text, so ``0.8``, never ``0.80`` or ``8e-1``). A string is one terminal: JSON's
string (RFC 8259 section 7) without raw control characters (a raw newline let the model ramble
to its token limit).

Only the shapes of :func:`reviewgate.core.schema.model_schema` in its ``grammar`` dialect are
supported (objects with every property required, strings with lengths or enums, arrays with
sizes, booleans, number enums); anything else is a :class:`ValueError`, never a grammar that
allows more than the schema.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["STRING_CHAR", "schema_grammar"]

#: One character of a JSON string (RFC 8259 section 7) as a regex (Rust and Python syntax
#: alike): anything but a quote, a backslash or a control character, or an escape.
STRING_CHAR = r'(?:[^"\\\x00-\x1F\x7F]|\\(?:["\\\x2Fbfnrt]|u[0-9a-fA-F]{4}))'

#: Between tokens: nothing or one space (llama-cpp-python's ``SPACE_RULE``).
_BASE = {
    "space": '" "?',
    "boolean": '("true" | "false") space',
}


def _literal(text: str) -> str:
    """``text`` as a Lark string literal (JSON's escapes: llguidance reads them alike)."""
    return json.dumps(text, ensure_ascii=False)


class _Grammar:
    def __init__(self) -> None:
        self.rules: dict[str, str] = dict(_BASE)

    def add(self, name: str, body: str) -> str:
        base, index = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "r", 0
        rule = base
        while rule in self.rules and self.rules[rule] != body:
            index += 1
            rule = f"{base}_{index}"
        self.rules[rule] = body
        return rule

    def node(self, schema: dict[str, Any], name: str) -> str:
        if "enum" in schema:
            values = schema["enum"]
            if not values or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool)
                                      for v in values):
                raise ValueError(f"{name}: unsupported enum {values!r}")
            options = " | ".join(_literal(json.dumps(v)) for v in values)
            return self.add(name, f"({options}) space")
        kind = schema.get("type")
        if kind == "object":
            return self._object(schema, name)
        if kind == "array":
            return self._array(schema, name)
        if kind == "string":
            low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
            if high is None:
                raise ValueError(f"{name}: a string without maxLength (the grammar bounds it)")
            return self.add(name, f'/"{STRING_CHAR}{{{low},{int(high)}}}"/ space')
        if kind == "boolean":
            return "boolean"
        raise ValueError(f"{name}: unsupported schema {json.dumps(schema)[:80]}")

    def _object(self, schema: dict[str, Any], name: str) -> str:
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False or \
                list(schema.get("required", [])) != list(properties):
            raise ValueError(f"{name}: objects need every property required, no others")
        parts = []
        for key, value in properties.items():
            rule = self.node(value, f"{name}_{key}" if name != "value" else key)
            parts.append(f'{_literal(json.dumps(key))} space ":" space {rule}')
        body = ' "," space '.join(parts)
        return self.add(name, f'"{{" space {body} "}}" space' if parts else '"{" space "}" space')

    def _array(self, schema: dict[str, Any], name: str) -> str:
        item = self.node(schema.get("items", {}), f"{name}_item")
        low, high = int(schema.get("minItems", 0)), schema.get("maxItems")
        if high is None:
            raise ValueError(f"{name}: an array without maxItems (the grammar bounds it)")
        high = int(high)
        if high == 0:
            return self.add(name, '"[" space "]" space')
        more = f'("," space {item}){{{max(low - 1, 0)},{high - 1}}}'
        items = f"{item} {more}"
        return self.add(name, f'"[" space ({items}){"?" if low == 0 else ""} "]" space')


def schema_grammar(schema: dict[str, Any]) -> str:
    """The llguidance grammar of ``schema`` (``%llguidance {}`` then Lark rules, start rule
    ``start``): one JSON value of that shape, as llama.cpp's ``grammar`` request field takes it.

    Raises:
        ValueError: the schema uses a shape this converter does not support.
    """
    grammar = _Grammar()
    grammar.rules["start"] = ""  # reserved: no property's rule takes the name
    grammar.rules["start"] = grammar.node(schema, "value")
    rules = "\n".join(f"{rule}: {body}" for rule, body in sorted(grammar.rules.items()))
    return f"%llguidance {{}}\n{rules}"
