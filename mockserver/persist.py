"""Durable state for a standalone mock: SQLite (stdlib `sqlite3`) in WAL mode.

One row per (provider, tenant) holds that tenant's records and queued outcomes as JSON; a
meta table holds the clocks. A request that changes state writes its tenant's row before its
answer is sent, so everything a client saw acknowledged survives `kill -9`. What a read derives
from time (a deployment that became RUNNING) is not written: it is computed again on the next
read from the stored records and the restored clock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (
    provider TEXT NOT NULL, tenant TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (provider, tenant));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SqliteState:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def save_tenant(self, provider: str, tenant: str, data: dict[str, Any]) -> None:
        text = json.dumps(data, separators=(",", ":"))
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO tenants (provider, tenant, data) VALUES (?, ?, ?)",
                (provider, tenant, text),
            )

    def drop(self, provider: str | None = None, tenant: str | None = None) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM tenants"
                " WHERE (?1 IS NULL OR provider = ?1) AND (?2 IS NULL OR tenant = ?2)",
                (provider, tenant),
            )

    def save_meta(self, key: str, value: Any) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value))
            )

    def tenants(self) -> list[tuple[str, str, dict[str, Any]]]:
        with self._lock:
            rows = self._db.execute("SELECT provider, tenant, data FROM tenants").fetchall()
        return [(p, t, json.loads(d)) for p, t, d in rows]

    def meta(self) -> dict[str, Any]:
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM meta").fetchall()
        return {k: json.loads(v) for k, v in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()
