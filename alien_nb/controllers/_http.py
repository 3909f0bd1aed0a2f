"""A JSON-over-HTTP call for the REST controllers (Cloud SQL Admin, Azure ARM)."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A REST call answered with an error status; ``message`` is the provider's own text."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(f"HTTP {status} {code}: {message}".rstrip(": "))


def is_http_not_found(exc: Exception) -> bool:
    """True for a REST call answered 404 (the resource does not exist)."""
    return isinstance(exc, ApiError) and exc.status == 404


def json_request(session: Any, method: str, url: str, *, timeout: float, **kwargs: Any) -> tuple[Any, Any]:
    """Send one request; return (response, decoded JSON or None); raise `ApiError` on 4xx/5xx."""
    response = session.request(method, url, timeout=timeout, **kwargs)
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    if response.status_code >= 400:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        if not isinstance(error, dict):
            error = {"message": str(error)}
        code = str(error.get("status") or error.get("code") or response.reason or "")
        message = str(error.get("message") or response.reason or "")
        raise ApiError(response.status_code, code, message)
    return response, body
