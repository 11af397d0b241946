"""The webhook URL and the SMTP password never reach a log line or an error, even at debug level."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from daemon import logs
from daemon.alerts import AlertRecord, deliver_pending
from daemon.alerts.channels import build_channels, webhook_secrets
from tests.alerts.conftest import Sleeps, seed, settings
from tests.alerts.servers import smtp_server, webhook_server

TOKEN = "xoxb-Secret-T0ken-4242"
PASSWORD = "pw-Very-Secret-9876"


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    logs.configure(json=True, level="debug")
    caplog.set_level(logging.DEBUG)  # Apprise, urllib3 and requests at their chattiest
    return caplog


def _leaks(*texts: str) -> list[str]:
    return [s for s in (TOKEN, PASSWORD) if any(s in t for t in texts)]


def test_webhook_and_smtp_failures_log_no_secrets(engine: Engine, sleeps: Sleeps, debug_logs: pytest.LogCaptureFixture,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    seed(engine, ("error", "error", "broker error"))
    with webhook_server(f"/services/{TOKEN}") as hook, smtp_server(user="tlh", password="other") as box:
        hook.statuses = [500, 500, 200]
        config = settings(webhook=True, email_to=["o@example.com"], email_from="tlh@example.com",
                          smtp_host="127.0.0.1", smtp_port=box.port, smtp_user="tlh", smtp_starttls=False)
        env = {"TLH_WEBHOOK_URL": hook.url + f"?token={TOKEN}", "TLH_SMTP_PASSWORD": PASSWORD}
        report = deliver_pending(engine, config, environ=env, sleep=sleeps)
    assert set(report.sent) == {"webhook"} and set(report.failed) == {"email"}  # wrong password: refused
    assert hook.posts and hook.posts[0][0] == f"/services/{TOKEN}?token={TOKEN}"  # the real URL was used
    out = capsys.readouterr()
    assert "alerts.channel_failed" in out.err + out.out
    assert debug_logs.records, "expected Apprise's own debug records"
    assert _leaks(out.out, out.err, debug_logs.text, str(report.failed)) == []


def test_unreachable_webhook_logs_no_secret(engine: Engine, sleeps: Sleeps, debug_logs: pytest.LogCaptureFixture,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    seed(engine, ("error", "error", "boom"))
    with webhook_server(f"/services/{TOKEN}") as hook:
        url = hook.url
    report = deliver_pending(engine, settings(webhook=True), environ={"TLH_WEBHOOK_URL": url}, sleep=sleeps)
    assert set(report.failed) == {"webhook"}
    out = capsys.readouterr()
    assert _leaks(out.out, out.err, debug_logs.text, str(report.failed)) == []


class _Leaky:
    """A channel whose library puts the secret in its exception text."""

    name = "webhook"
    retryable = True
    secrets = tuple(webhook_secrets(f"https://hooks.example.com/services/{TOKEN}"))

    def send(self, alerts: Sequence[AlertRecord]) -> None:
        raise RuntimeError(f"connection to https://hooks.example.com/services/{TOKEN} failed")


def test_exception_text_is_redacted(engine: Engine, sleeps: Sleeps, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure(json=True)
    seed(engine, ("error", "error", "boom"))
    report = deliver_pending(engine, settings(webhook=True), channels=[_Leaky()], sleep=sleeps)
    assert "****" in report.failed["webhook"]
    out = capsys.readouterr()
    assert _leaks(out.out, out.err, str(report.failed)) == []


def test_secret_files_are_read_but_not_shown(tmp_path: Path) -> None:
    (tmp_path / "hook").write_text(f"https://hooks.example.com/services/{TOKEN}\n")
    channels = build_channels(settings(webhook=True).alerts, {"TLH_WEBHOOK_URL_FILE": str(tmp_path / "hook")})
    (channel,) = channels
    assert channel.name == "webhook" and f"/services/{TOKEN}" in channel.secrets
    assert TOKEN not in repr(channel.__dict__.get("name"))
