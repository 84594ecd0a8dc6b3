"""deploymock's pytest plugin (entry point `pytest11`).

Fixtures (all prefixed `mockserver`):

- `mockserver_config` (session): a `MockserverConfig`; override it in a conftest.py.
- `mockserver_app` (session): the Starlette app, in process, with a frozen virtual clock.
- `mockserver` (function): a `Mockserver` handle with a fresh tenant: `.client(provider)`,
  `.clock.advance(s)`, `.outcome(provider, outcome)`, `.requests()`, `.state(provider)`.
  Its tenant is reset at teardown, and any error inside the mock (including a response that does
  not match the spec) fails the test.
- `mockserver_live` (session): the same app on a real socket (one per xdist worker);
  `.url(provider)`. `mockserver_live_tls`: the same over https (self-signed, `.certfile`).
- `mockserver_contract` (function): runs deploymock's contract suite (Schemathesis plus the
  update-semantics checks) for a provider: `mockserver_contract("sap_ai_core").assert_ok()`.
  In process against a fresh mock, or against `--mockserver-target URL` (env
  `MOCKSERVER_TARGET`; `{provider}` in it is replaced), with `--mockserver-token` and
  `--mockserver-tenant` (env `MOCKSERVER_TOKEN`, `MOCKSERVER_TENANT`).
- `mockserver_schema` (function): the same suite's Schemathesis schema for the marker's
  provider, for `schemathesis.pytest.from_fixture("mockserver_schema")`; every case's
  `call_and_validate()` runs the update-semantics checks too, and what the test created is
  deleted at teardown.

Marker: `@pytest.mark.mockserver(provider="sap_ai_core", tenant="my-group")`.

Only stdlib and pytest are imported here; the mock itself is imported when a fixture is used.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from pytest_plugin.contract import ContractRunner
    from pytest_plugin.handle import LiveServer, Mockserver, MockserverConfig

MARKER = (
    "mockserver(provider=None, tenant=None, faults=()): configure the `mockserver` fixture: "
    "default provider, a fixed tenant, fault rules (dicts, as `mockserver.fault()` takes)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("deploymock")
    group.addoption(
        "--mockserver-target",
        default=os.environ.get("MOCKSERVER_TARGET"),
        help="run contract tests against this URL instead of the in-process mock "
        "(env MOCKSERVER_TARGET)",
    )
    group.addoption(
        "--mockserver-token",
        default=os.environ.get("MOCKSERVER_TOKEN"),
        help="credentials for --mockserver-target (env MOCKSERVER_TOKEN)",
    )
    group.addoption(
        "--mockserver-tenant",
        default=os.environ.get("MOCKSERVER_TENANT"),
        help="the tenant to work in on --mockserver-target (env MOCKSERVER_TENANT)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)


@pytest.fixture(scope="session")
def mockserver_config() -> MockserverConfig:
    """Settings for the session's mock. Override in a conftest.py to change them."""
    from pytest_plugin.handle import MockserverConfig

    return MockserverConfig()


@pytest.fixture(scope="session")
def mockserver_app(mockserver_config: MockserverConfig) -> Starlette:
    """The mock as an ASGI app, shared by the session, with a frozen virtual clock."""
    from pytest_plugin.handle import build_app

    app: Starlette = build_app(mockserver_config)
    return app


@pytest.fixture(scope="session")
def mockserver_live(mockserver_app: Starlette) -> Iterator[LiveServer]:
    """The session's mock on 127.0.0.1 and an ephemeral port; `.url(provider)`."""
    from pytest_plugin.handle import LiveServer

    server = LiveServer(mockserver_app)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mockserver_live_tls(mockserver_app: Starlette) -> Iterator[LiveServer]:
    """Like `mockserver_live`, over https with a self-signed certificate (`.certfile` to trust)."""
    from pytest_plugin.handle import LiveServer

    server = LiveServer(mockserver_app, tls=True)
    yield server
    server.stop()


def _tenant_for(node: pytest.Item) -> str:
    digest = hashlib.sha256(node.nodeid.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-a{digest[17:20]}-{digest[20:32]}"


@pytest.fixture
def mockserver(request: pytest.FixtureRequest, mockserver_app: Starlette) -> Iterator[Mockserver]:
    """A handle on the mock with a tenant of this test's own (a UUID derived from its node id)."""
    from pytest_plugin.handle import Mockserver

    marker = request.node.get_closest_marker("mockserver")
    kwargs: dict[str, Any] = dict(marker.kwargs) if marker else {}
    live = next(
        (
            request.getfixturevalue(name)
            for name in ("mockserver_live", "mockserver_live_tls")
            if name in request.fixturenames
        ),
        None,
    )
    handle = Mockserver(
        mockserver_app,
        tenant=kwargs.get("tenant") or _tenant_for(request.node),
        provider=kwargs.get("provider"),
        live=live,
    )
    for rule in kwargs.get("faults", ()):
        handle.fault(**rule)
    yield handle
    errors = handle.new_errors()
    handle.close()
    if errors:
        lines = "\n".join(f"- {e.provider} {e.operation_id}: {e.message}" for e in errors)
        pytest.fail(f"the mock failed on the server side during this test:\n{lines}", pytrace=False)


@pytest.fixture
def mockserver_contract(
    request: pytest.FixtureRequest, mockserver_config: MockserverConfig
) -> ContractRunner:
    """Run deploymock's contract suite for a provider; returns a `ContractReport`:

    def test_contract(mockserver_contract):
        mockserver_contract("sap_ai_core", max_examples=50).assert_ok()
    """
    from pytest_plugin.contract import ContractRunner

    opt = request.config.getoption
    return ContractRunner(
        mockserver_config,
        target=opt("mockserver_target"),
        token=opt("mockserver_token"),
        tenant=opt("mockserver_tenant"),
    )


@pytest.fixture
def mockserver_schema(
    request: pytest.FixtureRequest, mockserver_contract: ContractRunner
) -> Iterator[Any]:
    """The contract suite's Schemathesis schema for the marker's provider:

    schema = schemathesis.pytest.from_fixture("mockserver_schema")

    @pytest.mark.mockserver(provider="ibm_wml")
    @schema.parametrize()
    def test_api(case):
        case.call_and_validate()
    """
    marker = request.node.get_closest_marker("mockserver")
    provider = marker.kwargs.get("provider") if marker else None
    if not provider:
        pytest.fail("mockserver_schema needs @pytest.mark.mockserver(provider=...)", pytrace=False)
    session = mockserver_contract.session(provider)
    yield session.schema
    report = session.close()
    if report.live and report.left:
        left = ", ".join(c.where for c in report.left)
        pytest.fail(f"the test left resources behind on the target: {left}", pytrace=False)
