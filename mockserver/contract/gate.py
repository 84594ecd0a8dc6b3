"""The one door every request of a contract run goes through.

Schemathesis talks to a `GateApp` (an ASGI app), the runner's own checks and its cleanup call
`Gate.send` directly, and the gate forwards to the target: the mock in process (`AsgiForwarder`)
or a live server (`HttpForwarder`). On the way it

- counts requests and stops at the request budget;
- keeps to `--rate-limit` and waits out a `429` as its `Retry-After` says (without one: 1 s,
  2 s, 4 s, ...), up to a bound, then retries;
- on a live target (`safe`), refuses any change to a resource this run did not create: a
  PUT/PATCH/DELETE (or a POST below an id) goes out only if the ids in its path belong to the
  run's ledger, or a read of that resource answers 404; a bulk change (no id in the path) never
  goes out, and with `read_only` nothing but GET/HEAD does;
- records in the ledger what the run creates, for the cleanup.

A refused request gets a synthetic 403 with `x-deploymock-blocked: <reason>`; the runner drops
every check failure on such a response.
"""

from __future__ import annotations

import email.utils
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from anyio import to_thread

from mockserver.bridge import Exchange, call, encode_headers
from mockserver.contract.cleanup import Ledger

if TYPE_CHECKING:
    from mockserver.contract.profile import Profile

BLOCKED = "x-deploymock-blocked"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class Req:
    """A request, provider-relative: `path` is the spec path, percent-encoded as sent."""

    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # lowercase names
    body: bytes = b""

    def json(self) -> Any:
        return _json(self.body)

    def params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    def replace(self, **changes: Any) -> Req:
        values = {**self.__dict__, **changes}
        return Req(**values)


@dataclass
class Resp:
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # lowercase names
    body: bytes = b""

    def json(self) -> Any:
        return _json(self.body)

    @property
    def blocked(self) -> str | None:
        return self.headers.get(BLOCKED)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        return None


def lower_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


# -- forwarders -------------------------------------------------------------------------------
class AsgiForwarder:
    """Calls an ASGI app in process (the mock), under a mount prefix such as `/sap_ai_core`, on
    the calling thread's own event loop (`mockserver.bridge`)."""

    def __init__(self, app: Any, prefix: str = "") -> None:
        self.app = app
        self.prefix = prefix

    def __call__(self, req: Req) -> Resp:
        exchange = Exchange(  # the bridge adds `host: deploymock` if the request has none
            req.method,
            self.prefix + req.path,
            req.query.encode("latin-1"),
            encode_headers(req.headers.items()),
            req.body,
        )
        call(self.app, exchange)
        pairs = ((k.decode("latin-1"), v.decode("latin-1")) for k, v in exchange.response_headers)
        return Resp(exchange.status, lower_headers(pairs), exchange.content)

    def close(self) -> None:
        """Nothing to release: the calling threads own their event loops."""


class HttpForwarder:
    """Sends to a live server: `base_url` is where the spec's paths start. `transport` (an
    httpx transport) replaces the network, e.g. to reach an ASGI app as if it were remote."""

    def __init__(
        self,
        base_url: str,
        *,
        verify: bool | str = True,
        timeout: float = 30.0,
        transport: Any = None,
    ) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(
            verify=verify, timeout=timeout, follow_redirects=False, transport=transport
        )

    def __call__(self, req: Req) -> Resp:
        headers = {k: v for k, v in req.headers.items() if k not in ("host", "content-length")}
        response = self.client.request(
            req.method, self.base_url + req.target, headers=headers, content=req.body or None
        )
        return Resp(
            response.status_code, lower_headers(response.headers.multi_items()), response.content
        )

    def close(self) -> None:
        self.client.close()


# -- pacing ---------------------------------------------------------------------------------
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_PERIOD = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class RateLimit:
    """At most N requests per period, evenly spaced: `10/s`, `100/m`, `1000/2h`."""

    def __init__(
        self,
        text: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        m = _RATE.match(text)
        if m is None or int(m.group(1)) == 0:
            raise ValueError(f"rate limit {text!r}: expected N/s, N/m, N/h or N/d (N > 0)")
        count, scale, unit = int(m.group(1)), int(m.group(2) or 1), m.group(3)
        self.text = text
        self.interval = _PERIOD[unit] * scale / count
        self.clock = clock
        self.sleep = sleep
        self._next = 0.0

    def wait(self) -> None:
        now = self.clock()
        if now < self._next:
            self.sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds a `Retry-After` header asks for (a number or an HTTP date); None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


# -- the gate -------------------------------------------------------------------------------
@dataclass
class GateStats:
    sent: Counter[str] = field(default_factory=Counter)  # by kind: engine, probe, settle, cleanup
    blocked: Counter[str] = field(default_factory=Counter)  # by reason
    waited: float = 0.0  # seconds spent on Retry-After
    rate_limited: int = 0  # 429 answers seen

    @property
    def total(self) -> int:
        return sum(self.sent.values())


class Gate:
    def __init__(
        self,
        forward: Callable[[Req], Resp],
        *,
        profile: Profile,
        safe: bool,
        read_only: bool = False,
        budget: int | None = None,
        rate: RateLimit | None = None,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.time,
        retries: int = 5,
        max_wait: float = 120.0,
    ) -> None:
        self.forward = forward
        self.profile = profile
        self.safe = safe
        self.read_only = read_only
        self.budget = budget
        self.rate = rate
        self.sleep = sleep
        self.wall = wall
        self.retries = retries
        self.max_wait = max_wait
        self.ledger = Ledger(profile)
        self.stats = GateStats()
        self.exhausted = False
        self.closed = False  # the run is over (or interrupted): only the cleanup may send
        self.on_created: Callable[[str], None] | None = None
        self._lock = threading.RLock()

    @property
    def used(self) -> int:
        """Requests that count against the budget: all but the cleanup's."""
        return self.stats.total - self.stats.sent["cleanup"]

    def send(self, req: Req, *, kind: str = "engine") -> Resp:
        with self._lock:
            refused = None if kind == "cleanup" else self._refusal(req)
            if refused is not None:
                self.stats.blocked[refused] += 1
                return blocked(refused)
            resp = self._send(req, kind)
            created = self.ledger.observe(req, resp)
            if created and self.on_created is not None:
                for label in created:
                    self.on_created(label)
            return resp

    def _send(self, req: Req, kind: str) -> Resp:
        attempt = 0
        while True:
            if self.rate is not None:
                self.rate.wait()
            self.stats.sent[kind] += 1
            resp = self.forward(req)
            if resp.status != 429:
                return resp
            self.stats.rate_limited += 1
            attempt += 1
            delay = retry_after(resp.headers.get("retry-after"), self.wall())
            if delay is None:  # no Retry-After: back off, 1 s, 2 s, 4 s, ...
                delay = float(2 ** (attempt - 1))
            if delay > self.max_wait or attempt > self.retries:
                return resp
            self.stats.waited += delay
            self.sleep(delay)

    # -- safety -------------------------------------------------------------------------------
    def _refusal(self, req: Req) -> str | None:
        if self.closed:
            return "the run is over"
        if self.budget is not None and self.used >= self.budget:
            self.exhausted = True
            return "request budget exhausted"
        if not self.safe or req.method in SAFE_METHODS:
            return None
        if self.read_only:
            return "read-only run"
        params = self._path_params(req)
        if params is None:
            return "not an operation of the spec"
        if not params:
            return None if req.method == "POST" else "bulk change (no id in the path)"
        if self.ledger.owns(params.values()):
            return None
        return None if self._absent(req, params) else "resource not created by this run"

    def _path_params(self, req: Req) -> dict[str, str] | None:
        found = self.profile.match(req.method, req.path)
        if found is None:  # maybe another method routes it (a 405 probe)
            found = next(
                (m for m in map(lambda v: self.profile.match(v, req.path), ("GET", "PATCH")) if m),
                None,
            )
        return None if found is None else {k: unquote(v) for k, v in found[1].items()}

    def _absent(self, req: Req, params: dict[str, str]) -> bool:
        """Whether the resource `req` would change does not exist (a read answers 404)."""
        from mockserver.contract.profile import fill

        found = self.profile.match(req.method, req.path) or self.profile.match("GET", req.path)
        reader = self.profile.reader(found[0]) if found else None
        path = fill(reader.template, params) if reader else None
        if reader is None or path is None:
            return False
        probe = Req("GET", path, req.query, dict(req.headers))
        return self._send(probe, "probe").status == 404


def blocked(reason: str) -> Resp:
    body = json.dumps({"deploymock": "request not sent", "reason": reason}).encode()
    return Resp(403, {BLOCKED: reason, "content-type": "application/json"}, body)


class GateApp:
    """The gate as an ASGI app, for Schemathesis. The gate blocks (it paces, waits out 429s and
    calls the target synchronously), so each request goes to a worker thread, which calls an
    in-process target on its own event loop instead of stalling Schemathesis' shared one."""

    def __init__(self, gate: Gate) -> None:
        self.gate: Gate | None = gate

    def close(self) -> None:
        """Let go of the gate, and with it the target: Schemathesis keeps every ASGI app it
        started for the rest of the process. A request after this is refused."""
        self.gate = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rsplit(".", 1)[-1]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw_path = scope.get("raw_path") or scope["path"].encode()
        req = Req(
            scope["method"],
            raw_path.decode("latin-1"),
            scope.get("query_string", b"").decode("latin-1"),
            lower_headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]),
            b"".join(chunks),
        )
        gate = self.gate
        resp = (
            blocked("the run is over") if gate is None else await to_thread.run_sync(gate.send, req)
        )
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in resp.headers.items()]
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        await send({"type": "http.response.body", "body": resp.body})
