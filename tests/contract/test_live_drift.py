"""On a live server time passes between the run's read and its update: no false failures.

A SAP deployment is UNKNOWN for a second, then PENDING. Here every PATCH and DELETE reaches the
mock two (virtual) seconds after the read before it, as over a slow network: a stop the read
says is sent in UNKNOWN (forbidden) arrives in PENDING and is accepted; a delete sent in
UNKNOWN (allowed) arrives in PENDING and is refused with 412. Neither is the server's fault.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mockserver.app import create_app, mock_of
from mockserver.clock import VirtualClock
from mockserver.contract import ContractOptions, ContractReport, run_contract
from mockserver.providers import sap_ai_core as sap
from pytest_plugin.transport import InProcessTransport

pytestmark = pytest.mark.slow


class Drifting(httpx.BaseTransport):
    """Lets `seconds` pass on the mock's clock before each update reaches it."""

    def __init__(self, app: Any, seconds: float) -> None:
        self.inner = InProcessTransport(app)
        self.clock = mock_of(app).clock
        self.seconds = seconds
        self.updates = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method in ("PATCH", "DELETE") and "/deployments/" in request.url.path:
            self.clock.advance(self.seconds)
            self.updates += 1
        return self.inner.handle_request(request)


def drifting_run(hints: dict[str, Any]) -> tuple[ContractReport, Drifting]:
    app = create_app(
        providers=["sap_ai_core"], clock=VirtualClock.fake(), delays={"*": {"schedule": 1}}
    )
    transport = Drifting(app, 2.0)
    report = run_contract(
        "sap_ai_core",
        url="http://mock/sap_ai_core",
        token="t",
        tenant="rg-drift",
        options=ContractOptions(
            max_examples=25,
            no_shrink=True,
            any_token=True,
            hints=hints,
            phases=("stateful", "walk"),
            settle_samples=0,
            operations=(
                "configuration.create",
                "deployment.create",
                "deployment.modify",
                "deployment.delete",
                "deployment.get",
            ),
        ),
        sleep=mock_of(app).clock.advance,
        transport=transport,
    )
    assert report.live
    return report, transport


def test_an_update_that_meets_a_state_moved_on_is_not_a_failure() -> None:
    report, transport = drifting_run({})
    assert transport.updates > 0
    assert report.checks["forbidden_state_update"].applied > 0, report.summary()
    assert "forbidden_state_update" not in report.failed_checks, report.summary()


def test_the_same_drift_is_a_failure_when_the_hints_say_nothing_moves() -> None:
    # The control: with no transitional states the run must take the read at its word, and
    # the drift above then shows up as forbidden_state_update failures.
    still = {**sap.CONTRACT, "transitional": []}
    report, _ = drifting_run(still)
    assert "forbidden_state_update" in report.failed_checks, report.summary()
