"""Compiled validity checks for a subset of JSON Schema, exactly as jsonschema judges it.

jsonschema interprets a schema on every call, which costs more than everything else the mock
does for a request. `compile_check(schema)` turns a schema that uses only the keywords below
into a plain function returning exactly what `Draft202012Validator(schema).is_valid(value)`
returns, or gives None (at compile time) for anything else. The mock uses it only to skip
jsonschema for valid requests; invalid ones still go to jsonschema, which says what is wrong.
`tests/test_fastcheck.py` checks the agreement with property tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

ANNOTATIONS = frozenset(
    {
        "description",
        "example",
        "examples",
        "default",
        "title",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$comment",
    }
)
SUPPORTED = frozenset(
    {
        "type",
        "enum",
        "const",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "required",
        "properties",
        "additionalProperties",
        "items",
        "minItems",
        "maxItems",
        "allOf",
        "anyOf",
        "oneOf",
    }
)
_SCALARS = (str, int, float, bool, type(None))


def _is(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, int | float)
    if kind == "object":
        return isinstance(value, dict)
    return kind == "array" and isinstance(value, list)


def _equal(a: Any, b: Any) -> bool:
    """jsonschema's equality for scalars: booleans are not numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def compile_check(schema: Any) -> Check | None:
    if schema is True or schema == {}:
        return lambda value: True
    if schema is False:
        return lambda value: False
    if not isinstance(schema, dict) or set(schema) - ANNOTATIONS - SUPPORTED:
        return None
    checks: list[Check] = []
    for keyword in sorted(SUPPORTED & set(schema), key=_ORDER.index):
        check = _KEYWORDS[keyword](schema[keyword], schema)
        if check is None:
            return None
        checks.append(check)
    return _all(checks)


def _all(checks: list[Check]) -> Check:
    """One check that passes when every one of `checks` does (no generator per call)."""
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda value: first(value) and second(value)

    def check(value: Any) -> bool:
        for c in checks:  # noqa: SIM110 - a loop costs less than all() over a generator
            if not c(value):
                return False
        return True

    return check


_ISINSTANCE: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "object": dict,
    "array": list,
    "boolean": bool,
}


def _type(kinds: Any, _: dict[str, Any]) -> Check | None:
    names = [kinds] if isinstance(kinds, str) else kinds
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    if len(names) == 1 and names[0] in _ISINSTANCE:
        cls = _ISINSTANCE[names[0]]
        return lambda value: isinstance(value, cls)
    return lambda value: any(_is(kind, value) for kind in names)


def _enum(options: Any, _: dict[str, Any]) -> Check | None:
    if not isinstance(options, list) or not all(isinstance(o, _SCALARS) for o in options):
        return None
    if all(type(o) is str for o in options):
        # Only a string equals a string: a set lookup is the same judgement.
        strings = frozenset(options)
        return lambda value: isinstance(value, str) and value in strings
    return lambda value: isinstance(value, _SCALARS) and any(_equal(value, o) for o in options)


def _const(option: Any, schema: dict[str, Any]) -> Check | None:
    return _enum([option], schema)


def _pattern(pattern: Any, _: dict[str, Any]) -> Check | None:
    compiled = re.compile(pattern)
    return lambda value: not isinstance(value, str) or compiled.search(value) is not None


def _length(bound: Any, bigger: bool, kind: type[str] | type[list[Any]]) -> Check | None:
    if not isinstance(bound, int):
        return None

    def check(value: Any) -> bool:
        if not isinstance(value, kind):
            return True
        return len(value) >= bound if bigger else len(value) <= bound

    return check


def _number(bound: Any, bigger: bool) -> Check | None:
    if isinstance(bound, bool) or not isinstance(bound, int | float):
        return None

    def check(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return True
        return value >= bound if bigger else value <= bound

    return check


def _required(names: Any, _: dict[str, Any]) -> Check | None:
    if not isinstance(names, list):
        return None
    if len(names) == 1:
        name = names[0]
        return lambda value: not isinstance(value, dict) or name in value
    return lambda value: not isinstance(value, dict) or all(n in value for n in names)


def _properties(props: Any, _: dict[str, Any]) -> Check | None:
    if not isinstance(props, dict):
        return None
    compiled = {name: compile_check(sub) for name, sub in props.items()}
    if any(c is None for c in compiled.values()):
        return None
    checks: dict[str, Check] = {k: c for k, c in compiled.items() if c is not None}

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for k, v in value.items():
            c = checks.get(k)
            if c is not None and not c(v):
                return False
        return True

    return check


def _additional(extra: Any, schema: dict[str, Any]) -> Check | None:
    sub = compile_check(extra)
    known = set(schema.get("properties", {}))
    if sub is None:
        return None
    return lambda value: (
        not isinstance(value, dict) or all(sub(v) for k, v in value.items() if k not in known)
    )


def _items(items: Any, _: dict[str, Any]) -> Check | None:
    sub = compile_check(items)
    if sub is None:
        return None
    return lambda value: not isinstance(value, list) or all(sub(v) for v in value)


def _combine(subs: Any, rule: Callable[[int, int], bool] | None) -> Check | None:
    """allOf (rule None), anyOf, oneOf: `rule(hits, n)` judges how many branches passed."""
    if not isinstance(subs, list) or not subs:
        return None
    compiled = [compile_check(s) for s in subs]
    if any(c is None for c in compiled):
        return None
    checks = [c for c in compiled if c is not None]
    n = len(checks)
    if rule is None:
        return _all(checks)

    def check(value: Any) -> bool:
        hits = 0
        for c in checks:
            if c(value):
                hits += 1
        return rule(hits, n)

    return check


_KEYWORDS: dict[str, Callable[[Any, dict[str, Any]], Check | None]] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "pattern": _pattern,
    "minLength": lambda b, _: _length(b, True, str),
    "maxLength": lambda b, _: _length(b, False, str),
    "minItems": lambda b, _: _length(b, True, list),
    "maxItems": lambda b, _: _length(b, False, list),
    "minimum": lambda b, _: _number(b, True),
    "maximum": lambda b, _: _number(b, False),
    "required": _required,
    "properties": _properties,
    "additionalProperties": _additional,
    "items": _items,
    "allOf": lambda subs, _: _combine(subs, None),
    "anyOf": lambda subs, _: _combine(subs, lambda hits, n: hits >= 1),
    "oneOf": lambda subs, _: _combine(subs, lambda hits, n: hits == 1),
}
# Cheap checks first: a value of the wrong type fails before its pattern or properties run.
_ORDER = list(_KEYWORDS)
