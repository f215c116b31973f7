"""One family of domain errors, raised by services and mapped once: to HTTP answers in the API
(`api/exceptions.py`) and to messages in the pages (`web/errors.py`).

A service raises one of these when it refuses on purpose; anything else that escapes a service
is a bug and surfaces as one.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the domain makes on purpose; `message` is written for the person who asked."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class NotAllowed(DomainError):
    """The actor may not do this (HTTP 403)."""


class NotFound(DomainError):
    """No such record (HTTP 404)."""


class InvalidInput(DomainError):
    """A value is wrong; `errors` names each field and what is wrong with it (HTTP 400).

    `InvalidInput("…", field="observed_on")` for one field; `InvalidInput.of(errors)` for a
    mapping of field → messages, such as Django's `ValidationError.message_dict`. The field
    `"__all__"` means the input as a whole.
    """

    def __init__(self, message: str, *, field: str = "__all__", errors: dict[str, list[str]] | None = None):
        self.errors = errors or {field: [message]}
        super().__init__(message)

    def field_errors(self) -> dict[str, list[str]]:
        """Field → messages, whatever the subclass keeps in `errors` (an importer keeps rows)."""
        return self.errors

    @classmethod
    def of(cls, errors: dict[str, list[str]]) -> InvalidInput:
        message = "; ".join(f"{field}: {text}" if field != "__all__" else text
                            for field, texts in errors.items() for text in texts)
        return cls(message, errors={field: list(texts) for field, texts in errors.items()})


class Refused(DomainError):
    """The rules do not allow this in the record's present state (HTTP 409)."""


class Conflict(DomainError):
    """Someone else's work is in the way (HTTP 409)."""


class StaleVersion(Conflict):
    """The record changed since the caller read it; nothing was written (HTTP 412)."""

    def __init__(self, record, expected_version: int):
        self.record = record
        self.expected_version = expected_version
        super().__init__(
            f"'{record}' is at version {record.version}, not {expected_version}: "
            "someone changed it since you read it. Reload and try again."
        )


class Unavailable(DomainError):
    """A service the work needs (the task broker) cannot be reached (HTTP 503)."""
