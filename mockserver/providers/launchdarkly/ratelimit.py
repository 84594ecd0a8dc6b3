"""Rate limits: ten-second windows per access token and per route (options, off by default).

LaunchDarkly ("Rate limiting" in the API docs): route limits are shared by every token of the
account that calls the same route (verb + URL pattern), access-token limits by one token alone;
each set of headers appears only when that limit applies, the token limit reports its own reset
in `X-Ratelimit-Auth-Token-Reset`, the others in `X-Ratelimit-Reset` (epoch milliseconds). A
request over a limit is a 429 `rate_limited`, which here also carries `X-Ratelimit-Reset` and
`Retry-After` (seconds). Windows are aligned to multiples of ten seconds of the tenant's clock.
Counters live in the account's store, kind `ratelimit`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from mockserver.provider import Ctx, MockError
from mockserver.store import Record

WINDOW = 10.0
KIND = "ratelimit"
MESSAGE = "You've exceeded the API rate limit. Try again later."


class RateLimited(MockError):
    http_status = 429


@dataclass(frozen=True)
class Limit:
    option: str  # provider option holding the limit (requests per window); None = off
    key: Callable[[Ctx, str], str]  # (ctx, token) -> counter id
    prefix: str  # header prefix: <prefix>-Limit, <prefix>-Remaining
    reset: str  # header carrying the window's end


LIMITS = (
    Limit(
        "token_rate_limit",
        lambda ctx, token: f"token {token}",
        "X-Ratelimit-Auth-Token",
        "X-Ratelimit-Auth-Token-Reset",
    ),
    Limit(
        "route_rate_limit",
        lambda ctx, token: f"route {ctx.operation_id}",
        "X-Ratelimit-Route",
        "X-Ratelimit-Reset",
    ),
)


def _counter(ctx: Ctx, key: str, window: float) -> Record:
    found = ctx.store.find(KIND, key)
    if found is None or found["window"] != window:
        found = ctx.store.put(KIND, key, {"window": window, "count": 0})
    return found


def check(ctx: Ctx, token: str) -> dict[str, str]:
    """Count this request; return the headers every response carries, or raise a 429."""
    active = [
        (limit, int(ctx.options[limit.option]))
        for limit in LIMITS
        if ctx.options.get(limit.option) is not None
    ]
    if not active:
        return {}
    now = ctx.now()
    window = math.floor(now / WINDOW) * WINDOW
    reset = str(int((window + WINDOW) * 1000))
    counters = [
        (limit, most, _counter(ctx, limit.key(ctx, token), window)) for limit, most in active
    ]
    over = any(counter["count"] >= most for _, most, counter in counters)
    headers: dict[str, str] = {}
    for limit, most, counter in counters:
        counter["count"] += 0 if over else 1
        headers |= {
            f"{limit.prefix}-Limit": str(most),
            f"{limit.prefix}-Remaining": str(max(0, most - counter["count"])),
            limit.reset: reset,
        }
    if over:
        retry = str(math.ceil(window + WINDOW - now))
        raise RateLimited(
            MESSAGE, headers={**headers, "X-Ratelimit-Reset": reset, "Retry-After": retry}
        )
    return headers
