"""The admin API is the test's own side's: no web page, no rebinding, no neighbour, no secrets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockserver.admin import redacted
from mockserver.app import create_app, mock_of
from mockserver.clock import VirtualClock
from pytest_plugin.transport import InProcessTransport

TOKEN = "s3cret-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def guarded() -> Iterator[httpx.Client]:
    app = create_app(clock=VirtualClock.fake(), admin_token=TOKEN, admin_hosts=["mock.test"])
    stranger = InProcessTransport(app, admin_token=False)
    with httpx.Client(transport=stranger, base_url="http://127.0.0.1:8080") as c:
        yield c
    assert mock_of(app).errors == []


def test_without_its_token_the_admin_api_refuses_and_changes_nothing(guarded: httpx.Client) -> None:
    before = guarded.get("/__admin/clock", headers=AUTH).json()["now"]
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-Deploymock-Token": "wrong"}):
        r = guarded.post("/__admin/clock", json={"advance": 60}, headers=headers)
        assert r.status_code == 401 and "token" in r.json()["error"]
    assert guarded.get("/__admin/state").status_code == 401
    assert guarded.get("/__admin/clock", headers=AUTH).json()["now"] == before
    moved = guarded.post(
        "/__admin/clock", json={"advance": 60}, headers={"X-Deploymock-Token": TOKEN}
    )
    assert moved.status_code == 200 and moved.json()["now"] == before + 60


def test_provider_paths_do_not_need_the_admin_token(guarded: httpx.Client) -> None:
    sap = {"Authorization": "Bearer t", "AI-Resource-Group": "rg"}
    assert guarded.get("/sap_ai_core/v2/lm/deployments", headers=sap).status_code == 200


@pytest.mark.parametrize("host", ["attacker.example", "rebind.evil.com:8080", "127.0.0.1.nip.io"])
def test_a_rebinding_host_is_refused_even_with_the_token(guarded: httpx.Client, host: str) -> None:
    r = guarded.get("/__admin/state", headers={**AUTH, "Host": host})
    assert r.status_code == 403 and "Host" in r.json()["error"]


@pytest.mark.parametrize("host", ["localhost:8080", "127.0.0.1", "[::1]:9", "my-box", "mock.test"])
def test_this_machines_names_are_answered(guarded: httpx.Client, host: str) -> None:
    assert guarded.get("/__admin/", headers={**AUTH, "Host": host}).status_code == 200


def test_a_cross_site_request_is_refused(guarded: httpx.Client) -> None:
    page = {**AUTH, "Origin": "https://attacker.example"}
    r = guarded.post("/__admin/reset", json={}, headers=page)
    assert r.status_code == 403 and "cross-origin" in r.json()["error"]
    same = {**AUTH, "Origin": "http://127.0.0.1:8080"}
    assert guarded.post("/__admin/reset", json={}, headers=same).status_code == 200


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_writes_a_page_may_send_unasked_are_refused(
    guarded: httpx.Client, content_type: str
) -> None:
    r = guarded.post(
        "/__admin/faults",
        content=b'{"kind": "error", "status": 500}',
        headers={**AUTH, "Content-Type": content_type},
    )
    assert r.status_code == 415
    assert guarded.get("/__admin/faults", headers=AUTH).json()["faults"] == []


def test_registered_tokens_never_show_in_clear(mockserver: Any) -> None:
    token = "api-secret-reader@" + mockserver.tenant
    mockserver.admin("launchdarkly", "set_token", token=token, role="reader")
    admin = mockserver.client("launchdarkly", auth=False)
    r = admin.get("http://deploymock/__admin/state", params={"provider": "launchdarkly"})
    assert r.status_code == 200 and token not in r.text
    tokens = r.json()["launchdarkly"][mockserver.tenant]["token"]
    assert tokens == {redacted(token): {"role": "reader", "projects": None, "revoked": False}}


def test_credentials_in_journaled_bodies_are_redacted(mockserver: Any) -> None:
    api = mockserver.client("sap_ai_core", auth=False)
    client = f"client-{mockserver.tenant}"  # the token request's tenant is its client
    form = {"grant_type": "client_credentials", "client_id": client, "client_secret": "hush-123"}
    assert api.post("/oauth/token", data=form).status_code == 200
    r = api.get("http://deploymock/__admin/requests", params={"tenant": client})
    mockserver.mock.reset(tenant=client)
    assert r.status_code == 200 and "hush-123" not in r.text
    bodies = [e["body"] for e in r.json()["requests"] if e["operation_id"] == "oauth.token"]
    assert bodies == [{**form, "client_secret": redacted("hush-123")}]


def test_an_api_key_that_names_a_tenant_is_redacted_there_too(mockserver: Any) -> None:
    api = mockserver.client("ibm_wml", auth=False)
    key = f"key-{mockserver.tenant}"
    form = {"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": key}
    assert api.post("/identity/token", data=form).status_code == 200
    r = api.get("http://deploymock/__admin/requests", params={"provider": "ibm_wml"})
    assert r.status_code == 200 and key not in r.text
    assert redacted(key) in {e["tenant"] for e in r.json()["requests"]}
    mockserver.admin("ibm_wml", "api_key", tenant=key, user="IBMid-alice")  # stored under the key
    refresh = api.post("/identity/token", data=form).json()["refresh_token"]
    again = {"grant_type": "refresh_token", "refresh_token": refresh}
    assert api.post("/identity/token", data=again).status_code == 200
    for path in ("requests", "state"):
        shown = api.get(f"http://deploymock/__admin/{path}", params={"provider": "ibm_wml"})
        assert shown.status_code == 200 and key not in shown.text, path
    mockserver.mock.reset(tenant=key)
