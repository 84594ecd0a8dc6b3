"""The pytest plugin, as a downstream suite uses it (run with pytester)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parents[2] / "README.md"

CREATE = """
CONFIG = {"name": "serving", "scenarioId": "scenario-a", "executableId": "executable-a"}

def create(api):
    cid = api.post("/v2/lm/configurations", json=CONFIG).json()["id"]
    return api.post("/v2/lm/deployments", json={"configurationId": cid}).json()["id"]
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", "-p", "no:benchmark", "-W", "error", *args)


def test_readme_example_is_a_passing_test(pytester: pytest.Pytester) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## In a pytest suite") :]
    example = re.search(r"```python\n(.*?)```", section, re.S)
    assert example is not None
    pytester.makepyfile(test_readme=example.group(1))
    run(pytester).assert_outcomes(passed=1)


def test_each_test_gets_its_own_tenant_and_leaves_nothing_behind(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        CREATE
        + """
seen = []

def test_first(mockserver):
    api = mockserver.client("sap_ai_core")
    create(api)
    seen.append(mockserver.tenant)
    assert api.get("/v2/lm/deployments").json()["count"] == 1

def test_second(mockserver):
    api = mockserver.client("sap_ai_core")
    assert mockserver.tenant not in seen
    assert api.get("/v2/lm/deployments").json()["count"] == 0

def test_first_tenant_was_reset(mockserver):
    assert mockserver.mock.store.keys(tenant=seen[0]) == []
"""
    )
    run(pytester).assert_outcomes(passed=3)


def test_server_side_errors_fail_the_test_that_caused_them(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
def test_broken_handler(mockserver, monkeypatch):
    def boom(ctx):
        raise RuntimeError("kaboom")
    handlers = mockserver.mock.providers["sap_ai_core"].handlers
    monkeypatch.setitem(handlers, "configuration.query", boom)
    r = mockserver.client("sap_ai_core").get("/v2/lm/configurations")
    assert r.status_code == 500

def test_untouched(mockserver):
    assert mockserver.client("sap_ai_core").get("/v2/lm/configurations").status_code == 200
"""
    )
    result = run(pytester)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*the mock failed on the server side*", "*kaboom*"])


def test_marker_sets_provider_and_tenant(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest

@pytest.mark.mockserver(provider="sap_ai_core", tenant="team-rg")
def test_marked(mockserver):
    assert mockserver.tenant == "team-rg"
    assert mockserver.client().headers["AI-Resource-Group"] == "team-rg"
"""
    )
    run(pytester, "--strict-markers").assert_outcomes(passed=1)


def test_config_override_outcomes_and_journal(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
import pytest
from pytest_plugin.handle import MockserverConfig

@pytest.fixture(scope="session")
def mockserver_config():
    return MockserverConfig(
        providers=("sap_ai_core",), delays={"sap_ai_core": {"schedule": 0, "start": 0}}
    )
"""
    )
    pytester.makepyfile(
        CREATE
        + """
def test_zero_delays(mockserver):
    api = mockserver.client()  # the only provider served
    did = create(api)
    assert api.get(f"/v2/lm/deployments/{did}").json()["status"] == "RUNNING"
    assert [e.operation_id for e in mockserver.requests()][-1] == "deployment.get"

def test_outcome(mockserver):
    mockserver.outcome("sap_ai_core", "DEAD")
    api = mockserver.client()
    did = create(api)
    assert api.get(f"/v2/lm/deployments/{did}").json()["status"] == "DEAD"
    assert list(mockserver.state()["deployment"]) == [did]
"""
    )
    run(pytester).assert_outcomes(passed=2)


def test_live_server_shares_state_with_the_handle(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        CREATE
        + """
import httpx

def test_live(mockserver, mockserver_live):
    did = create(mockserver.client("sap_ai_core"))
    url = mockserver.url("sap_ai_core") + f"/v2/lm/deployments/{did}"
    assert url.startswith("http://127.0.0.1:")
    r = httpx.get(url, headers=mockserver.headers("sap_ai_core"))
    assert r.status_code == 200 and r.json()["status"] == "UNKNOWN"
    mockserver.clock.advance(60)
    assert httpx.get(url, headers=mockserver.headers("sap_ai_core")).json()["status"] == "RUNNING"
"""
    )
    run(pytester).assert_outcomes(passed=1)


def test_assert_called_counts_operations_of_this_tenant(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        CREATE
        + """
import pytest

def test_counts(mockserver):
    api = mockserver.client("sap_ai_core")
    did = create(api)
    api.patch(f"/v2/lm/deployments/{did}", json={"targetStatus": "STOPPED"})
    mockserver.assert_called("deployment.create", times=1, status=202)
    mockserver.assert_called("deployment.modify", status=412)
    with pytest.raises(AssertionError, match="deployment.delete was never called"):
        mockserver.assert_called("deployment.delete")
    with pytest.raises(AssertionError, match="1 calls, expected 2"):
        mockserver.assert_called("deployment.create", times=2)
"""
    )
    run(pytester).assert_outcomes(passed=1)


def test_async_client(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import asyncio

def test_async(mockserver):
    async def go():
        async with mockserver.async_client("sap_ai_core") as api:
            return (await api.get("/v2/lm/deployments")).json()
    assert asyncio.run(go()) == {"count": 0, "resources": []}
"""
    )
    run(pytester).assert_outcomes(passed=1)


def test_option_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--mockserver-target*"])


def test_plugin_import_is_light() -> None:
    code = (
        "import sys, pytest_plugin.plugin; "
        "heavy = [m for m in ('mockserver.app', 'starlette', 'httpx', 'uvicorn', 'schemathesis') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_refused_requests_are_in_the_journal_with_tenant_and_body(mockserver) -> None:
    api = mockserver.client("sap_ai_core")
    bad = {"targetStatus": "SIDEWAYS"}
    assert api.patch("/v2/lm/deployments/d0000000000000000", json=bad).status_code == 400
    calls = mockserver.assert_called("deployment.modify", status=400, times=1)
    assert calls[0].tenant == mockserver.tenant and calls[0].body == bad
    unauthenticated = mockserver.client(
        "sap_ai_core", auth=False, headers={"AI-Resource-Group": mockserver.tenant}
    )
    assert unauthenticated.get("/v2/lm/deployments").status_code == 401
    mockserver.assert_called("deployment.query", status=401, times=1)


def test_an_unknown_operation_id_names_the_known_ones(mockserver) -> None:
    with pytest.raises(ValueError, match=r"no operation 'modifyDeployment'.*deployment\.modify"):
        mockserver.assert_called("modifyDeployment", provider="sap_ai_core")
