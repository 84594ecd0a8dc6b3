"""IBM WML v4 through HTTP: every rule of issue 4, with the state read back after each call.

Every response below is also checked against openapi/ibm_wml.yaml by the fixture.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from mockserver.providers.ibm_wml import DEFAULT_USER, token_for

pytestmark = pytest.mark.mockserver(provider="ibm_wml")

VERSION = "2026-10-14"
DEPLOYMENTS = "/ml/v4/deployments"
MODELS = "/ml/v4/models"
SETTLE = 10  # the default `initialize` and `update` delays
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
SCHEMA_A = [{"id": "1", "type": "struct", "fields": [{"name": "age", "type": "double"}]}]
SCHEMA_B = [{"id": "1", "type": "struct", "fields": [{"name": "income", "type": "double"}]}]
SCHEMA_WARNING = (
    "The input schema of the asset being patched does not match with the currently deployed "
    "asset. Please ensure that the score payloads are up to date as per the asset being patched."
)


# -- helpers ---------------------------------------------------------------------------------
def client(mockserver: Any, *, user: str | None = None, **params: str) -> httpx.Client:
    """A client for this test's space (or the container in `params`), as `user` if given."""
    headers = {"Authorization": f"Bearer {token_for(user)}"} if user else None
    api = mockserver.client(headers=headers)
    api.params = params or {"version": VERSION, "space_id": mockserver.tenant}
    return api


@pytest.fixture
def api(mockserver: Any) -> httpx.Client:
    return client(mockserver)


def container(api: httpx.Client) -> dict[str, str]:
    return {k: v for k, v in api.params.items() if k in ("space_id", "project_id")}


def model(
    api: httpx.Client, kind: str = "scikit-learn_1.3", schema: Any = SCHEMA_A, **extra: Any
) -> str:
    body = {
        "name": "churn",
        "type": kind,
        "software_spec": {"name": "runtime-24.1-py3.11"},
        **container(api),
        **extra,
    }
    if schema is not None:
        body["schemas"] = {"input": schema}
    r = api.post(MODELS, json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["metadata"]["id"])


def deploy(api: httpx.Client, asset: str, **extra: Any) -> dict[str, Any]:
    body = {"name": "churn online", "asset": {"id": asset}, "online": {}, **container(api), **extra}
    r = api.post(DEPLOYMENTS, json=body)
    assert r.status_code == 202, r.text
    created: dict[str, Any] = r.json()
    return created


def get(api: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    # Pass query parameters here: httpx drops a query written in the path of a client that has
    # default params.
    r = api.get(path, params=params or None)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def ready(mockserver: Any, api: httpx.Client, **extra: Any) -> tuple[str, str]:
    """A model and a `ready` deployment of it: (model id, deployment id)."""
    mid = model(api)
    did = deploy(api, mid, **extra)["metadata"]["id"]
    mockserver.clock.advance(SETTLE)
    assert state(api, did) == "ready"
    return mid, did


def state(api: httpx.Client, did: str) -> str:
    return str(get(api, f"{DEPLOYMENTS}/{did}")["entity"]["status"]["state"])


def patch(api: httpx.Client, did: str, *ops: dict[str, Any], **kw: Any) -> httpx.Response:
    return api.patch(f"{DEPLOYMENTS}/{did}", json=list(ops), **kw)


def op(kind: str, path: str, value: Any = None) -> dict[str, Any]:
    return (
        {"op": kind, "path": path}
        if kind == "remove"
        else {"op": kind, "path": path, "value": value}
    )


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"trace", "errors", "status_code"}
    assert re.fullmatch(r"[0-9a-f]{32}", body["trace"])
    assert body["status_code"] == status
    error: dict[str, Any] = body["errors"][0]
    assert error["code"] == code, body
    assert error["message"]
    return error


# -- authentication, version, container -------------------------------------------------------
@pytest.mark.parametrize("authorization", [None, "", "Bearer ", "Token abc", "abc"])
def test_missing_or_malformed_authorization_is_401(
    mockserver: Any, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    r = mockserver.client(auth=False).get(
        DEPLOYMENTS, params={"version": VERSION, "space_id": mockserver.tenant}, headers=headers
    )
    assert_error(r, 401, "authentication_token_not_valid")


def test_basic_token_without_dots_is_accepted(mockserver: Any, api: httpx.Client) -> None:
    # The Python SDK sends `Basic <token>` for a token that is not a JWT.
    mid = model(api)
    basic = mockserver.client(headers={"Authorization": "Basic plain-token"})
    r = basic.get(f"{MODELS}/{mid}", params=api.params)
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["owner"] == DEFAULT_USER


def test_expired_jwt_is_401_and_changes_nothing(mockserver: Any, api: httpx.Client) -> None:
    expired = mockserver.client(headers={"Authorization": f"Bearer {token_for('bob', exp=1)}"})
    r = expired.post(
        MODELS,
        params=api.params,
        json={"name": "m", "type": "t_1", "software_spec": {"name": "s"}, **container(api)},
    )
    assert_error(r, 401, "authentication_token_expired")
    assert get(api, DEPLOYMENTS)["resources"] == []
    assert mockserver.state() == {}


def test_owner_is_the_caller_named_by_the_jwt(mockserver: Any) -> None:
    alice = client(mockserver, user="alice")
    mid = model(alice)
    assert get(alice, f"{MODELS}/{mid}")["metadata"]["owner"] == "alice"


@pytest.mark.parametrize("version", [None, "2026-1-14", "latest"])
def test_missing_or_malformed_version_is_400(mockserver: Any, version: str | None) -> None:
    params = {"space_id": mockserver.tenant} | ({"version": version} if version else {})
    r = client(mockserver, **params).get(DEPLOYMENTS)
    error = assert_error(r, 400, "invalid_input_argument")
    assert error["target"] == {"type": "parameter", "name": "version"}


@pytest.mark.parametrize("ids", [{}, {"space_id": "s1", "project_id": "p1"}])
def test_neither_or_both_containers_is_400(mockserver: Any, ids: dict[str, str]) -> None:
    r = client(mockserver, version=VERSION, **ids).get(DEPLOYMENTS)
    error = assert_error(r, 400, "invalid_input_argument")
    assert error["target"] == {"type": "parameter", "name": "space_id"}


@pytest.mark.parametrize("ids", [{}, {"space_id": "s1", "project_id": "p1"}])
def test_create_body_needs_exactly_one_container(api: httpx.Client, ids: dict[str, str]) -> None:
    body = {"name": "m", "type": "t_1", "software_spec": {"name": "s"}, **ids}
    r = api.post(MODELS, params={"version": VERSION}, json=body)
    assert_error(r, 400, "json_validation_error")
    assert get(api, DEPLOYMENTS)["resources"] == []


def test_query_container_on_post_must_match_the_body(mockserver: Any, api: httpx.Client) -> None:
    body = {"name": "m", "type": "t_1", "software_spec": {"name": "s"}, "space_id": "elsewhere"}
    assert_error(api.post(MODELS, json=body), 400, "invalid_input_argument")
    assert mockserver.state() == {}


def test_body_that_is_not_json_is_400(api: httpx.Client) -> None:
    r = api.post(MODELS, content=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(r, 400, "json_type_error")


def test_schema_problems_are_listed_one_error_each(api: httpx.Client) -> None:
    r = api.post(MODELS, json={"type": 3, **container(api)})
    errors = r.json()["errors"]
    assert r.status_code == 400
    assert {e["code"] for e in errors} == {"json_validation_error"}
    assert len(errors) >= 3  # name and software_spec missing, type not a string


def test_resources_of_another_container_are_404(mockserver: Any, api: httpx.Client) -> None:
    mid, did = ready(mockserver, api)
    other = client(mockserver, version=VERSION, space_id="another-space")
    same_id_project = client(mockserver, version=VERSION, project_id=mockserver.tenant)
    for foreign in (other, same_id_project):
        assert_error(foreign.get(f"{DEPLOYMENTS}/{did}"), 404, "deployment_does_not_exist")
        assert_error(foreign.get(f"{MODELS}/{mid}"), 404, "model_does_not_exist")
        assert get(foreign, DEPLOYMENTS)["resources"] == []


def test_project_container(mockserver: Any) -> None:
    api = client(mockserver, version=VERSION, project_id="p-1")
    mid = model(api)
    created = deploy(api, mid)
    assert created["metadata"]["project_id"] == "p-1"
    assert "space_id" not in created["metadata"]
    assert [d["metadata"]["id"] for d in get(api, DEPLOYMENTS)["resources"]] == [
        created["metadata"]["id"]
    ]


def test_unknown_route_is_a_wml_404(api: httpx.Client) -> None:
    assert_error(api.get("/ml/v4/nothing"), 404, "not_found")


def test_prompt_probe_without_version_is_404(mockserver: Any) -> None:
    # The SDK probes GET /wx/v1/prompts/{asset_id}?space_id&prompt_id before creating.
    probe = mockserver.client()
    for params in ({"space_id": mockserver.tenant, "prompt_id": "abc"}, {}):
        assert_error(probe.get("/wx/v1/prompts/abc", params=params), 404, "prompt_does_not_exist")


def test_any_named_space_exists(mockserver: Any) -> None:
    r = mockserver.client().get(f"/v2/spaces/{mockserver.tenant}")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "metadata": {"id": mockserver.tenant},
        "entity": {"name": mockserver.tenant, "status": {"state": "active"}},
    }


# -- roles -----------------------------------------------------------------------------------
def test_viewer_reads_but_cannot_write(mockserver: Any, api: httpx.Client) -> None:
    mid, did = ready(mockserver, api)
    mockserver.admin("ibm_wml", "set_role", user=DEFAULT_USER, role="admin")
    mockserver.admin("ibm_wml", "set_role", user="vera", role="viewer")
    vera = client(mockserver, user="vera")
    assert get(vera, f"{DEPLOYMENTS}/{did}")["metadata"]["name"] == "churn online"
    assert_error(patch(vera, did, op("replace", "/name", "x")), 403, "authorization_rejected")
    assert_error(vera.delete(f"{DEPLOYMENTS}/{did}"), 403, "authorization_rejected")
    assert_error(
        vera.post(f"{MODELS}/{mid}/revisions", json=container(api)), 403, "authorization_rejected"
    )
    assert get(api, f"{DEPLOYMENTS}/{did}")["metadata"]["name"] == "churn online"
    assert get(api, f"{MODELS}/{mid}")["metadata"].get("rev") is None


def test_non_member_is_rejected_once_a_space_has_members(
    mockserver: Any, api: httpx.Client
) -> None:
    _, did = ready(mockserver, api)
    mockserver.admin("ibm_wml", "set_role", user="alice", role="admin")
    assert_error(api.get(f"{DEPLOYMENTS}/{did}"), 403, "authorization_rejected")
    mockserver.admin("ibm_wml", "set_role", user="alice", role=None)
    assert state(api, did) == "ready"  # no members left: everybody is admin again


def test_roles_are_per_container(mockserver: Any) -> None:
    project = f"project:{mockserver.tenant}"  # a project's tenant: `project:<id>`
    mockserver.admin("ibm_wml", "set_role", tenant=project, user="vera", role="viewer")
    vera_in_space = client(mockserver, user="vera")
    assert model(vera_in_space)  # the space has no members: vera is admin there
    with pytest.raises(ValueError, match="role must be one of"):
        mockserver.admin("ibm_wml", "set_role", user="vera", role="owner")


# -- deployments: create, read, list, delete --------------------------------------------------
def test_create_is_202_initializing_then_ready(mockserver: Any, api: httpx.Client) -> None:
    mid = model(api)
    created = deploy(
        api, mid, description="d", tags=["t"], online={"parameters": {"serving_name": "churn_v1"}}
    )
    meta, entity = created["metadata"], created["entity"]
    assert UUID.match(meta["id"])
    assert STAMP.match(meta["created_at"])
    assert meta["modified_at"] == meta["created_at"]
    assert meta["owner"] == DEFAULT_USER
    assert meta["space_id"] == mockserver.tenant
    assert (meta["name"], meta["description"], meta["tags"]) == ("churn online", "d", ["t"])
    assert entity["asset"] == {"id": mid}
    assert entity["status"]["state"] == "initializing"
    base = "http://deploymock/ibm_wml/ml/v4/deployments"
    assert entity["status"]["online_url"] == {"url": f"{base}/{meta['id']}/predictions"}
    assert entity["status"]["serving_urls"] == [f"{base}/churn_v1/predictions"]
    mockserver.clock.advance(SETTLE - 1)
    assert state(api, meta["id"]) == "initializing"
    mockserver.clock.advance(1)
    after = get(api, f"{DEPLOYMENTS}/{meta['id']}")
    assert after["entity"]["status"]["state"] == "ready"
    assert "failure" not in after["entity"]["status"]


def test_create_can_end_failed(mockserver: Any, api: httpx.Client) -> None:
    did = deploy(api, model(api))["metadata"]["id"]
    mockserver.outcome("ibm_wml", "failed", id=did)
    mockserver.clock.advance(SETTLE)
    status = get(api, f"{DEPLOYMENTS}/{did}")["entity"]["status"]
    assert status["state"] == "failed"
    assert status["failure"]["errors"][0]["code"] == "deployment_creation_failed"


def test_create_of_unknown_model_or_revision_is_404(mockserver: Any, api: httpx.Client) -> None:
    mid = model(api)
    body = {"name": "d", "online": {}, **container(api)}
    r = api.post(DEPLOYMENTS, json={**body, "asset": {"id": "no-such-model"}})
    assert_error(r, 404, "model_does_not_exist")
    r = api.post(DEPLOYMENTS, json={**body, "asset": {"id": mid, "rev": "1"}})
    assert_error(r, 404, "model_does_not_exist")
    assert get(api, DEPLOYMENTS)["resources"] == []


def test_prompt_template_deployment(api: httpx.Client) -> None:
    body = {
        "name": "p",
        "prompt_template": {"id": "pt-1"},
        "base_model_id": "ibm/granite",
        "online": {},
        **container(api),
    }
    r = api.post(DEPLOYMENTS, json=body)
    assert r.status_code == 202, r.text
    assert r.json()["entity"]["deployed_asset_type"] == "foundation_model"
    listed = get(api, DEPLOYMENTS, type="prompt_template", prompt_template_id="pt-1")
    assert [d["metadata"]["id"] for d in listed["resources"]] == [r.json()["metadata"]["id"]]


@pytest.mark.parametrize("name", ["ab", "Upper_case", "has-dash", "x" * 37])
def test_invalid_serving_name_on_create_is_400(api: httpx.Client, name: str) -> None:
    mid = model(api)
    r = api.post(
        DEPLOYMENTS,
        json={
            "name": "d",
            "asset": {"id": mid},
            **container(api),
            "online": {"parameters": {"serving_name": name}},
        },
    )
    assert_error(r, 400, "json_validation_error")
    assert get(api, DEPLOYMENTS)["resources"] == []


def test_serving_name_is_unique_in_the_space_and_freed_by_delete(
    mockserver: Any, api: httpx.Client
) -> None:
    mid = model(api)
    online = {"parameters": {"serving_name": "churn"}}
    first = deploy(api, mid, online=online)["metadata"]["id"]
    r = api.post(
        DEPLOYMENTS, json={"name": "d2", "asset": {"id": mid}, "online": online, **container(api)}
    )
    assert_error(r, 409, "serving_name_conflict")
    other_space = client(mockserver, version=VERSION, space_id="other-space")
    assert deploy(other_space, model(other_space), online=online)
    assert api.delete(f"{DEPLOYMENTS}/{first}").status_code == 204
    assert deploy(api, mid, online=online)


def test_delete_is_204_then_404(mockserver: Any, api: httpx.Client) -> None:
    _, did = ready(mockserver, api)
    r = api.delete(f"{DEPLOYMENTS}/{did}")
    assert r.status_code == 204
    assert r.content == b""
    assert_error(api.get(f"{DEPLOYMENTS}/{did}"), 404, "deployment_does_not_exist")
    assert_error(api.delete(f"{DEPLOYMENTS}/{did}"), 404, "deployment_does_not_exist")
    assert_error(patch(api, did, op("replace", "/name", "x")), 404, "deployment_does_not_exist")


def test_list_pages_with_absolute_next_href(mockserver: Any, api: httpx.Client) -> None:
    mid = model(api)
    ids = [deploy(api, mid, name=f"d{i}")["metadata"]["id"] for i in range(5)]
    page = get(api, DEPLOYMENTS, limit=2, total_count="true")
    seen = [d["metadata"]["id"] for d in page["resources"]]
    assert page["limit"] == 2
    assert page["total_count"] == 5
    assert page["first"]["href"].startswith("http://deploymock/ibm_wml/ml/v4/deployments?")
    while "next" in page:
        href = page["next"]["href"]
        assert "limit=2" in href
        assert "total_count=true" in href
        assert f"space_id={mockserver.tenant}" in href
        page = get(mockserver.client(), href)  # the href alone carries every parameter
        seen += [d["metadata"]["id"] for d in page["resources"]]
    assert seen == ids
    assert "total_count" not in get(api, DEPLOYMENTS)


def test_list_start_past_the_end_is_empty_and_a_bad_token_is_400(api: httpx.Client) -> None:
    deploy(api, model(api))
    assert get(api, DEPLOYMENTS, start=7)["resources"] == []
    error = assert_error(
        api.get(DEPLOYMENTS, params={"start": "abc"}), 400, "invalid_input_argument"
    )
    assert error["target"] == {"type": "parameter", "name": "start"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"serving_name": "churn_a"}, [0]),
        ({"tag.value": "blue"}, [1]),
        ({"name": "second"}, [1]),
        ({"state": "ready"}, [0]),
        ({"state": "initializing"}, [1]),
        ({"type": "custom_foundation_model"}, [1]),
        ({"asset_id": "{m1}"}, [1]),
        ({"name": "second", "state": "ready"}, []),
    ],
)
def test_list_filters(
    mockserver: Any, api: httpx.Client, query: dict[str, str], expected: list[int]
) -> None:
    m0, m1 = model(api), model(api, kind="custom_foundation_model_1.0")
    ids = [deploy(api, m0, online={"parameters": {"serving_name": "churn_a"}})["metadata"]["id"]]
    mockserver.clock.advance(SETTLE)
    ids.append(deploy(api, m1, name="second", tags=["blue"])["metadata"]["id"])
    found = get(api, DEPLOYMENTS, **{k: v.format(m1=m1) for k, v in query.items()})["resources"]
    assert [d["metadata"]["id"] for d in found] == [ids[i] for i in expected]


# -- deployments: metadata PATCH -------------------------------------------------------------
@pytest.mark.parametrize("media", ["application/json", "application/json-patch+json"])
def test_metadata_patch_is_200_and_moves_modified_at(
    mockserver: Any, api: httpx.Client, media: str
) -> None:
    _, did = ready(mockserver, api)
    before = get(api, f"{DEPLOYMENTS}/{did}")
    mockserver.clock.advance(3)
    ops = [
        op("replace", "/name", "renamed"),
        op("add", "/description", "new"),
        op("add", "/tags", ["a"]),
        op("add", "/tags/-", "b"),
        op("add", "/custom", {"k": 1}),
    ]
    r = api.patch(
        f"{DEPLOYMENTS}/{did}",
        content=httpx.Request("PATCH", "/", json=ops).content,
        headers={"Content-Type": media},
    )
    assert r.status_code == 200, r.text
    after = get(api, f"{DEPLOYMENTS}/{did}")
    assert r.json() == after
    meta = after["metadata"]
    assert (meta["name"], meta["description"], meta["tags"]) == ("renamed", "new", ["a", "b"])
    assert after["entity"]["custom"] == {"k": 1}
    assert meta["modified_at"] > before["metadata"]["modified_at"]
    assert after["entity"]["status"]["state"] == "ready"


def test_remove_description(mockserver: Any, api: httpx.Client) -> None:
    _, did = ready(mockserver, api, description="gone soon")
    assert patch(api, did, op("remove", "/description")).status_code == 200
    assert "description" not in get(api, f"{DEPLOYMENTS}/{did}")["metadata"]


@pytest.mark.parametrize("body", [{"op": "replace", "path": "/name", "value": "x"}, [], "name"])
def test_patch_body_must_be_a_non_empty_array(
    mockserver: Any, api: httpx.Client, body: Any
) -> None:
    _, did = ready(mockserver, api)
    assert_error(api.patch(f"{DEPLOYMENTS}/{did}", json=body), 400, "json_validation_error")
    assert get(api, f"{DEPLOYMENTS}/{did}")["metadata"]["name"] == "churn online"


@pytest.mark.parametrize(
    "ops",
    [
        [op("replace", "/metadata/id", "x")],
        [op("replace", "/entity/status/state", "ready")],
        [op("replace", "/space_id", "x")],
        [op("remove", "/name")],
        [op("add", "/asset", {"id": "m"})],
        [op("remove", "/owner")],
        [{"op": "move", "from": "/description", "path": "/name"}],
        [{"op": "copy", "from": "/name", "path": "/description"}],
        [op("replace", "/name", "x"), op("test", "/description", "not the description")],
        [op("replace", "/name", "")],
        [op("replace", "/tags", "not-a-list")],
        [op("remove", "/custom/missing")],
        [op("replace", "/hardware_request", {"size": "gpu_xl"})],
    ],
)
def test_refused_patch_is_400_and_changes_nothing(
    mockserver: Any, api: httpx.Client, ops: list[dict[str, Any]]
) -> None:
    _, did = ready(mockserver, api, description="kept")
    before = get(api, f"{DEPLOYMENTS}/{did}")
    assert_error(patch(api, did, *ops), 400, "invalid_request_entity")
    assert get(api, f"{DEPLOYMENTS}/{did}") == before


def test_passing_test_op_lets_the_patch_through(mockserver: Any, api: httpx.Client) -> None:
    _, did = ready(mockserver, api)
    r = patch(api, did, op("test", "/name", "churn online"), op("replace", "/name", "x"))
    assert r.status_code == 200, r.text
    assert get(api, f"{DEPLOYMENTS}/{did}")["metadata"]["name"] == "x"


def test_serving_name_patch(mockserver: Any, api: httpx.Client) -> None:
    mid, did = ready(mockserver, api)
    deploy(api, mid, online={"parameters": {"serving_name": "taken"}})
    r = patch(api, did, op("add", "/online/parameters", {"serving_name": "churn_v2"}))
    assert r.status_code == 200, r.text
    status = get(api, f"{DEPLOYMENTS}/{did}")["entity"]["status"]
    assert status["serving_urls"][0].endswith("/churn_v2/predictions")
    bad = patch(api, did, op("replace", "/online/parameters/serving_name", "No-Caps"))
    assert_error(bad, 400, "invalid_request_entity")
    taken = patch(api, did, op("replace", "/online/parameters/serving_name", "taken"))
    assert_error(taken, 409, "serving_name_conflict")
    assert get(api, f"{DEPLOYMENTS}/{did}")["entity"]["online"] == {
        "parameters": {"serving_name": "churn_v2"}
    }


# -- deployments: asset PATCH ----------------------------------------------------------------
def test_asset_replace_is_202_updating_then_ready(mockserver: Any, api: httpx.Client) -> None:
    _, did = ready(mockserver, api)
    new = model(api, kind="scikit-learn_1.1")
    assert api.post(f"{MODELS}/{new}/revisions", json=container(api)).status_code == 201
    r = patch(api, did, op("replace", "/asset", {"id": new, "rev": "1"}))
    assert r.status_code == 202, r.text
    status = r.json()["entity"]["status"]
    assert status["state"] == "updating"
    assert "message" not in status
    assert r.json()["entity"]["asset"] == {"id": new, "rev": "1"}
    mockserver.clock.advance(SETTLE)
    after = get(api, f"{DEPLOYMENTS}/{did}")["entity"]
    assert after["status"]["state"] == "ready"
    assert "failure" not in after["status"]
    assert after["asset"] == {"id": new, "rev": "1"}


def test_asset_replace_with_another_input_schema_warns(mockserver: Any, api: httpx.Client) -> None:
    _, did = ready(mockserver, api)
    new = model(api, schema=SCHEMA_B)
    r = patch(api, did, op("replace", "/asset", {"id": new}))
    assert r.status_code == 202, r.text
    assert r.json()["entity"]["status"]["message"] == {"level": "warning", "text": SCHEMA_WARNING}
    mockserver.clock.advance(SETTLE)
    assert state(api, did) == "ready"


@pytest.mark.parametrize(
    "ops",
    [
        [op("replace", "/asset", {"id": "m"}), op("replace", "/name", "x")],
        [op("replace", "/name", "x"), op("replace", "/prompt_template", {"id": "p"})],
        [op("replace", "/asset", {"rev": "1"})],
    ],
)
def test_asset_patch_must_be_alone_and_well_formed(
    mockserver: Any, api: httpx.Client, ops: list[dict[str, Any]]
) -> None:
    _, did = ready(mockserver, api)
    before = get(api, f"{DEPLOYMENTS}/{did}")
    assert_error(patch(api, did, *ops), 400, "invalid_request_entity")
    assert get(api, f"{DEPLOYMENTS}/{did}") == before


def test_asset_from_elsewhere_or_unknown_is_404(mockserver: Any, api: httpx.Client) -> None:
    mid, did = ready(mockserver, api)
    other = client(mockserver, version=VERSION, space_id="other-space")
    for asset in ({"id": model(other)}, {"id": "nope"}, {"id": mid, "rev": "3"}):
        assert_error(patch(api, did, op("replace", "/asset", asset)), 404, "model_does_not_exist")
    after = get(api, f"{DEPLOYMENTS}/{did}")["entity"]
    assert after["asset"] == {"id": mid}
    assert after["status"]["state"] == "ready"


def test_incompatible_framework_fails_and_keeps_the_old_asset(
    mockserver: Any, api: httpx.Client
) -> None:
    mid, did = ready(mockserver, api)
    tf = model(api, kind="tensorflow_2.14")
    r = patch(api, did, op("replace", "/asset", {"id": tf}))
    assert r.status_code == 202, r.text
    mockserver.outcome("ibm_wml", "ready", id=did)  # a framework mismatch fails regardless
    mockserver.clock.advance(SETTLE)
    entity = get(api, f"{DEPLOYMENTS}/{did}")["entity"]
    assert entity["status"]["state"] == "failed"
    assert entity["asset"] == {"id": mid}
    error = entity["status"]["failure"]["errors"][0]
    assert error["code"] == "deployment_patch_failed"
    assert "tensorflow" in error["message"]


def test_test_decided_failure_restores_the_previous_asset(
    mockserver: Any, api: httpx.Client
) -> None:
    mid, did = ready(mockserver, api, hardware_request={"size": "gpu_s", "num_nodes": 1})
    new = model(api, kind="scikit-learn_1.5")
    mockserver.outcome("ibm_wml", "failed", id=did)
    assert patch(api, did, op("replace", "/asset", {"id": new})).status_code == 202
    assert get(api, f"{DEPLOYMENTS}/{did}")["entity"]["asset"] == {"id": new}
    mockserver.clock.advance(SETTLE)
    entity = get(api, f"{DEPLOYMENTS}/{did}")["entity"]
    assert entity["status"]["state"] == "failed"
    assert entity["status"]["failure"]["errors"][0]["code"] == "deployment_patch_failed"
    assert entity["asset"] == {"id": mid}
    assert entity["hardware_request"] == {"size": "gpu_s", "num_nodes": 1}
    # A failed deployment takes a new restart patch; it clears the failure.
    r = patch(api, did, op("replace", "/asset", {"id": mid}))
    assert r.status_code == 202
    assert "failure" not in r.json()["entity"]["status"]
    mockserver.clock.advance(SETTLE)
    assert state(api, did) == "ready"


def test_restart_patch_while_busy_is_409_but_metadata_patch_is_fine(
    mockserver: Any, api: httpx.Client
) -> None:
    mid = model(api)
    did = deploy(api, mid)["metadata"]["id"]
    busy = patch(api, did, op("replace", "/asset", {"id": mid}))
    assert_error(busy, 409, "deployment_update_in_progress")
    assert patch(api, did, op("replace", "/name", "meanwhile")).status_code == 200
    after = get(api, f"{DEPLOYMENTS}/{did}")
    assert after["entity"]["status"]["state"] == "initializing"
    assert after["metadata"]["name"] == "meanwhile"


@pytest.mark.parametrize(
    "ops",
    [
        [op("add", "/hardware_request", {"size": "gpu_m", "num_nodes": 2})],
        [op("add", "/hardware_spec", {"name": "M"})],
        [op("replace", "/base_model_id", "ibm/granite-13b")],
    ],
)
def test_scaling_and_base_model_patches_restart(
    mockserver: Any, api: httpx.Client, ops: list[dict[str, Any]]
) -> None:
    _, did = ready(mockserver, api, base_model_id="ibm/granite-8b")
    r = patch(api, did, *ops)
    assert r.status_code == 202, r.text
    field = ops[0]["path"][1:]
    assert r.json()["entity"][field] == ops[0]["value"]
    mockserver.clock.advance(SETTLE)
    entity = get(api, f"{DEPLOYMENTS}/{did}")["entity"]
    assert entity["status"]["state"] == "ready"
    assert entity[field] == ops[0]["value"]


# -- deployments: owner PATCH ----------------------------------------------------------------
@pytest.mark.parametrize("path", ["/metadata/owner", "/owner"])
def test_admin_changes_owner_to_an_editor(mockserver: Any, api: httpx.Client, path: str) -> None:
    _, did = ready(mockserver, api)
    mockserver.admin("ibm_wml", "set_role", user=DEFAULT_USER, role="admin")
    mockserver.admin("ibm_wml", "set_role", user="eddie", role="editor")
    r = patch(api, did, op("replace", path, "eddie"))
    assert r.status_code == 200, r.text
    assert get(api, f"{DEPLOYMENTS}/{did}")["metadata"]["owner"] == "eddie"


@pytest.mark.parametrize(
    ("new_owner", "status", "code"),
    [
        ("vera", 400, "invalid_request_entity"),  # a viewer
        ("stranger", 400, "invalid_request_entity"),  # not a member
    ],
)
def test_new_owner_must_be_admin_or_editor(
    mockserver: Any, api: httpx.Client, new_owner: str, status: int, code: str
) -> None:
    _, did = ready(mockserver, api)
    mockserver.admin("ibm_wml", "set_role", user=DEFAULT_USER, role="admin")
    mockserver.admin("ibm_wml", "set_role", user="vera", role="viewer")
    assert_error(patch(api, did, op("replace", "/metadata/owner", new_owner)), status, code)
    assert get(api, f"{DEPLOYMENTS}/{did}")["metadata"]["owner"] == DEFAULT_USER


def test_only_an_admin_changes_the_owner(mockserver: Any, api: httpx.Client) -> None:
    _, did = ready(mockserver, api)
    mockserver.admin("ibm_wml", "set_role", user=DEFAULT_USER, role="admin")
    mockserver.admin("ibm_wml", "set_role", user="eddie", role="editor")
    eddie = client(mockserver, user="eddie")
    r = patch(eddie, did, op("replace", "/metadata/owner", "eddie"))
    assert_error(r, 403, "authorization_rejected")
    assert patch(eddie, did, op("replace", "/name", "by eddie")).status_code == 200
    meta = get(api, f"{DEPLOYMENTS}/{did}")["metadata"]
    assert (meta["owner"], meta["name"]) == (DEFAULT_USER, "by eddie")


# -- models ----------------------------------------------------------------------------------
def test_model_create_get_and_revisions(mockserver: Any, api: httpx.Client) -> None:
    mid = model(api, custom={"team": "a"}, label_column="churned")
    body = get(api, f"{MODELS}/{mid}")
    assert UUID.match(mid)
    assert "rev" not in body["metadata"]
    assert body["entity"] == {
        "type": "scikit-learn_1.3",
        "software_spec": {"name": "runtime-24.1-py3.11"},
        "schemas": {"input": SCHEMA_A},
        "custom": {"team": "a"},
        "label_column": "churned",
    }
    mockserver.clock.advance(1)
    first = api.post(
        f"{MODELS}/{mid}/revisions",
        params={"version": VERSION},
        json={**container(api), "commit_message": "v1"},
    )
    assert first.status_code == 201, first.text
    assert first.json()["metadata"]["rev"] == "1"
    assert first.json()["metadata"]["commit_info"]["commit_message"] == "v1"
    assert STAMP.match(first.json()["metadata"]["commit_info"]["committed_at"])
    assert patch_model(api, mid, op("replace", "/name", "v2 name")).status_code == 200
    second = api.post(f"{MODELS}/{mid}/revisions", json=container(api)).json()
    assert second["metadata"]["rev"] == "2"
    assert second["metadata"]["name"] == "v2 name"
    assert get(api, f"{MODELS}/{mid}", rev=1)["metadata"]["name"] == "churn"
    assert_error(api.get(f"{MODELS}/{mid}", params={"rev": 3}), 404, "model_does_not_exist")
    r = api.post(f"{MODELS}/nope/revisions", json=container(api))
    assert_error(r, 404, "model_does_not_exist")


def patch_model(api: httpx.Client, mid: str, *ops: dict[str, Any]) -> httpx.Response:
    return api.patch(f"{MODELS}/{mid}", json=list(ops))


def test_model_patch_is_200(mockserver: Any, api: httpx.Client) -> None:
    mid = model(api)
    mockserver.clock.advance(2)
    r = patch_model(
        api,
        mid,
        op("replace", "/name", "better"),
        op("add", "/description", "d"),
        op("add", "/tags", ["x"]),
        op("add", "/custom", {"k": "v"}),
    )
    assert r.status_code == 200, r.text
    after = get(api, f"{MODELS}/{mid}")
    assert r.json() == after
    assert (after["metadata"]["name"], after["metadata"]["description"]) == ("better", "d")
    assert after["metadata"]["tags"] == ["x"]
    assert after["entity"]["custom"] == {"k": "v"}
    assert after["metadata"]["modified_at"] > after["metadata"]["created_at"]


@pytest.mark.parametrize(
    "ops",
    [
        [op("replace", "/type", "tensorflow_2.14")],
        [op("replace", "/software_spec", {"name": "x"})],
        [op("remove", "/name")],
        [op("replace", "/tags", {"not": "a list"})],
    ],
)
def test_refused_model_patch_is_400(api: httpx.Client, ops: list[dict[str, Any]]) -> None:
    mid = model(api)
    before = get(api, f"{MODELS}/{mid}")
    assert_error(patch_model(api, mid, *ops), 400, "invalid_request_entity")
    assert get(api, f"{MODELS}/{mid}") == before


def test_model_delete_keeps_deployments(mockserver: Any, api: httpx.Client) -> None:
    mid, did = ready(mockserver, api)
    r = api.delete(f"{MODELS}/{mid}")
    assert r.status_code == 204
    assert r.content == b""
    assert_error(api.get(f"{MODELS}/{mid}"), 404, "model_does_not_exist")
    assert_error(api.delete(f"{MODELS}/{mid}"), 404, "model_does_not_exist")
    assert get(api, f"{DEPLOYMENTS}/{did}")["entity"]["asset"] == {"id": mid}
    # With the deployed model gone, an asset swap has nothing to compare and goes through.
    new = model(api, kind="tensorflow_2.14")
    assert patch(api, did, op("replace", "/asset", {"id": new})).status_code == 202
    mockserver.clock.advance(SETTLE)
    assert state(api, did) == "ready"


def test_update_can_be_held_in_updating(mockserver: Any, api: httpx.Client) -> None:
    _, did = ready(mockserver, api)
    mockserver.outcome("ibm_wml", "updating", id=did)
    assert patch(api, did, op("add", "/hardware_spec", {"name": "L"})).status_code == 202
    mockserver.clock.advance(3600)
    assert state(api, did) == "updating"
    assert_error(
        patch(api, did, op("replace", "/hardware_spec", {"name": "S"})),
        409,
        "deployment_update_in_progress",
    )
