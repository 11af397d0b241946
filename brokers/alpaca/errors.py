"""alpaca-py / requests failures -> BrokerError (transient or not), with no key in any message.

429, 408 and 5xx responses, connection failures and timeouts are transient; other 4xx are not. A 422
"client_order_id must be unique" is DuplicateOrder. The SDK's own exception is not chained (`from None`):
it holds the request, whose headers carry the keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import requests
from alpaca.common.exceptions import APIError
from pydantic import ValidationError

from brokers.protocol import BrokerError, DuplicateOrder
from daemon.config.urls import redact

_DUPLICATE = "client_order_id must be unique"
_MAX_TEXT = 300


def is_transient(status: int | None) -> bool:
    return status is not None and (status in (408, 429) or status >= 500)


class Guard:
    """`with guard("submit"):` around SDK calls: translates their failures, scrubbing the keys."""

    def __init__(self, secrets: Iterable[str]):
        self._secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "****")
        return redact(text)  # a query string or user info quoted by requests may hold a token

    def error(self, what: str, message: str, *, transient: bool = False, status: int | None = None,
              duplicate: bool = False) -> BrokerError:
        cls = DuplicateOrder if duplicate else BrokerError
        return cls(self.scrub(f"alpaca {what}: {message}"), transient=transient, status=status)

    @contextmanager
    def __call__(self, what: str) -> Iterator[None]:
        try:
            yield
        except BrokerError:
            raise
        except APIError as exc:
            raise self._api_error(what, exc) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
            raise self.error(what, f"{kind}: {_short(str(exc))}", transient=True) from None
        except requests.exceptions.ChunkedEncodingError as exc:
            raise self.error(what, f"response cut off: {_short(str(exc))}", transient=True) from None
        except (requests.RequestException, ValueError) as exc:
            # ValueError covers pydantic's ValidationError, bad JSON and our own parsing errors.
            detail = _validation(exc) if isinstance(exc, ValidationError) else str(exc)
            raise self.error(what, f"invalid data: {_short(detail)}") from None

    def _api_error(self, what: str, exc: APIError) -> BrokerError:
        try:
            status: int | None = exc.status_code
        except Exception:  # noqa: BLE001 - no response attached
            status = None
        text = str(exc)
        try:
            body = json.loads(text)
            message = str(body.get("message", text)) if isinstance(body, dict) else text
        except ValueError:  # an HTML page from a proxy, say
            message = text
        duplicate = status == 422 and _DUPLICATE in message.lower()
        return self.error(what, f"HTTP {status}: {_short(message)}", transient=is_transient(status),
                          status=status, duplicate=duplicate)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "..."


def _validation(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "item"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)
