"""Typed environment helpers that fail loudly (healthchecks' envbool/envint)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class ConfigError(RuntimeError):
    """A configuration value is missing or malformed."""


def envstr(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be a boolean (true/false/1/0), got {value!r}")


def envint(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from exc
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {number}")
    return number


def envlist(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def envsecret(name: str, *, embedded: bool, keep_in: Path) -> str:
    """A secret from the environment; the embedded mode generates and keeps one.

    Outside the embedded mode a missing secret is a configuration error: there
    is no production default.
    """
    value = os.environ.get(name)
    if value:
        return value
    if not embedded:
        raise ConfigError(f"{name} must be set when DATABASE_URL points at a server")
    keep_in.parent.mkdir(parents=True, exist_ok=True)
    if keep_in.exists():
        return keep_in.read_text().strip()
    generated = secrets.token_urlsafe(50)
    keep_in.write_text(generated)
    keep_in.chmod(0o600)
    return generated
