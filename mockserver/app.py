"""The ASGI app: providers discovered, mounted, and driven by their specs.

`create_app()` is the one place that knows which providers exist (it finds every module in
`mockserver.providers` that exposes `PROVIDER`). Each provider is served by a `ProviderApp` that
routes by the provider's spec, authenticates, validates the request against the spec, finds the
tenant, runs the handler under that tenant's lock, renders errors in the vendor's format,
optionally validates the response, and journals the exchange.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import itertools
import json
import pkgutil
import threading
from collections import ChainMap
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from mockserver import providers as providers_pkg
from mockserver.clock import TenantClock, VirtualClock
from mockserver.errors import ConfigError, Invalid, MockError, PayloadTooLarge, Unimplemented
from mockserver.faults import Faults, Rule
from mockserver.journal import Journal
from mockserver.persist import SqliteState
from mockserver.providers.base import Ctx, Provider
from mockserver.spec import Spec
from mockserver.statemachine import Outcomes
from mockserver.store import Ids, Store

DEFAULT_MAX_BODY = 1024 * 1024


def discover() -> dict[str, Provider]:
    """Every provider module in `mockserver.providers`, by name."""
    found: dict[str, Provider] = {}
    for info in pkgutil.iter_modules(providers_pkg.__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{providers_pkg.__name__}.{info.name}")
        provider = getattr(module, "PROVIDER", None)
        if isinstance(provider, Provider):
            found[provider.name] = provider
    return dict(sorted(found.items()))


def check_provider(provider: Provider, spec: Spec) -> None:
    """Refuse to start when the handler table and the spec's operations disagree."""
    ops = set(spec.operations)
    covered = set(provider.handlers) | set(provider.unimplemented)
    missing, extra = sorted(ops - covered), sorted(covered - ops)
    both = sorted(set(provider.handlers) & set(provider.unimplemented))
    problems = []
    if missing:
        problems.append(f"operations without a handler: {', '.join(missing)}")
    if extra:
        problems.append(f"handlers without an operation in {spec.filename}: {', '.join(extra)}")
    if both:
        problems.append(f"both handled and unimplemented: {', '.join(both)}")
    if problems:
        raise ConfigError(f"provider {provider.name}: " + "; ".join(problems))


@dataclass
class ServerError:
    """Something went wrong inside the mock; fixtures re-raise these at teardown."""

    provider: str
    tenant: str
    operation_id: str
    message: str
    exception: BaseException | None = None


@dataclass
class Mock:
    """The objects behind the app, shared by the HTTP admin API and the pytest fixtures."""

    providers: dict[str, Provider]
    specs: dict[str, Spec]
    store: Store
    clock: VirtualClock
    outcomes: Outcomes = field(default_factory=Outcomes)
    journal: Journal = field(default_factory=Journal)
    delays: dict[str, dict[str, float]] = field(default_factory=dict)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    validate_responses: bool = False
    max_body: int = DEFAULT_MAX_BODY
    errors: list[ServerError] = field(default_factory=list)
    tenant_clocks: dict[str, TenantClock] = field(default_factory=dict)
    requests_seen: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    faults: Faults = field(default_factory=Faults)
    persist: SqliteState | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # injected latency waits here
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def options_of(self, provider: str) -> ChainMap[str, Any]:
        """A provider's effective options: what was set on this app over the provider's defaults."""
        return ChainMap(
            self.options.setdefault(provider, {}), dict(self.providers[provider].options)
        )

    def patch_options(self, provider: str, patch: dict[str, Any]) -> dict[str, Any]:
        """Change a provider's options with JSON merge-patch semantics (RFC 7386)."""
        effective = self.options_of(provider)
        overrides = self.options.setdefault(provider, {})
        for key, value in patch.items():
            merged = merge_patch(copy.deepcopy(effective.get(key)), value)
            if merged is None:
                overrides.pop(key, None)
            else:
                overrides[key] = merged
        if self.persist is not None:
            self.persist.save_meta("options", self.options)
        return dict(self.options_of(provider))

    def commit(self, provider: str, tenant: str) -> None:
        """Write one tenant's state to the state file (call it holding the tenant's lock)."""
        if self.persist is None:
            return
        data = {
            "kinds": self.store.tenant(provider, tenant).kinds,
            "outcomes": self.outcomes.of_tenant(provider, tenant),
        }
        self.persist.save_tenant(provider, tenant, data)

    def save_clocks(self) -> None:
        if self.persist is not None:
            self.persist.save_meta("clock", self.clock.state())
            self.persist.save_meta(
                "tenant_clocks", {t: c.offset for t, c in self.tenant_clocks.items()}
            )

    def load(self) -> int:
        """Restore what the state file holds for the served providers; returns tenants loaded."""
        if self.persist is None:
            return 0
        meta = self.persist.meta()
        for provider, options in meta.get("options", {}).items():
            if provider in self.providers:
                self.options.setdefault(provider, {}).update(options)
        if "clock" in meta:
            self.clock.restore(meta["clock"])
        for tenant, offset in meta.get("tenant_clocks", {}).items():
            self.clock_for(tenant).offset = float(offset)
        loaded = 0
        for provider, tenant, data in self.persist.tenants():
            if provider in self.providers:
                self.store.tenant(provider, tenant).kinds = data["kinds"]
                self.outcomes.restore(provider, tenant, data.get("outcomes", {}))
                loaded += 1
        if loaded:
            self.store.ids = Ids(None)  # a seeded run would hand out the stored ids again
        return loaded

    def clock_for(self, tenant: str) -> TenantClock:
        """The clock a tenant's resources live by: the shared clock plus the tenant's offset."""
        found = self.tenant_clocks.get(tenant)
        if found is None:
            with self._lock:
                found = self.tenant_clocks.setdefault(tenant, TenantClock(self.clock))
        return found

    def reset(self, *, provider: str | None = None, tenant: str | None = None) -> int:
        if provider is not None and provider not in self.providers:
            raise KeyError(provider)
        dropped = self.store.reset(provider, tenant)
        self.outcomes.reset(provider, tenant)
        self.faults.remove(provider=provider, tenant=tenant)
        if self.persist is not None:
            self.persist.drop(provider, tenant)
        self.journal.clear(provider=provider, tenant=tenant)
        if provider is None:
            with self._lock:
                if tenant is None:
                    self.tenant_clocks.clear()
                else:
                    self.tenant_clocks.pop(tenant, None)
        return dropped

    def admin(self, provider: str, action: str, tenant: str, args: dict[str, Any]) -> Any:
        """Run one of a provider's admin actions on one tenant (see `Provider.admin`)."""
        actions = self.providers[provider].admin
        if action not in actions:
            known = ", ".join(sorted(actions)) or "none"
            raise KeyError(f"{provider} has no admin action {action!r} (it has: {known})")
        with self.store.locked(provider, tenant) as store:
            result = actions[action](store, args)
            self.commit(provider, tenant)
            return result

    def add_fault(self, rule: Rule) -> Rule:
        """Add a fault rule after checking its scope and status against the specs."""
        if rule.provider is not None and rule.provider not in self.providers:
            raise ValueError(f"unknown provider {rule.provider!r}")
        if rule.operation_id is not None:
            specs = [self.specs[rule.provider]] if rule.provider else list(self.specs.values())
            ops = [
                s.operations[rule.operation_id] for s in specs if rule.operation_id in s.operations
            ]
            if not ops:
                raise ValueError(f"no operation {rule.operation_id!r} in the served specs")
            undocumented = rule.status is not None and all(
                str(rule.status) not in op.responses for op in ops
            )
            if undocumented and not rule.allow_undocumented:
                raise ValueError(
                    f"{rule.operation_id} documents no {rule.status}; "
                    "set allow_undocumented to send it anyway"
                )
        return self.faults.add(rule)

    def record_error(self, error: ServerError) -> None:
        with self._lock:
            self.errors.append(error)


class RequestHeaders(dict[str, str]):
    """Request headers by lowercase name (ASGI sends names lowercased); the first value wins."""

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        super().__init__()
        for name, value in raw:
            self.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


class ProviderApp:
    """One vendor's API, served from its spec by its handler table (plain ASGI, no framework)."""

    def __init__(self, mock: Mock, provider: Provider) -> None:
        self.mock = mock
        self.provider = provider
        self.spec = mock.specs[provider.name]
        self.delays = {**provider.delays, **mock.delays.get(provider.name, {})}
        # Live: a change through the admin API or a fixture is seen by the next request.
        self.options = mock.options_of(provider.name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = RequestHeaders(scope["headers"])
        try:
            raw: bytes | MockError = await self._read(receive, headers)
        except MockError as err:
            raw = err
        status, body, extra, fault = self.handle(scope, headers, raw)
        media = extra.pop("Content-Type", "application/json")
        if body is None:
            content = b""
        elif media.endswith("json"):
            content = json.dumps(body, separators=(",", ":")).encode()
        else:
            content = str(body).encode()
        out = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
        out.append((b"content-length", str(len(content)).encode()))
        if body is not None:
            out.append((b"content-type", media.encode("latin-1")))
        if fault is not None:
            delay = fault.delay()
            if delay:
                await self.mock.sleep(delay)
            if fault.kind in ("drop", "truncate"):
                if fault.kind == "truncate":
                    await send({"type": "http.response.start", "status": status, "headers": out})
                    half = content[: len(content) // 2]
                    await send({"type": "http.response.body", "body": half, "more_body": True})
                await _hang_up(send)
                return
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": content})

    async def _read(self, receive: Receive, headers: RequestHeaders) -> bytes:
        limit = self.mock.max_body
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _ctx(self, scope: Scope, headers: RequestHeaders) -> Ctx:
        host = headers.get("host") or "localhost"
        return Ctx(
            provider=self.provider.name,
            operation_id="",
            method=scope["method"],
            url=scope["path"],
            base_url=f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}",
            headers=headers,
            request_id=f"{next(self.mock.requests_seen):032x}",
            ids=self.mock.store.ids,
            outcomes=self.mock.outcomes,
            delays=self.delays,
            options=self.options,
        )

    def handle(
        self, scope: Scope, headers: RequestHeaders, raw: bytes | MockError
    ) -> tuple[int, Any, dict[str, str], Rule | None]:
        ctx = self._ctx(scope, headers)
        root = scope.get("root_path", "")
        route_path = ctx.url[len(root) :] if root and ctx.url.startswith(root) else ctx.url
        query = scope.get("query_string", b"").decode("latin-1")
        op = None
        fault = None
        early: dict[str, str] = {}
        try:
            op, path_params = self.spec.match(ctx.method, route_path or "/")
            ctx.operation_id = op.operation_id
            if op.secured:
                self.provider.authenticate(ctx)
            if self.provider.before is not None:
                ctx.path = dict(path_params)
                self._enter_tenant(ctx)
                with self.mock.store.locked(self.provider.name, ctx.tenant) as store:
                    ctx.store = store
                    early = dict(self.provider.before(ctx))
            if isinstance(raw, MockError):
                raise raw
            body, present = parse_body(raw)
            ctx.path, ctx.query, ctx.header = op.validate_request(
                path_params,
                parse_qs(query, keep_blank_values=True) if query else {},
                headers,
                body,
                present,
                headers.get("content-type"),
            )
            ctx.body = body
            if self.provider.before is None:
                self._enter_tenant(ctx)
            handler = self.provider.handlers.get(op.operation_id)
            if handler is None:
                raise Unimplemented(f"{op.operation_id} is not implemented by this mock")
            if self.mock.faults.rules:
                fault = self.mock.faults.pick(
                    self.provider.name, op.operation_id, ctx.tenant, set(op.responses)
                )
            if fault is not None and fault.status is not None and not fault.after:
                raise self._fault_error(fault, ctx)
            with self.mock.store.locked(self.provider.name, ctx.tenant) as store:
                ctx.store = store
                reply = handler(ctx)
                if ctx.method not in ("GET", "HEAD"):
                    self.mock.commit(self.provider.name, ctx.tenant)
            if fault is not None and fault.status is not None:
                raise self._fault_error(fault, ctx)  # `after`: the change happened
            status, out = reply[0], reply[1]
            headers_out = dict(reply[2]) if len(reply) == 3 else {}
        except MockError as err:
            if err.status == 413 and op is not None and "413" not in op.responses:
                err.status = 400  # the vendor documents no 413 here: its generic bad request
            status, out, headers_out = self._error(err, ctx)
            if isinstance(err, Unimplemented) or (fault is not None and fault.allow_undocumented):
                op = None  # nothing in the spec to hold this answer to
        except Exception as exc:  # a bug in the mock, never the client's fault
            self.mock.record_error(
                ServerError(self.provider.name, ctx.tenant, ctx.operation_id, repr(exc), exc)
            )
            status, out, headers_out = self._error(MockError(f"Internal mock error: {exc!r}"), ctx)
            op = None  # already recorded; do not report its 500 again as a spec mismatch
        if self.mock.validate_responses and op is not None:
            problems = op.validate_response(status, out)
            if problems:
                message = (
                    f"response {status} to {op.operation_id} does not match the spec: "
                    + "; ".join(problems)
                )
                self.mock.record_error(
                    ServerError(self.provider.name, ctx.tenant, op.operation_id, message)
                )
                status, out, headers_out = self._error(MockError(message), ctx)
        self.mock.journal.record(
            at=ctx.clock.now() if ctx.clock else self.mock.clock.now(),
            provider=self.provider.name,
            tenant=ctx.tenant,
            operation_id=ctx.operation_id,
            method=ctx.method,
            path=ctx.url,
            query=query,
            status=status,
            request_id=ctx.request_id,
            body=ctx.body,
        )
        if early:
            headers_out = {**early, **headers_out}
        return status, out, headers_out, fault

    def _enter_tenant(self, ctx: Ctx) -> None:
        ctx.tenant = self.provider.tenant(ctx)
        ctx.clock = self.mock.clock_for(ctx.tenant)

    def _fault_error(self, fault: Rule, ctx: Ctx) -> MockError:
        headers: dict[str, str] = {}
        if fault.status == 429:
            headers = self.provider.rate_limit_headers(fault.retry_after, ctx.now())
        return MockError(fault.message, status=fault.status, code=fault.code, headers=headers)

    def _error(self, err: MockError, ctx: Ctx) -> tuple[int, Any, dict[str, str]]:
        return err.status, self.provider.render_error(err, ctx), dict(err.headers)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, `null` removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


async def _hang_up(send: Send) -> None:
    """Close the connection without finishing the answer (a dropped or reset connection).

    Over a socket (uvicorn) the transport is aborted; in process there is none, so the client
    gets the `ConnectionResetError` the way it would get a network error.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionResetError("deploymock fault: the connection was dropped")
    transport.abort()
    await asyncio.sleep(0)  # let the server see the connection go before the app returns


def parse_body(raw: bytes) -> tuple[Any, bool]:
    """The JSON body and whether there was one; `Invalid` for bytes that are not JSON."""
    if not raw.strip():
        return None, False
    try:
        return json.loads(raw), True
    except UnicodeDecodeError as exc:
        raise Invalid("Request body is not valid UTF-8", kind="body") from exc
    except (ValueError, RecursionError) as exc:
        raise Invalid(f"Request body is not valid JSON: {exc}", kind="body") from exc


class MockApp(Starlette):
    """The app `create_app` returns. `/<provider>/...` goes straight to that provider's app.

    Starlette's router, middleware and Request/Response objects cost more than the mock's own
    work, so provider traffic skips them; the admin API, the index and lifespan stay with
    Starlette. A provider served at the root gets every path the admin API does not claim.
    """

    providers: dict[str, ProviderApp]
    root: ProviderApp | None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            name = path[1:].partition("/")[0]
            target = self.providers.get(name)
            if target is not None:
                prefix = scope.get("root_path", "") + "/" + name
                await target({**scope, "root_path": prefix}, receive, send)
                return
            if self.root is not None and not path.startswith("/__admin"):
                await self.root(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(
    *,
    providers: Iterable[str] | None = None,
    clock: VirtualClock | None = None,
    root: str | None = None,
    seed: int | None = 0,
    delays: Mapping[str, Mapping[str, float]] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    validate_responses: bool = False,
    journal_size: int = 10_000,
    max_body: int = DEFAULT_MAX_BODY,
    state: str | Path | None = None,
) -> Starlette:
    """Build the mock.

    Every provider is mounted under `/<name>`; `root=NAME` also serves that provider at `/`
    (for clients that cannot use a path prefix). The admin API is at `/__admin`.
    `delays` overrides transition delays per provider, e.g. `{"sap_ai_core": {"start": 0}}`;
    the key `"*"` applies to every provider. `state` names a SQLite file that keeps the store
    across restarts (see `mockserver.persist`).
    """
    from mockserver.admin import admin_app

    known = discover()
    names = list(providers) if providers is not None else list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"unknown provider(s) {', '.join(unknown)}; known: {', '.join(known)}")
    if root is not None and root not in names:
        raise ConfigError(f"root provider {root} is not among the served providers")
    chosen = {n: known[n] for n in names}
    specs = {n: Spec(p.spec) for n, p in chosen.items()}
    for name, provider in chosen.items():
        check_provider(provider, specs[name])
    all_delays = dict((delays or {}).get("*", {}))
    unknown_opts = [n for n in {*(delays or {}), *(options or {})} if n != "*" and n not in known]
    if unknown_opts:
        raise ConfigError(f"options for unknown provider(s): {', '.join(sorted(unknown_opts))}")
    mock = Mock(
        providers=chosen,
        specs=specs,
        store=Store(seed=seed),
        clock=clock or VirtualClock(),
        journal=Journal(size=journal_size),
        delays={n: {**all_delays, **(delays or {}).get(n, {})} for n in chosen},
        options={n: dict((options or {}).get(n, {})) for n in chosen},
        validate_responses=validate_responses,
        max_body=max_body,
        persist=SqliteState(state) if state is not None else None,
    )
    mock.load()
    apps = {n: ProviderApp(mock, p) for n, p in chosen.items()}
    routes: list[BaseRoute] = [Mount("/__admin", app=admin_app(mock))]

    async def index(request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "providers": {n: f"{base}/{n}" for n in chosen},
                "admin": f"{base}/__admin",
            }
        )

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {
                "error": f"nothing at {request.url.path}; providers are served under "
                + ", ".join(f"/{n}" for n in chosen)
            },
            status_code=404,
        )

    if root is None:
        routes.insert(0, Route("/", index, methods=["GET"]))
    app = MockApp(routes=routes, exception_handlers={404: not_found})
    app.providers = apps
    app.root = apps[root] if root else None
    app.state.mock = mock
    return app


def mock_of(app: Any) -> Mock:
    """The `Mock` behind an app made by `create_app`."""
    mock = app.state.mock
    assert isinstance(mock, Mock)
    return mock


__all__ = ["Mock", "ProviderApp", "check_provider", "create_app", "discover", "mock_of"]
