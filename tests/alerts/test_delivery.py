"""deliver_pending against a JSON-lines file, a local webhook server and a local SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from daemon.alerts import deliver_pending, raise_alert
from daemon.alerts.channels import build_channels
from daemon.store.db import transaction
from daemon.store.models import Alert
from tests.alerts.conftest import Sleeps, seed, settings
from tests.alerts.servers import smtp_server, webhook_server


def delivered(engine: Engine) -> list[bool]:
    with transaction(engine) as session:
        return list(session.scalars(sa.select(Alert.delivered).order_by(Alert.id)))


def test_raise_alert_stores_and_rejects_unknown_severity(engine: Engine) -> None:
    seed(engine, ("dry_run_plan", "info", "dry run: 1 pair would harvest 800.00"))
    with transaction(engine) as session:
        (row,) = session.scalars(sa.select(Alert))
        assert (row.kind, row.severity, row.account_id, row.household_id, row.run_id) == \
            ("dry_run_plan", "info", "tax", "h", "r20240529-abc123")
        assert row.delivered is False and row.data == {"pairs": "1"}
        with pytest.raises(ValueError, match="unknown severity"):
            raise_alert(session, "x", "fatal", "no")


def test_jsonl_file_gets_each_alert_once(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "out" / "alerts.jsonl"
    seed(engine, ("orders_filled", "info", "sold 40 VTI"), ("wash_sale", "warning", "SCHB washes VTI"))
    report = deliver_pending(engine, settings(jsonl_path=path))
    assert report.ok and report.delivered == 2 and report.sent == {"jsonl": 2}
    assert delivered(engine) == [True, True]
    deliver_pending(engine, settings(jsonl_path=path))  # nothing pending: nothing written again
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(x["kind"], x["severity"], x["account"]) for x in lines] == \
        [("orders_filled", "info", "tax"), ("wash_sale", "warning", "tax")]
    assert lines[0]["data"] == {"pairs": "1"} and lines[0]["run_id"] == "r20240529-abc123"


def test_webhook_posts_slack_style_text(engine: Engine) -> None:
    seed(engine, ("order_failed", "error", "buy of SCHB rejected"), ("orders_filled", "info", "sold 40 VTI"))
    with webhook_server("/hooks/abc?channel=tlh") as hook:
        report = deliver_pending(engine, settings(webhook=True), environ={"TLH_WEBHOOK_URL": hook.url})
    assert report.ok, report.failed
    ((path, body),) = hook.posts  # both alerts in one post
    assert path == "/hooks/abc?channel=tlh"
    assert set(body) == {"text"}
    assert body["text"].startswith("tlh-daemon: 2 alerts (1 error, 1 info)\n")
    assert "[ERROR] order_failed (tax)" in body["text"] and "buy of SCHB rejected" in body["text"]
    assert delivered(engine) == [True, True]


def test_webhook_500_is_retried_with_backoff(engine: Engine, sleeps: Sleeps) -> None:
    seed(engine, ("error", "error", "broker error"))
    with webhook_server() as hook:
        hook.statuses = [500, 503]
        report = deliver_pending(engine, settings(webhook=True), environ={"TLH_WEBHOOK_URL": hook.url},
                                 sleep=sleeps, backoff=0.5)
    assert report.ok and hook.answered == [500, 503, 200]
    assert sleeps == [0.5, 1.0]
    assert len(hook.posts) == 1 and delivered(engine) == [True]


def test_a_failing_channel_never_raises_and_is_retried_next_time_without_resending(
        engine: Engine, tmp_path: Path, sleeps: Sleeps) -> None:
    path = tmp_path / "alerts.jsonl"
    seed(engine, ("reconcile_mismatch", "error", "tax is out of sync"))
    config = settings(jsonl_path=path, webhook=True)
    with webhook_server() as hook:
        hook.statuses = [500] * 3
        env = {"TLH_WEBHOOK_URL": hook.url}
        first = deliver_pending(engine, config, environ=env, sleep=sleeps, attempts=3)
        assert set(first.failed) == {"webhook"} and first.sent == {"jsonl": 1}
        assert hook.answered == [500, 500, 500] and len(sleeps) == 2  # bounded: 3 attempts, 2 waits
        assert delivered(engine) == [False]
        second = deliver_pending(engine, config, environ=env, sleep=sleeps)
        assert second.ok and second.sent == {"webhook": 1} and second.delivered == 1
        third = deliver_pending(engine, config, environ=env, sleep=sleeps)
        assert third.pending == 0
    assert len(path.read_text().splitlines()) == 1  # the file got it once, not once per attempt
    assert len(hook.posts) == 1 and delivered(engine) == [True]


def test_unreachable_webhook_does_not_raise(engine: Engine, sleeps: Sleeps) -> None:
    seed(engine, ("error", "error", "boom"))
    with webhook_server() as hook:
        url = hook.url  # the server is gone after this block
    report = deliver_pending(engine, settings(webhook=True), environ={"TLH_WEBHOOK_URL": url}, sleep=sleeps)
    assert set(report.failed) == {"webhook"} and delivered(engine) == [False]


def test_email_over_smtp_with_login(engine: Engine) -> None:
    seed(engine, ("wash_sale", "warning", "SCHB bought in the Roth washes the VTI loss"))
    with smtp_server(user="tlh", password="pw-Secret-123") as box:
        config = settings(email_to=["owner@example.com"], email_from="tlh@example.com", smtp_host="127.0.0.1",
                          smtp_port=box.port, smtp_user="tlh", smtp_starttls=False)
        report = deliver_pending(engine, config, environ={"TLH_SMTP_PASSWORD": "pw-Secret-123"})
    assert report.ok, report.failed
    assert box.logins == ["tlh"]
    ((sender, rcpts),) = box.envelopes
    assert sender == "tlh@example.com" and rcpts == ["owner@example.com"]
    (message,) = box.messages
    assert message["Subject"] == "tlh-daemon warning: wash_sale"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "SCHB bought in the Roth washes the VTI loss" in body.get_content()
    assert delivered(engine) == [True]


def test_smtp_refusal_is_retried_then_left_for_next_time(engine: Engine, sleeps: Sleeps) -> None:
    seed(engine, ("circuit_breaker", "warning", "market down 4 sigma: paused"))
    with smtp_server() as box:
        box.refuse = 5
        config = settings(email_to=["owner@example.com"], email_from="tlh@example.com", smtp_host="127.0.0.1",
                          smtp_port=box.port, smtp_starttls=False)
        first = deliver_pending(engine, config, sleep=sleeps, attempts=2)
        assert set(first.failed) == {"email"} and box.refused == 2 and delivered(engine) == [False]
        box.refuse = 0
        second = deliver_pending(engine, config, sleep=sleeps)
        assert second.ok and len(box.messages) == 1 and delivered(engine) == [True]


def test_min_severity_filters_what_is_sent(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    seed(engine, ("dry_run_plan", "info", "plan"), ("wash_sale", "warning", "wash"), ("error", "error", "err"))
    report = deliver_pending(engine, settings(jsonl_path=path, min_severity="warning"))
    assert report.sent == {"jsonl": 2}
    assert [json.loads(x)["kind"] for x in path.read_text().splitlines()] == ["wash_sale", "error"]
    assert delivered(engine) == [False, True, True]  # the info alert stays stored, shown by `tlh alerts`


def test_old_alerts_are_not_sent(engine: Engine, tmp_path: Path) -> None:
    seed(engine, ("error", "error", "last month"))
    later = datetime.now(UTC) + timedelta(days=30)
    report = deliver_pending(engine, settings(jsonl_path=tmp_path / "a.jsonl"), now=later)
    assert report.pending == 0 and delivered(engine) == [False]


def test_missing_secret_is_reported_without_retries(engine: Engine, sleeps: Sleeps, tmp_path: Path) -> None:
    seed(engine, ("error", "error", "boom"))
    config = settings(webhook=True, jsonl_path=tmp_path / "a.jsonl")
    report = deliver_pending(engine, config, environ={}, sleep=sleeps)
    assert "TLH_WEBHOOK_URL" in report.failed["webhook"] and report.sent == {"jsonl": 1}
    assert sleeps == [] and delivered(engine) == [False]


def test_no_channels_configured_leaves_alerts_alone(engine: Engine) -> None:
    seed(engine, ("error", "error", "boom"))
    assert build_channels(settings().alerts) == []
    assert deliver_pending(engine, settings()).pending == 0 and delivered(engine) == [False]


def test_a_long_backlog_goes_in_messages_each_marked_when_sent(engine: Engine, sleeps: Sleeps) -> None:
    seed(engine, *[("wash_sale", "warning", f"wash {i}") for i in range(60)])
    with webhook_server() as hook:
        hook.statuses = [200, 500, 500, 500]  # the first post of 50 goes through, the second fails
        env = {"TLH_WEBHOOK_URL": hook.url}
        first = deliver_pending(engine, settings(webhook=True), environ=env, sleep=sleeps)
        assert first.sent == {"webhook": 50} and set(first.failed) == {"webhook"}
        assert delivered(engine) == [True] * 50 + [False] * 10
        second = deliver_pending(engine, settings(webhook=True), environ=env, sleep=sleeps)
    assert second.ok and second.sent == {"webhook": 10}
    assert [t.count("\n") for t in hook.texts] == [50, 10]  # a heading line, then one line per alert
    assert "wash 59" in hook.texts[1] and "wash 0" not in hook.texts[1]


def test_unusable_settings_are_not_retried(engine: Engine, sleeps: Sleeps) -> None:
    seed(engine, ("error", "error", "boom"))
    config = settings(email_to=["owner@example.com"], email_from="not an address", smtp_host="127.0.0.1",
                      smtp_port=2525, smtp_starttls=False)
    report = deliver_pending(engine, config, sleep=sleeps)
    assert "From" in report.failed["email"] and sleeps == [] and delivered(engine) == [False]
