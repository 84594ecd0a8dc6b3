"""The stateful phase starts from every create and follows the links with real ids.

Schemathesis left SAP's configuration.create out of its roots (it takes scenarioId and
executableId for references nothing in the spec makes), so a stateful run only ever sent
deployment.create with a random configurationId. See mockserver/contract/roots.py. (In process
time stands still during the phase, so a new deployment stays UNKNOWN and updates to it are
refused with 412; the walk is what lets new resources settle.)
"""

from __future__ import annotations

import pytest

from mockserver.contract import ContractOptions
from mockserver.contract.runner import ContractSession


def _roots(provider):
    """The roots of the state machine a run builds, and of the one Schemathesis builds."""
    from schemathesis.engine.link_calibration import LinkCalibrationState
    from schemathesis.generation.feedback import NO_FEEDBACK

    args = {"feedback": NO_FEEDBACK, "link_calibration": LinkCalibrationState()}
    with ContractSession(provider, options=ContractOptions(phases=("stateful",))) as session:
        schema = session.schema
        ours = schema.build_state_machine(**args)
        theirs = type(schema).build_state_machine(schema, **args)
        return ours._root_labels, theirs._root_labels


def test_sap_configuration_create_starts_scenarios_too():
    ours, theirs = _roots("sap_ai_core")
    assert "POST /v2/lm/configurations" not in theirs
    assert ours == theirs | {"POST /v2/lm/configurations"}


@pytest.mark.parametrize("provider", ["ibm_wml", "openstack_heat"])
def test_roots_schemathesis_chose_stay_as_they_are(provider):
    ours, theirs = _roots(provider)
    assert ours == theirs


@pytest.mark.slow
def test_sap_stateful_run_creates_and_deploys_for_real():
    options = ContractOptions(max_examples=30, phases=("stateful",))
    sent = []
    with ContractSession("sap_ai_core", tenant="rg-x", options=options) as session:
        send = session.gate.send

        def record(req, *, kind="engine"):
            resp = send(req, kind=kind)
            if kind == "engine":
                operation = session.profile.match(req.method, req.path)[0].operation_id
                sent.append((operation, req.json(), resp.status, resp.json()))
            return resp

        session.gate.send = record
        report = session.execute()
    configs = {
        out["id"] for op, _, status, out in sent if (op, status) == ("configuration.create", 201)
    }
    deployed = [body for op, body, status, _ in sent if (op, status) == ("deployment.create", 202)]
    assert configs
    assert any(body["configurationId"] in configs for body in deployed)
    assert not report.findings, report.summary()
