"""The contract suite from a downstream pytest suite: `mockserver_contract`, `mockserver_schema`.

Run with pytester, as a user's project would: in process, and with `--mockserver-target`
against a live `deploymock serve`.
"""

from __future__ import annotations

import pytest

from tests.support import serving

pytestmark = pytest.mark.slow

CONTRACT = """
def test_contract(mockserver_contract):
    # any_token: deploymock serve, like the in-process mock, accepts any well-formed token
    report = mockserver_contract(
        "openstack_heat", max_examples=5, phases=("fuzzing", "stateful"), any_token=True
    )
    report.assert_ok()
    assert report.requests["engine"] > 0
    assert report.checks["vendor_error_format"].applied
"""

SCHEMA = """
import pytest
import schemathesis
from hypothesis import settings

schema = schemathesis.pytest.from_fixture("mockserver_schema")

@pytest.mark.mockserver(provider="sap_ai_core")
@schema.include(operation_id=["configuration.create", "configuration.get"]).parametrize()
@settings(max_examples=10)
def test_api(case):
    case.call_and_validate()
"""

# After SCHEMA: which checks each `call_and_validate()` ran.
OURS_RAN = """
ran = set()

@schemathesis.hook
def after_validate(context, case, response, results):
    ran.update(result.name for result in results)

def test_our_checks_ran():
    assert {"vendor_error_format", "rejected_update_unchanged", "unknown_id_not_found"} <= ran
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # A subprocess: Schemathesis registers checks globally, once per process, as a user's run does.
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:benchmark", "-W", "error", *args
    )


def test_mockserver_contract_runs_the_suite_in_process(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_downstream=CONTRACT)
    run(pytester).assert_outcomes(passed=1)


def test_mockserver_contract_runs_the_suite_against_a_target(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_downstream=CONTRACT)
    with serving() as (url, _proc, _lines):
        result = run(
            pytester,
            f"--mockserver-target={url}/{{provider}}",
            "--mockserver-token=t",
            "--mockserver-tenant=project-a",
        )
    result.assert_outcomes(passed=1)


def test_mockserver_schema_runs_our_checks_on_each_case(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_downstream=SCHEMA + OURS_RAN)
    result = run(pytester, "-v")
    result.assert_outcomes(passed=2)  # Schemathesis runs each operation as a subtest
    result.stdout.fnmatch_lines(["*test_api?POST /v2/lm/configurations? SUBPASSED*"])


def test_mockserver_schema_needs_a_provider(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_downstream=SCHEMA.replace('@pytest.mark.mockserver(provider="sap_ai_core")\n', "")
    )
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*mockserver_schema needs @pytest.mark.mockserver(provider=...)*"])
