"""Durable state for a standalone mock: SQLite (stdlib `sqlite3`) in WAL mode.

One row per record (provider, tenant, kind, id) as JSON, one row per tenant for its queued
outcomes, and a meta table for the clocks and options. A request that changes state writes, in
one transaction, the rows of the records it (or a read since the last write) handed out or
changed, and only those whose JSON differs from what the file holds, before its answer is
sent: a write costs what changed, not the tenant's size. Rows keep their rowid when rewritten,
so loading in rowid order gives back each kind's records in creation order.

Durability: WAL with `synchronous=NORMAL`. A commit is in the WAL file (the operating system's
cache) when it returns, so everything a client saw acknowledged survives `kill -9` of the
process; only a power loss or a crash of the machine may take back the last commits (`FULL`
would add an fsync to every write). What a read derives from time (a deployment that became
RUNNING) need not be written: it is computed again from the stored records and clock.

One process at a time: `<file>.lock` is held with `flock` for as long as the state is open (the
system lets go when the process ends, however it ends). Another process is refused; the same
process may open the file again (tests restart an app in process). A file that is not ours (not
SQLite, another application's database, an older deploymock's format) is refused, not changed.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from mockserver.errors import ConfigError
from mockserver.store import Change, Record

APPLICATION_ID = 0x64706D6B  # "dpmk" in the SQLite header: this file is deploymock's
FORMAT = 2  # PRAGMA user_version; 0 was one JSON row per tenant (table `tenants`)
SCHEMA = f"""
CREATE TABLE records (
    provider TEXT NOT NULL, tenant TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (provider, tenant, kind, id));
CREATE TABLE outcomes (
    provider TEXT NOT NULL, tenant TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (provider, tenant));
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {FORMAT};
"""
UPSERT = (
    "INSERT INTO records (provider, tenant, kind, id, data) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT DO UPDATE SET data = excluded.data"  # keeps the rowid: creation order
)
DELETE = "DELETE FROM records WHERE provider = ? AND tenant = ? AND kind = ? AND id = ?"
WHERE = "WHERE (?1 IS NULL OR provider = ?1) AND (?2 IS NULL OR tenant = ?2)"

Owner = tuple[str, str]  # (provider, tenant)
Statement = tuple[str, tuple[Any, ...]]


class Saved(NamedTuple):
    """One tenant as the file holds it."""

    provider: str
    tenant: str
    kinds: dict[str, dict[str, Record]]
    outcomes: dict[str, list[str]]


class SqliteState:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.rows_written = 0  # records and outcome rows written or deleted (tests count them)
        self._lock = threading.Lock()
        self._closed = False
        self._file_lock = _hold(self.path)
        # What the file holds, as far as this process wrote or read it: a digest of each
        # record's JSON, each tenant's outcomes' JSON. A record whose JSON is unchanged is
        # not written again. The digest is Python's string hash (SipHash, keyed afresh by
        # each process and only compared within it): the odds that a changed record is taken
        # for unchanged are 2**-64 a record.
        self._digests: dict[Owner, dict[str, dict[str, int]]] = {}  # owner -> kind -> id
        self._outcomes: dict[Owner, str] = {}
        try:
            self._db = sqlite3.connect(
                str(self.path), check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as err:
            _release(self._file_lock)
            raise ConfigError(f"cannot use state file {self.path}: {err}") from err
        try:
            fresh = self._check()  # before anything changes the file
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            if fresh:
                self._transaction([(s, ()) for s in SCHEMA.split(";") if s.strip()])
        except (sqlite3.Error, ConfigError) as err:
            self._db.close()
            _release(self._file_lock)
            if isinstance(err, ConfigError):
                raise
            raise ConfigError(f"cannot use state file {self.path}: {err}") from err

    def _check(self) -> bool:
        """Whether the file is new (empty); a ConfigError unless it is a state file of ours."""
        try:
            app_id, version = (
                self._db.execute(f"PRAGMA {p}").fetchone()[0]
                for p in ("application_id", "user_version")
            )
            tables = {
                r[0]
                for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        except sqlite3.DatabaseError as err:
            raise ConfigError(
                f"state file {self.path} is not a SQLite database ({err}), so not deploymock's"
            ) from err
        if app_id == APPLICATION_ID and version == FORMAT:
            return False
        if app_id == APPLICATION_ID:
            raise ConfigError(
                f"state file {self.path} is in format {version} of another deploymock version; "
                f"this one reads format {FORMAT}"
            )
        if not tables and app_id == 0:
            return True
        if tables == {"tenants", "meta"}:
            raise ConfigError(
                f"state file {self.path} is in an older deploymock's format (one row per "
                "tenant), which this version does not read; move it away to start afresh"
            )
        raise ConfigError(
            f"state file {self.path} is a SQLite database but not deploymock's "
            f"(tables: {', '.join(sorted(tables)) or 'none'})"
        )

    def save(
        self,
        provider: str,
        tenant: str,
        changes: Iterable[Change],
        outcomes: Mapping[str, list[str]],
    ) -> int:
        """Write the records that differ from the file and the tenant's outcomes, in one
        transaction; returns how many rows that wrote or deleted."""
        owner = (provider, tenant)
        with self._lock:
            digests = self._digests.setdefault(owner, {})
            statements: list[Statement] = []
            now: dict[tuple[str, str], int | None] = {}  # what the file holds after
            for kind, rid, record, moved in changes:
                if record is None or moved:  # moved: deleted, then made again (so it is last)
                    statements.append((DELETE, (provider, tenant, kind, rid)))
                    now[kind, rid] = None
                if record is not None:
                    text = _dumps(record)
                    digest = hash(text)
                    if moved or digests.get(kind, {}).get(rid) != digest:
                        statements.append((UPSERT, (provider, tenant, kind, rid, text)))
                        now[kind, rid] = digest
            queued = _dumps(dict(outcomes))
            if queued != self._outcomes.get(owner, "{}"):
                statements.append(_outcomes_row(owner, queued))
            self._transaction(statements)
            self.rows_written += len(statements)
            self._outcomes[owner] = queued
            for (kind, rid), held in now.items():
                if held is None:
                    digests.get(kind, {}).pop(rid, None)
                else:
                    digests.setdefault(kind, {})[rid] = held
            return len(statements)

    def _transaction(self, statements: list[Statement]) -> None:
        if not statements:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in statements:
                self._db.execute(sql, params)
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def drop(self, provider: str | None = None, tenant: str | None = None) -> None:
        with self._lock:
            self._transaction(
                [(f"DELETE FROM {t} {WHERE}", (provider, tenant)) for t in ("records", "outcomes")]
            )
            for cache in (self._digests, self._outcomes):
                for owner in [o for o in cache if provider in (None, o[0])]:
                    if tenant in (None, owner[1]):
                        del cache[owner]

    def save_meta(self, key: str, value: Any) -> None:
        self.save_metas({key: value})

    def save_metas(self, values: Mapping[str, Any]) -> None:
        """Several meta values in one transaction."""
        sql = "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"
        with self._lock:
            self._transaction([(sql, (k, json.dumps(v))) for k, v in values.items()])

    def tenants(self) -> list[Saved]:
        """Every tenant the file holds, records in creation order."""
        with self._reading():
            return self._tenants()

    def _tenants(self) -> list[Saved]:
        found: dict[Owner, Saved] = {}

        def of(owner: Owner) -> Saved:
            return found.get(owner) or found.setdefault(owner, Saved(*owner, {}, {}))

        with self._lock:
            rows = self._db.execute(
                "SELECT provider, tenant, kind, id, data FROM records ORDER BY rowid"
            )
            for provider, tenant, kind, rid, data in rows:
                of((provider, tenant)).kinds.setdefault(kind, {})[rid] = json.loads(data)
                digests = self._digests.setdefault((provider, tenant), {})
                digests.setdefault(kind, {})[rid] = hash(data)
            rows = self._db.execute("SELECT provider, tenant, data FROM outcomes")
            for provider, tenant, data in rows:
                of((provider, tenant)).outcomes.update(json.loads(data))
                self._outcomes[provider, tenant] = data
        return list(found.values())

    def meta(self) -> dict[str, Any]:
        with self._reading(), self._lock:
            rows = self._db.execute("SELECT key, value FROM meta").fetchall()
            return {k: json.loads(v) for k, v in rows}

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Loading: a file that cannot be read is a ConfigError (the mock cannot start)."""
        try:
            yield
        except (sqlite3.Error, ValueError) as err:
            raise ConfigError(f"cannot read state file {self.path}: {err}") from err

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()
                _release(self._file_lock)


def _outcomes_row(owner: Owner, text: str) -> Statement:
    if text == "{}":
        return "DELETE FROM outcomes WHERE provider = ? AND tenant = ?", owner
    return "INSERT OR REPLACE INTO outcomes (provider, tenant, data) VALUES (?, ?, ?)", (
        *owner,
        text,
    )


_dumps = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode  # records: trees


# -- one process per file ------------------------------------------------------------------------
# A flock belongs to an open file, so a second open in this process would be refused by the
# first; the process's own locks are kept here, by the lock file's identity, with a count of
# the states using each. Module-level because the lock is the process's, not an app's.
_held: dict[tuple[int, int], list[int]] = {}  # (st_dev, st_ino) -> [fd, users]
_held_lock = threading.Lock()


def _hold(path: Path) -> tuple[int, int]:
    """Lock `<path>.lock` for this process; a ConfigError naming the holder if another has it."""
    if path.is_dir():
        raise ConfigError(f"state file {path} is a directory")
    if not path.parent.is_dir():
        raise ConfigError(f"state file {path}: directory {path.parent} does not exist")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise ConfigError(f"state file {path} is not readable and writable by this user")
    name = f"{os.path.realpath(path)}.lock"  # next to the file a symlink names
    try:
        fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as err:
        raise ConfigError(f"cannot use state file {path}: {name}: {err.strerror}") from err
    stat = os.fstat(fd)
    key = (stat.st_dev, stat.st_ino)
    with _held_lock:
        if key in _held:
            os.close(fd)  # our lock is on the other open file; closing this one keeps it
            _held[key][1] += 1
            return key
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            holder = os.pread(fd, 20, 0).decode("ascii", "replace").strip()
            os.close(fd)
            if not isinstance(err, BlockingIOError):
                raise ConfigError(f"cannot lock state file {path}: {err.strerror}") from err
            pid = f" (pid {holder})" if holder.isdigit() else ""
            raise ConfigError(
                f"state file {path} is in use by another deploymock process{pid}; "
                "stop it or choose another --state file"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held[key] = [fd, 1]
    return key


def _release(key: tuple[int, int]) -> None:
    with _held_lock:
        entry = _held.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            del _held[key]
            os.close(entry[0])
