"""Alpaca keys per account (from the environment or `*_FILE`) and the alpaca-py clients built from them.

Each of our Alpaca accounts has its own key pair, named by its `credentials`: "JANE" reads
ALPACA_JANE_API_KEY / ALPACA_JANE_SECRET_KEY; none reads ALPACA_API_KEY / ALPACA_SECRET_KEY. The SDK reads no
environment variables itself. Errors name the variables, never their values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from alpaca.common.rest import RESTClient
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.trading.client import TradingClient
from requests.adapters import HTTPAdapter

from brokers.protocol import BrokerError
from daemon.config.models import AccountConfig, AlpacaBrokerConfig
from daemon.config.secrets import SecretError, alpaca_key_names, read_secret


@dataclass(frozen=True, slots=True)
class AlpacaKeys:
    names: tuple[str, str]  # the environment variables they came from
    api_key: str = field(repr=False)
    secret_key: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """HTTP behaviour of the SDK clients. alpaca-py sets no timeout on its own (a hung connection would hang
    the daemon) and retries 429/504 itself, `retry_attempts` times `retry_wait_seconds` apart; our own
    retry with backoff lives in the execution layer, so tests turn the SDK's down."""

    timeout_seconds: float = 30.0
    retry_attempts: int = 3
    retry_wait_seconds: float = 3.0


def account_keys(account: AccountConfig, environ: Mapping[str, str] | None = None) -> AlpacaKeys:
    names = alpaca_key_names(account.credentials)
    try:
        api_key, secret_key = (read_secret(name, environ) for name in names)
    except SecretError as exc:
        raise BrokerError(f"Alpaca account {account.id!r}: {exc}") from None
    if not api_key or not secret_key:
        missing = [name for name, value in zip(names, (api_key, secret_key), strict=True) if not value]
        raise BrokerError(f"Alpaca account {account.id!r}: no key: set {' and '.join(missing)} "
                          f"(or {' / '.join(n + '_FILE' for n in missing)} naming a file that holds it)")
    return AlpacaKeys(names, api_key, secret_key)


def resolve_keys(accounts: Sequence[AccountConfig], environ: Mapping[str, str] | None = None) -> dict[str, AlpacaKeys]:
    """Keys for every account; one error naming every missing variable; no key pair shared by two accounts
    (two of our accounts on one Alpaca account would count its holdings twice)."""
    keys: dict[str, AlpacaKeys] = {}
    problems: list[str] = []
    for account in accounts:
        try:
            keys[account.id] = account_keys(account, environ)
        except BrokerError as exc:
            problems.append(str(exc))
    if problems:
        raise BrokerError("; ".join(problems))
    owners: dict[str, str] = {}
    for account_id, key in keys.items():
        if key.api_key in owners:
            raise BrokerError(f"Alpaca accounts {owners[key.api_key]!r} and {account_id!r} use the same key "
                              f"({key.names[0]}): give each its own `credentials`")
        owners[key.api_key] = account_id
    return keys


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: float):
        super().__init__()
        self._timeout = timeout

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


def tune(client: RESTClient, options: ClientOptions) -> None:
    """Apply `options` to an SDK client: a default timeout on its session, its own retry settings.
    (TradingClient's constructor does not pass retry settings through; RESTClient keeps them in `_retry`,
    `_retry_wait`, and its constructor ignores zeros.)"""
    adapter = _TimeoutAdapter(options.timeout_seconds)
    client._session.mount("http://", adapter)
    client._session.mount("https://", adapter)
    client._retry = max(0, options.retry_attempts)
    client._retry_wait = max(0.0, options.retry_wait_seconds)  # type: ignore[assignment]


def trading_client(keys: AlpacaKeys, config: AlpacaBrokerConfig, options: ClientOptions) -> TradingClient:
    client = TradingClient(keys.api_key, keys.secret_key, paper=config.paper, url_override=config.base_url)
    tune(client, options)
    return client


def data_client(keys: AlpacaKeys, config: AlpacaBrokerConfig, options: ClientOptions) -> StockHistoricalDataClient:
    client = StockHistoricalDataClient(keys.api_key, keys.secret_key, url_override=config.data_url)
    tune(client, options)
    return client
