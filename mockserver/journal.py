"""A bounded record of the requests the mock answered, newest last.

Bounded twice: at most `size` entries (default 10 000) and at most `max_bytes` (default
64 MiB) of estimated memory, bodies included; the oldest entries go first, and the newest one
is always kept. `size=0` or `max_bytes=0` keeps nothing.

A body larger than `max_body_bytes` (default 16 KiB) is not kept whole. Its size is the request
body's length in bytes as received when the server passes it (`body_size`); otherwise an
estimate of its JSON length decides, and the length of its compact JSON is reported. The
entry's `body` is then a marker instead, still JSON, and `Entry.truncated` is true:

    {"_truncated": True, "bytes": 921613,
     "head": '{"status":"COMPLETE","output_values":{"deploy_stdout":"xxxxxxxxxxxxxxxx...'}

`bytes` is that size; `head` is the first 1 024 characters (`HEAD_CHARS`) of the body's JSON
written compactly (separators `,` and `:` without spaces, keys in the order sent, non-ASCII
characters as they are), so `'"name":"big"' in entry.body["head"]` finds a field sent early.

Sizes are estimated cheaply: a walk of the parsed body that stops soon after the body limit
(no walk at all when `body_size` already says the body is too large), the memory of each value
read with `sys.getsizeof`; the head is written from the body's first items only.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from itertools import islice
from sys import getsizeof
from typing import Any, NamedTuple

import orjson

DEFAULT_SIZE = 10_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_BODY_BYTES = 16 * 1024
HEAD_CHARS = 1024

# An entry without its strings and body: the tuple, its float and ints, the deques' slots.
_ENTRY_BYTES = 240
# With the body's size as received, the estimate of its JSON may overshoot this much (non-ASCII
# text, floats written short) before the walk gives up on counting its memory.
_SLACK = 4
_UNBOUNDED = 1 << 62
_SMALL, _SMALL_OVERHEAD, _SMALL_FACTOR = 1024, 256, 16  # bodies up to 1 KiB: estimated
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=repr).encode


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

    @property
    def truncated(self) -> bool:
        """Whether `body` is the marker of a body too large to keep (see the module)."""
        return isinstance(self.body, dict) and self.body.get("_truncated") is True


class Journal:
    def __init__(
        self,
        *,
        size: int = DEFAULT_SIZE,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self._size = max(size, 0)
        self._max_bytes = max(max_bytes, 0)
        self._max_body_bytes = max(max_body_bytes, 0)
        self._entries: deque[Entry] = deque()
        self._costs: deque[int] = deque()  # estimated bytes of each entry, in step
        self._bytes = 0
        self._lock = threading.Lock()
        self._seq = 0

    @property
    def size(self) -> int:
        return self._size

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @property
    def max_body_bytes(self) -> int:
        return self._max_body_bytes

    @property
    def used_bytes(self) -> int:
        """The estimated memory the entries hold now."""
        return self._bytes

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
        *,
        body_size: int | None = None,
    ) -> None:
        """Add one entry; `body_size` is the request body's length in bytes as received, if
        known (it spares estimating the size of a large body)."""
        if self._size == 0 or self._max_bytes == 0:
            return
        kept, cost = self._kept(body, body_size)
        # Four str objects: 49 bytes each and a byte a character (ASCII; more for others).
        cost += _ENTRY_BYTES + 4 * 49 + len(tenant) + len(path) + len(query) + len(request_id)
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
                    kept,
                )
            )
            self._costs.append(cost)
            self._bytes += cost
            while len(self._entries) > self._size or (
                self._bytes > self._max_bytes and len(self._entries) > 1
            ):
                self._entries.popleft()
                self._bytes -= self._costs.popleft()

    def _kept(self, body: Any, body_size: int | None) -> tuple[Any, int]:
        """The body as the entry keeps it, and its estimated bytes in memory."""
        limit = self._max_body_bytes
        if body is None:
            return None, 0
        if body_size is not None and body_size <= _SMALL:
            # The usual request: no walk on the hot path. Parsed JSON this short takes at most
            # about this much memory (a one-member object of a few bytes: some 250 bytes).
            return body, _SMALL_OVERHEAD + _SMALL_FACTOR * body_size
        if body_size is None or body_size <= limit:
            text, memory = _measure(body, limit if body_size is None else _SLACK * limit)
            if (text if body_size is None else body_size) <= limit:
                return body, memory
        if body_size is None:
            body_size = _json_length(body)
        marker = {"_truncated": True, "bytes": body_size, "head": _head(body, HEAD_CHARS)}
        return marker, _measure(marker, _UNBOUNDED)[1]

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
                (e, cost)
                for e, cost in zip(self._entries, self._costs, strict=True)
                if not (provider in (None, e.provider) and tenant in (None, e.tenant))
            ]
            self._entries = deque(e for e, _ in keep)
            self._costs = deque(cost for _, cost in keep)
            self._bytes = sum(self._costs)


def _measure(body: Any, stop: int) -> tuple[int, int]:
    """Estimates of a parsed JSON body's compact JSON length and of its objects' bytes in
    memory. The walk ends once the first passes `stop`, so a large body costs about `stop`."""
    text = memory = 0
    todo = [body]
    while todo and text <= stop:
        value = todo.pop()
        memory += getsizeof(value)
        if isinstance(value, str):
            text += (len(value) if value.isascii() else 3 * len(value)) + 2
        elif isinstance(value, dict):
            room = stop - text + 1  # every member adds a byte or more: no more are needed
            text += max(2 * len(value) + 1, 2)  # braces, colons, commas
            for key, item in islice(value.items(), room):
                todo += (key, item)
        elif isinstance(value, list):
            room = stop - text + 1
            text += max(len(value) + 1, 2)
            todo.extend(islice(value, room))
        elif value is None or isinstance(value, bool):
            text += 5
        elif isinstance(value, int):
            text += value.bit_length() // 3 + 1
        else:
            text += 8
    return text, memory


def _json_length(body: Any) -> int:
    """The length of the body's compact JSON, for one too large to keep that came unsized."""
    try:
        return len(orjson.dumps(body, default=repr))
    except TypeError:  # nested deeper than orjson writes (254 levels): the estimate
        return _measure(body, _UNBOUNDED)[0]


class _Text(str):
    """JSON already written, waiting on `_head`'s stack among the values still to write."""


_COMMA, _END_OBJECT, _END_ARRAY = _Text(","), _Text("}"), _Text("]")


def _head(body: Any, chars: int) -> str:
    """The first `chars` characters of the body's compact JSON, writing no more of it."""
    out: list[str] = []
    written = 0
    todo: list[Any] = [body]
    while todo and written < chars:
        value = todo.pop()
        if type(value) is _Text:
            piece = str(value)
        elif isinstance(value, dict):
            piece = "{"
            todo.append(_END_OBJECT)
            # A member writes 4 characters or more (`"":0,`), an item 2 (`0,`): no more are needed.
            members = list(islice(value.items(), (chars - written) // 4 + 1))
            for n in range(len(members) - 1, -1, -1):
                key, item = members[n]
                todo += (item, _Text(("," if n else "") + _ENCODE(str(key)) + ":"))
        elif isinstance(value, list):
            piece = "["
            todo.append(_END_ARRAY)
            items = list(islice(value, (chars - written) // 2 + 1))
            for n in range(len(items) - 1, 0, -1):
                todo += (items[n], _COMMA)
            todo += items[:1]
        else:
            piece = _ENCODE(value[:chars] if isinstance(value, str) else value)
        out.append(piece)
        written += len(piece)
    return "".join(out)[:chars]
