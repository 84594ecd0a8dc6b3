"""The import rules of ARCHITECTURE.md, checked on every module (imports inside functions too)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What a provider may use of the core: the interface and the value modules it names.
PROVIDER_MAY_IMPORT = (
    "mockserver.provider",
    "mockserver.errors",
    "mockserver.store",
    "mockserver.statemachine",
    "mockserver.clock",
    "mockserver.spec",
    "mockserver.providers",
)
# The entry points that put the parts together.
ASSEMBLERS = {
    "mockserver.app": ("mockserver.providers",),
    "mockserver.cli": ("mockserver.contract",),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(me: str, source: str, *, is_package: bool = False) -> Iterator[str]:
    """Every module the source of module `me` imports, absolute."""
    package = me if is_package else me.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{module}" if module else base
            if module:
                yield module
                yield from (f"{module}.{alias.name}" for alias in node.names)


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def allowed(me: str, name: str) -> bool:
    if not within(name, ("mockserver", "pytest_plugin")):
        return True  # the standard library and third-party packages
    if within(me, ("mockserver.providers",)):
        return within(name, PROVIDER_MAY_IMPORT)
    if within(me, ("mockserver.contract",)):
        return not within(name, ("pytest_plugin", "mockserver.providers"))
    if within(me, ("pytest_plugin",)):
        return not within(name, ("mockserver.providers",))
    parts = ("pytest_plugin", "mockserver.contract", "mockserver.providers")
    return not within(name, tuple(p for p in parts if p not in ASSEMBLERS.get(me, ())))


def broken_rules(me: str, source: str, *, is_package: bool = False) -> list[str]:
    return [
        f"{me} imports {name}"
        for name in imports(me, source, is_package=is_package)
        if not allowed(me, name)
    ]


def module_paths() -> list[Path]:
    return sorted(p for w in ("mockserver", "pytest_plugin") for p in (ROOT / w).rglob("*.py"))


@pytest.mark.parametrize("path", module_paths(), ids=lambda p: module_name(p))
def test_imports_go_downward(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert broken_rules(module_name(path), source, is_package=path.name == "__init__.py") == []


@pytest.mark.parametrize(
    ("me", "source"),
    [
        ("mockserver.journal", "from pytest_plugin.handle import Mockserver"),
        ("mockserver.dispatch", "def f():\n    import mockserver.contract.runner"),
        ("mockserver.mock", "from mockserver.providers import sap_ai_core"),
        ("mockserver.providers.sap_ai_core", "from mockserver.mock import Mock"),
        ("mockserver.providers.ibm_wml.common", "from ...app import create_app"),
        ("mockserver.contract.runner", "import pytest_plugin.checks"),
        ("mockserver.contract.profile", "from mockserver.providers.sap_ai_core import CONTRACT"),
    ],
)
def test_an_upward_import_is_caught(me: str, source: str) -> None:
    assert broken_rules(me, source) != []


def test_what_each_part_may_import_passes() -> None:
    assert broken_rules("mockserver.providers.ibm_wml.models", "from .common import touch") == []
    assert broken_rules("mockserver.contract.runner", "from mockserver.spec import Spec") == []
    assert broken_rules("pytest_plugin.handle", "from mockserver.contract import x") == []
    assert broken_rules("mockserver.app", "from mockserver import providers") == []
