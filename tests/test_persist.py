"""`serve --state FILE`: what was acknowledged survives kill -9 and a restart."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.app import create_app, mock_of
from mockserver.clock import VirtualClock
from pytest_plugin.transport import InProcessTransport
from tests.support import serving

SAP = {"Authorization": "Bearer t", "AI-Resource-Group": "rg-a"}
CONFIG = {"name": "serving", "scenarioId": "scenario-a", "executableId": "executable-a"}


def client(app: Any) -> tuple[httpx.Client, InProcessTransport]:
    transport = InProcessTransport(app)
    return httpx.Client(
        transport=transport, base_url="http://mock/sap_ai_core/v2/lm", headers=SAP
    ), transport


def test_state_file_restores_records_outcomes_and_clocks(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    app = create_app(clock=VirtualClock.fake(), state=path)
    api, transport = client(app)
    cid = api.post("/configurations", json=CONFIG).json()["id"]
    did = api.post("/deployments", json={"configurationId": cid}).json()["id"]
    admin = httpx.Client(transport=transport, base_url="http://mock/__admin")
    admin.post("/outcomes", json={"provider": "sap_ai_core", "tenant": "rg-a", "outcome": "DEAD"})
    admin.post("/clock", json={"advance": 30, "tenant": "rg-a"})
    transport.close()

    again = create_app(clock=VirtualClock.fake(), state=path)
    api, transport = client(again)
    dep = api.get(f"/deployments/{did}").json()
    assert dep["status"] == "DEAD"  # the queued outcome and the tenant's 30 s came back
    assert api.get(f"/configurations/{cid}").json()["name"] == "serving"
    new = api.post("/deployments", json={"configurationId": cid}).json()["id"]
    assert new != did  # ids do not repeat after a restart
    transport.close()


def test_reset_clears_the_state_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    app = create_app(state=path)
    api, transport = client(app)
    api.post("/configurations", json=CONFIG)
    mock_of(app).reset(tenant="rg-a")
    transport.close()
    api, transport = client(create_app(state=path))
    assert api.get("/configurations").json()["count"] == 0
    transport.close()


def test_reads_do_not_write(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    app = create_app(state=path)
    api, transport = client(app)
    api.post("/configurations", json=CONFIG)
    mock = mock_of(app)
    assert mock.persist is not None
    writes: list[str] = []
    original = mock.persist.save_tenant
    mock.persist.save_tenant = lambda *a: (writes.append(a[1]), original(*a))  # type: ignore[method-assign]
    api.get("/configurations")
    api.get("/deployments")
    assert writes == []
    api.post("/configurations", json=CONFIG)
    assert writes == ["rg-a"]
    transport.close()


@pytest.mark.slow
def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    acknowledged: dict[str, str] = {}
    with serving("--state", path, "--provider", "sap_ai_core") as (url, proc, _lines):
        with httpx.Client(base_url=f"{url}/v2/lm", headers=SAP) as api:
            cid = api.post("/configurations", json=CONFIG).json()["id"]
            for _ in range(20):
                r = api.post("/deployments", json={"configurationId": cid})
                assert r.status_code == 202
                acknowledged[r.json()["id"]] = "UNKNOWN"
            httpx.post(f"{url}/__admin/clock", json={"advance": 3600, "tenant": "rg-a"})
            stop = next(iter(acknowledged))
            assert (
                api.patch(f"/deployments/{stop}", json={"targetStatus": "STOPPED"}).status_code
                == 202
            )
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    with (
        serving("--state", path, "--provider", "sap_ai_core") as (url, _proc, _lines),
        httpx.Client(base_url=f"{url}/v2/lm", headers=SAP) as api,
    ):
        listed = api.get("/deployments").json()
        assert {d["id"] for d in listed["resources"]} == set(acknowledged)
        statuses = {d["id"]: d["status"] for d in listed["resources"]}
        # time kept going from where it was: an hour later every deployment is RUNNING,
        # the stopped one stopping or stopped
        assert statuses.pop(stop) in ("STOPPING", "STOPPED")
        assert set(statuses.values()) == {"RUNNING"}
