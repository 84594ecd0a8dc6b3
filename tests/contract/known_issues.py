"""Contract findings in the providers and the core, not fixed yet (see the report of issue 7).

Each is reproduced by an `xfail(strict=True)` test in `test_found_issues.py`; the suite runs
ignore exactly these (check, operation) pairs, so anything else still fails them. When a fix
lands, its xfail test passes (and fails as strict): drop the marker, which leaves a regression
test, and the entry here.
"""

from __future__ import annotations

from mockserver.contract import ContractReport

# (provider, check, operation) -> why; empty: the four findings of the first runs are fixed
# (see test_found_issues.py).
KNOWN: dict[tuple[str, str, str], str] = {}


def unexpected(provider: str, report: ContractReport) -> list[str]:
    """Everything wrong with a run except the known findings."""
    found = [f.render() for f in report.findings if (provider, f.check, f.operation) not in KNOWN]
    return found + report.errors + report.server_errors
