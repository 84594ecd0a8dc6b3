"""What the `mockserver` fixture hands a test: one fresh tenant on a shared in-process mock."""

from __future__ import annotations

import copy
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from mockserver.app import Mock, ServerError, mock_of
from mockserver.clock import TenantClock
from mockserver.faults import Rule
from mockserver.journal import Entry
from pytest_plugin.transport import InProcessTransport


@dataclass(frozen=True, kw_only=True)
class MockserverConfig:
    """Override the `mockserver_config` fixture in a conftest.py to change these."""

    providers: tuple[str, ...] | None = None  # None: every provider
    seed: int | None = 0
    delays: dict[str, dict[str, float]] = field(default_factory=dict)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    validate_responses: bool = True
    journal_size: int = 10_000
    journal_bytes: int = 64 * 1024 * 1024


def build_app(config: MockserverConfig) -> Any:
    """The app the fixtures (and `mocked()`) share: the config's settings, a frozen virtual
    clock, and an admin token (its live socket is on this machine only, but other users have
    one too; in-process clients send the token themselves)."""
    from mockserver.app import create_app
    from mockserver.clock import VirtualClock

    return create_app(
        providers=config.providers,
        clock=VirtualClock.fake(),
        seed=config.seed,
        delays=config.delays,
        options=config.options,
        validate_responses=config.validate_responses,
        journal_size=config.journal_size,
        journal_bytes=config.journal_bytes,
        admin_token=secrets.token_urlsafe(24),
    )


class LiveServer:
    """The mock on a real socket (uvicorn in a thread), sharing the in-process app's state."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", tls: bool = False) -> None:
        import socket

        self.app = app
        self._sock = socket.create_server((host, 0))
        self.host, self.port = self._sock.getsockname()[:2]
        self.certfile: str | None = None
        ssl: dict[str, Any] = {}
        if tls:
            from mockserver.tls import self_signed

            pair = self_signed()
            self.certfile = str(pair.certfile)
            ssl = {"ssl_certfile": self.certfile, "ssl_keyfile": str(pair.keyfile)}
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1, **ssl
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            daemon=True,
            name="deploymock-live",
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"{'https' if self.certfile else 'http'}://{self.host}:{self.port}"

    def url(self, provider: str) -> str:
        """Base URL of one provider, e.g. `http://127.0.0.1:PORT/sap_ai_core`."""
        if provider not in mock_of(self.app).providers:
            raise KeyError(f"provider {provider!r} is not served")
        return f"{self.base_url}/{provider}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


class Mockserver:
    """One test's view of the mock: its own tenant, clock offset, journal slice and clients."""

    def __init__(
        self, app: Any, *, tenant: str, provider: str | None = None, live: LiveServer | None = None
    ) -> None:
        self.app = app
        self.mock: Mock = mock_of(app)
        self.tenant = tenant
        self.provider = provider
        self.live = live
        self._clients: list[httpx.Client] = []
        self._transport: InProcessTransport | None = None
        self._errors_seen = len(self.mock.errors)
        self._saved_options: dict[str, dict[str, Any]] = {}

    def _name(self, provider: str | None) -> str:
        name = (
            provider
            or self.provider
            or (next(iter(self.mock.providers)) if len(self.mock.providers) == 1 else None)
        )
        if name is None:
            raise ValueError("say which provider: client('sap_ai_core') or the mockserver marker")
        if name not in self.mock.providers:
            raise KeyError(
                f"provider {name!r} is not served; served: {', '.join(self.mock.providers)}"
            )
        return name

    def service_key(self, provider: str | None = None) -> Any:
        """A service key for this tenant pointing at the mock (the live server's URL when the
        test has one), for SDK setups that read one, e.g. SAP's `AICORE_SERVICE_KEY`."""
        name = self._name(provider)
        base = self.live.url(name) if self.live is not None else f"http://deploymock/{name}"
        return self.admin(name, "service_key", base_url=base)

    def admin_headers(self) -> dict[str, str]:
        """What the admin API asks for over a socket (in-process clients send it themselves)."""
        token = self.mock.admin_token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def headers(self, provider: str | None = None) -> dict[str, str]:
        """Default credentials and tenant headers for this test's tenant."""
        return self.mock.providers[self._name(provider)].client_headers(self.tenant)

    def client(
        self,
        provider: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> httpx.Client:
        """An httpx client bound to one provider, in process, with this tenant's credentials."""
        name = self._name(provider)
        if self._transport is None:
            self._transport = InProcessTransport(self.app)
        defaults = self.headers(name) if auth else {}
        client = httpx.Client(
            transport=self._transport,
            base_url=f"http://deploymock/{name}",
            headers={**defaults, **(headers or {})},
        )
        self._clients.append(client)
        return client

    def async_client(
        self,
        provider: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> httpx.AsyncClient:
        name = self._name(provider)
        defaults = self.headers(name) if auth else {}
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url=f"http://deploymock/{name}",
            headers={**defaults, **(headers or {})},
        )

    def url(self, provider: str | None = None) -> str:
        """The provider's URL on the live server (needs the `mockserver_live` fixture)."""
        if self.live is None:
            raise RuntimeError("request the mockserver_live fixture to get a URL")
        return self.live.url(self._name(provider))

    @property
    def clock(self) -> TenantClock:
        """This tenant's clock: `advance(seconds)` moves only this test's resources."""
        return self.mock.clock_for(self.tenant)

    def wait_until(
        self, condition: Callable[[], Any], *, step: float = 1.0, within: float = 3600.0
    ) -> float:
        """Advance this tenant's clock `step` seconds at a time until `condition()` is true,
        e.g. `wait_until(lambda: api.get(url).json()["status"] == "RUNNING")`; returns the
        virtual seconds it took. AssertionError after `within` seconds (nothing real waits)."""
        if step <= 0 or within < 0:
            raise ValueError("step must be > 0 and within >= 0")
        waited = 0.0
        while not condition():
            if waited >= within:
                raise AssertionError(f"the condition was still false after {within:g} s")
            self.clock.advance(step)
            waited += step
        return waited

    def outcome(self, provider: str, outcome: str, *, id: str = "*") -> None:
        """Decide how the next asynchronous transition ends (of resource `id`, or of any)."""
        self.mock.queue_outcome(self._name(provider), self.tenant, outcome, id)

    def admin(self, provider: str, action: str, *, tenant: str | None = None, **args: Any) -> Any:
        """Run a provider admin action on this test's tenant (or `tenant`), e.g.
        `admin("ibm_wml", "set_role", user="IBMid-1", role="viewer")`."""
        return self.mock.admin(self._name(provider), action, tenant or self.tenant, args)

    def fault(self, provider: str | None = None, **rule: Any) -> Rule:
        """Make the mock fail for this test's tenant, e.g. `fault("sap_ai_core", kind="error",
        status=412, operation_id="deployment.modify", times=2)`; see `mockserver.faults`.
        The rule is gone when the test ends."""
        rule.setdefault("tenant", self.tenant)
        return self.mock.add_fault(Rule.from_dict({"provider": self._name(provider), **rule}))

    def set_options(self, provider: str | None = None, **patch: Any) -> dict[str, Any]:
        """Change a provider's options for this test (merge patch; None removes a key), e.g.
        `set_options("openstack_heat", tokens={"my-token": mockserver.tenant})`. Options are
        app-wide, so they are put back as they were when the test ends."""
        name = self._name(provider)
        self._saved_options.setdefault(name, copy.deepcopy(self.mock.options.get(name, {})))
        return self.mock.patch_options(name, patch)

    def requests(
        self, provider: str | None = None, *, operation_id: str | None = None
    ) -> list[Entry]:
        """This tenant's journal, oldest first: every request that reached a provider, refused
        ones included (with their body, and the tenant they named)."""
        if operation_id is not None:
            self._check_operation(provider, operation_id)
        return self.mock.journal.entries(
            provider=self._name(provider) if provider else None,
            tenant=self.tenant,
            operation_id=operation_id,
        )

    def _check_operation(self, provider: str | None, operation_id: str) -> None:
        """A ValueError naming the known operationIds, for one that no served spec has."""
        names = [self._name(provider)] if provider or self.provider else list(self.mock.specs)
        known = sorted({op for n in names for op in self.mock.specs[n].operations})
        if operation_id not in known:
            raise ValueError(
                f"no operation {operation_id!r} in {', '.join(names)}; known: {', '.join(known)}"
            )

    def assert_called(
        self,
        operation_id: str,
        *,
        provider: str | None = None,
        times: int | None = None,
        status: int | None = None,
    ) -> list[Entry]:
        """Assert that this test's tenant called an operation (`times` exactly, if given, and
        answered with `status`, if given); returns the matching journal entries."""
        calls = [
            e
            for e in self.requests(provider, operation_id=operation_id)
            if status is None or e.status == status
        ]
        seen = ", ".join(
            f"{e.operation_id or e.path} -> {e.status}" for e in self.requests(provider)
        )
        what = f"{operation_id}" + (f" answered {status}" if status is not None else "")
        if times is None:
            assert calls, f"{what} was never called; calls: {seen or 'none'}"
        else:
            assert len(calls) == times, (
                f"{what}: {len(calls)} calls, expected {times}; calls: {seen}"
            )
        return calls

    def state(self, provider: str | None = None) -> dict[str, Any]:
        name = self._name(provider)
        dumped: dict[str, dict[str, Any]] = self.mock.store.dump(name, self.tenant).get(name, {})
        mine: dict[str, Any] = dumped.get(self.tenant, {})
        return mine

    def reset(self) -> None:
        self.mock.reset(tenant=self.tenant)

    def new_errors(self) -> list[ServerError]:
        return self.mock.errors[self._errors_seen :]

    def close(self) -> None:
        for name, saved in self._saved_options.items():
            self.mock.restore_options(name, saved)
        for client in self._clients:
            client.close()
        if self._transport is not None:
            self._transport.close()
        self.reset()

    @contextmanager
    def expect_server_errors(self) -> Iterator[list[ServerError]]:
        """Allow (and collect) mock-side errors inside the block, e.g. to test a broken provider."""
        before = len(self.mock.errors)
        found: list[ServerError] = []
        yield found
        found.extend(self.mock.errors[before:])
        self._errors_seen = len(self.mock.errors)
