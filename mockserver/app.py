"""The ASGI app: providers discovered, checked against their specs, and mounted.

`create_app()` is the one place that knows which providers exist (it finds every module in
`mockserver.providers` that exposes `PROVIDER`), refuses to start when a handler table and its
spec disagree, and mounts each provider's `ProviderApp` (`mockserver.dispatch`) under
`/<provider>`, the admin API under `/__admin`. The state they share is a `Mock`
(`mockserver.mock`).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from mockserver import providers as providers_pkg
from mockserver.clock import VirtualClock
from mockserver.dispatch import ProviderApp
from mockserver.errors import ConfigError
from mockserver.journal import DEFAULT_MAX_BYTES as DEFAULT_JOURNAL_BYTES
from mockserver.journal import Journal
from mockserver.mock import DEFAULT_MAX_BODY, Mock, ServerError, merge_patch, unknown_options
from mockserver.persist import SqliteState
from mockserver.provider import Provider
from mockserver.spec import Spec
from mockserver.store import Store

# Directories (os.pathsep-separated) searched for provider modules after mockserver/providers:
# a provider of your own is a module there exposing PROVIDER (its spec may be an absolute path).
PROVIDER_PATH = "DEPLOYMOCK_PROVIDER_PATH"


def discover() -> dict[str, Provider]:
    """Every provider module in `mockserver.providers`, then in $DEPLOYMOCK_PROVIDER_PATH's
    directories, by name (the first module with a name wins)."""
    modules = [
        importlib.import_module(f"{providers_pkg.__name__}.{info.name}")
        for info in pkgutil.iter_modules(providers_pkg.__path__)
        if not info.name.startswith("_")
    ]
    for directory in filter(None, os.environ.get(PROVIDER_PATH, "").split(os.pathsep)):
        modules += [
            _load(Path(directory), info)
            for info in pkgutil.iter_modules([directory])
            if not info.name.startswith("_")
        ]
    found: dict[str, Provider] = {}
    for module in modules:
        provider = getattr(module, "PROVIDER", None)
        if isinstance(provider, Provider):
            found.setdefault(provider.name, provider)
    return dict(sorted(found.items()))


def _load(directory: Path, info: pkgutil.ModuleInfo) -> ModuleType:
    """A provider module (or package) from a directory of the provider path, imported once."""
    name = f"deploymock_provider_{info.name}"
    if name in sys.modules:
        return sys.modules[name]
    where = directory / info.name
    spec = importlib.util.spec_from_file_location(
        name,
        where / "__init__.py" if info.ispkg else where.with_suffix(".py"),
        submodule_search_locations=[str(where)] if info.ispkg else None,
    )
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot import provider module {where}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


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
                await target.serve(scope, receive, send, scope.get("root_path", "") + "/" + name)
                return
            if self.root is not None and not path.startswith("/__admin"):
                await self.root.serve(scope, receive, send, scope.get("root_path", ""))
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
    journal_bytes: int = DEFAULT_JOURNAL_BYTES,
    max_body: int = DEFAULT_MAX_BODY,
    state: str | Path | None = None,
    admin_token: str | None = None,
    admin_hosts: Iterable[str] = (),
) -> Starlette:
    """Build the mock.

    Every provider is mounted under `/<name>`; `root=NAME` also serves that provider at `/`
    (for clients that cannot use a path prefix). The admin API is at `/__admin`.
    `delays` overrides transition delays per provider, e.g. `{"sap_ai_core": {"start": 0}}`;
    the key `"*"` applies to every provider. `state` names a SQLite file that keeps the store
    across restarts (see `mockserver.persist`). `admin_token` is the credential the admin API
    asks for (None: none); `admin_hosts` are host names it answers besides this machine's.
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
    delays, options = delays or {}, options or {}
    for what, given in (("delays", delays), ("options", options)):
        strays = sorted(set(given) - set(known) - ({"*"} if what == "delays" else set()))
        if strays:
            raise ConfigError(
                f"{what} for unknown provider(s) {', '.join(strays)}; known: {', '.join(known)}"
            )
    for name, named in delays.items():
        owners = chosen.values() if name == "*" else [known[name]]
        offered = sorted({d for p in owners for d in p.delays})
        if strays := sorted(set(named) - set(offered)):
            whose = 'any served provider ("*")' if name == "*" else name
            raise ConfigError(
                f"unknown delay(s) {', '.join(strays)} for {whose}; "
                f"known: {', '.join(offered) or 'none'}"
            )
    for name, given_options in options.items():
        problem = unknown_options(known[name], given_options)
        if problem:
            raise ConfigError(problem)
    all_delays = dict(delays.get("*", {}))
    mock = Mock(
        providers=chosen,
        specs=specs,
        store=Store(seed=seed, track=state is not None),
        clock=clock or VirtualClock(),
        journal=Journal(size=journal_size, max_bytes=journal_bytes),
        delays={n: {**all_delays, **delays.get(n, {})} for n in chosen},
        options={n: dict(options.get(n, {})) for n in chosen},
        validate_responses=validate_responses,
        max_body=max_body,
        persist=SqliteState(state) if state is not None else None,
        admin_token=admin_token,
        admin_hosts=frozenset(h.lower() for h in admin_hosts),
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


__all__ = [
    "Mock",
    "ProviderApp",
    "ServerError",
    "check_provider",
    "create_app",
    "discover",
    "merge_patch",
    "mock_of",
]
