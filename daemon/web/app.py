"""The dashboard as a Starlette application: HTML pages for people, the same data as JSON under /api/ (the
keys of the CLI's `--format json`), pause and resume as the only actions. See daemon.web.security for who
may see what."""

from __future__ import annotations

import asyncio
import csv
import io
import threading
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any
from urllib.parse import urlencode

import structlog
from markupsafe import Markup
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from daemon import views
from daemon.cli.render import to_jsonable
from daemon.config.models import Settings
from daemon.report import chart
from daemon.web import params as query
from daemon.web.data import Store
from daemon.web.formatting import HERE, environment
from daemon.web.params import BadRequest
from daemon.web.security import SESSION_COOKIE, Access, Guard, csrf_ok

log = structlog.get_logger(__name__)
NAV = [("/", "Overview"), ("/runs", "Runs"), ("/orders", "Orders"), ("/alerts", "Alerts"), ("/lots", "Lots"),
       ("/gains", "Gains"), ("/backtests", "Backtests")]
GAIN_NUMERIC = ("quantity", "proceeds", "cost_basis", "adjustment", "gain")
F8949_NUMERIC = ("(d) proceeds", "(e) cost basis", "(g) adjustment", "(h) gain or loss")
SUMMARY_COLUMNS = [("taxpayer", "Taxpayer (return)"), ("year", "Year"), ("short_term_net", "Net short-term"),
                   ("long_term_net", "Net long-term"), ("net", "Net"),
                   ("ordinary_income_offset", "Deducted from ordinary income"),
                   ("carryforward_short", "Carry-forward short"), ("carryforward_long", "Carry-forward long"),
                   ("disallowed", "Disallowed"), ("permanently_disallowed", "Permanently disallowed")]
MAX_LIMIT = 10_000
WARM_SECONDS = 60
ORDERS_SHOWN = 200
OVERVIEW_ROWS = 25  # of a list on the overview; the rest on its own page and in /api/overview


class Dashboard:
    """Routes over one store; `create_app` wires them into Starlette with the guard middleware."""

    def __init__(self, settings: Settings, engine: Engine, access: Access, clock: Callable[[], date] | None = None):
        self.settings, self.access = settings, access
        self.store = Store(engine, settings)
        self.clock = clock or self.store.today  # `--as-of`, or the commands' one today
        self.env = environment()
        self.accounts = [a.id for a in settings.accounts]

    def keep_warm(self, stop: threading.Event, every: float = WARM_SECONDS) -> None:
        """Until `stop`: recompute the overview's figures whenever the store changed, so that the first person
        to look after a run does not wait for the report (seconds on a large household; then milliseconds)."""
        while not stop.is_set():
            try:
                self.overview_data(self.clock().year)
            except Exception as exc:  # the database away for a moment: a page view will say so; try again later
                log.warning("dashboard.warm_failed", error=f"{type(exc).__name__}: {exc}")
            stop.wait(every)

    # -- plumbing ---------------------------------------------------------------------------------------------
    def page(self, request: Request, template: str, code: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(
            nav=NAV, page=request.url.path if request.url.path in dict(NAV) else _section(request.url.path),
            csrf=request.state.csrf, signed_in=request.state.signed_in,
            show_nav=request.state.signed_in or not self.access.required, mode=self.settings.mode, **context)
        return HTMLResponse(html, code)

    @staticmethod
    def json(value: Any, status: int = 200) -> JSONResponse:
        return JSONResponse(to_jsonable(value), status)

    def _account(self, params: Mapping[str, str]) -> str | None:
        return query.choice(params, "account", self.accounts)

    def _year(self, params: Mapping[str, str], default: bool) -> int | None:
        year = query.whole(params, "year", 1900, 2999)
        return self.clock().year if year is None and default else year  # as `tlh report`

    # -- public ----------------------------------------------------------------------------------------------
    def healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    def login_form(self, request: Request) -> Response:
        if not self.access.required or self.access.allows(request):
            return RedirectResponse("/", 303)
        return self.page(request, "login.html", title="Sign in", next=_local(request.query_params.get("next")),
                         error=None)

    async def unauthorized(self, request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return self.page(request, "login.html", 401, title="Sign in", next=_local(target), error=None)

    async def login(self, request: Request) -> Response:
        form = await request.form()
        nxt = _local(str(form.get("next") or "/"))
        if not self.access.required:
            return RedirectResponse(nxt, 303)
        if not csrf_ok(request, str(form.get("csrf") or "")):
            return self.page(request, "login.html", 403, title="Sign in", next=nxt,
                             error="The form expired; please sign in again.")
        if not self.access.token_matches(str(form.get("token") or "")):
            await asyncio.sleep(1)  # a guess per second, per connection, at most
            return self.page(request, "login.html", 401, title="Sign in", next=nxt, error="Wrong token.")
        response = RedirectResponse(nxt, 303)
        response.set_cookie(SESSION_COOKIE, self.access.session_value(), httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
        return response

    async def logout(self, request: Request) -> Response:
        form = await request.form()
        if not csrf_ok(request, str(form.get("csrf") or "")):
            return self.error(request, 403, "Refused", "The form expired (CSRF check failed); reload the page.")
        response = RedirectResponse("/login" if self.access.required else "/", 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    def error(self, request: Request, status: int, heading: str, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return self.json({"error": message}, status)
        return self.page(request, "error.html", status, title=heading, heading=heading, message=message)

    # -- pages -----------------------------------------------------------------------------------------------
    def overview_data(self, year: int) -> dict[str, Any]:
        day = self.clock()
        version = self.store.fingerprint()  # once: the report and the ledgers are of one state of the store
        report = self.store.report(year, day, version)
        states = self.store.states(version)
        restrictions = [{**r, "household": h["household"], "days_left": (r["until"] - day).days}
                        for h in report["households"] for r in h["restrictions"]]
        return {"year": year, "today": day, "report": report,
                "status": self.store.status(day, version),
                "restrictions": sorted(restrictions, key=lambda r: (r["until"], r["household"], r["symbol"])),
                "swap_backs": self.store.cached(("swap_backs", day), lambda: self.store.swap_backs(day, states),
                                                version),
                "turning_long_term": self.store.cached(("turning", day),
                                                       lambda: self.store.turning_long_term(day, states), version)}

    def overview(self, request: Request) -> Response:
        year = self._year(request.query_params, default=True)
        assert year is not None
        d = self.overview_data(year)
        charts = {}
        for h in d["report"]["households"]:
            points = [(p["date"], p["harvested_loss"], p["tax_saved"]) for p in h["timeline"]]
            # Two drawings, one shown by the stylesheet: a phone gets its own size, not a shrunken desktop one.
            charts[h["household"]] = Markup('<div class="wide">{}</div><div class="narrow">{}</div>').format(
                Markup(chart.svg(points, year, d["today"])),
                Markup(chart.svg(points, year, d["today"], width=380, height=260)))
        done = query.choice(request.query_params, "done", {"paused", "resumed"})
        return self.page(request, "overview.html", title="Overview", charts=charts, turning=d["turning_long_term"],
                         limit=OVERVIEW_ROWS, done=done, **{k: v for k, v in d.items() if k != "turning_long_term"})

    def runs_page(self, request: Request) -> Response:
        limit = query.whole(request.query_params, "limit", 1, MAX_LIMIT) or 100
        return self.page(request, "runs.html", title="Runs", runs=self.store.runs(limit), limit=limit)

    def run_page(self, request: Request) -> Response:
        run = self.store.run(request.path_params["run_id"])
        if run is None:
            return self.error(request, 404, "No such run", f"There is no run {request.path_params['run_id']!r}.")
        plan = run["plan"]
        return self.page(request, "run.html", title=f"Run {run['id']}", run=run, plan=plan,
                         pairs=plan.get("pairs", []), skipped=plan.get("skipped", []))

    def _order_filters(self, params: Mapping[str, str]) -> dict[str, str | None]:
        return {"run": query.text(params, "run"), "account": self._account(params),
                "symbol": query.text(params, "symbol", 20), "status": query.text(params, "status", 40),
                "leg": query.choice(params, "leg", {"sell", "buy"})}

    def orders_page(self, request: Request) -> Response:
        f = self._order_filters(request.query_params)
        rows = self.store.orders(**f)
        statuses = sorted({r["status"] for r in (rows if not f["status"] else self.store.orders())})
        shown = list(reversed(rows[-ORDERS_SHOWN:]))
        return self.page(request, "orders.html", title="Orders", f=f, shown=shown, total=len(rows),
                         accounts=self.accounts, statuses=statuses)

    def alerts_page(self, request: Request) -> Response:
        severity = query.choice(request.query_params, "severity", {"info", "warning", "error"})
        since = query.day(request.query_params, "since")
        rows = self.store.alerts(since, 500, severity=severity)
        for r in rows:
            r["where"] = r["account"] or r["household"] or ""
        return self.page(request, "alerts.html", title="Alerts", alerts=rows, severity=severity, since=since)

    def lots_page(self, request: Request) -> Response:
        account = self._account(request.query_params)
        rows = self.store.lots(account)
        by_account: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            by_account.setdefault(r["account"], []).append(r)
        prices = self.store.prices()
        return self.page(request, "lots.html", title="Lots", by_account=list(by_account.items()),
                         account=account, accounts=self.accounts,
                         account_types={a.id: a.type.value for a in self.settings.accounts},
                         prices_day=prices.last_day() if prices else None)

    def _gains_args(self, params: Mapping[str, str]) -> tuple[int | None, str | None, str | None, str]:
        return (self._year(params, default=False), self._account(params),
                query.choice(params, "taxpayer", list(self.store.taxpayers())),
                query.choice(params, "view", {"rows", "8949"}) or "rows")

    def gains_page(self, request: Request) -> Response:
        params = request.query_params
        if "year" not in params:
            return RedirectResponse(f"/gains?year={self.clock().year}", 303)
        year, account, taxpayer, view = self._gains_args(params)
        if view == "8949":
            rows = self.store.form_8949(year, account, taxpayer)
            columns = [(c, c) for c in views.F8949_1099B_COLUMNS]
            numeric: tuple[str, ...] = F8949_NUMERIC
        else:
            rows = self.store.gains(year, account, taxpayer)
            columns = [(c, c.replace("_", " ").capitalize()) for c in views.GAIN_COLUMNS]
            numeric = GAIN_NUMERIC
        query = urlencode({k: v for k, v in (("year", year), ("account", account), ("taxpayer", taxpayer),
                                             ("view", view)) if v})
        return self.page(request, "gains.html", title="Gains", rows=rows, columns=columns, numeric=numeric,
                         year=year, account=account, taxpayer=taxpayer, view=view, accounts=self.accounts,
                         taxpayers=self.store.taxpayers(), query=query,
                         summary=self.store.gains_summary(year, account, taxpayer), summary_columns=SUMMARY_COLUMNS)

    def gains_csv(self, request: Request) -> Response:
        year, account, taxpayer, view = self._gains_args(request.query_params)
        if view == "8949":
            rows, columns = self.store.form_8949(year, account, taxpayer), views.F8949_1099B_COLUMNS
        else:
            rows, columns = self.store.gains(year, account, taxpayer), views.GAIN_COLUMNS
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:  # as `tlh gains --format csv` / `--format 8949`
            writer.writerow([to_jsonable(row.get(c, "")) for c in columns])
        name = "-".join(str(part) for part in ("form-8949" if view == "8949" else "gains", year, account, taxpayer)
                        if part)
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})

    def backtests_page(self, request: Request) -> Response:
        return self.page(request, "backtests.html", title="Backtests", backtests=self.store.backtests(),
                         folder=self.settings.dashboard.backtests)

    def backtest_page(self, request: Request) -> Response:
        name = request.path_params["name"]
        data = self.store.backtest(name)
        if data is None:
            return self.error(request, 404, "No such backtest", f"There is no stored backtest result {name!r}.")
        from daemon.backtest.html import body  # numpy comes with it: only when someone looks at a backtest

        try:
            html = body(data)
        except (KeyError, TypeError, ValueError) as exc:
            return self.error(request, 422, "Unreadable backtest", f"{name}: not a `tlh backtest --format json` "
                                                                   f"result ({type(exc).__name__}: {exc})")
        return self.page(request, "backtest.html", title=f"Backtest {name}", body=Markup(html), name=name)

    # -- actions: pause and resume, nothing else ----------------------------------------------------------------
    def pause_form(self, request: Request) -> Response:
        """The confirmation step: what pausing does, for which scope, and the button that does it."""
        account = self._account(request.query_params)
        return self.page(request, "pause.html", title="Pause harvesting", account=account, accounts=self.accounts,
                         pauses=self.store.pauses(), error=None, reason="", until="")

    def resume_form(self, request: Request) -> Response:
        return self.page(request, "resume.html", title="Resume harvesting", pauses=self.store.pauses(), error=None)

    async def pause_action(self, request: Request) -> Response:
        form = await request.form()
        if not csrf_ok(request, str(form.get("csrf") or "")):
            return self.error(request, 403, "Refused", "The form expired (CSRF check failed); reload the page.")
        values = {k: str(form.get(k) or "").strip() for k in ("account", "reason", "until", "confirm")}
        try:
            account = query.choice(values, "account", self.accounts)
            until = query.day(values, "until")
            if until is not None and until <= self.clock():
                raise BadRequest(f"until {until}: must be after today (harvesting resumes on that day)")
            reason = query.text(values, "reason", 500) or "paused from the dashboard"
            if values["confirm"] != "yes":
                raise BadRequest("confirm: tick the box to confirm")
        except BadRequest as exc:
            return self.page(request, "pause.html", 400, title="Pause harvesting", account=values["account"] or None,
                             accounts=self.accounts, pauses=self.store.pauses(), error=str(exc),
                             reason=values["reason"], until=values["until"])
        await _in_thread(self.store.pause, account, reason, until, _by())
        # The alert goes out after the answer: a slow channel does not hold the page.
        return RedirectResponse("/?done=paused", 303, background=BackgroundTask(self.store.deliver))

    async def resume_action(self, request: Request) -> Response:
        form = await request.form()
        if not csrf_ok(request, str(form.get("csrf") or "")):
            return self.error(request, 403, "Refused", "The form expired (CSRF check failed); reload the page.")
        try:
            account = query.choice({"account": str(form.get("account") or "")}, "account", self.accounts)
        except BadRequest as exc:
            return self.error(request, 400, "Bad request", str(exc))
        if str(form.get("confirm") or "") != "yes":
            return self.error(request, 400, "Not confirmed", "Resume from the confirmation page.")
        await _in_thread(self.store.resume, account, _by())
        return RedirectResponse("/?done=resumed", 303, background=BackgroundTask(self.store.deliver))

    # -- API ---------------------------------------------------------------------------------------------------
    def api_report(self, request: Request) -> Response:
        year = self._year(request.query_params, default=True)
        assert year is not None
        return self.json(self.store.report(year, self.clock()))

    def api_overview(self, request: Request) -> Response:
        year = self._year(request.query_params, default=True)
        assert year is not None
        return self.json(self.overview_data(year))

    def api_status(self, request: Request) -> Response:
        return self.json(self.store.status(self.clock()))

    def api_pauses(self, request: Request) -> Response:
        return self.json(self.store.pauses())

    def api_runs(self, request: Request) -> Response:
        return self.json(self.store.runs(query.whole(request.query_params, "limit", 1, MAX_LIMIT) or 50))

    def api_run(self, request: Request) -> Response:
        run = self.store.run(request.path_params["run_id"])
        return self.json(run) if run is not None else self.error(request, 404, "", "no such run")

    def api_orders(self, request: Request) -> Response:
        return self.json(self.store.orders(**self._order_filters(request.query_params)))

    def api_alerts(self, request: Request) -> Response:
        p = request.query_params
        return self.json(self.store.alerts(query.day(p, "since"), query.whole(p, "limit", 1, MAX_LIMIT) or 200,
                                           severity=query.choice(p, "severity", {"info", "warning", "error"}),
                                           run=query.text(p, "run")))

    def api_lots(self, request: Request) -> Response:
        return self.json(self.store.lots(self._account(request.query_params)))

    def api_gains(self, request: Request) -> Response:
        p = request.query_params
        year, account, taxpayer, view = self._gains_args(p)
        if p.get("summary") in {"1", "true", "yes"}:  # as `tlh gains --summary --format json`
            return self.json(self.store.gains_summary(year, account, taxpayer))
        if view == "8949":
            return self.json(self.store.form_8949(year, account, taxpayer))
        return self.json(self.store.gains(year, account, taxpayer))

    def api_backtests(self, request: Request) -> Response:
        return self.json(self.store.backtests())

    def api_backtest(self, request: Request) -> Response:
        data = self.store.backtest(request.path_params["name"])
        return self.json(data) if data is not None else self.error(request, 404, "", "no such backtest")

    def routes(self) -> list[Route | Mount]:
        guarded = self._guarded
        return [
            Route("/healthz", self.healthz),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/", guarded(self.overview)),
            Route("/runs", guarded(self.runs_page)),
            Route("/runs/{run_id}", guarded(self.run_page)),
            Route("/orders", guarded(self.orders_page)),
            Route("/alerts", guarded(self.alerts_page)),
            Route("/lots", guarded(self.lots_page)),
            Route("/gains", guarded(self.gains_page)),
            Route("/gains.csv", guarded(self.gains_csv)),
            Route("/backtests", guarded(self.backtests_page)),
            Route("/backtests/{name}", guarded(self.backtest_page)),
            Route("/pause", guarded(self.pause_form), methods=["GET"]),
            Route("/pause", self.pause_action, methods=["POST"]),
            Route("/resume", guarded(self.resume_form), methods=["GET"]),
            Route("/resume", self.resume_action, methods=["POST"]),
            Route("/api/status", guarded(self.api_status)),
            Route("/api/pauses", guarded(self.api_pauses)),
            Route("/api/report", guarded(self.api_report)),
            Route("/api/overview", guarded(self.api_overview)),
            Route("/api/runs", guarded(self.api_runs)),
            Route("/api/runs/{run_id}", guarded(self.api_run)),
            Route("/api/orders", guarded(self.api_orders)),
            Route("/api/alerts", guarded(self.api_alerts)),
            Route("/api/lots", guarded(self.api_lots)),
            Route("/api/gains", guarded(self.api_gains)),
            Route("/api/backtests", guarded(self.api_backtests)),
            Route("/api/backtests/{name}", guarded(self.api_backtest)),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]

    def _guarded(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        """A sync handler (run in the thread pool: the store is blocking) whose bad parameters are a 400."""

        def endpoint(request: Request) -> Response:
            try:
                return handler(request)
            except BadRequest as exc:
                return self.error(request, 400, "Bad request", str(exc))

        return endpoint


def _by() -> str:
    from daemon.service.pause import who

    return f"dashboard ({who()})"


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)


def _section(path: str) -> str:
    top = "/" + path.strip("/").split("/", 1)[0]
    return top if top in dict(NAV) else ""


def _local(target: str | None) -> str:
    """Only a path on this site (never `//host` or a scheme): the login's redirect cannot leave it."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def create_app(settings: Settings, engine: Engine, access: Access,
               clock: Callable[[], date] | None = None) -> Starlette:
    dashboard = Dashboard(settings, engine, access, clock)
    app = Starlette(routes=dashboard.routes(),
                    middleware=[Middleware(Guard, access=access, unauthorized_page=dashboard.unauthorized)])
    app.state.dashboard = dashboard
    return app
