"""What the contract checks work with during one run: the target, the gate and the snapshots.

The checks in `checks.py` get it as an argument (`ContractChecks` finds it by the schema).
"""

from __future__ import annotations

import json
import random
import string
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from mockserver.contract.gate import Gate, Req, Resp, lower_headers
from mockserver.contract.profile import Profile, fill
from mockserver.contract.settle import Settling

if TYPE_CHECKING:
    from mockserver.spec import Operation

BODY_HEADERS = frozenset({"content-type", "content-length"})


@dataclass(frozen=True)
class Target:
    """Where a run sends its requests, and what it may do there beyond HTTP."""

    name: str  # for people: "in process" or the URL
    forward: Callable[[Req], Resp]
    credentials: Mapping[str, str]  # headers that authenticate the run
    tenant: str | None  # the run's tenant, pinned in every request
    other_tenant: str | None  # a tenant the run's resources must be invisible from
    live: bool
    tick: Callable[[], object] | None = None  # in process: time passes before each call
    advance: Callable[[float], object] | None = None  # in process: let time pass now
    any_token: bool = False  # the target accepts any well-formed token (the mock does)
    # the credentials of another tenant, where the token names the tenant (in process)
    credentials_for: Callable[[str], Mapping[str, str]] | None = None
    mock_errors: Callable[[], list[str]] | None = None  # in process: errors inside the mock
    close: Callable[[], None] = lambda: None


@dataclass
class Read:
    """A read of one resource: the request, and what came back."""

    request: Req
    response: Resp

    @property
    def doc(self) -> Any:
        return self.response.json()


class _Bounded(OrderedDict[str, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        if len(self) > self.size:
            self.popitem(last=False)


@dataclass
class RunContext:
    profile: Profile
    gate: Gate
    target: Target
    probes_per_operation: int = 20
    before: _Bounded = field(default_factory=lambda: _Bounded(256))
    after: _Bounded = field(default_factory=lambda: _Bounded(256))
    probed: Counter[tuple[str, str]] = field(default_factory=Counter)
    settling: Settling = field(default_factory=Settling)  # following async updates to their end
    # Not the mock's seeded id stream (random.Random(0)): an "unknown" id must be unknown.
    rng: random.Random = field(default_factory=lambda: random.Random("deploymock-unknown-ids"))

    # -- before each call ---------------------------------------------------------------------
    def before_call(self, case: Any) -> None:
        """Pin the tenant, let time pass (in process) and read the resource a change touches."""
        self.pin_tenant(case)
        if self.target.tick is not None:
            self.target.tick()
        op = self.operation(case)
        if op is not None and self.profile.is_item_change(op):
            read = self.read(op, case)
            if read is not None:
                self.before[case.id] = read

    def pin_tenant(self, case: Any) -> None:
        """Put the run's tenant in the body, and drop alternative tenant parameters.

        Header and query places are pinned by Schemathesis itself (`parameters` in its config,
        see `runner.build_schema`); a part Schemathesis made invalid on purpose is left alone.
        """
        tenant = self.target.tenant
        if tenant is None:
            return
        from schemathesis.core.parameters import ParameterLocation

        meta = case.meta
        for place in self.profile.tenant:
            if place.where == "body":
                body = case.body
                named = isinstance(body, dict) and ({place.name, *place.alternatives} & set(body))
                if not named or (meta and meta.is_negative_at(ParameterLocation.BODY)):
                    continue
                for other in place.alternatives:
                    body.pop(other, None)
                body[place.name] = tenant
            elif place.where == "query" and case.query:
                if meta and meta.is_negative_at(ParameterLocation.QUERY):
                    continue
                for other in place.alternatives:
                    case.query.pop(other, None)

    def pinned(self) -> dict[str, str]:
        """Schemathesis `parameters` that pin the tenant: `header.X` / `query.X` -> tenant."""
        tenant = self.target.tenant
        if tenant is None:
            return {}
        return {
            f"{p.where}.{p.name}": tenant
            for p in self.profile.tenant
            if p.where in ("header", "query", "path")
        }

    # -- requests -----------------------------------------------------------------------------
    def operation(self, case: Any) -> Operation | None:
        return self.profile.route(case.method, case.path)

    def send(self, req: Req) -> Resp:
        return self.gate.send(req, kind="probe")

    def read(self, op: Operation, case: Any) -> Read | None:
        """GET the resource `op` changes, as the case names it, with the run's credentials and
        tenant."""
        reader = self.profile.reader(op)
        pinned = self._pinned_by_place()
        path_values = {**(case.path_parameters or {}), **pinned["path"]}
        path = fill(reader.template, path_values) if reader else None
        if reader is None or path is None:
            return None
        declared = {(p.location, p.name.lower()) for p in reader.params}
        query = {k: v for k, v in _pairs(case.query) if ("query", k.lower()) in declared}
        query.update({k: v for k, v in pinned["query"].items() if ("query", k.lower()) in declared})
        headers = lower_headers(
            (k, str(v))
            for k, v in (case.headers or {}).items()
            if ("header", k.lower()) in declared
        )
        headers.update(lower_headers(self.target.credentials.items()))
        headers.update(lower_headers(pinned["header"].items()))
        req = Req("GET", path, urlencode(query), headers)
        return Read(req, self.send(req))

    def _pinned_by_place(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {"path": {}, "query": {}, "header": {}}
        for key, value in self.pinned().items():
            where, _, name = key.partition(".")
            out[where][name] = value
        return out

    def read_again(self, read: Read) -> Read:
        return Read(read.request, self.send(read.request))

    def poll(self, read: Read) -> Read:
        """`read_again` while waiting for an update to settle (kind `settle` in the gate)."""
        return Read(read.request, self.gate.send(read.request, kind="settle"))

    def after_read(self, case: Any) -> Read | None:
        """The read after the call (once per case; every check compares with the same one)."""
        if case.id not in self.after:
            before = self.before.get(case.id)
            self.after[case.id] = self.read_again(before) if before is not None else None
        found: Read | None = self.after[case.id]
        return found

    def sent(self, response: Any) -> Req:
        """The request Schemathesis sent for `response`, as a gate request."""
        prepared = response.request
        parts = urlsplit(prepared.url)
        body = prepared.body or b""
        return Req(
            prepared.method,
            parts.path,
            parts.query,
            lower_headers(prepared.headers.items()),
            body.encode() if isinstance(body, str) else bytes(body),
        )

    def may_probe(self, kind: str, case: Any) -> bool:
        """Probe at most `probes_per_operation` times per operation and kind."""
        key = (kind, case.operation.label)
        if self.probed[key] >= self.probes_per_operation:
            return False
        self.probed[key] += 1
        return True

    # -- variations of a request --------------------------------------------------------------
    def without_credentials(self, req: Req) -> Req:
        names = set(self.profile.credential_headers)
        return req.replace(headers={k: v for k, v in req.headers.items() if k not in names})

    def in_tenant(self, req: Req, tenant: str) -> Req | None:
        """The same request made by the same caller in another tenant; None if it cannot be."""
        headers, query = dict(req.headers), dict(parse_qsl(req.query, keep_blank_values=True))
        body = req.json() if req.body else None
        path, moved = req.path, False
        for place in self.profile.tenant:
            name = place.name
            if place.where == "header" and name.lower() in headers:
                headers[name.lower()] = tenant
            elif place.where == "query" and name in query:
                query[name] = tenant
            elif place.where == "body" and isinstance(body, dict) and name in body:
                body[name] = tenant
            elif place.where == "path" and (moved_path := self._moved(req, name, tenant)):
                path = moved_path
            elif place.where == "credentials" and self.target.credentials_for is not None:
                headers.update(lower_headers(self.target.credentials_for(tenant).items()))
            else:
                continue
            moved = True
        if not moved:
            return None
        raw = json.dumps(body).encode() if isinstance(body, dict) else req.body
        return req.replace(path=path, headers=headers, query=urlencode(query), body=raw)

    def _moved(self, req: Req, name: str, tenant: str) -> str | None:
        found = self.profile.match(req.method, req.path)
        if found is None or name not in found[1]:
            return None
        return fill(found[0].template, {**found[1], name: tenant})

    def unknown_id(self, value: str) -> str:
        """An id shaped like `value` (same length and kinds of characters) that nobody has."""
        try:
            uuid.UUID(value)
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        except ValueError:
            pass
        out = []
        for ch in value:
            if ch.isdigit():
                out.append(self.rng.choice(string.digits))
            elif ch in string.ascii_lowercase:
                out.append(self.rng.choice(string.ascii_lowercase))
            elif ch in string.ascii_uppercase:
                out.append(self.rng.choice(string.ascii_uppercase))
            else:
                out.append(ch)
        made = "".join(out)
        return made if made != value else made + "0"


def _pairs(query: Any) -> list[tuple[str, str]]:
    out = []
    for key, value in (query or {}).items():
        for item in value if isinstance(value, list) else [value]:
            out.append((key, _text(item)))
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
