"""What only `huawei_rts` does (AK/SK-signed requests, root mount, the Go SDK's PUT); the shared
Heat semantics are in test_heat_engine.py."""

from __future__ import annotations

import uuid

import httpx
import pytest

from mockserver.app import create_app, mock_of
from mockserver.clock import VirtualClock
from pytest_plugin.transport import InProcessTransport

PROVIDER = "huawei_rts"
SIGNATURE = (
    "SDK-HMAC-SHA256 Access=AKEXAMPLE, SignedHeaders=content-type;host;x-project-id;x-sdk-date, "
    "Signature=0123456789abcdef"
)


def signed(mockserver, project: str | None = None, authorization: str = SIGNATURE) -> httpx.Client:
    headers = {"Authorization": authorization, "X-Sdk-Date": "20260101T000000Z"}
    if project is not None:
        headers["X-Project-Id"] = project
    return mockserver.client(PROVIDER, auth=False, headers=headers)


def test_signed_request_is_accepted_without_verifying_the_signature(mockserver):
    api = signed(mockserver, mockserver.tenant)
    base = f"/v1/{mockserver.tenant}"
    config = api.post(f"{base}/software_configs", json={"name": "signed"}).json()
    cid = config["software_config"]["id"]
    dep = api.post(f"{base}/software_deployments", json={"config_id": cid, "server_id": "s"})
    assert dep.status_code == 200
    assert set(mockserver.state(PROVIDER)["software_deployment"]) == {
        dep.json()["software_deployment"]["id"]
    }


@pytest.mark.parametrize(
    ("authorization", "project"),
    [
        (SIGNATURE, None),  # no X-Project-Id
        (SIGNATURE, ""),
        ("Bearer abc", "self"),  # not a Huawei signature
        ("SDK-HMAC-SHA256", "self"),
    ],
)
def test_incomplete_signed_request_is_401(mockserver, authorization, project):
    project = mockserver.tenant if project == "self" else project
    api = signed(mockserver, project, authorization)
    resp = api.post(f"/v1/{mockserver.tenant}/software_configs", json={"name": "x"})
    assert resp.status_code == 401
    assert resp.json()["error"]["type"] == "HTTPUnauthorized"
    assert resp.headers["www-authenticate"] == 'Keystone uri="https://iam.myhuaweicloud.com/v3"'
    assert mockserver.state(PROVIDER) == {}


def test_signed_request_for_another_project_is_403(mockserver):
    api = signed(mockserver, uuid.uuid4().hex)
    resp = api.post(f"/v1/{mockserver.tenant}/software_configs", json={"name": "x"})
    assert resp.status_code == 403
    assert resp.json()["code"] == 403
    assert mockserver.state(PROVIDER) == {}
    token_too = mockserver.client(PROVIDER, headers={"X-Project-Id": uuid.uuid4().hex})
    assert token_too.get(f"/v1/{mockserver.tenant}/software_configs").status_code == 403


def test_go_sdk_update_sends_empty_strings_and_null(mockserver):
    """huaweicloud/golangsdk sends "" for unset action/status/status_reason and null inputs."""
    api, base = mockserver.client(PROVIDER), f"/v1/{mockserver.tenant}"
    first = api.post(f"{base}/software_configs", json={"name": "a"}).json()["software_config"]
    second = api.post(f"{base}/software_configs", json={"name": "b"}).json()["software_config"]
    created = api.post(
        f"{base}/software_deployments",
        json={
            "config_id": first["id"],
            "server_id": "s",
            "action": "CREATE",
            "status": "IN_PROGRESS",
            "input_values": {"k": "v"},
        },
    ).json()["software_deployment"]
    body = {
        "action": "",
        "config_id": second["id"],
        "input_values": None,
        "output_values": {"deploy_status_code": "0"},
        "status": "",
        "status_reason": "",
    }
    resp = api.put(f"{base}/software_deployments/{created['id']}", json=body)
    assert resp.status_code == 200
    after = api.get(f"{base}/software_deployments/{created['id']}").json()["software_deployment"]
    assert after["config_id"] == second["id"]
    assert after["output_values"] == {"deploy_status_code": "0"}
    assert (after["action"], after["status"]) == ("CREATE", "IN_PROGRESS")
    assert after["input_values"] == {"k": "v"}


@pytest.fixture
def root_app():
    app = create_app(
        providers=[PROVIDER], root=PROVIDER, clock=VirtualClock.fake(), validate_responses=True
    )
    transport = InProcessTransport(app)
    yield transport
    transport.close()
    assert mock_of(app).errors == []


def test_served_at_the_root_of_a_port(root_app):
    transport = root_app
    project = uuid.uuid4().hex
    api = httpx.Client(
        transport=transport,
        base_url="http://rts.local:9000",
        headers={"Authorization": SIGNATURE, "X-Project-Id": project},
    )
    versions = api.get("/").json()["versions"]
    assert versions[0]["links"][0]["href"] == "http://rts.local:9000/v1/"
    cid = api.post(f"/v1/{project}/software_configs", json={}).json()["software_config"]["id"]
    prefixed = api.get(f"/{PROVIDER}/v1/{project}/software_configs/{cid}")
    assert prefixed.status_code == 200  # the same state under the prefix
    assert api.get(f"/{PROVIDER}/v1").json()["versions"][0]["links"][0]["href"] == (
        f"http://rts.local:9000/{PROVIDER}/v1/"
    )
