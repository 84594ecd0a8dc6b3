"""Following an accepted asynchronous update to its end, within bounds a live run can afford.

An update answered 202 (on a resource with a `state` hint) must end: within the provider's
settle time (`Profile.settle`: the `settle` hint, `--settle`) its state leaves the
`transitional` states, and then it is in a `failed` state or keeps the change. In process the
mock's clock jumps by the settle time and one read shows the end. On a live server time cannot
jump: the run reads the resource again every `interval(settle)` seconds (a tenth of the settle
time, at least 1 s and at most 5 s, never past the settle time) until its state leaves the
transitional states or the settle time is over. That wait is real, so on a live server it is
bounded:

- `samples`: per operation, only the first N accepted updates that need waiting are followed
  (`--settle-samples`, default 3; 0 follows none); the others are checked on the next read only;
- `budget`: following updates takes at most this many seconds in all (`--settle-budget`,
  default 600); an update is followed only if its whole settle time fits in what is left, so a
  followed update is never cut short by the budget;
- every poll goes through the run's gate as kind `settle`: it counts against `--max-requests`
  and keeps to `--rate-limit`; an update whose poll the gate refuses is counted as cut short.

An update whose first read already shows a final state needs no waiting: it is checked at once,
counted as followed, and uses up no sample. `sleep` and `clock` are the runner's, injected, so
tests pass a fake that moves the mock's virtual clock instead of waiting.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mockserver.contract.context import Read

POLL_SHARE = 0.1  # of the settle time
POLL_MIN = 1.0
POLL_MAX = 5.0
_EPSILON = 1e-9  # float sums of the interval must not buy one more poll

NO_STATE = "no state hint"
SAMPLES = "samples limit"
BUDGET = "wait budget"


def interval(settle: float) -> float:
    """Seconds between two polls: a tenth of `settle`, within 1..5 s, at most `settle`."""
    return min(settle, max(POLL_MIN, min(POLL_MAX, settle * POLL_SHARE)))


@dataclass
class Settling:
    """The bounds of a run's waiting, and what it followed: `followed` (operation -> updates
    followed to their end), `skipped` (reason -> updates not followed), `polls`, `spent`."""

    samples: int | None = None  # per operation; None: no limit (in process, time is virtual)
    budget: float | None = None  # seconds in all; None: no limit
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    followed: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    polls: int = 0
    spent: float = 0.0  # seconds spent following (sleeps and polls)
    admitted: Counter[str] = field(default_factory=Counter)  # operation -> updates waited for

    def admit(self, operation: str, settle: float) -> bool:
        """Whether the run may wait for one more update of `operation`; counts a refusal."""
        if self.samples is not None and self.admitted[operation] >= self.samples:
            self.skipped[SAMPLES] += 1
            return False
        if self.budget is not None and self.spent + settle > self.budget + _EPSILON:
            self.skipped[BUDGET] += 1
            return False
        self.admitted[operation] += 1
        return True

    def follow(
        self,
        first: Read,
        again: Callable[[Read], Read],
        pending: Callable[[Read], bool],
        settle: float,
    ) -> Read:
        """Read again every `interval(settle)` s while `pending`, for `settle` s at most: the
        last read. Elapsed time is what the clock says, or what was slept if that is more (a
        fake sleep with the real clock still ends)."""
        started, slept, read = self.clock(), 0.0, first
        step = interval(settle)
        try:
            while pending(read):
                left = settle - max(slept, self.clock() - started)
                if left <= _EPSILON:
                    break
                pause = min(step, left)
                self.sleep(pause)
                slept += pause
                self.polls += 1
                read = again(read)
        finally:
            self.spent += max(slept, self.clock() - started)
        return read

    def ended(self, operation: str, last: Read) -> bool:
        """Count an update as followed to its end, or as cut short when the gate refused its
        last read (request budget, end of the run): whether it ended."""
        reason = last.response.blocked
        if reason is not None:
            self.skipped[f"cut short: {reason}"] += 1
            return False
        self.followed[operation] += 1
        return True
