"""pytest plugin for deploymock: fixtures that give each test a stateful vendor mock.

Outside pytest, `from pytest_plugin import mocked` gives the same handle (`standalone.py`).
Nothing heavy is imported until it is used: pytest loads this package for every run.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Mockserver", "MockserverConfig", "mocked"]


def __getattr__(name: str) -> Any:
    if name == "mocked":
        from pytest_plugin.standalone import mocked

        return mocked
    if name in ("Mockserver", "MockserverConfig"):
        from pytest_plugin import handle

        return getattr(handle, name)
    raise AttributeError(f"module 'pytest_plugin' has no attribute {name!r}")
