"""The walk: every create in the spec, with the spec's own example body, and then its links.

Random data rarely makes an update the server accepts (a JSON Patch path it allows, a body for
a resource that exists). The walk makes sure the update semantics are checked on documented
requests: it sends each create operation's example bodies, lets the new resource settle (in
process: the mock's clock moves on by the provider's settle time; on a live server: while its
state is transitional, it is read again like an accepted update, within the run's samples and
budget, counted under the create operation, see `settle.py`), follows the links of what
comes back (reads and updates first, with the target's example bodies or the link's
`requestBody`, deletes last), a few levels deep, and validates every answer with every check
Schemathesis and `checks.py` run. Deterministic and cheap: a few dozen requests per
provider.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from mockserver.contract.cleanup import follow, link_values
from mockserver.contract.context import Read, RunContext
from mockserver.contract.gate import Req, Resp, lower_headers
from mockserver.contract.profile import MISSING, Link, Profile, dig, fill, pointer
from mockserver.spec import Operation

MAX_DEPTH = 3
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass
class WalkResult:
    """What one validated answer said, per check."""

    operation: str
    name: str
    passed: bool
    failure: Any = None


@dataclass
class Walk:
    schema: Any  # the run's Schemathesis schema
    run: RunContext
    pinned: dict[str, str]
    say: Callable[[str], None] = lambda _line: None
    results: list[WalkResult] = field(default_factory=list)
    steps: int = 0

    @property
    def profile(self) -> Profile:
        return self.run.profile

    def __call__(self) -> None:
        for op in self.profile.spec.operations.values():
            if op.method == "POST" and self._is_root(op):
                for body in examples(self.profile, op):
                    self.step(op, {}, body, depth=0)

    def _is_root(self, op: Operation) -> bool:
        names = {p.name for p in op.params if p.location == "path"}
        return all(self.profile.is_tenant_param(name) for name in names)

    # -- one request ----------------------------------------------------------------------
    def step(self, op: Operation, values: dict[str, dict[str, Any]], body: Any, depth: int) -> None:
        case = self._case(op, values, body)
        if case is None:
            return
        self.steps += 1
        response = case.call()
        self._validate(case, response)
        if 200 <= response.status_code < 300 and depth < MAX_DEPTH:
            if op.method == "POST" and self.run.target.advance is not None:
                self.run.target.advance(self.profile.settle)  # let what it made settle (in process)
            elif op.method == "POST":
                self._settle_live(op, response)
            self._follow(op, response, depth)

    def _settle_live(self, op: Operation, response: Any) -> None:
        """On a live server, wait while what `op` made is in a transitional state: poll it
        (kind `settle`) every `interval(settle)` s for the settle time at most, if the run's
        samples and budget admit one more wait for `op`. Without a state hint, a way to read
        it back, or a transitional first read, nothing is waited for."""
        hints = self.profile.hints
        if hints.state is None or not hints.transitional:
            return
        req = self._read_back(op, response)
        if req is None:
            return
        where = pointer(hints.state)

        def pending(read: Read) -> bool:
            ok = 200 <= read.response.status < 300
            return ok and dig(read.doc, where) in hints.transitional

        first = Read(req, self.run.send(req))
        settling, name, settle = self.run.settling, op.operation_id, self.profile.settle
        if not pending(first) or not settling.admit(name, settle):
            return
        settling.ended(name, settling.follow(first, self.run.poll, pending, settle))

    def _read_back(self, op: Operation, response: Any) -> Req | None:
        """The GET that reads what `op` made: its first link to a GET (else the operation's
        reader, on the POST's own path parameters), with the run's credentials and tenant."""
        req, resp, params = self._exchange(response)
        reads = [
            k for k in self.profile.links(op, response.status_code) if k.target.method == "GET"
        ]
        target = follow(reads[0], req, resp, params) if reads else None
        reader = reads[0].target if reads else self.profile.reader(op)
        if target is None and reader is not None:
            path = fill(reader.template, params)
            target = Req("GET", path, "", {}) if path is not None else None
        if target is None or reader is None:
            return None
        declared = {(p.location, p.name.lower()) for p in reader.params}
        headers = lower_headers(self.run.target.credentials.items())
        query = dict(parse_qsl(target.query, keep_blank_values=True))
        for key, value in self.pinned.items():
            where, _, name = key.partition(".")
            if where == "header":
                headers[name.lower()] = value
            elif where == "query" and (where, name.lower()) in declared:
                query[name] = value
        return target.replace(headers={**headers, **target.headers}, query=urlencode(query))

    def _case(self, op: Operation, values: dict[str, dict[str, Any]], body: Any) -> Any:
        credentials = dict(self.run.target.credentials)  # Schemathesis adds them only in its runs
        given: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "header": credentials}
        for key, value in self.pinned.items():
            where, _, name = key.partition(".")
            given[where][name] = value
        for where, found in values.items():
            given.setdefault(where, {}).update(found)
        for param in op.params:
            if param.required and param.name not in given[param.location]:
                example = param_example(param.schema)
                if example is MISSING:
                    return None
                given[param.location][param.name] = example
        api = self.schema[op.template][op.method]
        kwargs: dict[str, Any] = {
            "path_parameters": given["path"],
            "query": given["query"],
            "headers": given["header"],
        }
        if body is not MISSING:
            kwargs["body"] = body
            kwargs["media_type"] = next(iter(op.body_types), "application/json")
        return api.Case(**kwargs)

    def _validate(self, case: Any, response: Any) -> None:
        from schemathesis.core.failures import FailureGroup

        # Every result, failures included, comes through the after_validate hook.
        with contextlib.suppress(FailureGroup):
            case.validate_response(response)

    def record(self, case: Any, results: list[Any]) -> None:
        """The `after_validate` hook: keep each check's verdict."""
        for result in results:
            passed = result.failure is None
            self.results.append(
                WalkResult(case.operation.label, result.name, passed, result.failure)
            )

    # -- links ----------------------------------------------------------------------------
    def _exchange(self, response: Any) -> tuple[Req, Resp, dict[str, str]]:
        """The request a response answered, the response, and the request's path parameters."""
        req = self.run.sent(response)
        resp = Resp(response.status_code, lower_headers(response.headers.items()), response.content)
        found = self.profile.match(req.method, req.path)
        return req, resp, found[1] if found else {}

    def _follow(self, op: Operation, response: Any, depth: int) -> None:
        req, resp, params = self._exchange(response)
        links = self.profile.links(op, response.status_code)
        links.sort(key=lambda link: link.target.method == "DELETE")  # deletes last
        for link in links:
            values = link_values(link, req, resp, params)
            if values is None:
                continue
            for body in self._bodies(link, req, resp, params):
                self.step(link.target, values, body, depth + 1)

    def _bodies(self, link: Link, req: Any, resp: Any, params: dict[str, str]) -> Iterator[Any]:
        target = link.target
        if target.method not in BODY_METHODS or not target.body_types:
            yield MISSING
            return
        if link.body is not None:
            from mockserver.contract.cleanup import evaluate_all

            yield evaluate_all(link.body, req, resp, params)
            return
        yield from examples(self.profile, target)


def examples(profile: Profile, op: Operation) -> list[Any]:
    """The example bodies the spec gives an operation (media-type `example`/`examples`,
    then the schema's), at most three."""
    raw = profile.spec.resolve(op.raw.get("requestBody", {}), [])[0]
    found: list[Any] = []
    for media in (raw.get("content") or {}).values():
        if "example" in media:
            found.append(media["example"])
        for item in (media.get("examples") or {}).values():
            item = profile.spec.resolve(item, [])[0]
            if isinstance(item, dict) and "value" in item:
                found.append(item["value"])
        schema = profile.spec.resolve(media.get("schema", {}), [])[0]
        if isinstance(schema, dict):
            found.extend([schema["example"]] if "example" in schema else [])
            found.extend(schema.get("examples") or [])
    unique = {json.dumps(body, sort_keys=True): body for body in found}
    return list(unique.values())[:3]


def param_example(schema: Any) -> Any:
    """A value for a required parameter the walk has nothing for: its example, else MISSING."""
    if not isinstance(schema, dict):
        return MISSING
    if "example" in schema:
        return schema["example"]
    for key in ("examples", "enum"):
        if schema.get(key):
            return schema[key][0]
    if "default" in schema:
        return schema["default"]
    return MISSING
