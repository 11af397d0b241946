"""The dashboard's query parameters: parsed and bounded, or a BadRequest that says which and why."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date


class BadRequest(Exception):
    pass


def whole(params: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name}: not a whole number: {raw!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name}: must be between {low} and {high}")
    return value


def day(params: Mapping[str, str], name: str) -> date | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name}: not a YYYY-MM-DD date: {raw!r}") from None


def choice(params: Mapping[str, str], name: str, allowed: set[str] | list[str]) -> str | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if raw not in allowed:
        raise BadRequest(f"{name}: unknown {name} {raw!r}; one of: {', '.join(sorted(allowed))}")
    return raw


def text(params: Mapping[str, str], name: str, limit: int = 100) -> str | None:
    raw = params.get(name, "").strip()
    if len(raw) > limit:
        raise BadRequest(f"{name}: longer than {limit} characters")
    return raw or None
