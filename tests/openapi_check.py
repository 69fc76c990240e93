"""Validate HTTP traffic against a Swagger 2.0 document (the Forgejo/Gitea API specs).

For a request: the operation must exist, path parameters declared ``integer`` must be integers,
every query parameter must be declared, and a JSON body must match the body parameter's schema.
For a response: the status must be declared for the operation and a JSON body must match the
declared schema. Schemas are checked with jsonschema's Draft 4 validator (Swagger 2.0 schemas are
a Draft 4 subset); ``$ref`` resolves inside the document.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema


class SpecCheck:
    """One loaded spec. ``check_request`` / ``check_response`` return a list of problems."""

    def __init__(self, path: Path):
        self.spec = json.loads(path.read_text())
        self.base = self.spec.get("basePath", "")
        routes = []
        for template, ops in self.spec["paths"].items():
            # ``{filepath}`` is a tree path (Forgejo routes it as ``*``): it spans segments
            pattern = re.sub(r"\\\{[^}]+\\\}", r"([^/]+?)", re.escape(template).replace(
                r"\{filepath\}", "(.+)"))
            names = re.findall(r"\{([^}]+)\}", template)
            literal = len(re.sub(r"\{[^}]+\}", "", template))
            routes.append((literal, re.compile(f"^{pattern}$"), template, names, ops))
        routes.sort(key=lambda r: -r[0])
        self.routes = [r[1:] for r in routes]

    def _schema_errors(self, schema: dict[str, Any], value: Any, where: str) -> list[str]:
        full = {**schema, "definitions": self.spec["definitions"]}
        validator = jsonschema.Draft4Validator(full)
        return [f"{where}: {e.message} at {'/'.join(str(p) for p in e.absolute_path) or '(root)'}"
                for e in validator.iter_errors(value)]

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any], dict[str, str]]:
        """(template, operation, path params) for a request path with the base path.

        Raises:
            LookupError: no such path or method in the spec.
        """
        if not path.startswith(self.base):
            raise LookupError(f"{path} is outside {self.base}")
        rel = path[len(self.base):]
        for regex, template, names, ops in self.routes:
            m = regex.match(rel)
            if m and method.lower() in ops:
                return template, ops[method.lower()], dict(zip(names, m.groups(), strict=True))
        raise LookupError(f"{method} {rel} is not an operation of the spec")

    def check_request(self, method: str, path: str, query: dict[str, list[str]],
                      body: Any) -> list[str]:
        """Problems with one request (empty when it conforms)."""
        try:
            template, op, params = self.operation(method, path)
        except LookupError as exc:
            return [str(exc)]
        problems = []
        declared = {p["name"]: p for p in op.get("parameters", [])}
        for name, value in params.items():
            p = declared.get(name)
            if p and p.get("type") == "integer" and not value.lstrip("-").isdigit():
                problems.append(f"{template}: path parameter {name}={value!r} is not an integer")
        for name, values in query.items():
            p = declared.get(name)
            if p is None or p.get("in") != "query":
                problems.append(f"{template}: undeclared query parameter {name!r}")
            elif p.get("type") == "integer" and not all(v.isdigit() for v in values):
                problems.append(f"{template}: query {name}={values} is not an integer")
        body_param = next((p for p in op.get("parameters", []) if p.get("in") == "body"), None)
        if body is not None and body_param is None and method != "DELETE":
            problems.append(f"{template}: operation takes no body")
        if body_param is not None and body is not None:
            problems += self._schema_errors(body_param["schema"], body, f"{method} {template} body")
        if body_param is not None and body_param.get("required") and body is None:
            problems.append(f"{template}: body is required")
        return problems

    def check_response(self, method: str, path: str, status: int, body: Any,
                       is_json: bool) -> list[str]:
        """Problems with one response (empty when it conforms)."""
        try:
            template, op, _ = self.operation(method, path)
        except LookupError as exc:
            return [str(exc)]
        responses = op.get("responses", {})
        declared = responses.get(str(status)) or responses.get("default")
        if declared is None and status in (401, 403):
            # authentication/authorization middleware answers before any operation; the spec
            # documents those bodies once, as the shared "unauthorized"/"forbidden" responses
            declared = {"$ref": "#/responses/" + ("unauthorized" if status == 401 else
                                                  "forbidden")}
        if declared is None:
            return [f"{method} {template}: status {status} is not declared"]
        if "$ref" in declared:
            declared = self.spec["responses"][declared["$ref"].split("/")[-1]]
        schema = declared.get("schema")
        if schema is None or not is_json:
            return []
        return self._schema_errors(schema, body, f"{method} {template} -> {status}")
