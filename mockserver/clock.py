"""Virtual time. Every state machine reads time from a `Clock`, never from the wall.

`VirtualClock` follows the wall clock (plus an offset) until frozen; tests freeze it and move it
with `advance()`. `TenantClock` adds a per-tenant offset on top of a shared clock, so one test (or
one client of a shared `serve` process) can move its own resources through time without moving
anybody else's.
"""

from __future__ import annotations

import functools
import threading
import time
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

# 2026-01-01T00:00:00Z: where a frozen clock starts unless told otherwise.
DEFAULT_EPOCH = 1767225600.0


@runtime_checkable
class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class VirtualClock:
    """A clock that can be frozen, advanced and set. Thread-safe."""

    def __init__(self, *, frozen_at: float | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at = frozen_at

    @classmethod
    def fake(cls, start: float = DEFAULT_EPOCH) -> VirtualClock:
        """A frozen clock: time moves only when `advance()` is called."""
        return cls(frozen_at=start)

    def now(self) -> float:
        frozen = self._frozen_at
        return frozen if frozen is not None else time.time() + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds
            return self.now()

    def freeze(self) -> float:
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = time.time() + self._offset
            return self._frozen_at

    def state(self) -> dict[str, float | None]:
        return {"offset": self._offset, "frozen_at": self._frozen_at}

    def restore(self, state: dict[str, float | None]) -> None:
        with self._lock:
            self._offset = float(state.get("offset") or 0.0)
            self._frozen_at = state.get("frozen_at")

    def unfreeze(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
                self._frozen_at = None
            return self.now()


class TenantClock:
    """A view of a shared clock with its own forward offset."""

    def __init__(self, base: Clock) -> None:
        self.base = base
        self.offset = 0.0

    def now(self) -> float:
        return self.base.now() + self.offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.offset += seconds
        return self.now()


def iso(ts: float, *, millis: bool = False) -> str:
    """RFC 3339 UTC timestamp with a `Z` suffix, whole seconds unless `millis`."""
    whole = _iso_seconds(int(ts // 1))
    if millis:
        return f"{whole[:-1]}.{int(ts % 1 * 1000):03d}Z"
    return whole


@functools.lru_cache(maxsize=4096)
def _iso_seconds(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
