"""The GBNF grammar (llama.cpp's grammar format) of a verdict schema, for the embedded model.

The embedded model is small: what the grammar lets it write between the tokens changes what it
says. llama.cpp's own JSON grammars allow a newline and 20 spaces or tabs between tokens (and
llguidance's defaults as much; without whitespace a 270M model writes ``"risks":[{`` where it
would write ``"risks": []``), and a small model fills the room: answers three to six times
longer, often cut at the token limit. This converter writes the grammar llama-cpp-python
derived from the same schema before the runtime moved to prebuilt wheels: one optional space
between tokens, properties in the schema's order, every bound kept (string lengths, array
sizes, enums, numbers as the enum's literal text, so ``0.8``, never ``0.80`` or ``8e-1``).

Only the shapes of :func:`reviewgate.core.verdict.model_schema` in its ``grammar`` dialect are
supported (objects with every property required, strings with lengths or enums, arrays with
sizes, booleans, number enums); anything else is a :class:`ValueError`, never a grammar that
allows more than the schema.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["schema_grammar"]

#: Between tokens: nothing or one space (llama-cpp-python's ``SPACE_RULE``).
_BASE = {
    "space": '" "?',
    # JSON (RFC 8259 section 7): no raw control character inside a string; a raw newline let
    # the model ramble to its token limit (llama.cpp's own converter excludes them the same way)
    "char": r'[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})',
    "boolean": '("true" | "false") space',
}


def _literal(text: str) -> str:
    """``text`` as a GBNF string literal."""
    return json.dumps(text, ensure_ascii=False)


class _Grammar:
    def __init__(self) -> None:
        self.rules: dict[str, str] = dict(_BASE)

    def add(self, name: str, body: str) -> str:
        base, index = re.sub(r"[^a-zA-Z0-9-]+", "-", name).strip("-") or "r", 0
        rule = base
        while rule in self.rules and self.rules[rule] != body:
            index += 1
            rule = f"{base}-{index}"
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
            return self.add(name, f'"\\"" char{{{low},{int(high)}}} "\\"" space')
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
            rule = self.node(value, f"{name}-{key}" if name != "root" else key)
            parts.append(f"{_literal(json.dumps(key))} space \":\" space {rule}")
        body = ' "," space '.join(parts)
        return self.add(name, f'"{{" space {body} "}}" space' if parts else '"{" space "}" space')

    def _array(self, schema: dict[str, Any], name: str) -> str:
        item = self.node(schema.get("items", {}), f"{name}-item")
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
    """The GBNF text of ``schema`` (root rule ``root``): one JSON value of that shape.

    Raises:
        ValueError: the schema uses a shape this converter does not support.
    """
    grammar = _Grammar()
    rule = grammar.node(schema, "root")
    if rule != "root":
        grammar.rules["root"] = rule
    return "\n".join(f"{rule} ::= {body}" for rule, body in sorted(grammar.rules.items()))
