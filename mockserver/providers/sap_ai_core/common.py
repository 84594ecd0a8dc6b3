"""What every SAP operation shares: its error body, its codes, its authentication."""

from __future__ import annotations

import re
from typing import Any

from mockserver.provider import (
    Call,
    MockError,
    Unauthorized,
)
from mockserver.providers.sap_ai_core.oauth import TOKEN_OPERATION, TOKEN_PATH, render_oauth_error

# SAP's codes are opaque strings. 01010076 is documented; the others are ours (see the spec).
CODES = {
    400: "01010001",
    401: "01000401",
    404: "01010404",
    405: "01010405",
    412: "01010076",
    413: "01010413",
    500: "01000500",
    501: "01000501",
}
CONFIG_MISMATCH = "01010077"
TTL = re.compile(r"^([0-9]+)([mMhHdD])$")
TTL_UNIT = {"m": 60, "h": 3600, "d": 86400}


def render_error(err: MockError, ctx: Call) -> dict[str, Any]:
    if ctx.operation_id == TOKEN_OPERATION or ctx.url.endswith(TOKEN_PATH):  # also a 405
        return render_oauth_error(err)
    error: dict[str, Any] = {
        "code": err.code or CODES.get(err.status, f"0101{err.status:04d}"),
        "message": err.message,
        "requestId": ctx.request_id,
        "target": ctx.url,
    }
    if err.details:
        error["details"] = [
            {
                "code": d.get("code", error["code"]),
                "message": d.get("message", "")
                if "field" not in d
                else f"{d['field']}: {d['message']}",
            }
            for d in err.details
        ]
    return {"error": error}


def authenticate(ctx: Call) -> None:
    scheme, _, token = ctx.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "Missing or invalid authorization: expected 'Authorization: Bearer <token>'"
        )
