"""The journal: bounded in entries and in bytes; large bodies kept as a truncated marker."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from mockserver.app import create_app
from mockserver.journal import HEAD_CHARS, Journal
from pytest_plugin.transport import InProcessTransport

KIB = 1024


def record(journal: Journal, body: Any = None, *, tenant: str = "t", **kw: Any) -> None:
    journal.record(0.0, "p", tenant, "op", "PUT", "/x", "", 200, "0" * 32, body, **kw)


def bodies(journal: Journal) -> list[Any]:
    return [e.body for e in journal.entries()]


def compact(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def test_the_entry_limit_still_holds() -> None:
    journal = Journal(size=3)
    for _ in range(10):
        record(journal, {"n": 1})
    assert [e.seq for e in journal.entries()] == [8, 9, 10]


def test_the_oldest_entries_go_when_the_bytes_run_out() -> None:
    journal = Journal(max_bytes=40 * KIB)
    for n in range(10):
        record(journal, {"n": n, "text": "x" * (8 * KIB)})  # a little over 8 KiB each, kept
    assert [b["n"] for b in bodies(journal)] == [6, 7, 8, 9]
    assert not any(e.truncated for e in journal.entries())
    assert 32 * KIB < journal.used_bytes <= 40 * KIB


def test_small_entries_fill_the_entry_limit_within_the_default_budget() -> None:
    journal = Journal()
    for n in range(10_000):
        record(journal, {"status": "COMPLETE", "output_values": {"n": n}})
    assert len(journal.entries()) == 10_000
    assert journal.used_bytes < journal.max_bytes


def test_the_newest_entry_is_kept_even_alone_over_budget() -> None:
    journal = Journal(max_bytes=1)
    record(journal, {"n": 1})
    record(journal, {"n": 2})
    assert bodies(journal) == [{"n": 2}]


def test_zero_entries_or_zero_bytes_keep_nothing() -> None:
    for journal in (Journal(size=0), Journal(max_bytes=0)):
        record(journal, {"n": 1})
        assert journal.entries() == [] and journal.used_bytes == 0


def test_a_body_over_the_limit_is_kept_as_a_marker() -> None:
    journal = Journal()
    body = {"name": "big", "config": "#!/bin/sh\n" + "x" * (100 * KIB)}
    record(journal, body)
    [entry] = journal.entries()
    assert entry.truncated
    assert entry.body == {
        "_truncated": True,
        "bytes": len(compact(body).encode()),
        "head": compact(body)[:HEAD_CHARS],
    }
    assert entry.body["head"].startswith('{"name":"big","config":"#!/bin/sh\\nxxx')


def test_the_size_as_received_decides_and_is_reported() -> None:
    journal = Journal(max_body_bytes=16 * KIB)
    record(journal, {"a": 1}, body_size=16 * KIB)
    record(journal, {"a": 1}, body_size=16 * KIB + 1)
    kept, marker = journal.entries()
    assert kept.body == {"a": 1} and not kept.truncated
    assert marker.body == {"_truncated": True, "bytes": 16 * KIB + 1, "head": '{"a":1}'}


def test_without_the_size_an_estimate_of_the_json_decides() -> None:
    journal = Journal(max_body_bytes=1000)
    record(journal, "x" * 900)
    record(journal, "x" * 1100)
    record(journal, list(range(500)))  # 1 891 bytes of JSON
    assert [e.truncated for e in journal.entries()] == [False, True, True]


def test_truncated_entries_cost_little() -> None:
    journal = Journal()
    for _ in range(1000):
        record(journal, {"output_values": {"deploy_stdout": "x" * 900_000}}, body_size=900_020)
    assert len(journal.entries()) == 1000
    assert journal.used_bytes < 1000 * 2 * HEAD_CHARS


@pytest.mark.parametrize(
    "body",
    [
        {"é中": ["naïve", "tab\there", 'quote"', 1.5, -7, True, False, None, {}, []]},
        [{"id": n, "tags": ["a", "b"]} for n in range(2000)],
        {str(n): n for n in range(2000)},
        "y" * 5000,
        12345678901234567890,
        json.loads("[" * 400 + "]" * 400),  # deeper than orjson writes
    ],
    ids=["mixed", "many-objects", "many-members", "string", "number", "deep"],
)
def test_the_head_is_the_start_of_the_compact_json(body: Any) -> None:
    journal = Journal(max_body_bytes=0)
    record(journal, body)
    [entry] = journal.entries()
    assert entry.body["head"] == compact(body)[:HEAD_CHARS]
    assert entry.body["bytes"] >= len(entry.body["head"])
    json.loads(json.dumps(entry.as_dict()))


def test_entries_stay_json_serialisable() -> None:
    journal = Journal(max_body_bytes=64)
    record(journal, {"ok": "é"})
    record(journal, {"big": "z" * 100})
    record(journal)
    out = json.loads(json.dumps([e.as_dict() for e in journal.entries()]))
    assert [e["body"] for e in out][0::2] == [{"ok": "é"}, None]
    assert out[1]["body"]["_truncated"] is True


def test_clearing_gives_the_bytes_back() -> None:
    journal = Journal()
    record(journal, {"n": "x" * 1000}, tenant="a")
    record(journal, {"n": "x" * 1000}, tenant="b")
    both = journal.used_bytes
    journal.clear(tenant="a")
    assert [e.tenant for e in journal.entries()] == ["b"] and journal.used_bytes == both // 2
    journal.clear()
    assert journal.entries() == [] and journal.used_bytes == 0


def test_the_admin_api_shows_the_marker_of_a_refused_large_put() -> None:
    app = create_app(providers=["openstack_heat"])
    transport = InProcessTransport(app)
    body = {"status": "COMPLETE", "output_values": {"deploy_stdout": "x" * (200 * KIB)}}
    with httpx.Client(transport=transport, base_url="http://mock") as http:
        url = "/openstack_heat/v1/p1/software_deployments/nope"
        assert http.put(url, json=body, headers={"X-Auth-Token": "t"}).status_code == 404
        [entry] = http.get("/__admin/requests").json()["requests"]
    transport.close()
    assert entry["status"] == 404 and entry["tenant"] == "p1"
    assert entry["body"]["_truncated"] is True and entry["body"]["bytes"] > 200 * KIB
    assert entry["body"]["head"].startswith('{"status":"COMPLETE","output_values":')


@pytest.mark.mockserver(provider="openstack_heat")
def test_the_fixture_handle_sees_the_marker(mockserver: Any) -> None:
    api = mockserver.client()
    big = {"name": "big", "config": "x" * (50 * KIB)}
    assert api.post(f"/v1/{mockserver.tenant}/software_configs", json=big).status_code == 200
    [call] = mockserver.assert_called("createSoftwareConfig", status=200, times=1)
    assert call.truncated and '"name":"big"' in call.body["head"]
    assert mockserver.state()["software_config"]  # the store keeps the config whole
