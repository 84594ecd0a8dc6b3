"""What the contract runner reads from a provider: its spec, its tenant and its credentials.

Everything here is derived from the OpenAPI document (through the core's `Spec`) and from the
provider module's declared functions, so a new provider with a spec is covered without a list
to edit. `Provider.contract` hints (see `hints.py`) override or add to what is derived.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mockserver.contract.hints import Hints
from mockserver.errors import MockError
from mockserver.provider import Provider, TenantPlace
from mockserver.spec import Operation, Schema, Spec

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UPDATES = frozenset({"PUT", "PATCH"})
Pointer = tuple[str, ...]


def pointer(text: str) -> Pointer:
    """`/a/b~1c` -> ("a", "b/c")."""
    if not text:
        return ()
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in text.lstrip("/").split("/"))


def dig(doc: Any, where: Pointer) -> Any:
    """The value at `where`, or `MISSING`."""
    for part in where:
        if isinstance(doc, dict) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return MISSING
    return doc


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def properties(schema: Any, depth: int = 0) -> dict[str, list[dict[str, Any]]]:
    """Every property a schema declares, through allOf/anyOf/oneOf, with all its subschemas."""
    out: dict[str, list[dict[str, Any]]] = {}
    if not isinstance(schema, dict) or depth > 8:
        return out
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict):
            out.setdefault(name, []).append(sub)
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key) or ():
            for name, subs in properties(part, depth + 1).items():
                out.setdefault(name, []).extend(subs)
    return out


def _flag(subs: list[dict[str, Any]], key: str, depth: int = 0) -> bool:
    for sub in subs:
        if sub.get(key) is True:
            return True
        parts = [p for k in ("allOf", "anyOf", "oneOf") for p in sub.get(k) or ()]
        if depth < 4 and _flag([p for p in parts if isinstance(p, dict)], key, depth + 1):
            return True
    return False


def read_only_pointers(schema: Any, prefix: Pointer = (), depth: int = 0) -> list[Pointer]:
    """Pointers of the properties a (response) schema marks `readOnly`, nested objects too."""
    found: list[Pointer] = []
    if depth > 4:
        return found
    for name, subs in properties(schema).items():
        here = (*prefix, name)
        if _flag(subs, "readOnly"):
            found.append(here)
            continue
        for sub in subs:
            found.extend(read_only_pointers(sub, here, depth + 1))
    return sorted(set(found))


@dataclass(frozen=True)
class Link:
    """An OpenAPI link from one response to an operation, with its runtime expressions."""

    name: str
    target: Operation
    parameters: Mapping[str, Any]
    body: Any


class Profile:
    """A provider as the contract runner sees it."""

    def __init__(self, provider: Provider, spec: Spec, hints: Hints | None = None) -> None:
        self.provider = provider
        self.spec = spec
        self.doc = spec.doc
        self.hints = hints or Hints.parse(provider.contract)
        self.name = provider.name
        self.routes = {(op.method, op.template): op for op in spec.operations.values()}
        self.tenant: tuple[TenantPlace, ...] = (
            self.hints.tenant if self.hints.tenant is not None else provider.tenant_in
        )
        self.credential_headers = credential_headers(self.doc)
        delays = [float(v) for v in provider.delays.values()] or [0.0]
        self.settle = self.hints.settle if self.hints.settle is not None else 2 * max(delays) + 1
        self._readers: dict[str, Operation | None] = {}
        self._success: dict[str, dict[str, Any] | None] = {}

    # -- operations ---------------------------------------------------------------------------
    def route(self, method: str, template: str) -> Operation | None:
        return self.routes.get((method.upper(), template))

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        try:
            return self.spec.match(method.upper(), path)
        except MockError:
            return None

    def reader(self, op: Operation) -> Operation | None:
        """The GET that reads the resource `op` works on (same path, or the nearest parent)."""
        if op.operation_id not in self._readers:
            self._readers[op.operation_id] = self._find_reader(op)
        return self._readers[op.operation_id]

    def _find_reader(self, op: Operation) -> Operation | None:
        segments = op.template.rstrip("/").split("/")
        for end in range(len(segments), 1, -1):
            template = "/".join(segments[:end])
            if not template.endswith("}"):
                continue
            found = self.route("GET", template)
            if found is not None:
                return found
        return None

    def is_item_change(self, op: Operation) -> bool:
        """An unsafe call on one resource (PATCH/PUT/DELETE/POST below an id)."""
        return op.method in UNSAFE and self.reader(op) is not None

    def success_schema(self, op: Operation) -> dict[str, Any] | None:
        """The schema of `op`'s first documented 2xx JSON body, `$ref`s inlined (cycles cut)."""
        if op.operation_id not in self._success:
            self._success[op.operation_id] = self._find_success(op)
        return self._success[op.operation_id]

    def _find_success(self, op: Operation) -> dict[str, Any] | None:
        for status, raw in sorted((str(k), v) for k, v in (op.raw.get("responses") or {}).items()):
            response, _ = self.spec.resolve(raw, [])
            content = response.get("content") or {}
            media = next((m for m in content if m.endswith("json")), None)
            if status.startswith("2") and media and "schema" in content[media]:
                schema = self._inline(content[media]["schema"], ())
                return schema if isinstance(schema, dict) else None
        return None

    def _inline(self, node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [self._inline(v, seen) for v in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in seen or len(seen) > 16:
                return {}
            target, _ = self.spec.resolve({"$ref": ref}, [])
            rest = {k: v for k, v in node.items() if k != "$ref"}
            inlined = self._inline(target, (*seen, ref))
            return {"allOf": [inlined], **self._inline(rest, seen)} if rest else inlined
        return {k: self._inline(v, seen) for k, v in node.items()}

    def read_only(self, reader: Operation) -> tuple[Pointer, ...]:
        return tuple(read_only_pointers(self.success_schema(reader)))

    def readable(self, reader: Operation) -> frozenset[str]:
        """Top-level fields a read of the resource documents."""
        return frozenset(properties(self.success_schema(reader)))

    def locate(self, reader: Operation, first: str) -> Pointer | None:
        """Where a patch path's first segment lives in a read: at the top, or one level down.

        WML's JSON Patch paths (`/name`, `/asset`) address a document that merges `metadata`
        and `entity`; the read shows them as `/metadata/name`, `/entity/asset`.
        """
        props = properties(self.success_schema(reader))
        if first in props:
            return (first,)
        for name, subs in props.items():
            if any(first in properties(sub) for sub in subs):
                return (name, first)
        return None

    # -- errors -------------------------------------------------------------------------------
    def documented(self, op: Operation, status: int) -> str | None:
        """The response key that documents `status` for `op` (exact, range, or default)."""
        for key in (str(status), f"{str(status)[0]}XX", "DEFAULT", "default"):
            if key in op.responses:
                return key
        return None

    @functools.cached_property
    def _errors_by_status(self) -> dict[str, list[Schema]]:
        """Every distinct schema documented for a 4xx/5xx (or `default`), by response key."""
        found: dict[str, dict[str, Schema]] = {}
        for op in self.spec.operations.values():
            for key, validator in op.responses.items():
                if validator is not None and key[0] in "45D":
                    text = json.dumps(validator.schema, sort_keys=True)
                    found.setdefault(key, {}).setdefault(text, validator)
        return {key: list(schemas.values()) for key, schemas in found.items()}

    @functools.cached_property
    def error_schemas(self) -> list[Schema]:
        """The vendor's error format, whatever the status: its error schemas without the
        `const`/`enum` pins some specs put on the status code and title."""
        seen: dict[str, Schema] = {}
        for schemas in self._errors_by_status.values():
            for validator in schemas:
                relaxed = _unpinned(validator.schema)
                seen.setdefault(json.dumps(relaxed, sort_keys=True), _schema(relaxed))
        return list(seen.values())

    def error_schemas_for(self, op: Operation | None, status: int) -> list[Schema]:
        """What an error body with `status` must match: what `op` documents for it, else what
        another operation documents for that status, else the vendor's error format."""
        key = self.documented(op, status) if op is not None else None
        validator = op.responses.get(key) if op is not None and key else None
        if validator is not None:
            return [validator]
        return self._errors_by_status.get(str(status)) or self.error_schemas

    def documents_404(self, op: Operation) -> bool:
        key = self.documented(op, 404)
        return key is not None and key.upper() != "DEFAULT"

    # -- links --------------------------------------------------------------------------------
    def links(self, op: Operation, status: int) -> list[Link]:
        key = self.documented(op, status)
        if key is None:
            return []
        raw = self.spec.resolve(op.raw.get("responses", {}).get(_raw_key(op, key), {}), [])[0]
        out = []
        for name, link in (raw.get("links") or {}).items():
            link, _ = self.spec.resolve(link, [])
            target = self.spec.operations.get(str(link.get("operationId", "")))
            if target is not None:
                out.append(
                    Link(name, target, link.get("parameters") or {}, link.get("requestBody"))
                )
        return out

    # -- credentials --------------------------------------------------------------------------
    def token_headers(self, token: str) -> dict[str, str]:
        """The headers a bearer of `token` sends (hint `token`, else the spec's scheme)."""
        templates = self.hints.token or default_token_headers(self.doc)
        return {name: value.replace("{token}", token) for name, value in templates.items()}

    def is_tenant_param(self, name: str) -> bool:
        """Whether a path parameter names a tenant (a container), not a resource."""
        return any(p.where == "path" and p.name == name for p in self.tenant)

    def tenant_headers(self, tenant: str) -> dict[str, str]:
        return {p.name: tenant for p in self.tenant if p.where == "header"}

    def tenant_value(self, salt: str) -> str:
        """A tenant name every tenant parameter of the spec accepts."""
        checks = [
            param.validator
            for op in self.spec.operations.values()
            for param in op.params
            for place in self.tenant
            if (param.location, param.name) == (place.where, place.name)
        ]
        candidates = (f"contract-{salt[:12]}", salt[:32], f"contract{salt[:12]}", salt[:8])
        for value in candidates:
            if all(check.is_valid(value) for check in checks):
                return value
        return candidates[0]


def _unpinned(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_unpinned(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    return {k: _unpinned(v) for k, v in schema.items() if k not in ("const", "enum")}


def _schema(schema: Any) -> Schema:
    from jsonschema import Draft202012Validator, FormatChecker

    return Schema(Draft202012Validator(schema, format_checker=FormatChecker()))


def _raw_key(op: Operation, key: str) -> str:
    responses = op.raw.get("responses", {})
    return next((k for k in responses if str(k).upper() == key.upper()), key)


# -- credentials -----------------------------------------------------------------------------
def _schemes(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    found = ((doc.get("components") or {}).get("securitySchemes")) or {}
    return {k: v for k, v in found.items() if isinstance(v, dict)}


def credential_headers(doc: Mapping[str, Any]) -> tuple[str, ...]:
    """Header names that carry credentials in this spec (lowercase)."""
    names = set()
    for scheme in _schemes(doc).values():
        if scheme.get("type") == "apiKey":
            if scheme.get("in") == "header":
                names.add(str(scheme["name"]).lower())
        else:
            names.add("authorization")
    return tuple(sorted(names)) or ("authorization",)


def default_token_headers(doc: Mapping[str, Any]) -> dict[str, str]:
    """`--token` as the spec's first security scheme wants it."""
    schemes = _schemes(doc)
    requirement: Mapping[str, Any] = next(iter(doc.get("security") or [{}]), {}) or {}
    name = next(iter(requirement), None) or next(iter(schemes), None)
    scheme = schemes.get(name or "", {})
    if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
        return {str(scheme["name"]): "{token}"}
    if scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "basic":
        return {"Authorization": "Basic {token}"}
    return {"Authorization": "Bearer {token}"}


# -- runtime expressions ---------------------------------------------------------------------
_TEMPLATE = re.compile(r"\{([^{}]+)\}")


def fill(template: str, values: Mapping[str, Any]) -> str | None:
    """A path template with its parameters filled in (quoted); None if one is missing."""
    missing = False

    def one(m: re.Match[str]) -> str:
        nonlocal missing
        value = values.get(m.group(1), MISSING)
        if value is MISSING or value is None:
            missing = True
            return ""
        return quote(str(value), safe="")

    out = _TEMPLATE.sub(one, template)
    return None if missing else out
