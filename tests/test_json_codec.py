"""Request bodies in every encoding JSON allows are read; answers are compact UTF-8 JSON.

The request path decodes UTF-8 itself and writes answers with orjson (both for speed); these
tests hold it to what `json.loads(bytes)` accepts and to what the standard library can write.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

import httpx
import pytest

from mockserver.dispatch import encode_json, parse_body
from mockserver.errors import Invalid

pytestmark = pytest.mark.mockserver(provider="sap_ai_core")

CONFIG = {"name": "caf\u00e9 cr\u00e8me \u65e5\u672c", "scenarioId": "scen", "executableId": "exec"}


@pytest.mark.parametrize(
    "encoded",
    [
        json.dumps(CONFIG).encode(),
        json.dumps(CONFIG, ensure_ascii=False).encode(),
        codecs.BOM_UTF8 + json.dumps(CONFIG, ensure_ascii=False).encode(),
        json.dumps(CONFIG, ensure_ascii=False).encode("utf-16"),
        json.dumps(CONFIG, ensure_ascii=False).encode("utf-16-le"),
        json.dumps(CONFIG, ensure_ascii=False).encode("utf-32"),
        b"  \n" + json.dumps(CONFIG).encode(),
    ],
    ids=["ascii", "utf-8", "utf-8 bom", "utf-16", "utf-16-le", "utf-32", "leading space"],
)
def test_a_body_in_any_json_encoding_is_read(mockserver: Any, encoded: bytes) -> None:
    api: httpx.Client = mockserver.client()
    created = api.post(
        "/v2/lm/configurations", content=encoded, headers={"content-type": "application/json"}
    )
    assert created.status_code == 201, created.text
    got = api.get(f"/v2/lm/configurations/{created.json()['id']}")
    assert got.json()["name"] == CONFIG["name"]
    assert got.headers["content-type"] == "application/json"
    assert got.content.decode("utf-8") == got.text  # answers are UTF-8
    assert json.loads(got.content) == got.json()


def test_parse_body_agrees_with_json_loads_on_rfc_8259_json() -> None:
    for raw in [b"{}", b"[1, 2.5, -3e2]", b'"\\ud83d\\ude00"', b"1", b'{"a": 1}\n', b"1e308"]:
        assert parse_body(raw) == (json.loads(raw), True), raw
    assert parse_body(b"  \r\n") == (None, False)
    assert parse_body(b"123456789012345678901234567890") == (123456789012345678901234567890, True)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "\xff"}',  # invalid UTF-8
        b'"\xed\xa0\x80"',  # a surrogate, encoded as UTF-8 bytes
        b'"\\ud800"',  # a lone surrogate, escaped
        b'{"\\udc00": 1}',  # in a key
        '["\ud800"]'.encode("utf-16", "surrogatepass"),  # in a UTF-16 body
        b'{"a": NaN}',
        b"[Infinity]",
        b"-Infinity",
        b"1e400",  # too large for a double
        b'{"a": ',
        b"\x00\x00\x00",
        b"{'a': 1}",
    ],
)
def test_parse_body_refuses_what_is_not_json(raw: bytes) -> None:
    with pytest.raises(Invalid):
        parse_body(raw)


@pytest.mark.parametrize("raw", [b'{"name": NaN}', b'{"name": "\\ud800"}', b'{"name": 1e999}'])
def test_non_json_values_are_the_vendors_400_and_store_nothing(mockserver: Any, raw: bytes) -> None:
    api: httpx.Client = mockserver.client()
    r = api.post("/v2/lm/configurations", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "01010001"
    assert mockserver.state() == {}
    assert mockserver.client(auth=False).get("http://deploymock/__admin/state").status_code == 200


@pytest.mark.parametrize(
    "value",
    [
        {"a": 2**70, "b": -(2**65)},  # beyond 64 bits: orjson declines, the stdlib writes it
        {"n": [1, 2.5, None, True, "\u00e9"], "nested": {"x": {"y": []}}},
        [{"deep": [[[[[[[[[[]]]]]]]]]]}],
    ],
)
def test_encode_json_round_trips(value: Any) -> None:
    encoded = encode_json(value)
    assert json.loads(encoded) == value
    assert b": " not in encoded and b", " not in encoded  # compact


def test_encode_json_writes_deep_nesting_orjson_declines() -> None:
    value: Any = []
    for _ in range(400):
        value = [value]
    assert json.loads(encode_json(value)) == value
