"""`mocked()`: the fixture's handle for unittest suites and scripts, and `wait_until`."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from pytest_plugin import MockserverConfig, mocked

CONFIG = {"name": "serving", "scenarioId": "scenario-a", "executableId": "executable-a"}


def create(api: httpx.Client) -> str:
    cid = api.post("/v2/lm/configurations", json=CONFIG).json()["id"]
    return str(api.post("/v2/lm/deployments", json={"configurationId": cid}).json()["id"])


def test_each_block_gets_a_fresh_tenant_that_is_reset_afterwards() -> None:
    with mocked("sap_ai_core") as first:
        create(first.client())
        tenant, mock = first.tenant, first.mock
        assert first.client().get("/v2/lm/deployments").json()["count"] == 1
    assert mock.store.keys(tenant=tenant) == []
    with mocked("sap_ai_core") as second:
        assert second.tenant != tenant
        assert second.client().get("/v2/lm/deployments").json()["count"] == 0


def test_wait_until_moves_virtual_time_only_as_far_as_needed() -> None:
    with mocked("sap_ai_core") as mock:
        api = mock.client()
        did = create(api)
        status = lambda: api.get(f"/v2/lm/deployments/{did}").json()["status"]  # noqa: E731
        waited = mock.wait_until(lambda: status() == "RUNNING", step=1)
        assert status() == "RUNNING" and 0 < waited <= 10  # schedule 1 s + start 5 s by default
        with pytest.raises(AssertionError, match="still false after 5 s"):
            mock.wait_until(lambda: status() == "STOPPED", within=5)


def test_a_server_side_error_fails_the_block() -> None:
    from mockserver.app import ServerError

    block = mocked("sap_ai_core")
    mock = block.__enter__()
    mock.mock.record_error(ServerError("sap_ai_core", mock.tenant, "deployment.get", "broken"))
    with pytest.raises(AssertionError, match="failed on the server side"):
        block.__exit__(None, None, None)


def test_live_serves_the_same_tenant_on_a_socket() -> None:
    with mocked("sap_ai_core", live=True) as mock:
        did = create(mock.client())
        r = httpx.get(f"{mock.url()}/v2/lm/deployments/{did}", headers=mock.headers())
        assert r.status_code == 200 and r.json()["id"] == did


def test_the_decorator_hands_the_handle_in() -> None:
    seen: list[str] = []

    @mocked("sap_ai_core", config=MockserverConfig(delays={"*": {"start": 0}}))
    def scenario(mockserver) -> None:  # type: ignore[no-untyped-def]
        seen.append(mockserver.tenant)
        assert mockserver.client().get("/v2/lm/deployments").status_code == 200

    scenario()
    scenario()
    assert len(set(seen)) == 2


def test_a_unittest_suite_uses_it_without_pytest() -> None:
    source = """
import sys
import unittest
from pytest_plugin import mocked

class DeploymentsTest(unittest.TestCase):
    def setUp(self):
        self.mock = self.enterContext(mocked("sap_ai_core"))

    def test_empty(self):
        self.assertEqual(self.mock.client().get("/v2/lm/deployments").json()["count"], 0)
        self.assertNotIn("pytest", sys.modules)  # a unittest suite needs no pytest

unittest.main(argv=["x"], exit=True)
"""
    out = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Ran 1 test" in out.stderr and "OK" in out.stderr


def test_the_session_admin_api_asks_for_its_token_over_a_socket(pytester) -> None:  # type: ignore[no-untyped-def]
    pytester.makepyfile(
        """
import httpx

def test_live_admin(mockserver, mockserver_live):
    url = f"{mockserver_live.base_url}/__admin/state"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=mockserver.admin_headers()).status_code == 200
    inside = mockserver.client("sap_ai_core", auth=False)  # in process: the test's own side
    assert inside.get("http://deploymock/__admin/state").status_code == 200
"""
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_service_key_points_at_the_mock_and_gets_a_token() -> None:
    with mocked("sap_ai_core", live=True) as mock:
        key = mock.service_key()
        assert key["url"] == mock.url() and key["serviceurls"]["AI_API_URL"] == mock.url()
        form = {"grant_type": "client_credentials", "client_id": key["clientid"]}
        token = httpx.post(
            f"{key['url']}/oauth/token", data={**form, "client_secret": key["clientsecret"]}
        )
        assert token.status_code == 200 and token.json()["token_type"] == "bearer"
        wrong = httpx.post(f"{key['url']}/oauth/token", data={**form, "client_secret": "x"})
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
        mock.mock.reset(tenant=key["clientid"])
