"""Secrets come from the environment, or from a file named by `<NAME>_FILE` (Docker secrets); never TOML."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


class SecretError(Exception):
    pass


def read_secret(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    value = env.get(name)
    if value:
        return value
    file_name = env.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip() or None
        except OSError as exc:
            raise SecretError(f"{name}_FILE: cannot read {file_name}: {exc.strerror}") from None
    return None


def mask(value: str | None) -> str:
    if not value:
        return "(not set)"
    return "****" + value[-2:] if len(value) > 8 else "****"


def alpaca_key_names(credentials: str | None) -> tuple[str, str]:
    infix = f"{credentials}_" if credentials else ""
    return f"ALPACA_{infix}API_KEY", f"ALPACA_{infix}SECRET_KEY"
