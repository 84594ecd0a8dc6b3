"""`serve --state FILE`: what was acknowledged survives kill -9 and a restart."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.app import create_app, mock_of
from mockserver.clock import VirtualClock
from mockserver.errors import ConfigError
from mockserver.persist import APPLICATION_ID, SqliteState
from pytest_plugin.transport import InProcessTransport
from tests.support import ADMIN, serving

SAP = {"Authorization": "Bearer t", "AI-Resource-Group": "rg-a"}
CONFIG = {"name": "serving", "scenarioId": "scenario-a", "executableId": "executable-a"}
DEPLOYMENT = {
    "server_id": "srv-1",
    "config_id": "c1",
    "input_values": {"size": 1},
    "output_values": None,
    "action": "CREATE",
    "status": "IN_PROGRESS",
    "status_reason": "None",
    "creation_time": "2024-01-01T00:00:00Z",
}
OLD_SCHEMA = """
CREATE TABLE tenants (provider TEXT NOT NULL, tenant TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (provider, tenant));
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def deploymock(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `deploymock ARGS` to its end (a refusal ends before the server starts)."""
    return subprocess.run(
        [sys.executable, "-m", "mockserver", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


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
    state = mock_of(app).persist
    assert state is not None
    before = state.rows_written
    api.get("/configurations")
    api.get("/deployments")
    assert state.rows_written == before
    api.post("/configurations", json=CONFIG)
    assert state.rows_written == before + 1  # the new record; the listed ones are unchanged
    transport.close()


def test_a_put_in_a_tenant_of_10k_writes_one_row(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    app = create_app(providers=["openstack_heat"], state=path)
    api = httpx.Client(
        transport=InProcessTransport(app),
        base_url="http://mock/openstack_heat/v1/p/software_deployments",
        headers={"X-Auth-Token": "t"},
    )
    mock = mock_of(app)
    store = mock.store.tenant("openstack_heat", "p")
    for n in range(10_000):
        store.put("software_deployment", f"d{n}", {**DEPLOYMENT, "id": f"d{n}"})
    mock.commit("openstack_heat", "p")
    state = mock.persist
    assert state is not None
    before = state.rows_written
    assert len(api.get("").json()["software_deployments"]) == 10_000  # hands out every record
    assert api.put("/d5000", json={"status": "COMPLETE"}).status_code == 200
    assert state.rows_written == before + 1
    with sqlite3.connect(path) as db:
        (data,) = db.execute("SELECT data FROM records WHERE id = 'd5000'").fetchone()
        assert json.loads(data)["status"] == "COMPLETE"
        assert db.execute("SELECT count(*) FROM records").fetchone() == (10_000,)
    db.close()


def test_what_a_read_changed_is_written_with_the_next_change(tmp_path: Path) -> None:
    """A read that settles a deployment takes a queued outcome; the outcome and the record it
    decided must reach the file together, or a restart would decide the step again."""
    path = tmp_path / "state.db"
    app = create_app(clock=VirtualClock.fake(), state=path)
    api, transport = client(app)
    cid = api.post("/configurations", json=CONFIG).json()["id"]
    did = api.post("/deployments", json={"configurationId": cid}).json()["id"]
    mock_of(app).queue_outcome("sap_ai_core", "rg-a", "DEAD")
    mock_of(app).advance(3600, tenant="rg-a")
    assert api.get(f"/deployments/{did}").json()["status"] == "DEAD"  # the outcome is taken
    api.post("/configurations", json=CONFIG)  # another record changes
    transport.close()
    api, transport = client(create_app(clock=VirtualClock.fake(), state=path))
    assert api.get(f"/deployments/{did}").json()["status"] == "DEAD"
    transport.close()


def test_a_restart_lists_records_in_creation_order(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    app = create_app(state=path)
    api, transport = client(app)
    made = [
        api.post("/configurations", json={**CONFIG, "name": f"c{n}"}).json()["id"] for n in range(4)
    ]
    store = mock_of(app).store.tenant("sap_ai_core", "rg-a")
    again = store.delete("configuration", made[1])  # made again: now the newest
    store.put("configuration", made[1], again)
    mock_of(app).commit("sap_ai_core", "rg-a")
    listed = [c["id"] for c in api.get("/configurations").json()["resources"]]
    transport.close()
    api, transport = client(create_app(state=path))
    assert [c["id"] for c in api.get("/configurations").json()["resources"]] == listed
    assert listed == [made[0], made[2], made[3], made[1]]
    transport.close()


def test_a_second_process_on_the_file_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    with (
        serving("--state", path, "--provider", "sap_ai_core") as (url, proc, _lines),
        httpx.Client(base_url=f"{url}/v2/lm", headers=SAP) as api,
    ):
        cid = api.post("/configurations", json=CONFIG).json()["id"]
        second = deploymock("serve", "--state", path, "--port", "0")
        assert (second.returncode, second.stdout) == (2, "")
        assert second.stderr == (
            f"deploymock: state file {path} is in use by another deploymock process "
            f"(pid {proc.pid}); stop it or choose another --state file\n"
        )
        assert api.get(f"/configurations/{cid}").status_code == 200  # the first serves on


def test_a_file_that_is_not_sqlite_exits_2_with_one_line_and_is_left_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"not a database\n" * 20)
    done = deploymock("serve", "--state", str(path), "--port", "0")
    assert (done.returncode, done.stderr) == (
        2,
        f"deploymock: state file {path} is not a SQLite database (file is not a database), "
        "so not deploymock's\n",
    )
    assert path.read_bytes() == b"not a database\n" * 20


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        (
            "CREATE TABLE notes (t TEXT);",
            "is a SQLite database but not deploymock's (tables: notes)",
        ),
        (OLD_SCHEMA, "is in an older deploymock's format (one row per tenant), which this version"),
        (f"PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 3", "is in format 3"),
    ],
    ids=["another-application", "older-format", "newer-format"],
)
def test_a_database_that_is_not_ours_is_refused_and_left_alone(
    tmp_path: Path, schema: str, problem: str
) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as db:
        db.executescript(schema)
    db.close()
    before = path.read_bytes()
    with pytest.raises(ConfigError) as caught:
        create_app(state=path)
    assert str(caught.value).startswith(f"state file {path} {problem}")
    assert path.read_bytes() == before
    SqliteState(tmp_path / "other.db").close()  # nothing stays locked after a refusal


@pytest.mark.parametrize(
    ("where", "problem"),
    [
        ("missing/state.db", "state file {path}: directory {parent} does not exist"),
        (".", "state file {path} is a directory"),
    ],
)
def test_a_bad_path_is_a_config_error(tmp_path: Path, where: str, problem: str) -> None:
    path = tmp_path / where
    with pytest.raises(ConfigError) as caught:
        create_app(state=path)
    assert str(caught.value) == problem.format(path=path, parent=path.parent)


def test_a_bad_path_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "state.db"
    done = deploymock("serve", "--state", str(path), "--port", "0")
    assert (done.returncode, done.stderr) == (
        2,
        f"deploymock: state file {path}: directory {path.parent} does not exist\n",
    )


def test_one_process_may_open_its_file_again_and_holds_it_until_the_last_close(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"

    def held() -> bool:
        """Whether a lock on the file's lock file is refused (as another process is)."""
        fd = os.open(f"{path}.lock", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    first, second = SqliteState(path), SqliteState(path)
    second.close()
    second.close()  # closing twice lets go once
    assert held()
    first.close()
    assert not held()


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
            httpx.post(
                f"{url}/__admin/clock", json={"advance": 3600, "tenant": "rg-a"}, headers=ADMIN
            )
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
