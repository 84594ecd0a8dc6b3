"""Our checks belong to the schema of the run they check, and count what they assert.

Schemathesis runs every check of its process-wide registry on every schema; ours look for the
run of the case's schema and skip any other schema, and a run's schema stops being one when the
run closes.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
from schemathesis.core.failures import FailureGroup

from mockserver.bridge import Exchange, call
from mockserver.contract import ContractOptions, ContractSession
from mockserver.contract.checks import CHECKS, Check, ContractChecks
from mockserver.contract.gate import BLOCKED

OURS = {func.__name__ for func in CHECKS}
SAP_CREATE = ("/v2/lm/configurations", "POST")
CONFIG = {"name": "c", "scenarioId": "scenario", "executableId": "executable"}


def session(**options: Any) -> ContractSession:
    return ContractSession("sap_ai_core", options=ContractOptions(**options))


def checked(schema: Any, **case: Any) -> set[str]:
    """The checks that ran on one create sent through `schema`, as `after_validate` saw them."""
    seen: set[str] = set()

    def after_validate(context: Any, case: Any, response: Any, results: list[Any]) -> None:
        seen.update(result.name for result in results)

    schema.hooks.register_hook_with_name(after_validate, "after_validate")
    try:
        made = schema[SAP_CREATE[0]][SAP_CREATE[1]].Case(body=CONFIG, **case)
        with contextlib.suppress(FailureGroup):  # every result comes through the hook
            made.validate_response(made.call())
    finally:
        schema.hooks.unregister(after_validate)
    return seen


def test_a_runs_schema_runs_our_checks():
    with session() as run:
        assert checked(run.schema, headers=dict(run.target.credentials)) >= OURS


def test_another_schema_on_the_same_app_skips_them():
    import schemathesis
    from schemathesis.config import SchemathesisConfig

    with session() as run:
        config = SchemathesisConfig.from_dict({"base-url": "http://testserver"})
        other = schemathesis.openapi.from_dict(copy.deepcopy(run.profile.doc), config=config)
        other.app = run.app
        ran = checked(other, headers=dict(run.target.credentials))
    assert ran, "Schemathesis' own checks ran"
    assert not ran & OURS


def test_a_filtered_copy_of_the_schema_belongs_to_the_same_run():
    with session() as one, session() as two:
        assert ContractChecks.of(one.schema.include(method="POST")) is one.checks
        assert ContractChecks.of(two.schema) is two.checks


def test_a_closed_runs_schema_is_no_longer_one():
    run = session()
    run.close()
    assert ContractChecks.of(run.schema) is None
    assert not checked(run.schema) & OURS


def test_a_closed_runs_app_refuses_and_lets_go_of_the_target():
    run = session()
    run.close()
    answer = call(run.app, Exchange("GET", "/v2/lm/deployments", b"", [], b""))
    assert answer.status == 403
    assert dict(answer.response_headers)[BLOCKED.encode()] == b"the run is over"
    assert run.app.gate is None


def _asserts(run: Any, response: Any, case: Any) -> bool:
    return case == "something to assert"


def _fails(run: Any, response: Any, case: Any) -> bool:
    raise AssertionError("wrong")


def test_a_check_counts_what_it_asserted_and_what_failed():
    check = Check(_asserts)
    check(None, None, "nothing")
    check(None, None, "something to assert")
    assert (check.name, check.applied) == ("_asserts", 1)
    failing = Check(_fails)
    with pytest.raises(AssertionError, match="wrong"):
        failing(None, None, "anything")
    assert failing.applied == 1


def test_the_report_takes_each_checks_own_count():
    options = {"phases": ("walk",), "max_examples": 1}
    with session(**options) as run:
        report = run.execute()
    assert report.checks["update_visible"].applied == run.checks.checks["update_visible"].applied
    assert {name for name, stat in report.checks.items() if stat.applied is not None} <= OURS
    assert report.checks["update_visible"].applied > 0, report.summary()
