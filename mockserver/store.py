"""State, owned by the app and namespaced by (provider, tenant).

Records are plain JSON-able dicts; keys starting with `_` are the mock's own bookkeeping and are
never sent to clients. Every request runs its handler under its tenant's lock, so one
read-modify-write is atomic with respect to the others in that tenant, and resetting a tenant
touches only that tenant's data.

A tenant store remembers which records were handed out or changed since its state was last
saved (`changes`, `saved`): handlers change records in place after `find`/`get`/`all`, so a
record that was only read may have changed (a lifecycle settled on read); the state file
checks exactly those and writes the ones that differ.
"""

from __future__ import annotations

import copy
import random
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mockserver.errors import NotFound

Record = dict[str, Any]
Key = tuple[str, str]


# A record that may differ from what was saved: (kind, id, record, moved). `record` None means
# deleted; `moved` means it was deleted since, so a record there now is new. New records come
# in the order they were made, which is the order `all` lists them in. (A plain tuple: a list
# hands out every record of its kind, and the next commit goes through all of them.)
Change = tuple[str, str, Record | None, bool]


class Ids:
    """Seeded id generator, so that runs are reproducible."""

    def __init__(self, seed: int | None = 0) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def hex(self, length: int = 16) -> str:
        with self._lock:
            return f"{self._rng.getrandbits(length * 4):0{length}x}"

    def uuid4(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))


class TenantStore:
    """One tenant's records of one provider: kind -> id -> record."""

    def __init__(self, provider: str, tenant: str, *, track: bool = True) -> None:
        self.provider = provider
        self.tenant = tenant
        # Whether to remember what changed, for a state file's commits; without one the sets
        # would only grow (a deleted id each delete).
        self.track = track
        self.kinds: dict[str, dict[str, Record]] = {}
        self.lock = threading.RLock()
        # Since `saved`: kind -> ids handed out or written, in the order new ones were made;
        # (kind, id) deleted; kinds whose every record `all` handed out.
        self._touched: dict[str, dict[str, None]] = {}
        self._deleted: set[Key] = set()
        self._listed: set[str] = set()

    def find(self, kind: str, rid: str) -> Record | None:
        found = self.kinds.get(kind, {}).get(rid)
        if found is not None and self.track:
            self._touched.setdefault(kind, {})[rid] = None
        return found

    def get(self, kind: str, rid: str) -> Record:
        found = self.find(kind, rid)
        if found is None:
            raise NotFound(f"{kind} {rid} not found", kind=kind)
        return found

    def put(self, kind: str, rid: str, record: Record) -> Record:
        records = self.kinds.setdefault(kind, {})
        if not self.track:
            records[rid] = record
            return record
        touched = self._touched.setdefault(kind, {})
        if rid not in records:
            touched.pop(rid, None)  # new here, so last: after all made before
        records[rid] = record
        touched[rid] = None
        return record

    def delete(self, kind: str, rid: str) -> Record:
        record = self.get(kind, rid)
        del self.kinds[kind][rid]
        if self.track:
            self._deleted.add((kind, rid))
        return record

    def all(self, kind: str) -> list[Record]:
        if self.track:
            self._listed.add(kind)
        return list(self.kinds.get(kind, {}).values())

    def changes(self) -> list[Change]:
        """Every record that may differ from what was last saved (see `saved`)."""
        out: list[Change] = []
        for kind, rids in self._touched.items():  # a deleted record was looked up: here too
            records = self.kinds.get(kind, {})
            out.extend((kind, r, records.get(r), (kind, r) in self._deleted) for r in rids)
        for kind in self._listed:
            rids = self._touched.get(kind, {})
            records = self.kinds.get(kind, {})
            out.extend((kind, r, rec, False) for r, rec in records.items() if r not in rids)
        return out

    def saved(self) -> None:
        """What `changes` returned is in the state file: start counting afresh."""
        self._touched.clear()
        self._deleted.clear()
        self._listed.clear()

    def restore(self, kinds: dict[str, dict[str, Record]]) -> None:
        """Take records as saved (loading a state file): nothing is changed yet."""
        self.kinds = kinds
        self.saved()

    def dump(self) -> dict[str, dict[str, Record]]:
        return copy.deepcopy(self.kinds)


class Store:
    def __init__(self, *, seed: int | None = 0, track: bool = True) -> None:
        """`track`: tenants remember what changed since their last commit (a state file)."""
        self.ids = Ids(seed)
        self.track = track
        self._tenants: dict[Key, TenantStore] = {}
        self._lock = threading.Lock()

    def tenant(self, provider: str, tenant: str) -> TenantStore:
        key = (provider, tenant)
        found = self._tenants.get(key)
        if found is None:
            with self._lock:
                found = self._tenants.setdefault(
                    key, TenantStore(provider, tenant, track=self.track)
                )
        return found

    @contextmanager
    def locked(self, provider: str, tenant: str) -> Iterator[TenantStore]:
        ts = self.tenant(provider, tenant)
        with ts.lock:
            yield ts

    def keys(self, provider: str | None = None, tenant: str | None = None) -> list[Key]:
        with self._lock:
            return [k for k in self._tenants if provider in (None, k[0]) and tenant in (None, k[1])]

    def reset(self, provider: str | None = None, tenant: str | None = None) -> int:
        """Forget the matching tenants; returns how many were dropped. Others are untouched."""
        dropped = 0
        for key in self.keys(provider, tenant):
            with self._lock:
                ts = self._tenants.pop(key, None)
            if ts is not None:
                dropped += 1
        return dropped

    def dump(self, provider: str | None = None, tenant: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p, t in self.keys(provider, tenant):
            ts = self.tenant(p, t)
            with ts.lock:
                records = ts.dump()
            if any(records.values()):  # a tenant that was only looked at holds nothing
                out.setdefault(p, {})[t] = records
        return out
