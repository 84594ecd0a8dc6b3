"""The gate every contract request goes through: budget, pacing, 429s, live-server safety.

A fake forwarder stands in for the server, a fake sleep and clock for time: nothing waits.
"""

from __future__ import annotations

import json
import threading

import pytest

from mockserver.contract.gate import (
    BLOCKED,
    AsgiForwarder,
    Gate,
    RateLimit,
    Req,
    Resp,
    retry_after,
)
from mockserver.contract.runner import profile_for, provider_named

SAP = "/v2/lm/deployments"


class FakeServer:
    """Answers from a script (a list of responses) or 404, and remembers every request."""

    def __init__(self, *script: Resp) -> None:
        self.script = list(script)
        self.seen: list[Req] = []

    def __call__(self, req: Req) -> Resp:
        self.seen.append(req)
        return self.script.pop(0) if self.script else Resp(404, {}, b"{}")


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module")
def sap():
    return profile_for(provider_named("sap_ai_core"))


def gate(sap, server, **kwargs):
    time = kwargs.pop("time", FakeTime())
    return Gate(server, profile=sap, sleep=time.sleep, wall=time.clock, **kwargs)


def created(did: str) -> Resp:
    return Resp(202, {"content-type": "application/json"}, json.dumps({"id": did}).encode())


def test_429_waits_retry_after_then_retries(sap):
    server = FakeServer(Resp(429, {"retry-after": "7"}), Resp(429, {"retry-after": "2"}), Resp(200))
    time = FakeTime()
    g = gate(sap, server, safe=False, time=time)
    assert g.send(Req("GET", SAP)).status == 200
    assert time.slept == [7.0, 2.0]
    assert len(server.seen) == 3
    assert g.stats.rate_limited == 2
    assert g.stats.waited == 9.0


def test_429_gives_up_after_the_retries_or_a_too_long_wait(sap):
    time = FakeTime()
    server = FakeServer(*[Resp(429, {"retry-after": "1"})] * 5)
    assert gate(sap, server, safe=False, time=time, retries=2).send(Req("GET", SAP)).status == 429
    assert time.slept == [1.0, 1.0]
    long_wait = FakeServer(Resp(429, {"retry-after": "3600"}), Resp(200))
    assert gate(sap, long_wait, safe=False, max_wait=60).send(Req("GET", SAP)).status == 429
    assert len(long_wait.seen) == 1


def test_429_without_retry_after_backs_off(sap):
    time = FakeTime()
    server = FakeServer(Resp(429), Resp(429), Resp(200))
    assert gate(sap, server, safe=False, time=time).send(Req("GET", SAP)).status == 200
    assert time.slept == [1.0, 2.0]


def test_retry_after_as_an_http_date():
    assert retry_after("Wed, 21 Oct 2015 07:28:30 GMT", 1445412500.0) == pytest.approx(10.0)
    assert retry_after("soon", 0.0) is None
    assert retry_after(None, 0.0) is None


def test_rate_limit_spaces_requests_evenly():
    time = FakeTime()
    limit = RateLimit("4/s", clock=time.clock, sleep=time.sleep)
    for _ in range(5):
        limit.wait()
    assert time.slept == [0.25] * 4
    assert RateLimit("30/2m").interval == 4.0
    with pytest.raises(ValueError, match="N/s"):
        RateLimit("fast")


def test_budget_stops_sending_and_says_so(sap):
    server = FakeServer(Resp(200), Resp(200), Resp(200))
    g = gate(sap, server, safe=False, budget=2)
    assert [g.send(Req("GET", SAP)).status for _ in range(3)] == [200, 200, 403]
    assert g.exhausted
    assert len(server.seen) == 2
    assert g.stats.blocked["request budget exhausted"] == 1
    g.send(Req("DELETE", f"{SAP}/abcd1234"), kind="cleanup")  # the cleanup is not budgeted
    assert len(server.seen) == 3


def test_polls_for_an_update_to_settle_count_against_the_budget(sap):
    server = FakeServer(Resp(200), Resp(200), Resp(200))
    g = gate(sap, server, safe=False, budget=2)
    assert g.send(Req("GET", SAP), kind="engine").status == 200
    assert g.send(Req("GET", SAP), kind="settle").status == 200
    assert g.send(Req("GET", SAP), kind="settle").headers[BLOCKED] == "request budget exhausted"
    assert g.stats.sent == {"engine": 1, "settle": 1}


def test_safe_mode_never_changes_what_the_run_did_not_create(sap):
    # a read answers 200: someone else's deployment; the PATCH and DELETE are not sent
    server = FakeServer(Resp(200), Resp(200))
    g = gate(sap, server, safe=True)
    for method in ("PATCH", "DELETE"):
        answer = g.send(Req(method, f"{SAP}/theirs0001", headers={"ai-resource-group": "g"}))
        assert answer.status == 403
        assert answer.headers[BLOCKED] == "resource not created by this run"
    assert [r.method for r in server.seen] == ["GET", "GET"]


def test_safe_mode_lets_a_change_of_an_unknown_id_through(sap):
    server = FakeServer(Resp(404), Resp(404))  # the read: nobody has it; then the PATCH itself
    g = gate(sap, server, safe=True)
    assert g.send(Req("PATCH", f"{SAP}/nobody0001")).status == 404
    assert [r.method for r in server.seen] == ["GET", "PATCH"]


def test_safe_mode_changes_what_the_run_created_and_refuses_bulk_changes(sap):
    server = FakeServer(created("mine000001"), Resp(202), Resp(202))
    g = gate(sap, server, safe=True)
    g.send(Req("POST", SAP, headers={"ai-resource-group": "g"}))
    assert g.send(Req("PATCH", f"{SAP}/mine000001")).status == 202
    assert g.send(Req("DELETE", f"{SAP}/mine000001")).status == 202
    assert g.send(Req("PATCH", SAP)).headers[BLOCKED] == "bulk change (no id in the path)"
    assert [r.method for r in server.seen] == ["POST", "PATCH", "DELETE"]


def test_read_only_sends_only_reads(sap):
    server = FakeServer(Resp(200))
    g = gate(sap, server, safe=True, read_only=True)
    assert g.send(Req("POST", SAP)).headers[BLOCKED] == "read-only run"
    assert g.send(Req("GET", SAP)).status == 200
    assert len(server.seen) == 1


def test_the_ledger_records_creates_from_links_and_closes_deletes(sap):
    server = FakeServer(created("mine000001"), Resp(202))
    g = gate(sap, server, safe=False)
    g.send(Req("POST", SAP, headers={"ai-resource-group": "g1"}))
    [entry] = g.ledger.open()
    assert entry.where == f"{SAP}/mine000001"
    assert entry.delete is not None
    assert entry.delete.method == "DELETE"
    assert entry.delete.headers == {"ai-resource-group": "g1"}  # the link carries the tenant
    g.send(Req("DELETE", f"{SAP}/mine000001"))
    assert g.ledger.open() == []
    assert entry.state == "deleted"


def test_cleanup_prepares_a_refused_delete_with_the_hinted_update(sap):
    # SAP's own cleanup hint: stop the deployment, then delete it.
    assert "deployment.delete" in sap.hints.cleanup
    server = FakeServer(created("mine000001"), Resp(412), Resp(202), Resp(412), Resp(202))
    g = gate(sap, server, safe=True)
    g.send(Req("POST", SAP))
    waited: list[float] = []
    g.ledger.cleanup(g, headers={"authorization": "Bearer t"}, wait=waited.append)
    assert [(r.method, r.body) for r in server.seen[1:]] == [
        ("DELETE", b""),
        ("PATCH", b'{"targetStatus": "STOPPED"}'),
        ("DELETE", b""),
        ("DELETE", b""),
    ]
    assert waited == [sap.settle, sap.settle]
    assert g.ledger.entries[0].state == "deleted"
    assert server.seen[-1].headers["authorization"] == "Bearer t"


REFUSED = Resp(412, {}, b'{"error": "RUNNING"}')


def test_cleanup_reports_what_it_could_not_delete(sap):
    # The server refuses the delete and the stop the hint sends first, every time; a fake
    # server that answered 404 after its script would say the deployment was gone.
    server = FakeServer(created("mine000001"), *[REFUSED] * 7)
    g = gate(sap, server, safe=True)
    g.send(Req("POST", SAP))
    waited: list[float] = []
    g.ledger.cleanup(g, headers={}, wait=waited.append)
    [entry] = g.ledger.entries
    assert entry.state == "left"
    assert "412" in entry.note
    assert [r.method for r in server.seen[1:]] == ["DELETE", "PATCH", *["DELETE"] * 5]
    assert waited == [sap.settle] * 5


@pytest.mark.parametrize("status", [401, 403, 400])
def test_a_delete_refused_for_another_reason_than_state_is_not_prepared(sap, status):
    # The cleanup hint mends a state that refuses a delete (SAP: 412); a stop would not mend
    # bad credentials, so the run reports the refusal at once instead of waiting five times.
    server = FakeServer(created("mine000001"), Resp(status, {}, b'{"error": "no"}'))
    g = gate(sap, server, safe=True)
    g.send(Req("POST", SAP))
    g.ledger.cleanup(g, headers={}, wait=lambda s: pytest.fail("nothing to wait for"))
    [entry] = g.ledger.entries
    assert entry.state == "left"
    assert str(status) in entry.note
    assert [r.method for r in server.seen[1:]] == ["DELETE"]


def test_without_a_cleanup_hint_a_refused_delete_is_reported_at_once():
    bare = profile_for(provider_named("sap_ai_core"), {"cleanup": {}})
    server = FakeServer(created("mine000001"), REFUSED)
    g = gate(bare, server, safe=True)
    g.send(Req("POST", SAP))
    g.ledger.cleanup(g, headers={}, wait=lambda s: pytest.fail("nothing to wait for"))
    [entry] = g.ledger.entries
    assert entry.state == "left"
    assert "412" in entry.note
    assert [r.method for r in server.seen[1:]] == ["DELETE"]


def test_the_asgi_forwarder_calls_the_app_under_its_prefix_on_the_calling_thread():
    seen = []

    async def app(scope, receive, send):
        headers = dict(scope["headers"])
        seen.append((scope["path"], scope["raw_path"], scope["query_string"], headers))
        seen.append(threading.current_thread())
        body = (await receive())["body"]
        await send({"type": "http.response.start", "status": 201, "headers": [(b"X-Id", b"7")]})
        await send({"type": "http.response.body", "body": body[::-1]})

    forward = AsgiForwarder(app, prefix="/sap_ai_core")
    answer = forward(Req("POST", f"{SAP}/a%2Fb", "x=1", {"authorization": "t"}, b"abc"))
    assert answer == Resp(201, {"x-id": "7"}, b"cba")
    assert seen == [
        (
            f"/sap_ai_core{SAP}/a/b",
            f"/sap_ai_core{SAP}/a%2Fb".encode(),
            b"x=1",
            {b"host": b"deploymock", b"authorization": b"t"},
        ),
        threading.current_thread(),  # no portal thread of its own
    ]
