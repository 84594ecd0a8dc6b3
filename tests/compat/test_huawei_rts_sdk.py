"""Compat test: huaweicloudsdkcore's generic client and plain `requests` against RTS served at the
root of a live port (huaweicloudsdkcore keeps only scheme://host:port of its endpoint).

Pin: ``huaweicloudsdkcore==3.1.219``. There is no RTS service SDK (`huaweicloudsdkrts` does not
exist), so the core's `Client` calls the paths itself, AK/SK-signed (`Authorization:
SDK-HMAC-SHA256 ...`, `X-Project-Id`, `X-Sdk-Date`); the mock does not verify signatures. The
test builds its own app with `root="huawei_rts"`, as `deploymock serve --provider huawei_rts` does.
"""

from __future__ import annotations

import types
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("huaweicloudsdkcore")

import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.client import Client
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.sdk_response import SdkResponse

from mockserver.app import create_app, mock_of
from mockserver.clock import VirtualClock
from pytest_plugin.handle import LiveServer

pytestmark = [
    pytest.mark.compat,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

PROVIDER = "huawei_rts"


class RtsResponse(SdkResponse):
    """A model without attributes: the body is read with `to_json_object()`."""

    openapi_types: dict[str, str] = {}  # noqa: RUF012 - the SDK's model protocol
    attribute_map: dict[str, str] = {}  # noqa: RUF012


@pytest.fixture(scope="module")
def rts_root() -> Iterator[LiveServer]:
    app = create_app(
        providers=[PROVIDER], root=PROVIDER, clock=VirtualClock.fake(), validate_responses=True
    )
    server = LiveServer(app)
    yield server
    server.stop()
    assert mock_of(app).errors == []


@pytest.fixture
def project(rts_root: LiveServer) -> Iterator[str]:
    pid = uuid.uuid4().hex  # Huawei project ids are 32 hex digits
    yield pid
    mock_of(rts_root.app).reset(provider=PROVIDER, tenant=pid)


@pytest.fixture
def sdk(rts_root: LiveServer, project: str) -> Iterator[Client]:
    client = (
        Client()
        .with_credentials(BasicCredentials("AKCOMPATEXAMPLE", "SKCOMPATEXAMPLE", project))
        .with_config(HttpConfig.get_default_config())
        .with_endpoints([rts_root.base_url])
    )
    client.init_http_client()
    client.model_package = types.SimpleNamespace(RtsResponse=RtsResponse)
    yield client
    client.close()


def call(client: Client, method: str, path: str, body: Any = None, **params: Any) -> Any:
    response = client.do_http_request(
        method,
        f"/v1/{{project_id}}{path}",
        query_params=params or None,
        body=body,
        response_type="RtsResponse",
    )
    return response.status_code, response.to_json_object()


def test_sdk_create_update_read(sdk, rts_root, project):
    status, created = call(sdk, "POST", "/software_configs", {"name": "sdk", "config": "echo"})
    assert status == 200
    cid = created["software_config"]["id"]
    _, dep = call(
        sdk,
        "POST",
        "/software_deployments",
        {
            "config_id": cid,
            "server_id": "ecs-1",
            "action": "CREATE",
            "status": "IN_PROGRESS",
        },
    )
    did = dep["software_deployment"]["id"]

    status, updated = call(
        sdk,
        "PUT",
        f"/software_deployments/{did}",
        {
            "status": "COMPLETE",
            "output_values": {"deploy_status_code": 0, "result": "ok"},
        },
    )
    assert status == 200
    assert updated["software_deployment"]["status"] == "COMPLETE"
    assert updated["software_deployment"]["action"] == "CREATE"

    _, got = call(sdk, "GET", f"/software_deployments/{did}")
    assert got == updated
    _, listed = call(sdk, "GET", "/software_deployments", server_id="ecs-1")
    assert [d["id"] for d in listed["software_deployments"]] == [did]

    status, _ = call(sdk, "DELETE", f"/software_deployments/{did}")
    assert status == 204
    journal = mock_of(rts_root.app).journal.entries(tenant=project)
    assert len(journal) == 6
    assert all(e.path.startswith(f"/v1/{project}/") for e in journal)  # the root mount


def test_sdk_errors(sdk, project):
    missing = str(uuid.uuid4())
    with pytest.raises(ClientRequestException) as not_found:
        call(sdk, "GET", f"/software_deployments/{missing}")
    assert not_found.value.status_code == 404
    assert f"Deployment with id {missing} not found" in not_found.value.error_msg

    _, created = call(sdk, "POST", "/software_configs", {"name": "c"})
    cid = created["software_config"]["id"]
    _, dep = call(sdk, "POST", "/software_deployments", {"config_id": cid, "server_id": "e"})
    did = dep["software_deployment"]["id"]
    with pytest.raises(ClientRequestException) as bad:
        call(sdk, "PUT", f"/software_deployments/{did}", {"status": "DONE"})
    assert bad.value.status_code == 400
    with pytest.raises(ClientRequestException) as in_use:
        call(sdk, "DELETE", f"/software_configs/{cid}")
    assert in_use.value.status_code == 409
    _, after = call(sdk, "GET", f"/software_deployments/{did}")
    assert after["software_deployment"]["status"] is None


def test_requests_with_a_token(rts_root, project):
    base = f"{rts_root.base_url}/v1/{project}"
    with requests.Session() as http:
        http.headers.update({"X-Auth-Token": "iam-token", "Accept": "application/json"})
        versions = http.get(f"{rts_root.base_url}/")
        assert versions.status_code == 300
        href = versions.json()["versions"][0]["links"][0]["href"]
        assert href == f"{rts_root.base_url}/v1/"

        cid = http.post(f"{base}/software_configs", json={"name": "r"}).json()["software_config"]
        dep = http.post(
            f"{base}/software_deployments", json={"config_id": cid["id"], "server_id": "ecs-2"}
        ).json()["software_deployment"]
        # The Go SDK's shape: "" and null for what it does not change.
        resp = http.put(
            f"{base}/software_deployments/{dep['id']}",
            json={
                "action": "",
                "status": "COMPLETE",
                "status_reason": "",
                "input_values": None,
                "output_values": {"deploy_status_code": "0"},
            },
        )
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == "application/json"
        got = http.get(f"{base}/software_deployments/{dep['id']}").json()["software_deployment"]
        assert got["status"] == "COMPLETE"
        assert got["action"] is None
        assert got["output_values"] == {"deploy_status_code": "0"}

        missing = http.get(f"{base}/software_deployments/{uuid.uuid4()}")
        assert missing.status_code == 404
        assert missing.json()["error"]["type"] == "NotFound"
        bad = http.put(
            f"{base}/software_deployments/{dep['id']}",
            data=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        assert bad.status_code == 400
        anonymous = requests.get(f"{base}/software_configs")
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith("Keystone uri=")
