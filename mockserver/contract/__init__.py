"""Contract tests: Schemathesis over a provider's spec, plus deploymock's update-semantics checks.

    from mockserver.contract import run_contract
    report = run_contract("sap_ai_core")                        # in process, fresh mock
    report = run_contract("ibm_wml", url="https://...", token=..., tenant=...)   # live
    print(report.summary()); report.assert_ok()

The command line is `deploymock contract PROVIDER --url URL ...`; pytest users get the
`mockserver_contract` fixture. Imports Schemathesis only when a run starts.
"""

from __future__ import annotations

from mockserver.contract.report import CheckStat, ContractReport, Finding
from mockserver.contract.runner import ContractOptions, run_contract

__all__ = ["CheckStat", "ContractOptions", "ContractReport", "Finding", "run_contract"]
