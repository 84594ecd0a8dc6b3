"""SAP AI Core through HTTP: every rule of the deployment lifecycle and its PATCH.

Every response below is also checked against openapi/sap_ai_core.yaml by the fixture.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.mockserver(provider="sap_ai_core")

DEPLOYMENTS = "/v2/lm/deployments"
CONFIGS = "/v2/lm/configurations"
STATUS_KEYS = {"id", "configurationId", "status", "createdAt", "modifiedAt"}


@pytest.fixture
def api(mockserver: Any) -> httpx.Client:
    return mockserver.client()


def config(
    api: httpx.Client,
    name: str = "serving",
    scenario: str = "scenario-a",
    executable: str = "executable-a",
) -> str:
    body = {
        "name": name,
        "scenarioId": scenario,
        "executableId": executable,
        "parameterBindings": [{"key": "replicas", "value": "1"}],
    }
    r = api.post(CONFIGS, json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def deploy(api: httpx.Client, cid: str, **extra: Any) -> str:
    r = api.post(DEPLOYMENTS, json={"configurationId": cid, **extra})
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def get(api: httpx.Client, did: str) -> dict[str, Any]:
    r = api.get(f"{DEPLOYMENTS}/{did}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def running(mockserver: Any, api: httpx.Client) -> tuple[str, str]:
    cid = config(api)
    did = deploy(api, cid)
    mockserver.clock.advance(60)
    assert get(api, did)["status"] == "RUNNING"
    return cid, did


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert error["message"] and error["code"] and error["requestId"] and error["target"]
    if code is not None:
        assert error["code"] == code
    return error


# -- auth and tenancy ------------------------------------------------------------------------
@pytest.mark.parametrize("authorization", [None, "", "Bearer ", "Basic dXNlcjpwdw==", "token"])
def test_missing_or_malformed_bearer_token_is_401(
    mockserver: Any, authorization: str | None
) -> None:
    headers = {"AI-Resource-Group": mockserver.tenant}
    if authorization is not None:
        headers["Authorization"] = authorization
    r = mockserver.client(auth=False).get(DEPLOYMENTS, headers=headers)
    error = assert_error(r, 401)
    assert error["target"] == "/sap_ai_core/v2/lm/deployments"


def test_missing_resource_group_is_400(mockserver: Any) -> None:
    r = mockserver.client(auth=False).get(DEPLOYMENTS, headers={"Authorization": "Bearer t"})
    error = assert_error(r, 400)
    assert "AI-Resource-Group" in error["message"]


def test_resource_groups_are_isolated(mockserver: Any, api: httpx.Client) -> None:
    cid, did = running(mockserver, api)
    other = mockserver.client(headers={"AI-Resource-Group": "another-group"})
    assert_error(other.get(f"{DEPLOYMENTS}/{did}"), 404)
    assert_error(other.patch(f"{DEPLOYMENTS}/{did}", json={"targetStatus": "STOPPED"}), 404)
    assert_error(other.delete(f"{DEPLOYMENTS}/{did}"), 404)
    assert_error(other.get(f"{CONFIGS}/{cid}"), 404)
    assert other.get(DEPLOYMENTS).json() == {"count": 0, "resources": []}
    assert_error(other.post(DEPLOYMENTS, json={"configurationId": cid}), 400)
    assert get(api, did)["status"] == "RUNNING"  # untouched in its own group


# -- configurations --------------------------------------------------------------------------
def test_configuration_create_get_and_location(api: httpx.Client) -> None:
    r = api.post(
        CONFIGS,
        json={"name": "serving", "scenarioId": "scenario-a", "executableId": "executable-a"},
    )
    assert r.status_code == 201
    body = r.json()
    assert body["message"] == "Configuration created"
    assert r.headers["location"].endswith(f"{CONFIGS}/{body['id']}")
    got = api.get(f"{CONFIGS}/{body['id']}").json()
    assert got["id"] == body["id"]
    assert (got["name"], got["scenarioId"], got["executableId"]) == (
        "serving",
        "scenario-a",
        "executable-a",
    )
    assert got["createdAt"].endswith("Z")
    expanded = api.get(f"{CONFIGS}/{body['id']}", params={"$expand": "scenario"}).json()
    assert expanded["scenario"]["id"] == "scenario-a"


def test_configuration_create_reports_every_invalid_field(api: httpx.Client) -> None:
    r = api.post(CONFIGS, json={"name": "x", "scenarioId": "a b", "executableId": 5})
    error = assert_error(r, 400)
    fields = {d["message"].split(":")[0] for d in error["details"]}
    assert fields == {"body.scenarioId", "body.executableId"}
    assert api.get(CONFIGS).json()["count"] == 0


def test_configuration_list_filters_and_pages(api: httpx.Client) -> None:
    a = config(api, "alpha", scenario="scenario-a", executable="executable-a")
    b = config(api, "beta", scenario="scenario-b", executable="executable-b")
    c = config(api, "Gamma", scenario="scenario-a", executable="executable-c")

    def ids(**params: Any) -> list[str]:
        body = api.get(CONFIGS, params=params).json()
        return [x["id"] for x in body["resources"]]

    assert ids() == [a, b, c]
    assert ids(scenarioId="scenario-a") == [a, c]
    assert ids(executableIds="executable-b,executable-c") == [b, c]
    assert ids(**{"$search": "gamma"}) == []
    assert ids(**{"$search": "gamma", "searchCaseInsensitive": "true"}) == [c]
    assert ids(**{"$top": 1, "$skip": 1}) == [b]
    assert api.get(CONFIGS, params={"$top": 1}).json()["count"] == 3


def test_unknown_configuration_is_404(api: httpx.Client) -> None:
    assert_error(api.get(f"{CONFIGS}/0000-unknown"), 404)


# -- create and lifecycle --------------------------------------------------------------------
def test_create_answers_202_and_moves_unknown_pending_running(
    mockserver: Any, api: httpx.Client
) -> None:
    cid = config(api)
    r = api.post(DEPLOYMENTS, json={"configurationId": cid})
    assert r.status_code == 202
    body = r.json()
    assert body == {
        "id": body["id"],
        "message": "Deployment created.",
        "deploymentUrl": "",
        "status": "UNKNOWN",
    }
    assert r.headers["location"].endswith(f"{DEPLOYMENTS}/{body['id']}")
    dep = get(api, body["id"])
    assert (dep["status"], dep["targetStatus"], dep["lastOperation"]) == (
        "UNKNOWN",
        "RUNNING",
        "CREATE",
    )
    assert dep["configurationName"] == "serving" and dep["deploymentUrl"] == ""
    assert "latestRunningConfigurationId" not in dep
    mockserver.clock.advance(1)
    assert get(api, body["id"])["status"] == "PENDING"
    mockserver.clock.advance(5)
    dep = get(api, body["id"])
    assert dep["status"] == "RUNNING"
    assert dep["latestRunningConfigurationId"] == cid
    assert dep["deploymentUrl"].endswith(f"/v2/inference/deployments/{body['id']}")
    assert dep["startTime"] == dep["modifiedAt"] and dep["startTime"] > dep["createdAt"]


def test_create_with_unknown_configuration_is_400(api: httpx.Client) -> None:
    error = assert_error(api.post(DEPLOYMENTS, json={"configurationId": "no-such-config"}), 400)
    assert "no-such-config" in error["message"]
    assert api.get(DEPLOYMENTS).json()["count"] == 0


def test_ttl_expiry_removes_the_deployment(mockserver: Any, api: httpx.Client) -> None:
    r = api.post(DEPLOYMENTS, json={"configurationId": config(api), "ttl": "1h"})
    assert r.json()["ttl"] == "1h"
    did = r.json()["id"]
    mockserver.clock.advance(3600)
    assert get(api, did)["ttl"] == "1h"
    mockserver.clock.advance(1)  # gone once more than the ttl has passed
    assert_error(api.get(f"{DEPLOYMENTS}/{did}"), 404)


def test_a_zero_ttl_deployment_can_be_read_after_its_202(
    mockserver: Any, api: httpx.Client
) -> None:
    did = deploy(api, config(api), ttl="0m")
    assert get(api, did)["ttl"] == "0m"
    mockserver.clock.advance(1)
    assert_error(api.get(f"{DEPLOYMENTS}/{did}"), 404)


@pytest.mark.parametrize("ttl", ["4.5h", "4h30m", "10s", "", "5,"])
def test_invalid_ttl_is_400_and_creates_nothing(api: httpx.Client, ttl: str) -> None:
    # "5," matches upstream's pattern (its character class has a comma) but names no unit.
    assert_error(api.post(DEPLOYMENTS, json={"configurationId": config(api), "ttl": ttl}), 400)
    assert api.get(DEPLOYMENTS).json()["count"] == 0


# -- reads -----------------------------------------------------------------------------------
def test_select_status_returns_only_the_status_fields(mockserver: Any, api: httpx.Client) -> None:
    _, did = running(mockserver, api)
    one = api.get(f"{DEPLOYMENTS}/{did}", params={"$select": "status"}).json()
    assert set(one) == STATUS_KEYS and one["status"] == "RUNNING"
    listed = api.get(DEPLOYMENTS, params={"$select": "status"}).json()["resources"]
    assert [set(x) for x in listed] == [STATUS_KEYS]


def test_list_items_have_no_status_details_but_get_has(mockserver: Any, api: httpx.Client) -> None:
    _, did = running(mockserver, api)
    assert "statusDetails" in get(api, did)
    assert "statusDetails" not in api.get(DEPLOYMENTS).json()["resources"][0]


def test_list_filters_pages_and_count(mockserver: Any, api: httpx.Client) -> None:
    a_cfg = config(api, scenario="scenario-a", executable="executable-a")
    b_cfg = config(api, scenario="scenario-b", executable="executable-b")
    first = deploy(api, a_cfg)
    mockserver.clock.advance(60)
    second, third = deploy(api, a_cfg), deploy(api, b_cfg)

    def ids(**params: Any) -> list[str]:
        body = api.get(DEPLOYMENTS, params=params).json()
        return [x["id"] for x in body["resources"]]

    assert ids() == [first, second, third]
    assert ids(status="RUNNING") == [first]
    assert ids(status="UNKNOWN") == [second, third]
    assert ids(configurationId=b_cfg) == [third]
    assert ids(scenarioId="scenario-a") == [first, second]
    assert ids(executableIds="executable-b,executable-x") == [third]
    assert ids(**{"$top": 1, "$skip": 1}) == [second]
    assert ids(top=2, skip=1) == [second, third]  # the official SDK drops the `$`
    assert api.get(DEPLOYMENTS, params={"$top": 1}).json()["count"] == 3
    count = api.get(f"{DEPLOYMENTS}/$count", params={"scenarioId": "scenario-a"})
    assert (count.status_code, count.text) == (200, "2")
    assert count.headers["content-type"].startswith("text/plain")


def test_invalid_query_values_are_400(api: httpx.Client) -> None:
    assert_error(api.get(DEPLOYMENTS, params={"status": "SLEEPING"}), 400)
    assert_error(api.get(DEPLOYMENTS, params={"$top": "many"}), 400)
    assert_error(api.get(DEPLOYMENTS, params={"$select": "everything"}), 400)


def test_unknown_deployment_is_404_on_every_verb(api: httpx.Client) -> None:
    for r in (
        api.get(f"{DEPLOYMENTS}/d0000000000000"),
        api.patch(f"{DEPLOYMENTS}/d0000000000000", json={"targetStatus": "STOPPED"}),
        api.delete(f"{DEPLOYMENTS}/d0000000000000"),
    ):
        error = assert_error(r, 404)
        assert "d0000000000000" in error["message"]


# -- PATCH configurationId -------------------------------------------------------------------
def test_patch_configuration_schedules_an_update(mockserver: Any, api: httpx.Client) -> None:
    old, did = running(mockserver, api)
    before = get(api, did)
    new = config(api, "serving-v2")
    mockserver.clock.advance(10)
    r = api.patch(f"{DEPLOYMENTS}/{did}", json={"configurationId": new})
    assert r.status_code == 202
    assert r.json() == {"id": did, "message": "Deployment modification scheduled"}
    dep = get(api, did)
    assert dep["configurationId"] == new and dep["configurationName"] == "serving-v2"
    assert (dep["status"], dep["targetStatus"], dep["lastOperation"]) == (
        "PENDING",
        "RUNNING",
        "UPDATE",
    )
    assert dep["deploymentUrl"] == before["deploymentUrl"]
    assert dep["latestRunningConfigurationId"] == old
    assert dep["modifiedAt"] > before["modifiedAt"]
    mockserver.clock.advance(60)
    dep = get(api, did)
    assert dep["status"] == "RUNNING" and dep["latestRunningConfigurationId"] == new
    assert dep["deploymentUrl"] == before["deploymentUrl"]


def test_patch_is_allowed_while_pending(mockserver: Any, api: httpx.Client) -> None:
    did = deploy(api, config(api))
    mockserver.clock.advance(1)
    assert get(api, did)["status"] == "PENDING"
    assert (
        api.patch(f"{DEPLOYMENTS}/{did}", json={"configurationId": config(api, "v2")}).status_code
        == 202
    )


@pytest.mark.parametrize(
    ("scenario", "executable"), [("scenario-b", "executable-a"), ("scenario-a", "executable-b")]
)
def test_patch_to_a_different_scenario_or_executable_is_400(
    mockserver: Any, api: httpx.Client, scenario: str, executable: str
) -> None:
    _, did = running(mockserver, api)
    before = get(api, did)
    other = config(api, "other", scenario=scenario, executable=executable)
    assert_error(
        api.patch(f"{DEPLOYMENTS}/{did}", json={"configurationId": other}), 400, "01010077"
    )
    assert get(api, did) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"targetStatus": "RUNNING"},
        {"targetStatus": "DELETED"},
        {"configurationId": "no-such-config"},
        {"configurationId": None},
        [],
        "STOPPED",
    ],
)
def test_invalid_patch_is_400_and_changes_nothing(
    mockserver: Any, api: httpx.Client, body: Any
) -> None:
    _, did = running(mockserver, api)
    before = get(api, did)
    assert_error(api.patch(f"{DEPLOYMENTS}/{did}", json=body), 400)
    assert get(api, did) == before


def test_patch_with_both_fields_is_400(mockserver: Any, api: httpx.Client) -> None:
    cid, did = running(mockserver, api)
    before = get(api, did)
    body = {"configurationId": cid, "targetStatus": "STOPPED"}
    assert_error(api.patch(f"{DEPLOYMENTS}/{did}", json=body), 400)
    assert get(api, did) == before


def test_malformed_json_and_wrong_content_type_are_400(mockserver: Any, api: httpx.Client) -> None:
    _, did = running(mockserver, api)
    before = get(api, did)
    url = f"{DEPLOYMENTS}/{did}"
    json_header = {"content-type": "application/json"}
    assert_error(api.patch(url, content=b'{"targetStatus": ', headers=json_header), 400)
    assert_error(api.patch(url, content=b"\xff\xfe", headers=json_header), 400)
    assert_error(api.patch(url, content=b"[" * 100_000, headers=json_header), 400)
    assert_error(
        api.patch(
            url,
            content=b"targetStatus=STOPPED",
            headers={"content-type": "application/x-www-form-urlencoded"},
        ),
        400,
    )
    assert get(api, did) == before


def test_patch_from_unknown_is_412_with_the_documented_code(api: httpx.Client) -> None:
    did = deploy(api, config(api))
    error = assert_error(
        api.patch(f"{DEPLOYMENTS}/{did}", json={"targetStatus": "STOPPED"}), 412, "01010076"
    )
    assert error["message"] == "Invalid Request, Current status UNKNOWN cannot be changed.."
    assert get(api, did)["status"] == "UNKNOWN"


def test_dead_deployment_can_be_rolled_back(mockserver: Any, api: httpx.Client) -> None:
    old, did = running(mockserver, api)
    broken = config(api, "broken")
    mockserver.outcome("sap_ai_core", "DEAD", id=did)
    assert api.patch(f"{DEPLOYMENTS}/{did}", json={"configurationId": broken}).status_code == 202
    mockserver.clock.advance(60)
    dep = get(api, did)
    assert dep["status"] == "DEAD" and dep["latestRunningConfigurationId"] == old
    assert dep["statusMessage"] and dep["completionTime"] == dep["modifiedAt"]
    r = api.patch(
        f"{DEPLOYMENTS}/{did}", json={"configurationId": dep["latestRunningConfigurationId"]}
    )
    assert r.status_code == 202
    mockserver.clock.advance(60)
    dep = get(api, did)
    assert (dep["status"], dep["configurationId"], dep["configurationName"]) == (
        "RUNNING",
        old,
        "serving",
    )
    assert "statusMessage" not in dep


def test_stuck_pending_stays_pending_until_rolled_back(mockserver: Any, api: httpx.Client) -> None:
    old, did = running(mockserver, api)
    mockserver.outcome("sap_ai_core", "PENDING")
    api.patch(f"{DEPLOYMENTS}/{did}", json={"configurationId": config(api, "stuck")})
    mockserver.clock.advance(86_400)
    assert get(api, did)["status"] == "PENDING"
    api.patch(f"{DEPLOYMENTS}/{did}", json={"configurationId": old})
    mockserver.clock.advance(60)
    assert get(api, did)["status"] == "RUNNING"


def test_stuck_outcome_queued_before_create_applies_to_pending(
    mockserver: Any, api: httpx.Client
) -> None:
    mockserver.outcome("sap_ai_core", "PENDING")
    did = deploy(api, config(api))
    mockserver.clock.advance(3600)
    assert get(api, did)["status"] == "PENDING"


def test_outcome_for_one_deployment_leaves_others_alone(mockserver: Any, api: httpx.Client) -> None:
    cid = config(api)
    first, second = deploy(api, cid), deploy(api, cid)
    mockserver.outcome("sap_ai_core", "DEAD", id=second)
    mockserver.clock.advance(60)
    assert (get(api, first)["status"], get(api, second)["status"]) == ("RUNNING", "DEAD")


def test_dead_deployments_vanish_after_seven_days(mockserver: Any, api: httpx.Client) -> None:
    mockserver.outcome("sap_ai_core", "DEAD")
    did = deploy(api, config(api))
    mockserver.clock.advance(6)
    assert get(api, did)["status"] == "DEAD"
    mockserver.clock.advance(7 * 86_400 - 1)
    assert get(api, did)["status"] == "DEAD"
    mockserver.clock.advance(1)
    assert_error(api.get(f"{DEPLOYMENTS}/{did}"), 404)
    assert_error(
        api.patch(f"{DEPLOYMENTS}/{did}", json={"configurationId": config(api, "v2")}), 404
    )


# -- stop ------------------------------------------------------------------------------------
def test_stop_goes_through_stopping_to_stopped_for_good(mockserver: Any, api: httpx.Client) -> None:
    cid, did = running(mockserver, api)
    r = api.patch(f"{DEPLOYMENTS}/{did}", json={"targetStatus": "STOPPED"})
    assert r.status_code == 202 and r.json()["message"] == "Deployment modification scheduled"
    dep = get(api, did)
    assert (dep["status"], dep["targetStatus"], dep["lastOperation"]) == (
        "STOPPING",
        "STOPPED",
        "UPDATE",
    )
    assert_error(
        api.patch(f"{DEPLOYMENTS}/{did}", json={"targetStatus": "STOPPED"}), 412, "01010076"
    )
    assert_error(api.delete(f"{DEPLOYMENTS}/{did}"), 412, "01010076")
    mockserver.clock.advance(60)
    dep = get(api, did)
    assert dep["status"] == "STOPPED" and dep["completionTime"] == dep["modifiedAt"]
    for body in ({"targetStatus": "STOPPED"}, {"configurationId": cid}):
        assert_error(api.patch(f"{DEPLOYMENTS}/{did}", json=body), 412, "01010076")
    assert get(api, did) == dep


def test_stop_while_pending(mockserver: Any, api: httpx.Client) -> None:
    did = deploy(api, config(api))
    mockserver.clock.advance(1)
    assert api.patch(f"{DEPLOYMENTS}/{did}", json={"targetStatus": "STOPPED"}).status_code == 202
    mockserver.clock.advance(60)
    assert get(api, did)["status"] == "STOPPED"


# -- delete ----------------------------------------------------------------------------------
def test_delete_only_from_stopped_dead_or_unknown(mockserver: Any, api: httpx.Client) -> None:
    _, did = running(mockserver, api)
    assert_error(api.delete(f"{DEPLOYMENTS}/{did}"), 412, "01010076")
    assert get(api, did)["status"] == "RUNNING"
    api.patch(f"{DEPLOYMENTS}/{did}", json={"targetStatus": "STOPPED"})
    mockserver.clock.advance(60)
    r = api.delete(f"{DEPLOYMENTS}/{did}")
    assert r.status_code == 202
    assert r.json() == {
        "id": did,
        "message": "Deployment deletion scheduled",
        "targetStatus": "DELETED",
    }
    assert_error(api.get(f"{DEPLOYMENTS}/{did}"), 404)
    assert api.get(DEPLOYMENTS).json()["count"] == 0


def test_delete_while_unknown(api: httpx.Client) -> None:
    did = deploy(api, config(api))
    assert api.delete(f"{DEPLOYMENTS}/{did}").status_code == 202
    assert_error(api.get(f"{DEPLOYMENTS}/{did}"), 404)


# -- bulk ------------------------------------------------------------------------------------
def test_bulk_modify_applies_each_item_on_its_own(mockserver: Any, api: httpx.Client) -> None:
    cid, did = running(mockserver, api)
    fresh = deploy(api, cid)
    body = {
        "deployments": [
            {"id": did, "targetStatus": "STOPPED"},
            {"id": fresh, "targetStatus": "DELETED"},
            {"id": "d0000000000000", "targetStatus": "STOPPED"},
        ]
    }
    r = api.patch(DEPLOYMENTS, json=body, headers={"content-type": "application/merge-patch+json"})
    assert r.status_code == 202
    first, second, third = r.json()["deployments"]
    assert first == {"id": did, "message": "Deployment modification scheduled"}
    assert second == {"id": fresh, "message": "Deployment deletion scheduled"}
    assert third["id"] == "d0000000000000" and third["error"]["code"] == "01010404"
    assert get(api, did)["status"] == "STOPPING"
    assert_error(api.get(f"{DEPLOYMENTS}/{fresh}"), 404)


# -- journal ---------------------------------------------------------------------------------
def test_journal_records_operations_of_this_tenant(mockserver: Any, api: httpx.Client) -> None:
    _, did = running(mockserver, api)
    api.patch(f"{DEPLOYMENTS}/{did}", json={"targetStatus": "STOPPED"})
    patches = mockserver.requests("sap_ai_core", operation_id="deployment.modify")
    assert [(e.status, e.body) for e in patches] == [(202, {"targetStatus": "STOPPED"})]
    assert {e.tenant for e in mockserver.requests()} == {mockserver.tenant}
