"""The contract suite passes against the mock, for every provider that has a spec.

Providers are discovered, so a new one is covered when it lands. Each runs in process, every
phase in one run (the stateful phase reuses what the earlier phases created), with
`DEPLOYMOCK_CONTRACT_EXAMPLES` examples per operation (default 200) and
`DEPLOYMOCK_CONTRACT_SEQUENCES` state-machine runs (default 50). Known findings
(`known_issues.py`, each with its own strict xfail) are the only failures allowed.
"""

from __future__ import annotations

import os

import pytest

from mockserver.app import discover
from mockserver.contract import ContractOptions, run_contract
from tests.contract.known_issues import unexpected

EXAMPLES = int(os.environ.get("DEPLOYMOCK_CONTRACT_EXAMPLES", "200"))
SEQUENCES = int(os.environ.get("DEPLOYMOCK_CONTRACT_SEQUENCES", "50"))

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("provider", sorted(discover()))
def test_the_mock_keeps_its_contract(provider):
    options = ContractOptions(max_examples=EXAMPLES, stateful_examples=SEQUENCES)
    report = run_contract(provider, options=options)
    print(report.summary())
    assert not unexpected(provider, report), report.summary()
    assert report.requests["engine"] > 0
    assert report.checks["vendor_error_format"].applied, "no error response was ever checked"
    assert report.checks["rejected_update_unchanged"].applied, "no rejected change was checked"
