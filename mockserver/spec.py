"""Load an OpenAPI 3.1 spec and turn it into routes and validators.

Everything the mock knows about the shape of a request or a response comes from here: the path
templates (routing), the parameters (path, query, header; coerced from strings by their schema
type), the request bodies and the response bodies. Schemas are checked with jsonschema (Draft
2020-12, which OpenAPI 3.1 uses); `$ref`s resolve inside the spec through a `referencing`
registry. Validation collects every error, not just the first.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

import orjson
import yaml

from mockserver.errors import ConfigError, Invalid, MethodNotAllowed, NotFound
from mockserver.fastcheck import Check, compile_check

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, FormatChecker
    from jsonschema.exceptions import ValidationError
    from referencing import Registry

MAX_PROBLEMS = 20  # per value: a 200 000-item array gets 20 reasons, not 200 000
MATCHES_KEPT = 4096  # routing results remembered per spec (forgotten all at once when full)
MAX_EXPLAINED = 1000  # a larger invalid container is refused without a per-item explanation
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
FORM = "application/x-www-form-urlencoded"


def _int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


def _int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


@functools.cache
def formats() -> FormatChecker:
    """jsonschema's format checks plus OpenAPI's int32/int64 (jsonschema is imported on the
    first validator a request needs, not at start-up: the compiled checks judge most values)."""
    from jsonschema import FormatChecker

    checker = FormatChecker()
    checker.checks("int32")(_int32)
    checker.checks("int64")(_int64)
    return checker


def spec_dir() -> Path:
    """Where the specs are: inside the installed package, else the source checkout's openapi/."""
    packaged = Path(str(importlib.resources.files("mockserver"))) / "openapi"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "openapi"


# libyaml's safe loader (in PyYAML's wheels) reads the specs 7x faster than the Python one.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def load_document(filename: str) -> dict[str, Any]:
    path = spec_dir() / filename
    if not path.is_file():
        raise ConfigError(f"spec {filename} not found in {spec_dir()}")
    raw = path.read_bytes()
    doc = _cached(raw)
    if doc is None:
        doc = yaml.load(raw, Loader=_YAML_LOADER)
        _cache(raw, doc)
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3.1"):
        raise ConfigError(f"{filename} is not an OpenAPI 3.1 document")
    return doc


# Parsed specs are kept as JSON in the user's cache, by the hash of their YAML: reading five
# specs as JSON takes a few milliseconds, as YAML some tens (start-up to the first answer).
# Only a document JSON holds exactly is kept; a cache that cannot be read or written is none.
def cache_dir() -> Path:
    where = os.environ.get("DEPLOYMOCK_CACHE_DIR")
    if where:
        return Path(where)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "deploymock" / "specs"


def _cache_file(raw: bytes) -> Path:
    return cache_dir() / f"{hashlib.sha256(raw).hexdigest()}.json"


def _cached(raw: bytes) -> Any:
    try:
        return orjson.loads(_cache_file(raw).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


def _cache(raw: bytes, doc: Any) -> None:
    try:
        encoded = orjson.dumps(doc)
        if orjson.loads(encoded) != doc:
            return  # YAML gave something JSON does not keep (an int key, a date)
        target = _cache_file(raw)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(encoded)
        os.replace(partial, target)
    except (OSError, TypeError):
        return


def _pointer(parts: Iterable[str]) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def _type_of(schema: Mapping[str, Any]) -> str | None:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    return t if isinstance(t, str) else None


def _error_text(err: ValidationError, where: str) -> dict[str, Any]:
    loc = where + "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
    message = err.message
    if err.validator in ("oneOf", "anyOf"):
        # Say which alternatives were tried, not just that none fitted.
        reasons = sorted({sub.message for sub in err.context or []})
        message = (
            f"must match exactly one of the allowed shapes ({'; or '.join(reasons)})"
            if reasons
            else "matches more than one of the allowed shapes; it must match exactly one"
        )
    return {"field": loc, "message": message}


class Schema:
    """A schema from the spec: jsonschema's validator plus a compiled check for valid values.

    Built on first use (`lazy`): a spec has hundreds of schemas and a run touches a few.
    """

    _make: tuple[Callable[[], Any], Callable[[Any], Draft202012Validator]]

    def __init__(self, validator: Draft202012Validator) -> None:
        self.__dict__.update(validator=validator, schema=validator.schema)

    @classmethod
    def lazy(
        cls, schema: Callable[[], Any], validator: Callable[[Any], Draft202012Validator]
    ) -> Schema:
        """A schema worked out by `schema()`, checked by `validator(schema)`; on first use."""
        made = cls.__new__(cls)
        made._make = (schema, validator)
        return made

    @functools.cached_property
    def schema(self) -> Any:
        return self._make[0]()

    @functools.cached_property
    def validator(self) -> Draft202012Validator:
        return self._make[1](self.schema)

    @functools.cached_property
    def fast(self) -> Check | None:
        return compile_check(self.schema)

    def is_valid(self, value: Any) -> bool:
        return self.fast(value) if self.fast is not None else self.validator.is_valid(value)

    def iter_errors(self, value: Any) -> Iterator[ValidationError]:
        return self.validator.iter_errors(value)

    def problems(self, value: Any, where: str) -> list[dict[str, Any]]:
        """Every problem with `value`, each with the field it is in; empty when valid."""
        if self.fast is not None:
            if self.fast(value):
                return []
            if isinstance(value, list | dict) and len(value) > MAX_EXPLAINED:
                # jsonschema explains `oneOf` by validating every branch in full: for a
                # 200 000-item array that takes seconds, for an answer that is already known.
                return [
                    {"field": where, "message": f"does not match the schema ({len(value)} items)"}
                ]
        errors = list(itertools.islice(self.validator.iter_errors(value), MAX_PROBLEMS + 1))
        found = [_error_text(e, where) for e in errors[:MAX_PROBLEMS]]
        if len(errors) > MAX_PROBLEMS:
            found.append({"field": where, "message": f"more problems (only {MAX_PROBLEMS} shown)"})
        return found


@dataclass
class Param:
    name: str
    location: str  # path | query | header
    required: bool
    schema: dict[str, Any]
    validator: Schema
    explode: bool
    # Worked out once from the fields above (requests read them on every call).
    label: str = field(init=False)
    kind: str | None = field(init=False)
    item_kind: str | None = field(init=False)

    def __post_init__(self) -> None:
        self.label = f"{self.location}.{self.name}"
        self.kind = _type_of(self.schema)
        item = self.schema.get("items", {})
        self.item_kind = _type_of(item) if isinstance(item, dict) else None

    def problems(self, value: Any) -> list[dict[str, Any]]:
        return self.validator.problems(value, self.label)

    def coerce(self, raw: list[str]) -> Any:
        kind = self.kind
        if kind == "array":
            values = raw if self.explode else [v for r in raw for v in r.split(",")]
            return [_scalar(v, self.item_kind) for v in values]
        if kind in ("integer", "number", "boolean"):
            return _scalar(raw[-1], kind)
        return raw[-1]


_COERCED = frozenset({"integer", "number", "boolean", "array"})


def _scalar(raw: str, kind: str | None) -> Any:
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        return raw
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


class Checked(NamedTuple):
    """A request's parameters by location, and what is wrong with the request (None: nothing)."""

    path: dict[str, Any]
    query: dict[str, Any]
    header: dict[str, Any]
    invalid: Invalid | None


@dataclass
class Operation:
    operation_id: str
    method: str
    template: str
    params: list[Param]
    body_required: bool
    body_types: dict[str, Schema]
    responses: dict[str, Schema | None]
    secured: bool
    raw: dict[str, Any] = field(repr=False)
    # Whether a form body (`application/x-www-form-urlencoded`) is declared, and whether a JSON
    # one is (or no body type at all): a form-only operation refuses JSON and untyped bodies.
    form: bool = field(init=False)
    takes_json: bool = field(init=False)

    def __post_init__(self) -> None:
        self.form = FORM in self.body_types
        self.takes_json = not self.body_types or any(m.endswith("json") for m in self.body_types)

    def body_validator(self, content_type: str | None) -> Schema | None:
        """The validator for a media type; json-ish types fall back to application/json."""
        if not self.body_types:
            return None
        media = (content_type or "application/json").split(";")[0].strip().lower()
        if media in self.body_types:
            return self.body_types[media]
        # Any other JSON media type is read as JSON and held to a declared JSON schema.
        declared = sorted(m for m in self.body_types if m.endswith("json"))
        if media.endswith("json") and declared:
            return self.body_types.get("application/json", self.body_types[declared[0]])
        return None

    def accepts(self, content_type: str | None) -> bool:
        media = (content_type or "").split(";")[0].strip().lower()
        if not media:
            return self.takes_json
        return media in self.body_types or (media.endswith("json") and self.takes_json)

    def validate_request(
        self,
        path: Mapping[str, str],
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        body: Any,
        body_present: bool,
        content_type: str | None,
    ) -> Checked:
        """Coerce and check everything: the parameters that were sent (coerced where they
        could be), and an `Invalid` listing every problem, if any."""
        problems: list[dict[str, Any]] = []
        found: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "header": {}}
        for p in self.params:
            location, name = p.location, p.name
            if location == "path":
                value = path.get(name)
                raw: list[str] | None = None if value is None else [value]
            elif location == "query":
                raw = query.get(name)
            else:
                value = headers.get(name)
                raw = None if value is None else [value]
            if raw is None:
                if p.required:
                    problems.append({"field": p.label, "message": "is required"})
                continue
            value = raw[-1] if p.kind not in _COERCED else p.coerce(raw)
            fast = p.validator.fast
            if fast is None or not fast(value):
                problems.extend(p.problems(value))
            found[location][name] = value
        if self.body_types:
            if not body_present:
                if self.body_required:
                    problems.append({"field": "body", "message": "a request body is required"})
            elif not self.accepts(content_type):
                problems.append(
                    {"field": "header.Content-Type", "message": f"{content_type} is not accepted"}
                )
            else:
                validator = self.body_validator(content_type)
                if validator is not None:
                    problems.extend(validator.problems(body, "body"))
        invalid = None
        if problems:
            invalid = Invalid(
                "Invalid request: " + "; ".join(f"{p['field']}: {p['message']}" for p in problems),
                details=problems,
            )
        return Checked(found["path"], found["query"], found["header"], invalid)

    def validate_response(self, status: int, body: Any) -> list[str]:
        """Problems with a response the mock is about to send (empty when it conforms)."""
        key = str(status)
        if key not in self.responses:
            key = f"{key[0]}XX" if f"{key[0]}XX" in self.responses else "default"
        if key not in self.responses:
            return [f"status {status} is not documented for {self.operation_id}"]
        validator = self.responses[key]
        if validator is None:
            return [] if body is None else [f"status {status} documents no body"]
        if body is None:
            return [f"status {status} must have a body"]
        return sorted(f"{p['field']}: {p['message']}" for p in validator.problems(body, "body"))


class Spec:
    """One provider's OpenAPI document, as routes and validators."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.doc = load_document(filename)
        self.uri = f"urn:deploymock:{filename}"
        self.operations: dict[str, Operation] = {}
        self._routes: list[tuple[re.Pattern[str], str, dict[str, Operation]]] = []
        # (method, path) -> what it matched: clients call the same URLs again and again.
        self._matched: dict[tuple[str, str], tuple[Operation, dict[str, str]]] = {}
        self._build()

    # -- building -----------------------------------------------------------------------------
    def resolve(self, node: Any, where: list[str]) -> tuple[Any, list[str]]:
        """Follow local `$ref`s; return the node and its location in the document."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/") or seen > 32:
                raise ConfigError(f"{self.filename}: unsupported $ref {ref!r}")
            where = [p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/")]
            node = self.doc
            for part in where:
                node = node[part]
            seen += 1
        return node, where

    def validator(self, where: list[str]) -> Schema:
        """A validator for the schema at `where`, with local `$ref`s inlined.

        Resolving `$ref`s through the registry on every request costs more than everything
        else the mock does, so they are inlined once here. A recursive schema keeps its
        references and is validated through the registry.
        """
        node: Any = self.doc
        for part in where:
            node = node[int(part)] if isinstance(node, list) else node[part]
        inline = functools.cache(lambda: self._inline(node, ()))
        return Schema.lazy(lambda: inline()[0], lambda _schema: self._checker(*inline(), where))

    def _checker(self, inlined: Any, complete: bool, where: list[str]) -> Draft202012Validator:
        from jsonschema import Draft202012Validator

        if complete:
            return Draft202012Validator(inlined, format_checker=formats())
        ref = f"{self.uri}#{quote(_pointer(where), safe='/~$!&()*+,;=:@')}"
        return Draft202012Validator(
            {"$ref": ref}, registry=self._registry, format_checker=formats()
        )

    @functools.cached_property
    def _registry(self) -> Registry[Any]:
        from referencing import Registry
        from referencing.jsonschema import DRAFT202012

        registry: Registry[Any] = Registry().with_resource(
            self.uri, DRAFT202012.create_resource(self.doc)
        )
        return registry

    def _inline(self, node: Any, seen: tuple[str, ...]) -> tuple[Any, bool]:
        """`node` with local `$ref`s replaced by their targets; False if one is recursive."""
        if isinstance(node, list):
            items = [self._inline(v, seen) for v in node]
            return [v for v, _ in items], all(ok for _, ok in items)
        if not isinstance(node, dict):
            return node, True
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            if ref in seen:
                return node, False
            target, _ = self.resolve({"$ref": ref}, [])
            inlined, complete = self._inline(target, (*seen, ref))
            rest = {k: v for k, v in node.items() if k != "$ref"}
            if not rest:
                return inlined, complete
            siblings, ok = self._inline(rest, seen)
            return {"allOf": [inlined], **siblings}, complete and ok
        out: dict[str, Any] = {}
        complete = True
        for key, value in node.items():
            if key in ("example", "examples"):
                out[key] = value
                continue
            out[key], ok = self._inline(value, seen)
            complete = complete and ok
        return out, complete

    def _build(self) -> None:
        top_security = self.doc.get("security", [])
        routes: list[tuple[str, dict[str, Operation]]] = []
        for template, item in (self.doc.get("paths") or {}).items():
            shared = item.get("parameters", [])
            methods: dict[str, Operation] = {}
            for method in METHODS:
                if method not in item:
                    continue
                raw = item[method]
                base = ["paths", template, method]
                op_id = raw.get("operationId")
                if not op_id:
                    raise ConfigError(
                        f"{self.filename}: {method.upper()} {template} has no operationId"
                    )
                if op_id in self.operations:
                    raise ConfigError(f"{self.filename}: duplicate operationId {op_id}")
                params = self._params(shared, ["paths", template, "parameters"])
                own = self._params(raw.get("parameters", []), [*base, "parameters"])
                merged = {(p.location, p.name.lower()): p for p in [*params, *own]}
                body_required, body_types = self._body(raw, base)
                op = Operation(
                    operation_id=op_id,
                    method=method.upper(),
                    template=template,
                    params=list(merged.values()),
                    body_required=body_required,
                    body_types=body_types,
                    responses=self._responses(raw, base),
                    secured=bool(raw.get("security", top_security)),
                    raw=raw,
                )
                self.operations[op_id] = op
                methods[op.method] = op
            routes.append((template, methods))
        # Literal segments win over templated ones: /deployments/$count before /deployments/{id}.
        routes.sort(key=lambda r: [(s.startswith("{"), s) for s in r[0].split("/")])
        for template, methods in routes:
            self._routes.append((_compile(template), template, methods))

    def _params(self, raw_list: list[Any], where: list[str]) -> list[Param]:
        out = []
        for i, raw in enumerate(raw_list):
            param, loc = self.resolve(raw, [*where, str(i)])
            if param["in"] not in ("path", "query", "header"):
                continue
            schema_node, schema_loc = self.resolve(param.get("schema", {}), [*loc, "schema"])
            style_default = param["in"] == "query"
            out.append(
                Param(
                    name=param["name"],
                    location=param["in"],
                    required=bool(param.get("required", param["in"] == "path")),
                    schema=schema_node,
                    validator=self.validator(schema_loc),
                    explode=bool(
                        param.get("explode", style_default and param.get("style", "form") == "form")
                    ),
                )
            )
        return out

    def _body(self, raw: dict[str, Any], base: list[str]) -> tuple[bool, dict[str, Schema]]:
        if "requestBody" not in raw:
            return False, {}
        body, loc = self.resolve(raw["requestBody"], [*base, "requestBody"])
        types = {
            media.lower(): self.validator([*loc, "content", media, "schema"])
            for media, content in (body.get("content") or {}).items()
            if "schema" in content
        }
        return bool(body.get("required", False)), types

    def _responses(self, raw: dict[str, Any], base: list[str]) -> dict[str, Schema | None]:
        out: dict[str, Schema | None] = {}
        for status, response in (raw.get("responses") or {}).items():
            resp, loc = self.resolve(response, [*base, "responses", str(status)])
            content = resp.get("content") or {}
            media = next((m for m in content if m.endswith("json")), None)
            has_schema = media is not None and "schema" in content[media]
            key = str(status)
            out[key if key == "default" else key.upper()] = (
                self.validator([*loc, "content", media, "schema"]) if has_schema and media else None
            )
        return out

    # -- routing ------------------------------------------------------------------------------
    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        found = self._matched.get((method, path))
        if found is None:
            found = self._match(method, path)
            if len(self._matched) >= MATCHES_KEPT:
                self._matched.clear()
            self._matched[(method, path)] = found
        return found[0], dict(found[1])

    def _match(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        # The most specific template that matches names the resource (`/deployments/$count`
        # before `/deployments/{id}`); a method it lacks is a 405, not another resource's route.
        for regex, _template, methods in self._routes:
            m = regex.fullmatch(path)
            if m is None:
                continue
            op = methods.get(method)
            if op is None:
                allowed = ", ".join(methods)
                raise MethodNotAllowed(
                    f"Method {method} is not allowed on {path}", headers={"Allow": allowed}
                )
            return op, m.groupdict()
        raise NotFound(f"No route for {method} {path}", kind="route")


def _compile(template: str) -> re.Pattern[str]:
    out, pos = "", 0
    for m in re.finditer(r"\{([^}/]+)\}", template):
        out += re.escape(template[pos : m.start()]) + f"(?P<{_group(m.group(1))}>[^/]+)"
        pos = m.end()
    return re.compile(out + re.escape(template[pos:]) + "/?")


def _group(name: str) -> str:
    # Regex group names must be identifiers; path parameter names are (deploymentId, tenant_id).
    if not name.isidentifier():
        raise ConfigError(f"path parameter {name!r} is not an identifier")
    return name
