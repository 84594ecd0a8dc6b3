"""The fixture's handle outside pytest: for unittest suites and scripts.

    from pytest_plugin import mocked

    with mocked("sap_ai_core") as mock:             # in process
        api = mock.client()
        ...

    with mocked("sap_ai_core", live=True) as mock:  # also on a socket: mock.url()
        ...

    @mocked("launchdarkly")
    def test_something(mockserver):                 # as a decorator: the handle is passed in
        ...

Each `with` gets a tenant of its own on an app shared by every `mocked` of the same settings
(as the fixture's tenants share the session's app), reset when the block ends; an error inside
the mock (a response that breaks the spec included) raises `AssertionError` at the end of the
block, as the fixture fails the test.
"""

from __future__ import annotations

import functools
import inspect
import threading
import uuid
from collections.abc import Callable
from contextlib import ContextDecorator
from types import TracebackType
from typing import Any, TypeVar

from pytest_plugin.handle import LiveServer, Mockserver, MockserverConfig, build_app

F = TypeVar("F", bound=Callable[..., Any])

_apps: dict[str, Any] = {}
_apps_lock = threading.Lock()


def shared_app(config: MockserverConfig) -> Any:
    """One app per distinct settings, built on first use, as the fixture's is."""
    key = repr(config)
    with _apps_lock:
        if key not in _apps:
            _apps[key] = build_app(config)
        return _apps[key]


class mocked(ContextDecorator):
    """A `Mockserver` handle with a fresh tenant, as a context manager or a decorator."""

    def __init__(
        self,
        provider: str | None = None,
        *,
        config: MockserverConfig | None = None,
        tenant: str | None = None,
        live: bool = False,
    ) -> None:
        self.provider = provider
        self.config = config or MockserverConfig()
        self.tenant = tenant
        self.live = live
        self._handle: Mockserver | None = None
        self._server: LiveServer | None = None

    def __enter__(self) -> Mockserver:
        app = shared_app(self.config)
        self._server = LiveServer(app) if self.live else None
        self._handle = Mockserver(
            app, tenant=self.tenant or str(uuid.uuid4()), provider=self.provider, live=self._server
        )
        return self._handle

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        handle, server = self._handle, self._server
        self._handle = self._server = None
        assert handle is not None, "mocked() was not entered"
        errors = handle.new_errors()
        handle.close()
        if server is not None:
            server.stop()
        if errors and kind is None:
            lines = "\n".join(f"- {e.provider} {e.operation_id}: {e.message}" for e in errors)
            raise AssertionError(f"the mock failed on the server side:\n{lines}")

    def __call__(self, func: F) -> F:
        """Decorate `func`: it runs inside the block, given the handle as `mockserver` if it
        takes a parameter of that name."""
        wants_handle = "mockserver" in inspect.signature(func).parameters

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with mocked(self.provider, config=self.config, tenant=self.tenant, live=self.live) as m:
                if wants_handle:
                    kwargs["mockserver"] = m
                return func(*args, **kwargs)

        return run  # type: ignore[return-value]
