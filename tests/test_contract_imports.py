"""Imports point one way: the plugin may import the contract suite, never the reverse.

Every `import` statement counts, also one inside a function (the lazy ones are the easy ones to
miss), so a wrong arrow fails here instead of waiting for a review.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "mockserver"
# The top of the server: what may import the contract suite (the CLI runs it).
ENTRY_POINTS = {SERVER / "cli.py", SERVER / "__main__.py"}


def imported(path: Path) -> set[str]:
    """Every module an `import` or `from ... import` in `path` names (absolute imports)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def importers(paths: list[Path], prefix: str) -> list[str]:
    return sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path in paths
        for name in imported(path)
        if name == prefix or name.startswith(prefix + ".")
    )


def test_imported_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\n\ndef f():\n    from pytest_plugin.checks import x\n")
    assert imported(module) == {"os", "pytest_plugin.checks"}


def test_nothing_in_the_server_imports_the_pytest_plugin() -> None:
    assert importers(sorted(SERVER.rglob("*.py")), "pytest_plugin") == []


def test_the_core_does_not_import_the_contract_suite() -> None:
    core = [p for p in sorted(SERVER.glob("*.py")) if p not in ENTRY_POINTS]
    assert core, "no core modules found"
    assert importers(core, "mockserver.contract") == []


@pytest.mark.slow
def test_the_contract_suite_runs_without_pytest() -> None:
    script = """
import sys
sys.modules["pytest"] = sys.modules["_pytest"] = sys.modules["pytest_plugin"] = None
from mockserver.contract import ContractOptions, run_contract
report = run_contract("openstack_heat", options=ContractOptions(max_examples=2, phases=("walk",)))
assert report.ok, report.summary()
assert report.checks["update_visible"].applied, report.summary()
print("ran", report.requests["engine"])
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ran ")
