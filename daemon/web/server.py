"""Serving the dashboard with uvicorn: in the foreground (`tlh serve`) or on a thread beside the daemon
(`tlh run --serve`), stopped with it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date

import structlog
import uvicorn
from sqlalchemy.engine import Engine

from daemon.config.models import Settings
from daemon.store import migrate
from daemon.store.db import make_engine
from daemon.web.app import create_app
from daemon.web.security import Access, check_bind, load_token

log = structlog.get_logger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


@dataclass
class Prepared:
    server: uvicorn.Server
    engine: Engine
    warm: threading.Thread
    stop: threading.Event

    def close(self) -> None:
        self.stop.set()
        self.warm.join(timeout=5)  # a report half computed is only a read: not worth holding the exit for
        self.engine.dispose()


def prepare(settings: Settings, host: str, port: int, as_of: date | None = None) -> Prepared:
    """Check the address against the token (BindRefused, TokenError), migrate, build the app and its server."""
    token = load_token()
    check_bind(host, token)
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    app = create_app(settings, engine, Access(token), (lambda: as_of) if as_of is not None else None)
    stop = threading.Event()
    warm = threading.Thread(target=app.state.dashboard.keep_warm, args=(stop,), name="dashboard-warm", daemon=True)
    # log_config=None: uvicorn keeps its hands off logging (ours is structlog); no access log, which would
    # print every query string.
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, server_header=False,
                            proxy_headers=False, lifespan="off", timeout_graceful_shutdown=5)
    log.info("dashboard.serving", url=f"http://{_url_host(host)}:{port}/", token_required=token is not None)
    warm.start()
    return Prepared(uvicorn.Server(config), engine, warm, stop)


def serve(settings: Settings, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, as_of: date | None = None) -> None:
    """In the foreground until SIGINT/SIGTERM (uvicorn's own signal handling)."""
    prepared = prepare(settings, host, port, as_of)
    try:
        prepared.server.run()
    except SystemExit:  # uvicorn exits when it cannot bind
        pass
    finally:
        prepared.close()
    if not prepared.server.started:
        raise OSError(f"the dashboard could not listen on {host}:{port} (address in use?)")


class Background:
    """The dashboard on a daemon thread of another process (`tlh run --serve`)."""

    def __init__(self, settings: Settings, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT):
        self.prepared = prepare(settings, host, port)
        self.thread = threading.Thread(target=self.prepared.server.run, name="dashboard", daemon=True)

    def start(self, timeout: float = 10) -> None:
        self.thread.start()
        server, deadline = self.prepared.server, time.monotonic() + timeout
        while not server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not server.started:
            self.stop()
            raise OSError("the dashboard did not start listening (address in use?)")

    def stop(self) -> None:
        self.prepared.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=10)
        self.prepared.close()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
