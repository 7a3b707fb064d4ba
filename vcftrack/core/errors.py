"""Domain errors raised by services and rendered by the API and the web UI."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class DomainError(Exception):
    """A state change that is not allowed (closing a closed task, ...)."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class NotFound(DomainError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field, code="not_found")


class PermissionDenied(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="permission_denied")


class FieldErrors:
    """Collects every bad field before raising, so one answer names them all."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)
