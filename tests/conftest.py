from __future__ import annotations

# pytester's in-process runs put sys.modules back as it was afterwards, dropping every module
# first imported inside an inner run. httpx imports httpcore lazily, when its first transport is
# made: if that happens in an inner run, the next import makes a second set of httpcore
# exception classes, which httpx no longer maps to its own (a timeout escapes as
# httpcore.ReadTimeout). Import them before any inner run.
# PyYAML's C loader (mockserver.spec) is the same case: a yaml package imported a second time
# next to the one C extension builds nodes the new resolver does not know ("could not determine
# a constructor for the tag None").
import httpcore  # noqa: F401
import httpx  # noqa: F401
import yaml  # noqa: F401

pytest_plugins = ["pytester"]
