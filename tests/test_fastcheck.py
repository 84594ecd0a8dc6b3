"""The compiled check says exactly what jsonschema says, for every schema it accepts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from mockserver.fastcheck import compile_check
from mockserver.spec import Spec, spec_dir

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(-5, 5, allow_nan=False)
    | st.sampled_from(["", "STOPPED", "RUNNING", "abcd", "a b", "x" * 70, "dead-beef.1"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["configurationId", "targetStatus", "id", "deployments", "name", "x"]),
            inner,
            max_size=3,
        )
    ),
    max_leaves=8,
)

SCHEMAS: list[Any] = [
    {"type": "integer", "minimum": 0, "maximum": 3},
    {"type": ["string", "null"], "maxLength": 4},
    {"enum": ["STOPPED", 1, None, True]},
    {"const": 1},
    {
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "string", "pattern": "^[a-z]{4}$"}},
        "additionalProperties": False,
    },
    {"oneOf": [{"required": ["targetStatus"]}, {"required": ["configurationId"]}]},
    {"anyOf": [{"type": "array", "items": {"type": "number"}, "maxItems": 2}, {"type": "boolean"}]},
    {"allOf": [{"type": "object"}, {"properties": {"x": {"minLength": 1}}}]},
    {"type": "object", "additionalProperties": {"type": "integer"}, "properties": {"name": {}}},
]


def schemas_in_specs() -> list[Any]:
    found = []
    for path in sorted(spec_dir().glob("*.yaml")):
        spec = Spec(path.name)
        for op in spec.operations.values():
            found += [v for v in op.body_types.values() if v.fast is not None]
            found += [p.validator for p in op.params if p.validator.fast is not None]
            found += [v for v in op.responses.values() if v is not None and v.fast is not None]
    return found


@pytest.mark.parametrize("schema", SCHEMAS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values)
def test_agrees_with_jsonschema(schema: Any, value: Any) -> None:
    check = compile_check(schema)
    assert check is not None
    assert check(value) == Draft202012Validator(schema).is_valid(value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), value=json_values)
def test_agrees_on_the_specs_own_schemas(data: st.DataObject, value: Any) -> None:
    schema = data.draw(st.sampled_from(SPEC_SCHEMAS))
    assert schema.fast(value) == schema.validator.is_valid(value)


SPEC_SCHEMAS = schemas_in_specs()


def test_most_spec_schemas_compile() -> None:
    assert len(SPEC_SCHEMAS) >= 20


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "format": "date-time"},
        {"not": {}},
        {"$ref": "#/x"},
        {"enum": [[1]]},
        {"uniqueItems": True},
        {"patternProperties": {}},
    ],
)
def test_declines_what_it_cannot_judge(schema: Any) -> None:
    assert compile_check(schema) is None
