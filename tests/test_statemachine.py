from __future__ import annotations

from typing import Any

from mockserver.statemachine import SINCE, Lifecycle, Outcomes, Step

LIFE = Lifecycle(
    steps={"A": Step("B", "ab"), "B": Step("C", "bc", outcomes=frozenset({"X", "B"}))},
    on_enter={"C": lambda r, at: r.update(reached_c=at)},
)
DELAYS = {"ab": 10.0, "bc": 5.0}


def fresh(at: float = 0.0) -> dict[str, Any]:
    record: dict[str, Any] = {}
    LIFE.enter(record, "A", at)
    return record


def test_settle_applies_every_due_step_at_its_own_time() -> None:
    record = fresh()
    assert LIFE.settle(record, 9.9, DELAYS) == []
    done = LIFE.settle(record, 100.0, DELAYS)
    assert [(t.source, t.target, t.at) for t in done] == [("A", "B", 10.0), ("B", "C", 15.0)]
    assert record["status"] == "C" and record[SINCE] == 15.0 and record["reached_c"] == 15.0


def test_missing_delay_means_immediately() -> None:
    record = fresh()
    LIFE.settle(record, 0.0, {})
    assert record["status"] == "C"


def test_decided_outcome_and_stuck() -> None:
    record = fresh()
    LIFE.settle(record, 100.0, DELAYS, lambda step: "X" if step.to == "C" else None)
    assert record["status"] == "X"
    stuck = fresh()
    LIFE.settle(stuck, 100.0, DELAYS, lambda step: "B" if step.to == "C" else None)
    assert stuck["status"] == "B"
    assert LIFE.settle(stuck, 1e9, DELAYS) == []  # stays until something re-enters a status
    LIFE.enter(stuck, "B", 1e9)
    LIFE.settle(stuck, 1e9 + 5, DELAYS)
    assert stuck["status"] == "C"


def test_outcomes_prefer_the_specific_resource_and_skip_inapplicable_steps() -> None:
    queued = Outcomes()
    step = LIFE.steps["B"]
    queued.push("p", "t", "X")
    queued.push("p", "t", "B", resource="r1")
    assert queued.pop("p", "t", "r1", LIFE.steps["A"]) is None  # A->B has no alternatives
    assert queued.pop("p", "t", "r1", step) == "B"
    assert queued.pop("p", "t", "r2", step) == "X"
    assert queued.pop("p", "t", "r2", step) is None
    queued.push("p", "t", "X")
    queued.push("p", "u", "X")
    queued.reset("p", "t")
    assert [o["tenant"] for o in queued.pending()] == ["u"]


def test_a_lifecycle_names_its_states_and_what_leaves_them_on_its_own() -> None:
    life = Lifecycle(
        steps={
            "NEW": Step("PENDING", "schedule"),
            "PENDING": Step("UP", "start", outcomes=frozenset({"BROKEN", "PENDING"})),
        },
        on_enter={"UP": lambda record, at: None},
        others=frozenset({"STOPPED"}),
    )
    assert life.states == {"NEW", "PENDING", "UP", "BROKEN", "STOPPED"}
    assert life.transitional == {"NEW", "PENDING"}
    assert life.failures == {"BROKEN"}  # staying PENDING is not a failure
    assert life.refusing(frozenset({"UP", "PENDING"})) == ["BROKEN", "NEW", "STOPPED"]
