"""Setting up a run: the provider's spec is parsed once, and shared by the mock and the run."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import mockserver.spec
from mockserver.app import create_app, mock_of
from mockserver.contract import ContractOptions, ContractSession
from mockserver.contract.runner import served_spec
from mockserver.providers import sap_ai_core
from pytest_plugin.contract import ContractRunner
from pytest_plugin.handle import MockserverConfig


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The file of every `Spec` built from now on."""
    seen: list[str] = []
    build = mockserver.spec.Spec.__init__

    def counting(self: Any, filename: str) -> None:
        seen.append(filename)
        build(self, filename)

    monkeypatch.setattr(mockserver.spec.Spec, "__init__", counting)
    return seen


def test_an_in_process_run_parses_its_spec_once(parsed):
    with ContractSession("sap_ai_core", options=ContractOptions(phases=())) as run:
        assert parsed == ["sap_ai_core.yaml"]
        assert run.profile.spec is mock_of(run.target.forward.app).specs["sap_ai_core"]


def test_a_run_on_a_given_app_uses_the_apps_spec(parsed):
    app = create_app(providers=["sap_ai_core", "ibm_wml"])
    assert sorted(parsed) == ["ibm_wml.yaml", "sap_ai_core.yaml"]
    with ContractSession("ibm_wml", app=app, options=ContractOptions(phases=())) as run:
        assert run.profile.spec is mock_of(app).specs["ibm_wml"]
    assert len(parsed) == 2


def test_the_fixtures_run_parses_its_spec_once(parsed):
    with ContractRunner(MockserverConfig()).session("openstack_heat", phases=()) as run:
        assert parsed == ["openstack_heat.yaml"]
        assert run.profile.spec.filename == "openstack_heat.yaml"


def test_an_app_serving_another_document_under_the_name_does_not_lend_its_spec():
    variant = dataclasses.replace(sap_ai_core.PROVIDER, spec="ibm_wml.yaml")
    assert served_spec(create_app(providers=["sap_ai_core"]), variant) is None


def test_a_live_run_parses_the_spec_for_itself(parsed):
    # Setting up and closing a run that created nothing sends no request.
    url = "http://127.0.0.1:9/openstack_heat"
    with ContractSession("openstack_heat", url=url, options=ContractOptions(phases=())) as run:
        assert parsed == ["openstack_heat.yaml"]
        assert run.profile.spec.filename == "openstack_heat.yaml"
    assert run.report.requests.total() == 0
