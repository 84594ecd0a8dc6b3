"""Every create of the spec starts Schemathesis' stateful scenarios, not only the "reliable" ones.

Schemathesis 4.32 starts a scenario only from operations it judges likely to succeed with random
data (`classify_root_transitions` in `schemathesis.specs.openapi.stateful`): a POST is
"reliable" unless its dependency analysis takes one of its inputs for a reference to a resource
that no operation of the spec makes. SAP's configuration.create names a scenario and an
executable, which the vendor makes from a git repository, not through this API; so it is only a
"fallback" root, and fallback roots are dropped as soon as one reliable root exists
(deployment.create). The state machine then never creates a configuration and never follows its
links; every scenario starts with a deployment.create of a random `configurationId` (400), and
no deployment exists for deployment.modify and the checks that need an accepted update. (The
`'Created'` those bodies keep sending is no link value: Hypothesis mixes string constants of the
project's own modules into what it generates, here `__all__` of cleanup.py.)

The runner adds the creates Schemathesis left out back as roots: a POST whose path names no
resource (tenant parameters aside) and that has links to follow. On the mock such a create
succeeds with schema-valid data; on a live server it may not, which costs a request and is
answered like any other.

This builds rules with Schemathesis helpers that are not public API. With a release that lacks
them the state machine is left as Schemathesis built it (its own roots only), and the run goes
on; `tests/contract/test_roots.py` notices the change on the pinned release.
"""

from __future__ import annotations

from typing import Any

from mockserver.contract.profile import Profile


def with_create_roots(schema: Any, profile: Profile) -> None:
    """Make the state machine that `schema` builds for a run start from every create too."""
    build = schema.build_state_machine

    def build_state_machine(*, feedback: Any, link_calibration: Any) -> Any:
        machine = build(feedback=feedback, link_calibration=link_calibration)
        try:
            return add_roots(machine, missing_creates(schema, profile, machine), feedback)
        except (ImportError, AttributeError, TypeError):  # private helpers moved or changed
            return machine

    schema.build_state_machine = build_state_machine


def missing_creates(schema: Any, profile: Profile, machine: Any) -> list[Any]:
    """The creates with links to follow that `machine` does not start from."""
    from schemathesis.core.result import Ok

    found = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            continue
        op = result.ok()
        transitions = machine._transitions.operations.get(op.label)
        if (
            op.method.upper() == "POST"
            and all(profile.is_tenant_param(p.name) for p in op.path_parameters)
            and transitions is not None
            and transitions.outgoing
            and op.label not in machine._root_labels
            and schema.config.phases_for(operation=op).stateful.enabled
        ):
            found.append(op)
    return found


def add_roots(machine: Any, operations: list[Any], feedback: Any) -> Any:
    """A subclass of `machine` with a root rule for each operation, built as Schemathesis does."""
    from hypothesis.stateful import Bundle
    from schemathesis.generation.stateful.state_machine import StepInput, normalize_name
    from schemathesis.specs.openapi.stateful import (
        _step_case_strategy,
        is_root_allowed,
        transition,
    )

    if not operations:
        return machine
    rules: dict[str, Any] = {}
    for op in operations:
        name = normalize_name(f"RANDOM -> {op.label}")
        modes = op.schema.config.generation_for(operation=op, phase="stateful").modes
        strategy = _step_case_strategy(op, modes, feedback=feedback)
        rules[name] = transition(
            name=name,
            target=Bundle("catch_all"),
            precondition=is_root_allowed(op.label),
            input=strategy.map(StepInput.initial),
        )
    return type(
        machine.__name__,
        (machine,),
        {
            **rules,
            "root_rules": machine.root_rules | set(rules),
            "_root_labels": machine._root_labels | {op.label for op in operations},
        },
    )
