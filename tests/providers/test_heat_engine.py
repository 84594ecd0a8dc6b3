"""The Heat semantics shared by `openstack_heat` and `huawei_rts`, tested through HTTP on both.

Every response is validated against the provider's spec by the `mockserver` fixture.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from mockserver.admin import redacted
from mockserver.app import create_app, mock_of
from mockserver.clock import VirtualClock
from pytest_plugin.transport import InProcessTransport

PROVIDERS = ("openstack_heat", "huawei_rts")
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DEPLOYMENT_KEYS = {
    "id",
    "server_id",
    "config_id",
    "input_values",
    "output_values",
    "action",
    "status",
    "status_reason",
    "creation_time",
}


@dataclass
class Heat:
    """One provider, one tenant: the client plus small helpers for the common calls."""

    provider: str
    api: httpx.Client
    base: str
    mockserver: Any

    def config(self, **body: Any) -> dict[str, Any]:
        resp = self.api.post(f"{self.base}/software_configs", json={"name": "cfg", **body})
        assert resp.status_code == 200, resp.text
        return dict(resp.json()["software_config"])

    def deployment(self, config_id: str, server_id: str = "srv-1", **body: Any) -> dict[str, Any]:
        payload = {"config_id": config_id, "server_id": server_id, **body}
        resp = self.api.post(f"{self.base}/software_deployments", json=payload)
        assert resp.status_code == 200, resp.text
        return dict(resp.json()["software_deployment"])

    def put(self, did: str, **kwargs: Any) -> httpx.Response:
        return self.api.put(f"{self.base}/software_deployments/{did}", **kwargs)

    def get(self, did: str) -> dict[str, Any]:
        resp = self.api.get(f"{self.base}/software_deployments/{did}")
        assert resp.status_code == 200, resp.text
        return dict(resp.json()["software_deployment"])

    def stored(self, kind: str) -> dict[str, Any]:
        return dict(self.mockserver.state(self.provider).get(kind, {}))


@pytest.fixture(params=PROVIDERS)
def heat(request: pytest.FixtureRequest, mockserver: Any) -> Heat:
    name = request.param
    return Heat(name, mockserver.client(name), f"/v1/{mockserver.tenant}", mockserver)


def fault(resp: httpx.Response, status: int, kind: str | None = None) -> dict[str, Any]:
    """Assert a Heat FaultWrapper error; return its `error` object."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert body["code"] == status
    assert body["title"]
    assert body["explanation"]
    assert body["error"]["traceback"] is None
    assert body["error"]["message"]
    if kind is not None:
        assert body["error"]["type"] == kind
    return dict(body["error"])


# -- version document ------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/v1"])
def test_version_document_needs_no_token_and_points_back_at_the_mount(heat, path):
    resp = heat.mockserver.client(heat.provider, auth=False).get(path)
    assert resp.status_code == 300
    assert resp.headers["content-type"] == "application/json"
    (version,) = resp.json()["versions"]
    assert version["id"] == "v1.0"
    assert version["status"] == "CURRENT"
    assert version["links"] == [{"rel": "self", "href": f"http://deploymock/{heat.provider}/v1/"}]


# -- auth --------------------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [{}, {"X-Auth-Token": ""}, {"X-Auth-Token": "  "}])
def test_missing_token_is_401_with_a_challenge_and_changes_nothing(heat, headers):
    anon = heat.mockserver.client(heat.provider, auth=False, headers=headers)
    resp = anon.post(f"{heat.base}/software_configs", json={"name": "x"})
    error = fault(resp, 401, "HTTPUnauthorized")
    assert error["message"] == "The request you have made requires authentication."
    assert re.fullmatch(r'Keystone uri=".+"', resp.headers["www-authenticate"])
    assert heat.stored("software_config") == {}
    fault(anon.get(f"{heat.base}/software_deployments"), 401)


def test_any_unbound_token_works_for_any_tenant(heat):
    other = f"/v1/{uuid.uuid4().hex}"
    api = heat.mockserver.client(heat.provider, headers={"X-Auth-Token": "someone-else"})
    assert api.get(f"{other}/software_configs").json() == {"software_configs": []}
    assert api.get(f"{heat.base}/software_deployments").status_code == 200


# -- software configs --------------------------------------------------------------------------
def test_create_config_normalises_io_and_reads_back(heat):
    created = heat.config(
        name="deploy-app",
        group="script",
        config="#!/bin/sh\necho $foo",
        inputs=[
            {"name": "foo"},
            {
                "name": "bar",
                "type": "Number",
                "default": 3,
                "description": None,
                "replace_on_change": True,
            },
            {"name": "baz", "replace_on_change": False},
        ],
        outputs=[{"name": "result", "error_output": None}, {"name": "err", "error_output": True}],
    )
    assert uuid.UUID(created["id"]).version == 4
    assert STAMP.match(created["creation_time"])
    assert created["inputs"] == [
        {"name": "foo", "type": "String"},
        {"name": "bar", "type": "Number", "default": 3, "replace_on_change": True},
        {"name": "baz", "type": "String"},
    ]
    assert created["outputs"] == [
        {"name": "result", "type": "String", "error_output": False},
        {"name": "err", "type": "String", "error_output": True},
    ]
    assert created["options"] == {}
    got = heat.api.get(f"{heat.base}/software_configs/{created['id']}")
    assert got.status_code == 200
    assert got.json() == {"software_config": created}


def test_create_config_with_nothing_but_defaults(heat):
    resp = heat.api.post(f"{heat.base}/software_configs", json={})
    assert resp.status_code == 200
    config = resp.json()["software_config"]
    assert (config["name"], config["group"], config["config"]) == (None, None, None)
    assert (config["inputs"], config["outputs"], config["options"]) == ([], [], {})


@pytest.mark.parametrize(
    "body",
    [
        {"inputs": [{"name": "a", "colour": "red"}]},  # Heat: Unknown Property
        {"outputs": [{"type": "String"}]},  # name is required
        {"inputs": {"name": "a"}},  # not a list
        {"options": "x"},
    ],
)
def test_invalid_config_is_400_and_not_stored(heat, body):
    fault(heat.api.post(f"{heat.base}/software_configs", json=body), 400, "HTTPBadRequest")
    assert heat.stored("software_config") == {}


def test_config_list_is_a_newest_first_summary_with_limit_and_marker(heat):
    ids = []
    for n in range(4):
        ids.append(heat.config(name=f"c{n}", group="script", config="x")["id"])
        heat.mockserver.clock.advance(1)
    newest_first = ids[::-1]
    listed = heat.api.get(f"{heat.base}/software_configs").json()["software_configs"]
    assert [c["id"] for c in listed] == newest_first
    assert set(listed[0]) == {"id", "name", "group", "creation_time"}
    page = heat.api.get(f"{heat.base}/software_configs", params={"limit": 2}).json()
    assert [c["id"] for c in page["software_configs"]] == newest_first[:2]
    after = heat.api.get(
        f"{heat.base}/software_configs", params={"limit": 2, "marker": newest_first[1]}
    ).json()
    assert [c["id"] for c in after["software_configs"]] == newest_first[2:]
    unknown = heat.api.get(f"{heat.base}/software_configs", params={"marker": "nope"}).json()
    assert [c["id"] for c in unknown["software_configs"]] == newest_first


@pytest.mark.parametrize("limit", ["0", "-1", "abc"])
def test_config_list_rejects_a_bad_limit(heat, limit):
    fault(heat.api.get(f"{heat.base}/software_configs", params={"limit": limit}), 400)


def test_unknown_config_is_404(heat):
    resp = heat.api.get(f"{heat.base}/software_configs/{uuid.uuid4()}")
    assert "not found" in fault(resp, 404, "NotFound")["message"]
    fault(heat.api.delete(f"{heat.base}/software_configs/nope"), 404, "NotFound")


def test_configs_are_per_tenant(heat):
    cid = heat.config()["id"]
    other = f"/v1/{uuid.uuid4().hex}"
    fault(heat.api.get(f"{other}/software_configs/{cid}"), 404)
    assert heat.api.get(f"{other}/software_configs").json() == {"software_configs": []}


def test_delete_config(heat):
    cid = heat.config()["id"]
    resp = heat.api.delete(f"{heat.base}/software_configs/{cid}")
    assert resp.status_code == 204
    assert resp.content == b""
    fault(heat.api.get(f"{heat.base}/software_configs/{cid}"), 404)
    assert heat.stored("software_config") == {}


def test_a_config_in_use_cannot_be_deleted(heat):
    cid = heat.config()["id"]
    did = heat.deployment(cid)["id"]
    error = fault(heat.api.delete(f"{heat.base}/software_configs/{cid}"), 409)
    assert error["type"] == "InvalidRestrictedAction"
    assert (
        error["message"] == f"Software config with id {cid} can not be deleted as it is referenced."
    )
    assert heat.api.get(f"{heat.base}/software_configs/{cid}").status_code == 200
    assert heat.api.delete(f"{heat.base}/software_deployments/{did}").status_code == 204
    assert heat.api.delete(f"{heat.base}/software_configs/{cid}").status_code == 204


# -- software deployments: create, read, list, delete ------------------------------------------
def test_create_deployment_and_read_back(heat):
    cid = heat.config()["id"]
    dep = heat.deployment(
        cid,
        "srv-9",
        action="CREATE",
        status="IN_PROGRESS",
        input_values={"foo": "bar"},
        stack_user_project_id="c024bfada67845ddb17d2b0c0be8cd79",
    )
    assert set(dep) == DEPLOYMENT_KEYS  # updated_time only once updated
    assert uuid.UUID(dep["id"]).version == 4
    assert STAMP.match(dep["creation_time"])
    assert dep["server_id"] == "srv-9"
    assert dep["config_id"] == cid
    assert (dep["action"], dep["status"]) == ("CREATE", "IN_PROGRESS")
    assert dep["input_values"] == {"foo": "bar"}
    assert dep["output_values"] is None
    assert dep["status_reason"] == "None"  # Heat stores str(None)
    assert heat.get(dep["id"]) == dep


def test_create_deployment_minimal(heat):
    dep = heat.deployment(heat.config()["id"])
    assert (dep["action"], dep["status"], dep["input_values"]) == (None, None, None)


@pytest.mark.parametrize(
    "body",
    [
        {"server_id": "srv-1"},
        {"config_id": "will-be-set"},
        {"config_id": "will-be-set", "server_id": "srv-1", "status": "DONE"},
        {"config_id": "will-be-set", "server_id": 7},
    ],
)
def test_invalid_deployment_is_400_and_not_stored(heat, body):
    cid = heat.config()["id"]
    payload = {k: cid if v == "will-be-set" else v for k, v in body.items()}
    fault(heat.api.post(f"{heat.base}/software_deployments", json=payload), 400)
    assert heat.stored("software_deployment") == {}


def test_deployment_of_an_unknown_or_foreign_config_is_400(heat):
    foreign = heat.mockserver.client(heat.provider)
    other = foreign.post(f"/v1/{uuid.uuid4().hex}/software_configs", json={}).json()
    for cid in (str(uuid.uuid4()), other["software_config"]["id"]):
        resp = heat.api.post(
            f"{heat.base}/software_deployments", json={"config_id": cid, "server_id": "s"}
        )
        error = fault(resp, 400, "Invalid")
        assert f"Config with id {cid} not found" in error["message"]
    assert heat.stored("software_deployment") == {}


def test_list_deployments_oldest_first_and_by_server(heat):
    cid = heat.config()["id"]
    first = heat.deployment(cid, "srv-a")["id"]
    heat.mockserver.clock.advance(5)
    second = heat.deployment(cid, "srv-b")["id"]
    third = heat.deployment(cid, "srv-a")["id"]
    listed = heat.api.get(f"{heat.base}/software_deployments").json()["software_deployments"]
    assert [d["id"] for d in listed] == [first, second, third]
    by_server = heat.api.get(f"{heat.base}/software_deployments", params={"server_id": "srv-a"})
    assert [d["id"] for d in by_server.json()["software_deployments"]] == [first, third]
    none = heat.api.get(f"{heat.base}/software_deployments", params={"server_id": "srv-z"})
    assert none.json() == {"software_deployments": []}


def test_unknown_or_foreign_deployment_is_404(heat):
    did = heat.deployment(heat.config()["id"])["id"]
    missing = str(uuid.uuid4())
    error = fault(heat.api.get(f"{heat.base}/software_deployments/{missing}"), 404, "NotFound")
    assert error["message"] == f"Deployment with id {missing} not found"
    other = f"/v1/{uuid.uuid4().hex}/software_deployments/{did}"
    fault(heat.api.get(other), 404, "NotFound")
    fault(heat.api.put(other, json={"status": "FAILED"}), 404, "NotFound")
    fault(heat.api.delete(other), 404, "NotFound")
    assert heat.get(did)["status"] is None


def test_delete_deployment(heat):
    did = heat.deployment(heat.config()["id"])["id"]
    resp = heat.api.delete(f"{heat.base}/software_deployments/{did}")
    assert resp.status_code == 204
    assert resp.content == b""
    fault(heat.api.get(f"{heat.base}/software_deployments/{did}"), 404)
    fault(heat.api.delete(f"{heat.base}/software_deployments/{did}"), 404)
    assert heat.stored("software_deployment") == {}


def test_there_is_no_patch(heat):
    did = heat.deployment(heat.config()["id"])["id"]
    fault(heat.api.patch(f"{heat.base}/software_deployments/{did}", json={"status": "FAILED"}), 405)
    assert heat.get(did)["status"] is None


def test_metadata_lists_the_server_configs_by_name(heat):
    zed, alpha, other = heat.config(name="zed"), heat.config(name="alpha"), heat.config(name="o")
    heat.deployment(zed["id"], "srv-m")
    heat.deployment(alpha["id"], "srv-m")
    heat.deployment(other["id"], "srv-other")
    resp = heat.api.get(f"{heat.base}/software_deployments/metadata/srv-m")
    assert resp.status_code == 200
    assert resp.json() == {"metadata": [alpha, zed]}
    empty = heat.api.get(f"{heat.base}/software_deployments/metadata/srv-none")
    assert empty.json() == {"metadata": []}


# -- PUT semantics -----------------------------------------------------------------------------
@pytest.fixture
def deployed(heat: Heat) -> dict[str, Any]:
    """A deployment in progress, created an hour before the test's PUTs."""
    cid = heat.config(name="first")["id"]
    dep = heat.deployment(
        cid,
        "srv-put",
        action="CREATE",
        status="IN_PROGRESS",
        status_reason="Deploy data available",
        input_values={"a": 1, "b": 2},
    )
    heat.mockserver.clock.advance(3600)
    return dep


def test_put_is_partial_and_stamps_updated_time(heat, deployed):
    resp = heat.put(
        deployed["id"],
        json={
            "status": "COMPLETE",
            "status_reason": "Outputs received",
            "output_values": {"deploy_stdout": "ok", "deploy_status_code": 0},
        },
    )
    assert resp.status_code == 200
    updated = resp.json()["software_deployment"]
    assert updated["status"] == "COMPLETE"
    assert updated["status_reason"] == "Outputs received"
    assert updated["output_values"] == {"deploy_stdout": "ok", "deploy_status_code": 0}
    unchanged = ("id", "server_id", "config_id", "action", "input_values", "creation_time")
    assert {k: updated[k] for k in unchanged} == {k: deployed[k] for k in unchanged}
    assert STAMP.match(updated["updated_time"])
    assert updated["updated_time"] > updated["creation_time"]
    assert heat.get(deployed["id"]) == updated


def test_put_again_moves_updated_time(heat, deployed):
    first = heat.put(deployed["id"], json={"action": "UPDATE"}).json()["software_deployment"]
    heat.mockserver.clock.advance(60)
    second = heat.put(deployed["id"], json={"action": "UPDATE"}).json()["software_deployment"]
    assert second["updated_time"] > first["updated_time"]
    assert second["creation_time"] == deployed["creation_time"]


def test_put_null_and_falsy_values_leave_fields_unchanged(heat, deployed):
    body = {
        "config_id": "",
        "input_values": {},
        "output_values": [],
        "action": None,
        "status": "",
        "status_reason": "",
    }
    resp = heat.put(deployed["id"], json=body)
    assert resp.status_code == 200
    after = heat.get(deployed["id"])
    assert {k: after[k] for k in DEPLOYMENT_KEYS} == deployed
    assert STAMP.match(after["updated_time"])


def test_put_replaces_input_and_output_values(heat, deployed):
    heat.put(deployed["id"], json={"output_values": {"x": 1, "y": 2}})
    resp = heat.put(deployed["id"], json={"input_values": {"c": 3}, "output_values": {"z": 3}})
    after = resp.json()["software_deployment"]
    assert after["input_values"] == {"c": 3}
    assert after["output_values"] == {"z": 3}
    assert heat.get(deployed["id"]) == after


def test_put_ignores_unknown_and_read_only_keys(heat, deployed):
    body = {
        "id": "other",
        "server_id": "srv-evil",
        "creation_time": "2000-01-01T00:00:00Z",
        "updated_time": "2000-01-01T00:00:00Z",
        "colour": "blue",
        "status": "FAILED",
    }
    after = heat.put(deployed["id"], json=body).json()["software_deployment"]
    assert after["status"] == "FAILED"
    assert (after["id"], after["server_id"]) == (deployed["id"], "srv-put")
    assert after["creation_time"] == deployed["creation_time"]
    assert after["updated_time"] != "2000-01-01T00:00:00Z"
    assert "colour" not in after


@pytest.mark.parametrize("status", ["DONE", "complete", "SUCCEEDED", 1])
def test_put_unknown_status_is_400_and_changes_nothing(heat, deployed, status):
    fault(heat.put(deployed["id"], json={"status": status, "action": "UPDATE"}), 400)
    assert heat.get(deployed["id"]) == deployed


def test_put_unknown_config_is_400_and_changes_nothing(heat, deployed):
    missing = str(uuid.uuid4())
    resp = heat.put(deployed["id"], json={"config_id": missing, "status": "COMPLETE"})
    assert f"Config with id {missing} not found" in fault(resp, 400, "Invalid")["message"]
    assert heat.get(deployed["id"]) == deployed


def test_put_new_config_changes_the_server_metadata(heat, deployed):
    second = heat.config(name="second")
    resp = heat.put(deployed["id"], json={"config_id": second["id"], "action": "UPDATE"})
    assert resp.json()["software_deployment"]["config_id"] == second["id"]
    metadata = heat.api.get(f"{heat.base}/software_deployments/metadata/srv-put").json()
    assert metadata == {"metadata": [second]}


@pytest.mark.parametrize("code", [1, "2", -1])
def test_non_zero_deploy_status_code_with_complete_stays_complete(heat, deployed, code):
    outputs = {"deploy_stdout": "", "deploy_stderr": "boom", "deploy_status_code": code}
    resp = heat.put(deployed["id"], json={"status": "COMPLETE", "output_values": outputs})
    assert resp.status_code == 200
    after = heat.get(deployed["id"])
    assert after["status"] == "COMPLETE"
    assert after["output_values"] == outputs
    assert after["status_reason"] == "Deploy data available"


def test_any_status_may_follow_any_status(heat, deployed):
    for status in ("COMPLETE", "IN_PROGRESS", "FAILED", "COMPLETE", "COMPLETE"):
        resp = heat.put(deployed["id"], json={"status": status})
        assert resp.json()["software_deployment"]["status"] == status


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"status": "COMPLETE"', "application/json"),  # malformed
        (b"[]", "application/json"),
        (b'"COMPLETE"', "application/json"),
        (b"42", "application/json"),
        (b"null", "application/json"),
        (b"", "application/json"),  # missing body
        (b"status=COMPLETE", "application/x-www-form-urlencoded"),
        (b'{"status": "COMPLETE"}', "text/plain"),
    ],
)
def test_put_bad_bodies_are_400_and_change_nothing(heat, deployed, content, content_type):
    resp = heat.put(deployed["id"], content=content, headers={"Content-Type": content_type})
    fault(resp, 400)
    assert heat.get(deployed["id"]) == deployed


def test_put_oversized_body_is_400_request_limit_exceeded(heat, deployed):
    huge = {"status": "COMPLETE", "output_values": {"deploy_stdout": "x" * (1024 * 1024)}}
    error = fault(heat.put(deployed["id"], json=huge), 400, "RequestLimitExceeded")
    assert error["message"].startswith("Request limit exceeded: ")
    assert heat.get(deployed["id"]) == deployed


def test_put_unknown_deployment_is_404(heat):
    fault(heat.put(str(uuid.uuid4()), json={"status": "COMPLETE"}), 404, "NotFound")


# -- token bindings ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bindable_app() -> Iterator[Any]:
    """An app of its own, so the tokens bound here are seen by no other test."""
    app = create_app(
        providers=PROVIDERS,
        clock=VirtualClock.fake(),
        options={name: {"tokens": {}} for name in PROVIDERS},
        validate_responses=True,
    )
    yield app
    assert mock_of(app).errors == []


@pytest.fixture
def bound(bindable_app: Any, request: pytest.FixtureRequest) -> Iterator[tuple[str, Heat]]:
    """A token bound to a fresh project of one provider; unbound again at teardown."""
    name, token, project = request.param, f"tok-{uuid.uuid4().hex}", uuid.uuid4().hex
    mock = mock_of(bindable_app)
    mock.patch_options(name, {"tokens": {token: project}})
    transport = InProcessTransport(bindable_app)
    api = httpx.Client(
        transport=transport, base_url=f"http://deploymock/{name}", headers={"X-Auth-Token": token}
    )
    yield token, Heat(name, api, f"/v1/{project}", None)
    api.close()
    transport.close()
    mock.patch_options(name, {"tokens": {token: None}})
    mock.reset(provider=name, tenant=project)


@pytest.mark.parametrize("bound", PROVIDERS, indirect=True)
def test_bound_token_works_on_its_own_project_only(bound):
    _token, heat = bound
    assert heat.api.post(f"{heat.base}/software_configs", json={"name": "mine"}).status_code == 200
    foreign = f"/v1/{uuid.uuid4().hex}"
    resp = heat.api.post(f"{foreign}/software_configs", json={"name": "theirs"})
    fault(resp, 403, "HTTPForbidden")
    fault(heat.api.get(f"{foreign}/software_deployments/{uuid.uuid4()}"), 403)
    assert heat.api.get("/v1").status_code == 300  # the version document has no project
    listed = heat.api.get(f"{heat.base}/software_configs").json()["software_configs"]
    assert [c["name"] for c in listed] == ["mine"]


@pytest.mark.parametrize("bound", PROVIDERS, indirect=True)
def test_unbinding_frees_the_token(bound, bindable_app):
    token, heat = bound
    foreign = f"/v1/{uuid.uuid4().hex}"
    fault(heat.api.get(f"{foreign}/software_configs"), 403)
    mock_of(bindable_app).patch_options(heat.provider, {"tokens": {token: None}})
    assert heat.api.get(f"{foreign}/software_configs").status_code == 200


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_token_bound_on_the_session_app_and_unbound(mockserver, provider):
    token = f"tok-{uuid.uuid4().hex}"
    mockserver.set_options(provider, tokens={token: mockserver.tenant})
    try:
        api = mockserver.client(provider, headers={"X-Auth-Token": token})
        assert api.get(f"/v1/{uuid.uuid4().hex}/software_configs").status_code == 403
        assert api.get(f"/v1/{mockserver.tenant}/software_configs").status_code == 200
    finally:
        mockserver.set_options(provider, tokens={token: None})
    assert api.get(f"/v1/{uuid.uuid4().hex}/software_configs").status_code == 200


@pytest.mark.parametrize("provider", PROVIDERS)
def test_bind_token_with_the_fixture_and_the_admin_api(mockserver, provider):
    token, other = f"tok-{uuid.uuid4().hex}", f"tok-{uuid.uuid4().hex}"
    before = dict(mockserver.mock.options_of(provider))
    mockserver.set_options(provider, tokens={token: mockserver.tenant})
    admin = mockserver.client(provider, auth=False)
    r = admin.patch(f"http://deploymock/__admin/options/{provider}", json={"tokens": {other: "p1"}})
    assert r.status_code == 200
    shown = r.json()["tokens"]  # bound tokens are secrets: the admin API shows none in clear
    assert {redacted(token): mockserver.tenant, redacted(other): "p1"}.items() <= shown.items()
    assert token not in r.text and other not in r.text
    foreign = f"/v1/{uuid.uuid4().hex}/software_configs"
    assert (
        mockserver.client(provider, headers={"X-Auth-Token": token}).get(foreign).status_code == 403
    )
    assert (
        mockserver.client(provider, headers={"X-Auth-Token": other}).get(foreign).status_code == 403
    )
    unbind = admin.patch(
        f"http://deploymock/__admin/options/{provider}", json={"tokens": {other: None}}
    )
    assert redacted(other) not in unbind.json()["tokens"]
    mockserver.close()  # what teardown does: the options come back as they were
    assert dict(mockserver.mock.options_of(provider)) == before
