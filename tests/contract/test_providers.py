"""The contract suite passes against the mock, for every provider that has a spec.

Providers are discovered, so a new one is covered when it lands. Each runs in process with
`DEPLOYMOCK_CONTRACT_EXAMPLES` examples per operation (default 200) in two halves that xdist
can spread: the unit phases (examples, coverage, fuzzing) and the stateful phase (sequences
through the spec's links, `DEPLOYMOCK_CONTRACT_SEQUENCES`, default 100). Known findings
(`known_issues.py`, each with its own strict xfail) are the only failures allowed.
"""

from __future__ import annotations

import os

import pytest

from mockserver.app import discover
from mockserver.contract import ContractOptions, run_contract
from tests.contract.known_issues import unexpected

EXAMPLES = int(os.environ.get("DEPLOYMOCK_CONTRACT_EXAMPLES", "200"))
SEQUENCES = int(os.environ.get("DEPLOYMOCK_CONTRACT_SEQUENCES", "100"))
PARTS = {"unit": ("examples", "coverage", "fuzzing"), "stateful": ("stateful",)}

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("part", sorted(PARTS))
@pytest.mark.parametrize("provider", sorted(discover()))
def test_the_mock_keeps_its_contract(provider, part):
    options = ContractOptions(
        max_examples=EXAMPLES, stateful_examples=SEQUENCES, phases=PARTS[part]
    )
    report = run_contract(provider, options=options)
    print(report.summary())
    assert not unexpected(provider, report), report.summary()
    assert report.requests["engine"] > 0
    assert report.checks["vendor_error_format"].applied, "no error response was ever checked"
