"""A provider is a spec, a module and tests: nothing else in the project changes for one.

`tests/minimal_provider/` holds the smallest one (notes.yaml, notes.py); the
DEPLOYMOCK_PROVIDER_PATH directory list is how a provider of your own is found.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mockserver.app import PROVIDER_PATH, create_app, discover, mock_of
from mockserver.clock import VirtualClock
from mockserver.contract import ContractOptions, run_contract
from pytest_plugin.transport import InProcessTransport

HERE = Path(__file__).resolve().parent / "minimal_provider"
HEADERS = {"Authorization": "Bearer t", "X-Tenant": "team-a"}


@pytest.fixture
def on_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROVIDER_PATH, str(HERE))


def test_discovery_finds_a_provider_on_the_path_only(on_the_path: None, monkeypatch) -> None:
    assert "notes" in discover()
    assert {"sap_ai_core", "ibm_wml"} <= set(discover())  # the built-in ones stay
    monkeypatch.delenv(PROVIDER_PATH)
    assert "notes" not in discover()


def test_the_minimal_provider_is_served_validated_and_tenant_scoped(on_the_path: None) -> None:
    app = create_app(providers=["notes"], clock=VirtualClock.fake(), validate_responses=True)
    with httpx.Client(transport=InProcessTransport(app), base_url="http://m/notes") as api:
        created = api.post("/notes", json={"title": "groceries"}, headers=HEADERS)
        assert created.status_code == 201
        nid = created.json()["id"]
        changed = api.patch(f"/notes/{nid}", json={"text": "milk"}, headers=HEADERS)
        assert changed.json() == {"id": nid, "title": "groceries", "text": "milk"}
        other = {**HEADERS, "X-Tenant": "team-b"}
        assert api.get(f"/notes/{nid}", headers=other).status_code == 404
        refused = api.patch(f"/notes/{nid}", json={"id": "x"}, headers=HEADERS)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid"
        assert api.get(f"/notes/{nid}", headers=HEADERS).json()["text"] == "milk"
        assert api.delete(f"/notes/{nid}", headers=HEADERS).status_code == 204
        assert api.get(f"/notes/{nid}", headers=HEADERS).status_code == 404
    assert mock_of(app).errors == []


@pytest.mark.slow
def test_the_contract_suite_runs_on_the_minimal_provider(on_the_path: None) -> None:
    report = run_contract("notes", options=ContractOptions(max_examples=25, stateful_examples=5))
    print(report.summary())
    assert report.ok, report.summary()
    assert report.requests["engine"] > 0
    assert report.checks["update_visible"].applied, "no accepted update was checked"
    assert report.checks["vendor_error_format"].applied, "no error response was checked"
