"""Accepted asynchronous updates followed to their end on a live server, in fake time.

The runner takes its live path (an `HttpForwarder`, no `advance`): against a `deploymock serve`
process, or against a mock app reached through an httpx transport. The sleep and clock it waits
with are fakes: a sleep moves the mock's virtual clock, so nothing waits for real.

Time on the mock is frozen, so it moves only when the run waits. A new SAP deployment would stay
UNKNOWN, where a stop is refused; `schedule=0` makes it PENDING at once, as a real one soon is.
The accepted updates are stops (the spec's example body): 202, STOPPING, then STOPPED after 3 s.
The walk also waits for the deployment it creates while it is PENDING (5 s: 5 polls, 5.5 s),
counted under `deployment.create`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import mockserver.app
from mockserver.app import mock_of
from mockserver.clock import VirtualClock
from mockserver.contract import ContractOptions, ContractReport, run_contract
from mockserver.contract.context import Read
from mockserver.contract.gate import BLOCKED, Req, Resp
from mockserver.contract.settle import BUDGET, SAMPLES, Settling, interval
from mockserver.provider import Ctx, Reply
from mockserver.providers import sap_ai_core as sap
from mockserver.providers.sap_ai_core import deployments as sap_deployments
from pytest_plugin.transport import InProcessTransport
from tests.support import ADMIN, serving

SETTLE = 11.0  # SAP's default: twice its longest delay (start, 5 s), plus one
LIVE: dict[str, Any] = {
    "max_examples": 15,
    "no_shrink": True,
    "any_token": True,
    "phases": ("stateful", "walk"),
    "operations": (
        "configuration.create",
        "deployment.create",
        "deployment.modify",
        "deployment.get",
    ),
}
TENANT = "rg-live-settle"


class FakeWait:
    """The runner's sleep and clock. A sleep moves the mock's clock by as much; sleeps before
    the cleanup starts are the polls for updates to settle (no rate limit, no 429 here).
    `mark()`, if given, is called once when the cleanup starts; its answer is `cleanup_mark`."""

    def __init__(
        self, advance: Callable[[float], object], mark: Callable[[], int] | None = None
    ) -> None:
        self.advance = advance
        self.mark = mark
        self.cleanup_mark: int | None = None
        self.now = 0.0
        self.polls: list[float] = []
        self.cleanup: list[float] = []
        self.cleaning = False

    def sleep(self, seconds: float) -> None:
        (self.cleanup if self.cleaning else self.polls).append(seconds)
        self.now += seconds
        self.advance(seconds)

    def clock(self) -> float:
        return self.now

    def progress(self, line: str) -> None:
        if not self.cleaning and line.startswith("cleanup:") and self.mark is not None:
            self.cleanup_mark = self.mark()
        self.cleaning = self.cleaning or line.startswith("cleanup:")


# -- the polling, on scripted reads ----------------------------------------------------------
def read(status: str, code: int = 200, headers: dict[str, str] | None = None) -> Read:
    body = json.dumps({"status": status}).encode()
    return Read(Req("GET", "/v2/lm/deployments/d1"), Resp(code, headers or {}, body))


def pending(r: Read) -> bool:
    return r.response.status == 200 and r.doc["status"] == "STOPPING"


def scripted(*states: str) -> Callable[[Read], Read]:
    left = list(states)
    return lambda _previous: read(left.pop(0)) if left else read("STOPPING")


def test_the_poll_interval_is_a_tenth_of_the_settle_time_within_one_to_five_seconds():
    assert interval(11) == pytest.approx(1.1)
    assert interval(3) == 1.0
    assert interval(300) == 5.0
    assert interval(0.5) == 0.5  # never past the settle time


def test_polling_stops_when_the_state_leaves_the_transitional_states():
    wait = FakeWait(lambda s: None)
    settling = Settling(sleep=wait.sleep, clock=wait.clock)
    last = settling.follow(
        read("STOPPING"), scripted("STOPPING", "STOPPING", "STOPPED"), pending, 11
    )
    assert last.doc == {"status": "STOPPED"}
    assert wait.polls == pytest.approx([1.1, 1.1, 1.1])
    assert settling.polls == 3
    assert settling.spent == pytest.approx(3.3)


def test_polling_gives_up_when_the_settle_time_is_over():
    wait = FakeWait(lambda s: None)
    settling = Settling(sleep=wait.sleep, clock=wait.clock)
    last = settling.follow(read("STOPPING"), scripted(), pending, 7.5)
    assert last.doc == {"status": "STOPPING"}
    assert wait.polls == [1.0] * 7 + [0.5]  # the last pause ends at the settle time
    assert settling.spent == 7.5


def test_a_fake_sleep_with_the_real_clock_still_ends():
    settling = Settling(sleep=lambda s: None)  # time.monotonic barely moves
    settling.follow(read("STOPPING"), scripted(), pending, 3)
    assert settling.polls == 3


def test_no_waiting_when_the_first_read_shows_the_end():
    wait = FakeWait(lambda s: None)
    settling = Settling(sleep=wait.sleep, clock=wait.clock)
    assert settling.follow(read("STOPPED"), scripted(), pending, 11).doc == {"status": "STOPPED"}
    assert wait.polls == []


def test_samples_per_operation_and_the_budget_decide_what_is_waited_for():
    settling = Settling(samples=2, budget=30)
    assert [settling.admit("modify", 11) for _ in range(3)] == [True, True, False]
    assert settling.admit("other", 11)
    assert settling.skipped == {SAMPLES: 1}
    settling.spent = 20.0
    assert not settling.admit("another", 11)  # 20 + 11 > 30
    assert settling.admit("another", 10)  # fits exactly
    assert settling.skipped == {SAMPLES: 1, BUDGET: 1}


def test_a_poll_the_gate_refuses_cuts_the_update_short():
    settling = Settling()
    refused = read("", 403, {BLOCKED: "request budget exhausted"})
    assert not settling.ended("modify", refused)
    assert settling.ended("modify", read("STOPPED"))
    assert settling.followed == {"modify": 1}
    assert settling.skipped == {"cut short: request budget exhausted": 1}


# -- the runner's live path against the mock app, through a transport ----------------------
def stop_never_ends() -> Any:
    """Accepts a stop and stays STOPPING for good."""
    return dataclasses.replace(sap.PROVIDER, delays={**sap.DELAYS, "stop": 1e9})


def get_stop_undone(ctx: Ctx) -> Reply:
    """Once a stop has ended, the deployment is RUNNING again: the stop did not hold."""
    dep = sap_deployments._deployment(ctx, ctx.path["deploymentId"])
    if dep["status"] == "STOPPED":
        dep.update(status="RUNNING", targetStatus="RUNNING")
    return sap.get_deployment(ctx)


def stop_undone() -> Any:
    return dataclasses.replace(
        sap.PROVIDER, handlers={**sap.PROVIDER.handlers, "deployment.get": get_stop_undone}
    )


def live_run(
    monkeypatch: pytest.MonkeyPatch,
    variant: Any = sap.PROVIDER,
    delays: dict[str, float] | None = None,
    app_out: list[Any] | None = None,
    **options: Any,
) -> tuple[ContractReport, FakeWait]:
    """The suite on its live path, with the real provider's contract, against `variant`
    (`delays`: the mock's, by default `schedule=0`; `app_out` receives the mock app)."""
    with monkeypatch.context() as patched:
        patched.setattr(mockserver.app, "discover", lambda: {variant.name: variant})
        app = mockserver.app.create_app(
            providers=[variant.name],
            clock=VirtualClock.fake(),
            delays={variant.name: {"schedule": 0} if delays is None else delays},
        )
    if app_out is not None:
        app_out.append(app)
    journal = mock_of(app).journal
    wait = FakeWait(mock_of(app).clock.advance, mark=lambda: len(journal.entries()))
    report = run_contract(
        variant.name,
        url=f"http://mock/{variant.name}",
        token="t",
        tenant=TENANT,
        options=ContractOptions(**{**LIVE, **options, "progress": wait.progress}),
        sleep=wait.sleep,
        clock=wait.clock,
        transport=InProcessTransport(app),
    )
    assert report.live
    assert report.settle_polls == len(wait.polls) == report.requests["settle"]
    return report, wait


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variant", "says"),
    [
        (stop_never_ends, f"answered 202, and {SETTLE:g} s later the state is still 'STOPPING'"),
        (stop_undone, "once settled in state 'RUNNING', the read shows /targetStatus is 'RUNNING'"),
    ],
    ids=["never-ends", "undone"],
)
def test_a_live_run_catches_an_update_that_does_not_end_well(monkeypatch, variant, says):
    report, wait = live_run(monkeypatch, variant())
    found = [f.message for f in report.failures("update_visible")]
    assert any(says in message for message in found), report.summary()
    assert report.settled["deployment.modify"] == 3, report.summary()
    assert wait.polls, "found by polling, in fake time"
    # The control: without following updates, the live path cannot see it.
    unfollowed, idle = live_run(monkeypatch, variant(), settle_samples=0)
    assert "update_visible" not in unfollowed.failed_checks, unfollowed.summary()
    assert not unfollowed.settled
    assert unfollowed.not_settled[SAMPLES] >= 1
    assert idle.polls == []


@pytest.mark.slow
def test_a_stuck_update_is_polled_for_exactly_the_settle_time(monkeypatch):
    report, wait = live_run(monkeypatch, stop_never_ends(), settle_samples=2)
    assert report.settled == {"deployment.modify": 2, "deployment.create": 1}
    assert report.settle_polls == 2 * 10 + 5  # every 1.1 s for 11 s; the walk's create: 5 s
    assert sum(wait.polls) == pytest.approx(2 * SETTLE + 5.5)
    assert report.settle_seconds == pytest.approx(2 * SETTLE + 5.5)


@pytest.mark.slow
def test_the_samples_limit_bounds_the_updates_waited_for(monkeypatch):
    report, wait = live_run(monkeypatch, settle_samples=1)
    assert not report.findings, report.summary()
    assert report.settled == {"deployment.modify": 1, "deployment.create": 1}
    assert report.not_settled[SAMPLES] >= 1, report.summary()
    assert 0 < len(wait.polls) <= 2 * 10  # one update and the walk's create, 11 s at most each
    assert "async updates: 2 followed to the end (deployment.create 1, deployment.modify 1)" in (
        report.summary()
    )


@pytest.mark.slow
def test_the_wait_budget_bounds_the_time_spent_waiting(monkeypatch):
    # Every stuck update costs the whole settle time: 11 + 11 fit in 30 s, a third does not.
    report, wait = live_run(monkeypatch, stop_never_ends(), settle_samples=10, settle_budget=30)
    assert report.settled == {"deployment.modify": 2}, report.summary()
    assert report.not_settled[BUDGET] >= 1, report.summary()
    assert sum(wait.polls) == pytest.approx(22.0)
    assert report.settle_seconds <= 30


@pytest.mark.slow
def test_a_budget_shorter_than_the_settle_time_waits_for_nothing(monkeypatch):
    report, wait = live_run(monkeypatch, settle_budget=5)
    assert wait.polls == []
    assert not report.settled, report.summary()
    assert report.not_settled[BUDGET] >= 1
    assert "settle budget 5 s is less than the settle time 11 s" in report.summary()


def first_stop(app: Any, wait: FakeWait) -> tuple[int, int]:
    """The status of the first stop the mock saw (the walk's, with the spec's example body; the
    checks' probes come after it), and how many stops it accepted before the cleanup (which
    stops deployments on its own to delete them; no mark: nothing was left to clean up)."""
    before_cleanup = mock_of(app).journal.entries()[: wait.cleanup_mark]
    stops = [
        e.status
        for e in before_cleanup
        if e.operation_id == "deployment.modify" and e.body == {"targetStatus": "STOPPED"}
    ]
    assert stops, "the walk sent no stop"
    return stops[0], stops.count(202)


@pytest.mark.slow
def test_the_walk_waits_for_a_new_deployment_before_it_stops_it(monkeypatch):
    # Default delays but a slower schedule: a new deployment is UNKNOWN for 3 s (a stop is
    # refused, 412), then PENDING for 5 s (a stop is accepted). Only the walk runs.
    slow = {**sap.DELAYS, "schedule": 3.0}
    apps: list[Any] = []
    report, wait = live_run(monkeypatch, delays=slow, app_out=apps, phases=("walk",))
    assert report.ok, report.summary()
    # UNKNOWN 3 s + PENDING 5 s, polled every 1.1 s: RUNNING on the 8th poll; then the walk's
    # stop is accepted and followed: STOPPING 3 s, 3 polls.
    assert report.settled == {"deployment.create": 1, "deployment.modify": 1}, report.summary()
    assert wait.polls == pytest.approx([1.1] * (8 + 3))
    assert (
        "async updates: 2 followed to the end (deployment.create 1, deployment.modify 1), 0 not; "
        "11 polls in 12.1 s"
    ) in report.summary()
    assert first_stop(apps[0], wait) == (202, 1)  # the example stop, on a RUNNING deployment

    # The control: no waiting, as before. The stop meets an UNKNOWN deployment and is refused.
    apps = []
    control, idle = live_run(
        monkeypatch, delays=slow, app_out=apps, phases=("walk",), settle_samples=0
    )
    assert idle.polls == []
    assert not control.settled
    assert control.not_settled[SAMPLES] >= 1, control.summary()
    assert first_stop(apps[0], idle) == (412, 0)


# -- against a `deploymock serve` process ----------------------------------------------------
@pytest.fixture(scope="module")
def frozen_server() -> Iterator[str]:
    args = ("--provider", "sap_ai_core", "--delay", "schedule=0", "--no-access-log")
    with serving(*args) as (url, _proc, _lines):
        httpx.post(f"{url}/__admin/clock", json={"freeze": True}, headers=ADMIN).raise_for_status()
        yield url


@pytest.mark.slow
def test_a_live_run_follows_accepted_updates_to_their_end(frozen_server):
    clock = f"{frozen_server}/__admin/clock"
    wait = FakeWait(
        lambda s: httpx.post(
            clock, json={"advance": s, "tenant": TENANT}, headers=ADMIN
        ).raise_for_status()
    )
    report = run_contract(
        "sap_ai_core",
        url=f"{frozen_server}/sap_ai_core",
        token="t",
        tenant=TENANT,
        options=ContractOptions(**LIVE, progress=wait.progress),
        sleep=wait.sleep,
        clock=wait.clock,
    )
    assert report.ok, report.summary()
    followed = report.settled["deployment.modify"]
    assert 1 <= followed <= 3, report.summary()  # 3: the default samples per operation
    assert report.settled == {"deployment.modify": followed, "deployment.create": 1}
    assert report.settle_polls == len(wait.polls) == report.requests["settle"] > 0
    line = f"async updates: {followed + 1} followed to the end (deployment.create 1, "
    assert f"{line}deployment.modify {followed})" in report.summary()
    # the server's clock moved by exactly what the run waited, and by nothing else
    offset = httpx.get(clock, params={"tenant": TENANT}, headers=ADMIN).json()["offset"]
    assert offset == pytest.approx(sum(wait.polls) + sum(wait.cleanup))
