"""What the contract suite found in the providers and the core, now fixed: regression tests.

Each stated the contract as an `xfail(strict=True)` test until its fix landed on main
(ab92856). A new finding goes the same way: a strict xfail here, and an entry in
`known_issues.KNOWN` so that the suite runs ignore exactly it until the fix lands.
"""

from __future__ import annotations

import pytest

from mockserver.contract import ContractOptions, run_contract


def _sap_deployment(mockserver, **body):
    api = mockserver.client("sap_ai_core")
    config = {"name": "c", "scenarioId": "scenario", "executableId": "executable"}
    cid = api.post("/v2/lm/configurations", json=config).json()["id"]
    return api, api.post("/v2/lm/deployments", json={"configurationId": cid, **body})


@pytest.mark.parametrize("ttl", ["0m", "0H", "0D"])
def test_sap_a_deployment_with_ttl_zero_can_be_read_after_its_202(mockserver, ttl):
    api, created = _sap_deployment(mockserver, ttl=ttl)
    assert created.status_code == 202
    assert api.get(f"/v2/lm/deployments/{created.json()['id']}").status_code == 200


def test_sap_count_answers_405_to_other_methods():
    report = run_contract(
        "sap_ai_core",
        options=ContractOptions(phases=("coverage",), operations=("deployment.count",)),
    )
    assert not report.failed_checks & {"unsupported_method", "allow_header_conformance"}, (
        report.summary()
    )


def test_launchdarkly_rejects_integers_beyond_int64():
    report = run_contract(
        "launchdarkly",
        options=ContractOptions(
            phases=("coverage",),
            operations=("createDeploymentEvent", "getDeployments"),
        ),
    )
    assert "negative_data_rejection" not in report.failed_checks, report.summary()


def test_wml_an_error_documented_by_default_passes_response_validation(mockserver):
    api = mockserver.client("ibm_wml")
    with mockserver.expect_server_errors() as errors:
        answer = api.get("/wx/v1/prompts/p1", params={"space_id": "not:a-container"})
    assert answer.status_code == 400, answer.text  # the mock's response validation makes it 500
    assert not errors
