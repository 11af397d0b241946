"""Secrets in URLs: a password or token in a URL's user info or query string would sit in the TOML file,
in `config check` output and in logged connection errors. Such URLs are refused, naming the environment
variable to use instead; anything printed or logged goes through `redact`."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

# Query parameters that carry a credential (case-insensitive; a name containing one of these counts).
SECRET_PARAMS = ("password", "passwd", "pwd", "token", "secret", "apikey", "api_key", "api-key", "auth",
                 "credential", "signature", "sig")
# Not secrets although their names look like it: file paths and modes of PostgreSQL's TLS settings.
NOT_SECRET = {"sslkey", "sslcert", "sslrootcert", "sslcrl", "sslmode", "auth_plugin", "gssencmode"}


def secret_parts(url: str) -> list[str]:
    """The parts of `url` that hold a credential: "user info" and/or "query parameter NAME"."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found: list[str] = []
    if "@" in parts.netloc and ":" in parts.netloc.rsplit("@", 1)[0]:  # a user name alone is no secret
        found.append("a password in the user info")
    for name, _ in parse_qsl(parts.query, keep_blank_values=True):
        lowered = name.lower()
        if lowered not in NOT_SECRET and any(s in lowered for s in SECRET_PARAMS):
            found.append(f"query parameter {name!r}")
    return found


def refuse(key: str, url: str, instead: str) -> tuple[str, str] | None:
    """A config problem for `key` when its URL holds a credential (the credential itself is not repeated)."""
    parts = secret_parts(url)
    if not parts:
        return None
    return key, (f"holds a credential ({', '.join(parts)}); secrets never live in the file or in URLs: "
                 f"remove it and set {instead} instead")


_QUERY = re.compile(r"\?[^\s'\"<>()]*")
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/\s@'\"]+@", re.IGNORECASE)


def redact(text: str) -> str:
    """Text that may quote URLs (an exception from requests or psycopg), without query strings or user info."""
    return _USERINFO.sub(r"\1****@", _QUERY.sub("?****", text))
