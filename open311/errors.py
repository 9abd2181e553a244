"""The one error hierarchy raised by use cases and rendered by the HTTP layer."""

from __future__ import annotations


def lazy(message: str) -> str:
    """Mark a default text for the message catalogs (`make messages`); the HTTP layer translates it when shown."""
    return message


class Open311Error(Exception):
    """A client-facing failure carrying one or more human-readable descriptions."""

    status: int = 400
    default = lazy("Bad request.")

    def __init__(self, *descriptions: str, headers: dict[str, str] | None = None) -> None:
        self.descriptions: tuple[str, ...] = descriptions or (self.default,)
        self.headers: dict[str, str] = headers or {}
        super().__init__("; ".join(self.descriptions))


class BadRequest(Open311Error):
    """400: the request cannot be fulfilled as sent."""


class Forbidden(Open311Error):
    """403: missing, invalid or revoked API key."""

    status = 403
    default = lazy("Missing or invalid api_key.")


class NotFound(Open311Error):
    """404: the resource (jurisdiction, service, request, token, route) does not exist."""

    status = 404
    default = lazy("Resource not found.")


class Conflict(Open311Error):
    """409: the request conflicts with what is stored (e.g. a repeated update_id)."""

    status = 409
    default = lazy("Conflict.")


class PayloadTooLarge(Open311Error):
    """413: the body (or one of its parts) is larger than the configured limit."""

    status = 413
    default = lazy("The request body is too large.")


class Unprocessable(Open311Error):
    """422: well-formed, but cannot be processed (an Idempotency-Key reused with another payload)."""

    status = 422
    default = lazy("Unprocessable request.")


class TooManyRequests(Open311Error):
    """429: a rate limit was reached; carries Retry-After."""

    status = 429
    default = lazy("Too many requests.")


class ConfigError(Exception):
    """The configuration is invalid; holds every problem found, each with its location."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class ServiceUnavailable(Open311Error):
    """503: a service the request depends on (e.g. the geocoder) cannot answer now; try again later."""

    status = 503
    default = lazy("Service temporarily unavailable.")
