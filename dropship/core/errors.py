"""Errors a user can read. Services raise them; views turn them into messages, the API into 4xx."""


class DomainError(Exception):
    """A rule of the marketplace was broken; the message says which, in words a user understands."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class PermissionDenied(DomainError):
    status_code = 403


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class TemporaryError(Exception):
    """Something outside failed in a way that may succeed later (timeout, 429, 5xx): retry."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """Something outside refused for good (4xx, bad data): record it and stop retrying."""
