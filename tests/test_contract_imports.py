"""The contract suite runs without pytest or the plugin (import rules: test_architecture.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# `None` in sys.modules makes any import of that module fail.
SCRIPT = """
import sys
sys.modules["pytest"] = sys.modules["_pytest"] = sys.modules["pytest_plugin"] = None
from mockserver.contract import ContractOptions, run_contract
report = run_contract("openstack_heat", options=ContractOptions(max_examples=2, phases=("walk",)))
assert report.ok, report.summary()
assert report.checks["update_visible"].applied, report.summary()
print("ran", report.requests["engine"])
"""


@pytest.mark.slow
def test_the_contract_suite_runs_without_pytest() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ran ")
