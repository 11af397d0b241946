"""Failures: transient or not, the SDK's own 429/504 retries, timeouts, and keys that never leak."""

from __future__ import annotations

import logging
import socket
from decimal import Decimal
from pathlib import Path

import pytest
import structlog

from brokers.alpaca import AlpacaBroker, ClientOptions
from brokers.protocol import BrokerError, DuplicateOrder, OrderRequest, OrderSide, OrderStatus
from daemon.config.models import AccountConfig, AlpacaBrokerConfig
from tests.brokers.alpaca.conftest import ACCOUNTS, ENVIRON, FAST, JOHN_SECRET, SECRETS, MakeBroker
from tests.fakes.alpaca_server import FakeAccount, FakeAlpaca


def sell(client_order_id: str, quantity: str = "1") -> OrderRequest:
    return OrderRequest(client_order_id, "john", "VTI", OrderSide.SELL, quantity=Decimal(quantity))


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_transient(broker: AlpacaBroker, fake: FakeAlpaca, status: int) -> None:
    fake.fail_next("/v2/account", status)
    with pytest.raises(BrokerError, match=f"HTTP {status}") as caught:
        broker.account("john")
    assert (caught.value.transient, caught.value.status) == (True, status)
    assert broker.account("john").cash == 100_000  # the next call goes through


def test_an_html_error_page_is_summarised(broker: AlpacaBroker, fake: FakeAlpaca) -> None:
    fake.fail_next("/v2/positions", 502, body="<html><body>\n<h1>502 Bad Gateway</h1>\n</body></html>")
    with pytest.raises(BrokerError, match="HTTP 502: <html><body> <h1>502 Bad Gateway") as caught:
        broker.positions("john")
    assert caught.value.transient is True


def test_a_500_on_submit_is_sent_once_and_may_be_retried(broker: AlpacaBroker, fake: FakeAlpaca) -> None:
    fake.fail_next("/v2/orders", 500, method="POST")
    with pytest.raises(BrokerError) as caught:
        broker.submit(sell("tlh-500"))
    assert caught.value.transient is True and not isinstance(caught.value, DuplicateOrder)
    assert len(fake.received("POST", "/v2/orders")) == 1  # the SDK retries only 429 and 504
    assert broker.submit(sell("tlh-500")).status == OrderStatus.FILLED


@pytest.mark.parametrize(("order", "status", "message"), [
    (OrderRequest("x1", "john", "NOPE", OrderSide.BUY, quantity=Decimal(1)), 422, 'asset "NOPE" not found'),
    (OrderRequest("x2", "john", "VTI", OrderSide.BUY, quantity=Decimal(1000)), 403, "insufficient buying power"),
    (OrderRequest("x3", "john", "VTI", OrderSide.SELL, quantity=Decimal(11)), 403, "insufficient qty available"),
])
def test_a_refused_order_is_not_transient(broker: AlpacaBroker, order: OrderRequest, status: int,
                                          message: str) -> None:
    with pytest.raises(BrokerError, match=message) as caught:
        broker.submit(order)
    assert (caught.value.transient, caught.value.status) == (False, status)
    assert not isinstance(caught.value, DuplicateOrder)


@pytest.mark.parametrize("status", [429, 504])
def test_429_and_504_without_sdk_retries(broker: AlpacaBroker, fake: FakeAlpaca, status: int) -> None:
    fake.fail_next("/v2/clock", status)
    with pytest.raises(BrokerError) as caught:
        broker.clock()
    assert (caught.value.transient, caught.value.status) == (True, status)
    assert len(fake.received("GET", "/v2/clock")) == 1


def test_429_is_retried_by_the_sdk_when_asked(make_broker: MakeBroker, fake: FakeAlpaca) -> None:
    broker = make_broker(ClientOptions(timeout_seconds=2, retry_attempts=2, retry_wait_seconds=0))
    fake.fail_next("/v2/positions", 429, count=2)
    assert len(broker.positions("john")) == 1
    assert len(fake.received("GET", "/v2/positions")) == 3
    fake.fail_next("/v2/positions", 429, count=3)
    with pytest.raises(BrokerError) as caught:
        broker.positions("john")
    assert (caught.value.transient, caught.value.status) == (True, 429)
    assert len(fake.received("GET", "/v2/positions")) == 6


def test_a_timed_out_submit_is_found_by_its_client_order_id(make_broker: MakeBroker, fake: FakeAlpaca,
                                                            john: FakeAccount) -> None:
    broker = make_broker(ClientOptions(timeout_seconds=0.2, retry_attempts=0, retry_wait_seconds=0))
    fake.delay_next("/v2/orders", 0.6, method="POST")
    with pytest.raises(BrokerError, match="timed out") as caught:
        broker.submit(sell("tlh-slow"))
    assert caught.value.transient is True
    fake.wait_idle()  # Alpaca placed it all the same
    found = broker.order("john", "tlh-slow")
    assert found is not None and found.status == OrderStatus.FILLED
    with pytest.raises(DuplicateOrder):  # sending it again is refused, never doubled
        broker.submit(sell("tlh-slow"))
    assert len(john.orders) == 1


def test_connection_refused_is_transient(make_broker: MakeBroker) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    broker = make_broker(base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(BrokerError, match="connection failed") as caught:
        broker.account("john")
    assert caught.value.transient is True and caught.value.status is None


def test_wrong_keys(make_broker: MakeBroker) -> None:
    broker = make_broker(environ={**ENVIRON, "ALPACA_JOHN_SECRET_KEY": "not-johns-secret-at-all"})
    with pytest.raises(BrokerError, match="HTTP 401: request is not authorized") as caught:
        broker.account("john")
    assert caught.value.transient is False
    assert "not-johns-secret-at-all" not in str(caught.value)


def test_keys_never_in_errors_or_logs(make_broker: MakeBroker, fake: FakeAlpaca,
                                      caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3 and friends included
    errors: list[BaseException] = []
    with structlog.testing.capture_logs() as events:
        broker = make_broker()
        fake.fail_next("/v2/account", 500, body={"code": 50010000, "message": f"bad secret {JOHN_SECRET}"})
        fake.fail_next("/v2/positions", 401)
        fake.delay_next("/v2/clock", 0.5)
        slow = make_broker(ClientOptions(timeout_seconds=0.1, retry_attempts=0, retry_wait_seconds=0))
        broker.submit(sell("tlh-ok"))
        for call in (lambda: broker.account("john"), lambda: broker.positions("john"), slow.clock,
                     lambda: broker.submit(sell("tlh-ok")), lambda: broker.positions("nobody")):
            with pytest.raises(BrokerError) as caught:
                call()
            errors.append(caught.value)
    fake.wait_idle()
    assert "****" in str(errors[0])  # an echoed secret is masked
    out = capsys.readouterr()
    texts = [str(e) for e in errors] + [repr(e) for e in errors] + [repr(broker.__dict__), out.out, out.err]
    texts += [r.getMessage() for r in caplog.records] + [repr(e) for e in events]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
    # No SDK exception chained on (it holds the request, and the request the keys).
    assert all(e.__cause__ is None and (e.__context__ is None or e.__suppress_context__) for e in errors)


def test_missing_keys_name_the_variables(fake: FakeAlpaca) -> None:
    config = AlpacaBrokerConfig(base_url=fake.url, data_url=fake.url)
    environ = {k: v for k, v in ENVIRON.items() if not k.startswith("ALPACA_JANE")}
    environ["ALPACA_JOHN_SECRET_KEY"] = ""
    with pytest.raises(BrokerError) as caught:
        AlpacaBroker(config, ACCOUNTS, environ, options=FAST)
    message = str(caught.value)
    assert "'john'" in message and "ALPACA_JOHN_SECRET_KEY" in message and "ALPACA_JOHN_API_KEY " not in message
    assert "'jane'" in message and "ALPACA_JANE_API_KEY and ALPACA_JANE_SECRET_KEY" in message
    assert "ALPACA_JANE_API_KEY_FILE" in message
    assert all(secret not in message for secret in SECRETS)
    plain = [AccountConfig(id="solo", household="h", broker="alpaca")]
    with pytest.raises(BrokerError, match="ALPACA_API_KEY and ALPACA_SECRET_KEY"):
        AlpacaBroker(config, plain, {}, options=FAST)
    with pytest.raises(BrokerError, match='no accounts with broker = "alpaca"'):
        AlpacaBroker(config, ACCOUNTS[2:], ENVIRON, options=FAST)


def test_keys_from_files(fake: FakeAlpaca, tmp_path: Path) -> None:
    config = AlpacaBrokerConfig(base_url=fake.url, data_url=fake.url)
    (tmp_path / "key").write_text(ENVIRON["ALPACA_JANE_API_KEY"] + "\n")
    (tmp_path / "secret").write_text(ENVIRON["ALPACA_JANE_SECRET_KEY"] + "\n")
    environ = {"ALPACA_JANE_API_KEY_FILE": str(tmp_path / "key"),
               "ALPACA_JANE_SECRET_KEY_FILE": str(tmp_path / "secret")}
    broker = AlpacaBroker(config, ACCOUNTS[1:2], environ, options=FAST)
    try:
        assert broker.account("jane").cash == 50_000
    finally:
        broker.close()
    environ["ALPACA_JANE_SECRET_KEY_FILE"] = str(tmp_path / "missing")
    with pytest.raises(BrokerError, match="ALPACA_JANE_SECRET_KEY_FILE: cannot read"):
        AlpacaBroker(config, ACCOUNTS[1:2], environ, options=FAST)


def test_one_key_pair_for_two_accounts_is_refused(fake: FakeAlpaca) -> None:
    config = AlpacaBrokerConfig(base_url=fake.url, data_url=fake.url)
    environ = {**ENVIRON, "ALPACA_JANE_API_KEY": ENVIRON["ALPACA_JOHN_API_KEY"]}
    with pytest.raises(BrokerError, match="'john' and 'jane' use the same key") as caught:
        AlpacaBroker(config, ACCOUNTS, environ, options=FAST)
    assert all(secret not in str(caught.value) for secret in SECRETS)
