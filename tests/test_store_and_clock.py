from __future__ import annotations

import threading

import pytest

from mockserver.clock import TenantClock, VirtualClock, iso
from mockserver.errors import NotFound
from mockserver.store import Ids, Store


def test_reset_of_one_tenant_leaves_the_others() -> None:
    store = Store()
    for provider, tenant in [("p", "a"), ("p", "b"), ("q", "a")]:
        store.tenant(provider, tenant).put("thing", "1", {"id": "1"})
    assert store.reset("p", "a") == 1
    assert store.keys() == [("p", "b"), ("q", "a")]
    assert store.tenant("p", "b").get("thing", "1") == {"id": "1"}
    assert store.reset(tenant="a") == 1 and store.keys() == [("p", "b")]
    with pytest.raises(NotFound):
        store.tenant("p", "a").get("thing", "1")


def test_dump_is_a_copy() -> None:
    store = Store()
    store.tenant("p", "a").put("thing", "1", {"id": "1"})
    dumped = store.dump()
    dumped["p"]["a"]["thing"]["1"]["id"] = "changed"
    assert store.tenant("p", "a").get("thing", "1")["id"] == "1"


def test_ids_are_seeded() -> None:
    assert [Ids(7).hex() for _ in range(2)] == [Ids(7).hex()] * 2
    assert Ids(7).uuid4() != Ids(8).uuid4()
    assert Ids(1).uuid4()[14] == "4"


def test_tenant_lock_serialises_read_modify_write() -> None:
    store = Store()
    store.tenant("p", "a").put("counter", "c", {"n": 0})

    def bump() -> None:
        for _ in range(1000):
            with store.locked("p", "a") as ts:
                ts.get("counter", "c")["n"] += 1

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.tenant("p", "a").get("counter", "c")["n"] == 4000


def test_fake_clock_moves_only_when_told() -> None:
    clock = VirtualClock.fake(1000.0)
    assert clock.now() == 1000.0 and clock.frozen
    assert clock.advance(2.5) == 1002.5
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


def test_tenant_clock_is_an_offset_on_the_shared_clock() -> None:
    base = VirtualClock.fake(0.0)
    mine, yours = TenantClock(base), TenantClock(base)
    mine.advance(60)
    base.advance(1)
    assert (mine.now(), yours.now()) == (61.0, 1.0)


def test_unfrozen_clock_keeps_its_offset() -> None:
    clock = VirtualClock()
    clock.advance(3600)
    frozen_at = clock.freeze()
    assert clock.now() == frozen_at
    clock.unfreeze()
    assert clock.now() >= frozen_at and not clock.frozen


def test_iso_formats() -> None:
    assert iso(0) == "1970-01-01T00:00:00Z"
    assert iso(1.5, millis=True) == "1970-01-01T00:00:01.500Z"


def test_without_a_state_file_nothing_is_tracked_so_nothing_grows() -> None:
    store = Store(track=False)
    ts = store.tenant("p", "t")
    for i in range(100):
        ts.put("thing", str(i), {"n": i})
        ts.find("thing", str(i))
        ts.delete("thing", str(i))
    ts.all("thing")
    assert ts.changes() == [] and ts.kinds == {"thing": {}}
    tracked = Store().tenant("p", "t")
    tracked.put("thing", "a", {"n": 1})
    tracked.delete("thing", "a")
    assert tracked.changes() == [("thing", "a", None, True)]
