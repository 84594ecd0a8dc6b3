"""Errors a handler (or the core) raises. Each provider renders them in its vendor's format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class MockError(Exception):
    """A client-visible error: an HTTP status plus what the vendor body needs."""

    http_status: ClassVar[int] = 500

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        kind: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status: int = status if status is not None else self.http_status
        self.details = details or []
        self.headers = dict(headers or {})
        self.kind = kind  # what was not found / invalid, e.g. "deployment"


class Invalid(MockError):
    http_status = 400


class Unauthorized(MockError):
    http_status = 401


class Forbidden(MockError):
    http_status = 403


class NotFound(MockError):
    http_status = 404


class MethodNotAllowed(MockError):
    http_status = 405


class Conflict(MockError):
    http_status = 409


class PreconditionFailed(MockError):
    http_status = 412


class PayloadTooLarge(MockError):
    http_status = 413


class Unimplemented(MockError):
    http_status = 501


class ConfigError(Exception):
    """The mock cannot start: a spec and its provider do not match, or an option is wrong."""
