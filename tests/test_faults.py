"""Fault injection through the fixture, the marker and the admin API; in process and live."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mockserver.faults import Rule

pytestmark = pytest.mark.mockserver(provider="sap_ai_core")

CONFIGS, DEPLOYMENTS = "/v2/lm/configurations", "/v2/lm/deployments"


def running(mockserver: Any, api: httpx.Client) -> tuple[str, str]:
    body = {"name": "serving", "scenarioId": "scenario-a", "executableId": "executable-a"}
    cid = api.post(CONFIGS, json=body).json()["id"]
    did = api.post(DEPLOYMENTS, json={"configurationId": cid}).json()["id"]
    mockserver.clock.advance(60)
    return cid, did


def test_fail_n_times_then_succeed_changes_nothing_meanwhile(mockserver: Any) -> None:
    api = mockserver.client()
    _, did = running(mockserver, api)
    before = api.get(f"{DEPLOYMENTS}/{did}").json()
    mockserver.fault(
        operation_id="deployment.modify",
        status=412,
        times=2,
        code="01010076",
        message="Injected: try again",
    )
    stop = {"targetStatus": "STOPPED"}
    for _ in range(2):
        r = api.patch(f"{DEPLOYMENTS}/{did}", json=stop)
        assert r.status_code == 412
        assert r.json()["error"]["code"] == "01010076"
        assert r.json()["error"]["message"] == "Injected: try again"
        assert api.get(f"{DEPLOYMENTS}/{did}").json() == before
    assert api.patch(f"{DEPLOYMENTS}/{did}", json=stop).status_code == 202
    assert api.get(f"{DEPLOYMENTS}/{did}").json()["status"] == "STOPPING"


def test_only_the_nth_call_fails(mockserver: Any) -> None:
    api = mockserver.client()
    mockserver.fault(operation_id="deployment.query", status=400, nth=2)
    assert [api.get(DEPLOYMENTS).status_code for _ in range(4)] == [200, 400, 200, 200]


def test_probability_is_seeded_and_repeats(mockserver: Any) -> None:
    api = mockserver.client()

    def pattern() -> list[int]:
        rule = mockserver.fault(
            operation_id="deployment.query", status=400, probability=0.5, seed=7
        )
        out = [api.get(DEPLOYMENTS).status_code for _ in range(24)]
        mockserver.mock.faults.remove(id=rule.id)
        return out

    first = pattern()
    assert first == pattern()
    assert 4 <= first.count(400) <= 20


def test_faults_are_scoped_to_tenant_and_operation(mockserver: Any) -> None:
    api = mockserver.client()
    mockserver.fault(operation_id="deployment.query", status=400)
    other = mockserver.client(headers={"AI-Resource-Group": "another-group"})
    assert api.get(DEPLOYMENTS).status_code == 400
    assert other.get(DEPLOYMENTS).status_code == 200
    assert api.get(CONFIGS).status_code == 200


def test_undocumented_status_needs_an_explicit_opt_in(mockserver: Any) -> None:
    with pytest.raises(ValueError, match="documents no 418"):
        mockserver.fault(operation_id="deployment.get", status=418)
    mockserver.fault(operation_id="deployment.query", status=418, allow_undocumented=True)
    r = mockserver.client().get(DEPLOYMENTS)
    assert r.status_code == 418 and set(r.json()["error"]) >= {"code", "message", "requestId"}


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_gateway_statuses_need_no_opt_in(mockserver: Any, status: int) -> None:
    api = mockserver.client()
    _, did = running(mockserver, api)
    mockserver.fault(operation_id="deployment.modify", status=status, times=1)  # documents none
    r = api.patch(f"{DEPLOYMENTS}/{did}", json={"targetStatus": "STOPPED"})
    assert r.status_code == status and r.json()["error"]["message"] == "Injected fault"
    assert api.get(f"{DEPLOYMENTS}/{did}").json()["targetStatus"] == "RUNNING"  # nothing changed
    assert api.patch(f"{DEPLOYMENTS}/{did}", json={"targetStatus": "STOPPED"}).status_code == 202


def test_an_error_fault_may_bring_its_own_body(mockserver: Any) -> None:
    gateway = {"message": "upstream connect error"}
    mockserver.fault(operation_id="deployment.query", status=502, body=gateway, times=1)
    r = mockserver.client().get(DEPLOYMENTS)
    assert r.status_code == 502 and r.json() == gateway
    with pytest.raises(ValueError, match="send a body"):
        mockserver.fault(kind="latency", latency=1, body={"x": 1})


def test_a_fault_on_any_operation_skips_operations_that_do_not_document_its_status(
    mockserver: Any,
) -> None:
    api = mockserver.client()
    _, did = running(mockserver, api)
    mockserver.fault(status=412)  # only modify and delete document 412
    assert api.get(f"{DEPLOYMENTS}/{did}").status_code == 200
    assert api.patch(f"{DEPLOYMENTS}/{did}", json={"targetStatus": "STOPPED"}).status_code == 412


def test_rate_limit_carries_the_vendors_headers(mockserver: Any) -> None:
    mockserver.fault(
        kind="rate_limit",
        operation_id="deployment.query",
        retry_after=2.5,
        times=1,
    )
    api = mockserver.client()
    r = api.get(DEPLOYMENTS)
    assert r.status_code == 429 and r.headers["retry-after"] == "3"
    assert "error" in r.json()
    assert api.get(DEPLOYMENTS).status_code == 200


def test_after_means_the_change_happened_but_the_answer_failed(mockserver: Any) -> None:
    api = mockserver.client()
    _, did = running(mockserver, api)
    mockserver.fault(operation_id="deployment.modify", status=404, after=True, times=1)
    assert api.patch(f"{DEPLOYMENTS}/{did}", json={"targetStatus": "STOPPED"}).status_code == 404
    assert api.get(f"{DEPLOYMENTS}/{did}").json()["targetStatus"] == "STOPPED"


def test_latency_is_fixed_plus_seeded_jitter(
    mockserver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    waited: list[float] = []

    async def record(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(mockserver.mock, "sleep", record)
    mockserver.fault(
        kind="latency", operation_id="deployment.query", latency=0.25, jitter=0.5, seed=3
    )
    api = mockserver.client()
    assert [api.get(DEPLOYMENTS).status_code for _ in range(3)] == [200, 200, 200]
    reference = Rule(kind="latency", latency=0.25, jitter=0.5, seed=3)
    assert waited == [reference.delay() for _ in range(3)]
    assert all(0.25 <= w <= 0.75 for w in waited)


@pytest.mark.parametrize("kind", ["drop", "truncate"])
def test_drop_in_process_raises_what_httpx_raises_for_a_hang_up(mockserver: Any, kind: str) -> None:
    mockserver.fault(kind=kind, operation_id="deployment.query", times=1)
    api = mockserver.client()
    with pytest.raises(httpx.RemoteProtocolError):  # what a client's retry logic catches
        api.get(DEPLOYMENTS)
    assert api.get(DEPLOYMENTS).status_code == 200


@pytest.mark.parametrize("kind", ["drop", "truncate"])
def test_drop_and_truncate_over_a_socket(mockserver: Any, mockserver_live: Any, kind: str) -> None:
    mockserver.fault(kind=kind, operation_id="deployment.query", times=1)
    url = mockserver.url() + DEPLOYMENTS
    with httpx.Client(headers=mockserver.headers()) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(url)
        assert client.get(url).status_code == 200
    assert mockserver.new_errors() == []


def test_real_latency_makes_a_client_time_out(mockserver: Any, mockserver_live: Any) -> None:
    mockserver.fault(kind="latency", operation_id="deployment.query", latency=2.0, times=1)
    url = mockserver.url() + DEPLOYMENTS
    with (
        httpx.Client(headers=mockserver.headers(), timeout=0.2) as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.get(url)


@pytest.mark.mockserver(
    provider="sap_ai_core",
    faults=[{"operation_id": "deployment.query", "status": 400, "message": "from the marker"}],
)
def test_marker_adds_faults(mockserver: Any) -> None:
    r = mockserver.client().get(DEPLOYMENTS)
    assert r.status_code == 400 and r.json()["error"]["message"] == "from the marker"


def test_reset_removes_the_tenants_faults(mockserver: Any) -> None:
    mockserver.fault(operation_id="deployment.query", status=400)
    mockserver.reset()
    assert [r for r in mockserver.mock.faults.rules if r.tenant == mockserver.tenant] == []


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "explode"},
        {"kind": "error"},
        {"status": 200},
        {"status": 400, "probability": 2},
        {"status": 400, "nth": 0},
        {"status": 400, "colour": "red"},
        {"status": 400, "latency": -1},
        {"status": 400, "provider": "nope"},
        {"status": 400, "operationId": "nope"},
    ],
)
def test_admin_rejects_bad_rules(mockserver: Any, bad: dict[str, Any]) -> None:
    admin = mockserver.client(auth=False)
    r = admin.post("http://deploymock/__admin/faults", json=bad)
    assert r.status_code in (400, 404) and r.json()["error"]


def test_admin_adds_lists_and_removes_rules(mockserver: Any) -> None:
    admin = mockserver.client(auth=False)
    rule = {
        "provider": "sap_ai_core",
        "operationId": "deployment.query",
        "status": 400,
        "tenant": mockserver.tenant,
        "times": 1,
    }
    created = admin.post("http://deploymock/__admin/faults", json=rule).json()
    assert created["id"].startswith("fault-") and created["operation_id"] == "deployment.query"
    assert mockserver.client().get(DEPLOYMENTS).status_code == 400
    listed = admin.get("http://deploymock/__admin/faults").json()["faults"]
    mine = [f for f in listed if f["id"] == created["id"]]
    assert mine[0]["seen"] == 1 and mine[0]["fired"] == 1
    removed = admin.delete("http://deploymock/__admin/faults", params={"id": created["id"]})
    assert removed.json() == {"removed": 1}
