"""Contract tests: Schemathesis over a provider's spec, plus deploymock's update-semantics checks.

What runs, per provider: every Schemathesis phase (examples, coverage, fuzzing, and stateful
sequences through the spec's `links`) with positive and negative data and its built-in checks,
our checks (`checks.py`: update visible on the next read, a rejected update
changes nothing, the vendor's error format, 404 for an unknown id, 401 without credentials,
404/403 from another tenant, read-only fields, updates a state forbids), and our walk (every
create with the spec's example bodies, then its links; `walk.py`).

Three ways to run it:

    deploymock contract sap_ai_core                      # in process, against a fresh mock
    deploymock contract ibm_wml --url https://us-south.ml.cloud.ibm.com --token "$TOKEN" \\
        --tenant "$SPACE_ID" --max-examples 50 --rate-limit 5/s --junit-xml contract.xml

    def test_contract(mockserver_contract):                   # pytest, with the plugin
        mockserver_contract("sap_ai_core", max_examples=50).assert_ok()

    from mockserver.contract import run_contract              # Python
    print(run_contract("launchdarkly").summary())

On a live server the run is careful (`gate.py`): it changes and deletes only what it created
(a PUT/PATCH/DELETE elsewhere goes out only if a read of that resource answers 404; bulk
changes never), deletes everything it created at the end, also after a failure or Ctrl-C
(`cleanup.py`), waits out 429s, keeps to `--rate-limit` and stops at `--max-requests`
(10000 by default). `--read-only` sends only GET and HEAD. Against `deploymock serve`, which
accepts any token, add `--any-token`. It follows an accepted asynchronous update to its end by
polling, within `--settle-samples` and `--settle-budget` (`settle.py`).

What a spec cannot say, `Provider(contract=...)` hints or `--hints FILE` can: where the tenant
goes, which states forbid which updates, what to send before a refused delete (`hints.py`).
Schemathesis is imported only when a run starts (`pip install 'deploymock[contract]'`).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockserver.contract.report import CheckStat, ContractReport, Finding
    from mockserver.contract.runner import ContractOptions, ContractSession, run_contract

# Imported on first use: `deploymock serve` builds the `contract` subcommand's parser, and
# should not pay for the suite.
_HOMES = {
    "CheckStat": "report",
    "ContractReport": "report",
    "Finding": "report",
    "ContractOptions": "runner",
    "ContractSession": "runner",
    "run_contract": "runner",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)


__all__ = [
    "CheckStat",
    "ContractOptions",
    "ContractReport",
    "ContractSession",
    "Finding",
    "run_contract",
]
