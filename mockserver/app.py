"""The ASGI app: providers discovered, mounted, and driven by their specs.

`create_app()` is the one place that knows which providers exist (it finds every module in
`mockserver.providers` that exposes `PROVIDER`). Each provider is served by a `ProviderApp` that
routes by the provider's spec, authenticates, validates the request against the spec, finds the
tenant, runs the handler under that tenant's lock, renders errors in the vendor's format,
optionally validates the response, and journals the exchange.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from mockserver import providers as providers_pkg
from mockserver.clock import TenantClock, VirtualClock
from mockserver.errors import ConfigError, Invalid, MockError, PayloadTooLarge, Unimplemented
from mockserver.journal import Journal
from mockserver.providers.base import Ctx, Provider
from mockserver.spec import Spec
from mockserver.statemachine import Outcomes
from mockserver.store import Store

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
    _lock: threading.Lock = field(default_factory=threading.Lock)

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
        self.journal.clear(provider=provider, tenant=tenant)
        if provider is None:
            with self._lock:
                if tenant is None:
                    self.tenant_clocks.clear()
                else:
                    self.tenant_clocks.pop(tenant, None)
        return dropped

    def record_error(self, error: ServerError) -> None:
        with self._lock:
            self.errors.append(error)


class ProviderApp:
    """One vendor's API, served from its spec by its handler table."""

    def __init__(self, mock: Mock, provider: Provider) -> None:
        self.mock = mock
        self.provider = provider
        self.spec = mock.specs[provider.name]
        self.delays = {**provider.delays, **mock.delays.get(provider.name, {})}
        self.options = {**provider.options, **mock.options.get(provider.name, {})}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        status, body, headers = await self.handle(request)
        media = headers.pop("Content-Type", "application/json")
        if body is None:
            content, media_type = b"", None
        elif media.endswith("json"):
            content, media_type = json.dumps(body, separators=(",", ":")).encode(), media
        else:
            content, media_type = str(body).encode(), media
        response = Response(content, status_code=status, headers=headers, media_type=media_type)
        await response(scope, receive, send)

    def _ctx(self, request: Request) -> Ctx:
        scope = request.scope
        root = scope.get("root_path", "")
        full = scope["path"]
        host = request.headers.get("host") or "localhost"
        return Ctx(
            provider=self.provider.name,
            operation_id="",
            method=request.method,
            url=full,
            base_url=f"{scope.get('scheme', 'http')}://{host}{root}",
            headers=request.headers,
            request_id=self.mock.store.ids.hex(32),
            ids=self.mock.store.ids,
            outcomes=self.mock.outcomes,
            delays=self.delays,
            options=self.options,
        )

    async def handle(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        ctx = self._ctx(request)
        root = request.scope.get("root_path", "")
        route_path = ctx.url[len(root) :] if root and ctx.url.startswith(root) else ctx.url
        op = None
        try:
            op, path_params = self.spec.match(request.method, route_path or "/")
            ctx.operation_id = op.operation_id
            if op.secured:
                self.provider.authenticate(ctx)
            body, present = await self._body(request)
            ctx.path, ctx.query, ctx.header = op.validate_request(
                path_params,
                parse_qs(request.url.query, keep_blank_values=True),
                request.headers,
                body,
                present,
                request.headers.get("content-type"),
            )
            ctx.body = body
            ctx.tenant = self.provider.tenant(ctx)
            ctx.clock = self.mock.clock_for(ctx.tenant)
            handler = self.provider.handlers.get(op.operation_id)
            if handler is None:
                raise Unimplemented(f"{op.operation_id} is not implemented by this mock")
            with self.mock.store.locked(self.provider.name, ctx.tenant) as store:
                ctx.store = store
                reply = handler(ctx)
            status, out = reply[0], reply[1]
            headers = dict(reply[2]) if len(reply) == 3 else {}
        except MockError as err:
            if err.status == 413 and op is not None and "413" not in op.responses:
                err.status = 400  # the vendor documents no 413 here: its generic bad request
            status, out, headers = self._error(err, ctx)
            if isinstance(err, Unimplemented):
                op = None  # declared unimplemented: no response shape to hold it to
        except Exception as exc:  # a bug in the mock, never the client's fault
            self.mock.record_error(
                ServerError(self.provider.name, ctx.tenant, ctx.operation_id, repr(exc), exc)
            )
            status, out, headers = self._error(MockError(f"Internal mock error: {exc!r}"), ctx)
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
                status, out, headers = self._error(MockError(message), ctx)
        self.mock.journal.record(
            at=ctx.clock.now() if ctx.clock else self.mock.clock.now(),
            provider=self.provider.name,
            tenant=ctx.tenant,
            operation_id=ctx.operation_id,
            method=ctx.method,
            path=ctx.url,
            query=request.url.query,
            status=status,
            request_id=ctx.request_id,
            body=ctx.body,
        )
        return status, out, headers

    async def _body(self, request: Request) -> tuple[Any, bool]:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.mock.max_body:
            raise PayloadTooLarge(f"Request body is larger than {self.mock.max_body} bytes")
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > self.mock.max_body:
                raise PayloadTooLarge(f"Request body is larger than {self.mock.max_body} bytes")
        if not raw.strip():
            return None, False
        try:
            return json.loads(raw), True
        except UnicodeDecodeError as exc:
            raise Invalid("Request body is not valid UTF-8") from exc
        except (ValueError, RecursionError) as exc:
            raise Invalid(f"Request body is not valid JSON: {exc}") from exc

    def _error(self, err: MockError, ctx: Ctx) -> tuple[int, Any, dict[str, str]]:
        return err.status, self.provider.render_error(err, ctx), dict(err.headers)


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
) -> Starlette:
    """Build the mock.

    Every provider is mounted under `/<name>`; `root=NAME` also serves that provider at `/`
    (for clients that cannot use a path prefix). The admin API is at `/__admin`.
    `delays` overrides transition delays per provider, e.g. `{"sap_ai_core": {"start": 0}}`;
    the key `"*"` applies to every provider.
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
    )
    apps = {n: ProviderApp(mock, p) for n, p in chosen.items()}
    routes: list[BaseRoute] = [Mount("/__admin", app=admin_app(mock))]
    routes += [Mount(f"/{n}", app=a) for n, a in apps.items()]
    if root is not None:
        routes.append(Mount("", app=apps[root]))

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
    app = Starlette(routes=routes, exception_handlers={404: not_found})
    app.state.mock = mock
    return app


def mock_of(app: Any) -> Mock:
    """The `Mock` behind an app made by `create_app`."""
    mock = app.state.mock
    assert isinstance(mock, Mock)
    return mock


__all__ = ["Headers", "Mock", "ProviderApp", "check_provider", "create_app", "discover", "mock_of"]
