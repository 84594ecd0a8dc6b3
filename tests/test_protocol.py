"""`deploymock serve` over a socket: slow clients are cut off, unparsable requests get JSON."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.support import serving

SAP = {"Authorization": "Bearer t", "AI-Resource-Group": "rg-a"}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    with serving("--provider", "sap_ai_core", "--request-timeout", "0.5") as (url, _proc, _l):
        host, _, port = url.removeprefix("http://").partition(":")
        yield host, int(port)


def exchange(where: tuple[str, int], data: bytes) -> bytes:
    """Send `data`, then read until the server closes (the socket's own timeout: a safety net
    far past the server's 0.5 s, not a wait)."""
    with socket.create_connection(where, timeout=20) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def split(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize(
    "partial",
    [
        b"",  # connected, said nothing
        b"GET /sap_ai_core/v2/lm/deployments HTTP/1.1\r\nHost: x\r\n",  # headers never end
        b"POST /sap_ai_core/v2/lm/configurations HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: 100\r\n\r\n{",  # the body never ends
    ],
    ids=["silent", "stalled headers", "stalled body"],
)
def test_a_stalled_request_is_a_408_and_closed(server: tuple[str, int], partial: bytes) -> None:
    status, headers, body = split(exchange(server, partial))
    assert status == 408 and headers["content-type"] == "application/json"
    assert "did not arrive within 0.5 s" in json.loads(body)["error"]


@pytest.mark.parametrize(
    "garbage",
    [
        b"NOT A REQUEST\r\n\r\n",
        b"GET /sap_ai_core/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
    ],
    ids=["request line", "raw bytes in the path", "header line"],
)
def test_what_uvicorn_cannot_parse_is_a_json_400(server: tuple[str, int], garbage: bytes) -> None:
    status, headers, body = split(exchange(server, garbage))
    assert status == 400 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"].startswith("Invalid HTTP request")


def test_a_request_that_arrives_in_time_is_served(server: tuple[str, int]) -> None:
    host, port = server
    r = httpx.get(f"http://{host}:{port}/v2/lm/deployments", headers=SAP)
    assert r.status_code == 200 and r.json() == {"count": 0, "resources": []}
