"""Where alerts go: a JSON-lines file (written here), a webhook and e-mail (sent with Apprise).

The webhook gets a Slack-style JSON POST, `{"text": "..."}`, which Slack, Mattermost, Rocket.Chat, Discord's
/slack endpoint and most chat "incoming webhooks" accept. TLH_WEBHOOK_URL may also be any Apprise URL
(`discord://...`, `ntfy://...`, `tgram://...`) to use that service's own API instead.

Secrets (the webhook URL, the SMTP password) are read only here and never logged: every channel knows its
secret strings, error messages are redacted with them, and Apprise's and urllib3's own log records pass
through a filter that masks them.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from daemon import files
from daemon.alerts.store import AlertRecord, rank
from daemon.config.models import AlertsConfig
from daemon.config.secrets import SecretError, read_secret

MASK = "****"
_THIRD_PARTY_LOGGERS = ("apprise", "urllib3.connectionpool", "requests")


class ChannelError(Exception):
    """A channel could not deliver; the message names no secret."""


class ChannelConfigError(ChannelError):
    """The channel's settings are unusable: retrying now cannot help (the next call tries again)."""


class Channel(Protocol):
    name: str
    retryable: bool
    secrets: tuple[str, ...]

    def send(self, alerts: Sequence[AlertRecord]) -> None: ...


def redact(text: str, secrets: Sequence[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text


class _RedactFilter(logging.Filter):
    """Masks known secrets in the log records of the libraries that talk to the channels."""

    def __init__(self) -> None:
        super().__init__("tlh-redact")
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            try:
                message = record.getMessage()
            except Exception:  # a malformed record: leave it to logging's own handling
                return True
            record.msg, record.args = redact(message, sorted(self.secrets)), ()
        return True


_FILTER = _RedactFilter()


def protect(secrets: Sequence[str]) -> None:
    """Register secrets to mask in third-party log records (idempotent)."""
    _FILTER.secrets.update(s for s in secrets if s)
    for name in _THIRD_PARTY_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def title(alerts: Sequence[AlertRecord]) -> str:
    if len(alerts) == 1:
        return f"tlh-daemon {alerts[0].severity}: {alerts[0].kind}"
    counts = {s: sum(1 for a in alerts if a.severity == s) for s in ("error", "warning", "info")}
    return f"tlh-daemon: {len(alerts)} alerts (" + ", ".join(f"{n} {s}" for s, n in counts.items() if n) + ")"


class JsonlChannel:
    """One JSON object per line, appended and flushed to disk."""

    name = "jsonl"
    retryable = True
    secrets: tuple[str, ...] = ()

    def __init__(self, path: Path):
        self.path = Path(path)

    def send(self, alerts: Sequence[AlertRecord]) -> None:
        files.create(self.path)  # private (0600 unless `file_mode` says otherwise)
        with self.path.open("a", encoding="utf-8") as fh:
            for alert in alerts:
                fh.write(json.dumps(alert.to_dict(), default=str, separators=(",", ":")) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


class AppriseChannel:
    """A webhook or e-mail channel: one message per `send`; `make()` builds a fresh Apprise plugin for it."""

    retryable = True

    def __init__(self, name: str, make: Callable[[], Any], secrets: Sequence[str], *, title_in_body: bool):
        self.name = name
        self.make = make
        self.secrets = tuple(s for s in secrets if s)
        self.title_in_body = title_in_body
        protect(self.secrets)

    def send(self, alerts: Sequence[AlertRecord]) -> None:
        from apprise import NotifyFormat, NotifyType

        types = {"info": NotifyType.INFO, "warning": NotifyType.WARNING, "error": NotifyType.FAILURE}
        heading = title(alerts)
        body = "\n".join(a.line() for a in alerts)
        plugin = self._plugin()
        if plugin is None:
            raise ChannelConfigError(f"{self.name}: Apprise does not understand the configured URL")
        plugin.request_rate_per_sec = 0  # our own backoff paces retries
        worst = max((a.severity for a in alerts), key=rank)
        ok = plugin.notify(body=f"{heading}\n{body}" if self.title_in_body else body, title=heading,
                           notify_type=types[worst], body_format=NotifyFormat.TEXT)
        if not ok:
            raise ChannelError(f"{self.name}: delivery not accepted (Apprise's log says why)")

    def _plugin(self) -> Any:
        from apprise.exception import AppriseException

        try:
            return self.make()
        except AppriseException as exc:  # e.g. an invalid address: say so, without the URL
            raise ChannelConfigError(f"{self.name}: {redact(str(exc), self.secrets)}") from None


class BrokenChannel:
    """A channel the configuration enables but cannot use (e.g. a missing secret): fails without retrying."""

    retryable = False
    secrets: tuple[str, ...] = ()

    def __init__(self, name: str, problem: str):
        self.name, self.problem = name, problem

    def send(self, alerts: Sequence[AlertRecord]) -> None:
        raise ChannelError(f"{self.name}: {self.problem}")


def webhook_secrets(url: str) -> list[str]:
    parts = urlsplit(url)
    out = [url, parts.path if len(parts.path) > 1 else "", parts.query, parts.password or ""]
    out += [v for _, v in parse_qsl(parts.query)]
    return [s for s in out if s]


def webhook_plugin(url: str) -> Any:
    """http(s) URLs: Apprise's JSON plugin with its payload remapped to Slack's `{"text": ...}`; anything
    else is taken as an Apprise URL."""
    import apprise
    from apprise.plugins.custom_json import NotifyJSON

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return apprise.Apprise.instantiate(url)
    query = [(f"-{k}", v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]  # passed on as-is
    query += [(":message", "text"), (":version", ""), (":title", ""), (":attachments", ""), (":type", "")]
    target = urlunsplit(("jsons" if parts.scheme == "https" else "json", parts.netloc, parts.path or "/",
                         urlencode(query), ""))
    results = NotifyJSON.parse_url(target)
    if not results:
        return None
    return NotifyJSON(**results)


def email_plugin(config: AlertsConfig, password: str | None) -> Any:
    with warnings.catch_warnings():  # Apprise's PGP support imports the deprecated imghdr
        warnings.simplefilter("ignore", DeprecationWarning)
        from apprise.plugins.email import NotifyEmail

    mode = "ssl" if config.smtp_port == 465 else ("starttls" if config.smtp_starttls else "insecure")
    return NotifyEmail(host=config.smtp_host, port=config.smtp_port, user=config.smtp_user, password=password,
                       secure=mode != "insecure", secure_mode=mode, smtp_host=config.smtp_host,
                       from_addr=config.email_from or config.smtp_user, targets=list(config.email_to))


def build_channels(config: AlertsConfig, environ: Mapping[str, str] | None = None) -> list[Channel]:
    channels: list[Channel] = []
    if config.jsonl_path is not None:
        channels.append(JsonlChannel(config.jsonl_path))
    if config.webhook:
        try:
            url = read_secret("TLH_WEBHOOK_URL", environ)
        except SecretError as exc:
            url, problem = None, str(exc)
        else:
            problem = "[alerts] webhook = true but TLH_WEBHOOK_URL (or TLH_WEBHOOK_URL_FILE) is not set"
        if url:
            channels.append(AppriseChannel("webhook", lambda: webhook_plugin(url), webhook_secrets(url),
                                           title_in_body=True))
        else:
            channels.append(BrokenChannel("webhook", problem))
    if config.email_to:
        channels.append(_email(config, environ))
    return channels


def _email(config: AlertsConfig, environ: Mapping[str, str] | None) -> Channel:
    if not config.smtp_host:
        return BrokenChannel("email", "[alerts] email_to is set but smtp_host is not")
    if not (config.email_from or config.smtp_user):
        return BrokenChannel("email", "[alerts] email_to is set but neither email_from nor smtp_user is")
    try:
        password = read_secret("TLH_SMTP_PASSWORD", environ)
    except SecretError as exc:
        return BrokenChannel("email", str(exc))
    if config.smtp_user and not password:
        return BrokenChannel("email", "[alerts] smtp_user is set but TLH_SMTP_PASSWORD (or its _FILE) is not")
    return AppriseChannel("email", lambda: email_plugin(config, password), [password or ""],
                          title_in_body=False)
