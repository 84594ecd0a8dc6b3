"""A bounded record of the requests the mock answered, newest last."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, NamedTuple


class Entry(NamedTuple):
    seq: int
    at: float
    provider: str
    tenant: str
    operation_id: str
    method: str
    path: str
    query: str
    status: int
    request_id: str
    body: Any = None

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


class Journal:
    def __init__(self, *, size: int = 10_000) -> None:
        self._entries: deque[Entry] = deque(maxlen=max(size, 0))
        self._lock = threading.Lock()
        self._seq = 0

    @property
    def size(self) -> int:
        return self._entries.maxlen or 0

    def record(
        self,
        at: float,
        provider: str,
        tenant: str,
        operation_id: str,
        method: str,
        path: str,
        query: str,
        status: int,
        request_id: str,
        body: Any = None,
    ) -> None:
        if self._entries.maxlen == 0:
            return
        with self._lock:
            self._seq += 1
            self._entries.append(
                Entry(
                    self._seq,
                    at,
                    provider,
                    tenant,
                    operation_id,
                    method,
                    path,
                    query,
                    status,
                    request_id,
                    body,
                )
            )

    def entries(
        self,
        *,
        provider: str | None = None,
        tenant: str | None = None,
        operation_id: str | None = None,
        limit: int | None = None,
    ) -> list[Entry]:
        with self._lock:
            found = [
                e
                for e in self._entries
                if provider in (None, e.provider)
                and tenant in (None, e.tenant)
                and operation_id in (None, e.operation_id)
            ]
        return found[-limit:] if limit else found

    def clear(self, *, provider: str | None = None, tenant: str | None = None) -> None:
        with self._lock:
            keep = [
                e
                for e in self._entries
                if not (provider in (None, e.provider) and tenant in (None, e.tenant))
            ]
            self._entries.clear()
            self._entries.extend(keep)
