"""`tlh run` (the service, or one cycle with --once) and `tlh health` (the container's HEALTHCHECK)."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from daemon.cli.main import context, database_problem, fail

if TYPE_CHECKING:
    from daemon.config.models import Settings
    from daemon.web.server import Background

# `tlh health`: how much older than two heartbeats the last one may be (a slow transaction, a busy host).
HEALTH_SLACK = timedelta(seconds=5)


def _log() -> Any:
    import structlog

    return structlog.get_logger(__name__)


def _on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        # Only flag it: the running step finishes (or refuses to start a new pair) and the loop exits.
        if not stop.is_set():
            _log().info("daemon.stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One full cycle now, then exit.")] = False,
    clock_start: Annotated[str | None, typer.Option("--clock-start", envvar="TLH_CLOCK_START", hidden=True,
                                                    help="Testing: the schedule's clock starts at this ISO "
                                                         "date-time (with offset).")] = None,
    clock_speed: Annotated[float | None, typer.Option("--clock-speed", envvar="TLH_CLOCK_SPEED", hidden=True,
                                                      help="Testing: the schedule's clock runs this many "
                                                           "times faster than real time.")] = None,
    serve: Annotated[bool, typer.Option("--serve", help="Also serve the dashboard (as `tlh serve`) from this "
                                                        "process.")] = False,
    host: Annotated[str, typer.Option("--host", envvar="TLH_DASHBOARD_HOST",
                                      help="With --serve: address to listen on; anything but loopback needs "
                                           "TLH_DASHBOARD_TOKEN (or _FILE).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", envvar="TLH_DASHBOARD_PORT", min=1, max=65535,
                                      help="With --serve: TCP port.")] = 8765,
) -> None:
    """Run the daemon: sync after each session's open, harvest before its close (exchange calendar), one
    active harvester per database. Stops cleanly on SIGTERM/SIGINT."""
    from sqlalchemy.exc import OperationalError

    from brokers.protocol import BrokerError
    from daemon.config.loader import ConfigError
    from daemon.service.clock import make_clock
    from daemon.service.daemon import LeaseBusy, Service, outcome_summary
    from daemon.service.jobs import validate

    cli = context(ctx)
    settings = cli.settings
    try:
        clock = make_clock(clock_start, clock_speed)
        validate(settings, cli.config_path)
    except (ValueError, ConfigError) as exc:
        fail(str(exc))
        return
    if serve and once:
        fail("--serve applies to the service; --once runs one cycle and exits")
    stop = threading.Event()
    _on_signals(stop)
    dashboard = _dashboard(settings, host, port) if serve else None
    try:
        service = Service(settings, clock, stop)
        if once:
            result = service.once()
            _log().info("run.complete", mode=settings.mode, **outcome_summary(result))
            outage = result.broker_outage()
            if outage is not None:  # its error alerts are stored (and delivered): say it, exit non-zero
                fail(outage, code=1)
        else:
            service.serve()
    except LeaseBusy as exc:
        fail(str(exc), code=1)
    except BrokerError as exc:  # --once: the cycle could not be carried out; intents stay safe for a retry
        fail(f"broker: {exc}", code=1)
    except OperationalError as exc:
        fail(f"database does not answer: {database_problem(exc)}", code=1)
    finally:
        if dashboard is not None:
            dashboard.stop()


def _dashboard(settings: Settings, host: str, port: int) -> Background | None:
    """The dashboard on a thread of this process, listening before the service starts."""
    from daemon.web.security import BindRefused, TokenError
    from daemon.web.server import Background

    try:
        dashboard = Background(settings, host, port)
        dashboard.start()
    except (BindRefused, TokenError) as exc:
        fail(str(exc))
        return None
    except OSError as exc:
        fail(str(exc), code=1)
        return None
    return dashboard


def health(ctx: typer.Context) -> None:
    """Exit 0 when the database answers and a harvester's heartbeat is fresh (within two heartbeats and a few
    seconds). A standby instance reports healthy too while the active one beats: the database has a working
    harvester. Read-only: it never migrates or writes."""
    from daemon.service import lease
    from daemon.store.db import make_engine

    settings = context(ctx).settings
    engine = make_engine(settings.database_url)
    try:
        state = lease.current(engine)
    except Exception as exc:  # any failure is "unhealthy"; say which
        fail(f"unhealthy: database does not answer (or is not migrated): {type(exc).__name__}", code=1)
        return
    finally:
        engine.dispose()
    now = lease.wall_clock()
    max_age = 2 * timedelta(seconds=settings.schedule.heartbeat_seconds) + HEALTH_SLACK
    if state is None:
        fail("unhealthy: no harvester has ever held the lease (is `tlh run` running?)", code=1)
        return
    age = round((now - state.heartbeat_at).total_seconds())
    if not lease.is_fresh(state, now, max_age):
        fail(f"unhealthy: the harvester's last heartbeat was {age}s ago (holder {state.holder}, allowed "
             f"{max_age.total_seconds():.0f}s)", code=1)
    typer.echo(f"healthy: harvester {state.holder}, last heartbeat {age}s ago")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("health")(health)
