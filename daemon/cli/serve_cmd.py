"""`tlh serve`: the dashboard (web pages and JSON API) on 127.0.0.1:8765 unless told otherwise."""

from __future__ import annotations

from typing import Annotated

import typer

from daemon.cli import dates
from daemon.cli.dates import AsOfOption
from daemon.cli.main import context, fail

HOST_HELP = "Address to listen on; anything but loopback needs TLH_DASHBOARD_TOKEN (or _FILE)."


def serve_cmd(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", envvar="TLH_DASHBOARD_HOST", help=HOST_HELP)] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", envvar="TLH_DASHBOARD_PORT", min=1, max=65535,
                                      help="TCP port.")] = 8765,
    as_of: AsOfOption = None,
) -> None:
    """Serve the dashboard: overview, runs, orders, alerts, lots and gains, backtests, and the same data as JSON
    under /api/. With a token, every request but /healthz needs it (Bearer for the API, a login for people)."""
    from daemon.web.security import BindRefused, TokenError
    from daemon.web.server import serve

    settings = context(ctx).settings
    day = dates.parse_day("--as-of", as_of) if as_of else None
    try:
        serve(settings, host, port, day)
    except (BindRefused, TokenError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(str(exc), code=1)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
