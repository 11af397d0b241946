"""The dashboard as a person sees it: a real headless Chromium (Debian's `chromium`, driven by Playwright for
Python; no browser download) against `tlh serve` on the demo database, built as `make demo` builds it and then
harvested once in paper mode. Screenshots of every page, at a desktop and a phone width, are written to
test-output/web/ (git-ignored)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
TLH = Path(sys.executable).parent / "tlh"
OUT = ROOT / "test-output" / "web"
TOKEN = "browser-test-token-0123456789"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
BACKTEST = """name = "demo_three_fund"
description = "60 % US total market, 25 % international, 15 % bonds over the demo's prices; $100k + $1k/month"
initial_deposit = 100000
monthly_contribution = 1000
spread_bps = 2
[harvest]
swap_back = true
[[sleeves]]
name = "us_total_market"
weight = 0.60
members = ["VTI", "ITOT", "SCHB"]
[[sleeves]]
name = "intl_total_market"
weight = 0.25
members = ["VXUS", "IXUS", "IEFA"]
[[sleeves]]
name = "us_aggregate_bonds"
weight = 0.15
members = ["BND", "AGG"]
"""


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("no chromium on PATH: install Debian's `chromium` package (.ci/run does)")
    return path


def tlh(cfg: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(TLH), "--config", str(cfg), *args], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, f"tlh {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TLH_", "ALPACA_"))}
    return {**env, **extra}


@dataclass
class Demo:
    cfg: Path
    dry_run: dict[str, Any]  # the dry run's plan, as `tlh harvest --dry-run --format json` printed it
    report: dict[str, Any]  # `tlh report --format json` after the paper harvest


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    work = tmp_path_factory.mktemp("demo")
    text = (ROOT / "config" / "demo.toml").read_text()
    text = text.replace('"sqlite:///../var/demo.db"', json.dumps(f"sqlite:///{work / 'demo.db'}"))
    text = text.replace('"demo/prices.csv"', json.dumps(str(ROOT / "config" / "demo" / "prices.csv")))
    # At most two pairs a run: the third loss is skipped with its reason, which the run page must show.
    text = text.replace('mode = "dry-run"', 'mode = "dry-run"\n\n[harvest]\nmax_pairs_per_run = 2', 1)
    text += f'\n[dashboard]\nbacktests = {json.dumps(str(work / "backtests"))}\n'
    cfg = work / "demo.toml"
    cfg.write_text(text)
    env = clean_env()
    # As `make demo`: migrate, import the sample trades, a dry run; then one paper harvest to have harvested losses.
    tlh(cfg, "db", "upgrade", env=env)
    tlh(cfg, "import", str(ROOT / "config" / "demo" / "trades.csv"), env=env)
    dry_run = json.loads(tlh(cfg, "harvest", "--dry-run", "--format", "json", env=env))
    cfg.write_text(text.replace('mode = "dry-run"', 'mode = "paper"'))
    tlh(cfg, "harvest", env=env)
    (work / "backtest.toml").write_text(BACKTEST)
    (work / "backtests").mkdir()
    tlh(cfg, "backtest", str(work / "backtest.toml"), "--prices", str(ROOT / "config" / "demo" / "prices.csv"),
        "--format", "json", "--output", str(work / "backtests" / "demo_three_fund.json"), env=env)
    report = json.loads(tlh(cfg, "report", "--format", "json", env=env))
    return Demo(cfg, dry_run, report)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(cfg: Path, **env: str) -> Iterator[str]:
    """`tlh serve` on a free loopback port, until the block ends."""
    port = free_port()
    log = cfg.parent / f"serve-{port}.log"
    with log.open("w") as err:
        proc = subprocess.Popen([str(TLH), "--config", str(cfg), "serve", "--port", str(port)],
                                env=clean_env(**env), stdout=err, stderr=err)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"tlh serve did not come up: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def server(demo: Demo) -> Iterator[str]:
    with serving(demo.cfg) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    errors: list[str] = []
    p = context.new_page()
    # A CSP violation or a failed asset shows as a console error: none allowed.
    p.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        yield p
        assert errors == [], errors
    finally:
        context.close()


def shoot(page: Page, name: str) -> None:
    """Full-page screenshots at desktop and phone width; at phone width nothing may stick out sideways."""
    OUT.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(OUT / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    page.screenshot(path=str(OUT / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than a phone screen"


def dollars(value: str) -> str:
    v = Decimal(value)
    return ("−" if v < 0 else "") + f"${abs(v):,.2f}"


def test_overview_shows_the_reports_harvested_loss_and_tax_saved(demo: Demo, server: str, page: Page) -> None:
    (household,) = demo.report["households"]
    assert Decimal(household["harvested"]) > 0  # the paper harvest realized losses
    response = page.goto(server + "/")
    assert response is not None and response.status == 200
    section = page.locator("#household-demo")
    assert section.locator("[data-figure=harvested]").inner_text() == dollars(household["harvested"])
    assert section.locator("[data-figure=tax_saved]").inner_text() == dollars(household["tax_saved"])
    assert page.locator(f"text=Household demo: harvested in {demo.report['year']}").is_visible()
    chart = section.locator(".wide svg[role=img]")
    assert chart.count() == 1 and chart.bounding_box()["width"] > 600  # type: ignore[index]
    assert section.locator(".narrow svg").is_hidden()  # the phone's drawing only on a phone
    shoot(page, "overview")
    page.set_viewport_size(PHONE)
    assert chart.is_hidden() and section.locator(".narrow svg").is_visible()
    page.set_viewport_size(DESKTOP)


def test_a_click_on_a_run_shows_its_skipped_reasons(demo: Demo, server: str, page: Page) -> None:
    skipped = demo.dry_run["skipped"]
    assert skipped, "the demo's dry run should skip something (max_pairs_per_run = 2)"
    page.goto(server + "/runs")
    shoot(page, "runs")
    page.get_by_role("link", name=demo.dry_run["run_id"]).click()
    page.wait_for_url(f"**/runs/{demo.dry_run['run_id']}")
    rows = page.locator("#skipped tbody tr")
    assert rows.count() == len(skipped)
    shown = [[c.strip() for c in rows.nth(i).locator("td").all_inner_texts()] for i in range(rows.count())]
    assert shown == [[s["account"], s["symbol"], s["reason"], s["detail"]] for s in skipped]
    assert page.locator("#pairs tbody tr").count() == len(demo.dry_run["pairs"])
    shoot(page, "run")


def test_every_page_renders(demo: Demo, server: str, page: Page) -> None:
    year = demo.report["year"]
    for path, heading, name in [("/orders", "Orders", "orders"), ("/alerts", "Alerts", "alerts"),
                                ("/lots", "Open lots", "lots"), (f"/gains?year={year}", f"Realized gains {year}",
                                                                  "gains"),
                                (f"/gains?year={year}&view=8949", f"Realized gains {year}", "gains-8949"),
                                ("/backtests", "Backtests", "backtests"),
                                ("/backtests/demo_three_fund", "Backtest: demo_three_fund", "backtest")]:
        response = page.goto(server + path)
        assert response is not None and response.status == 200, path
        assert page.locator("h1").first.inner_text() == heading, path
        shoot(page, name)


def test_orders_filter_by_leg(server: str, page: Page) -> None:
    page.goto(server + "/orders")
    legs_before = set(page.locator("tbody tr td:nth-child(4)").all_inner_texts())
    assert legs_before == {"sell", "buy"}
    page.select_option("select[name=leg]", "buy")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/orders?*leg=buy*")
    assert set(page.locator("tbody tr td:nth-child(4)").all_inner_texts()) == {"buy"}


def test_gains_csv_download_is_the_cli_csv(demo: Demo, server: str, page: Page) -> None:
    year = demo.report["year"]
    page.goto(f"{server}/gains?year={year}")
    with page.expect_download() as info:
        page.locator("#csv").click()
    download = info.value
    assert download.suggested_filename == f"gains-{year}.csv"
    assert Path(download.path()).read_text() == tlh(demo.cfg, "gains", "--year", str(year), "--format", "csv",
                                                    env=clean_env())


def test_pause_then_resume_changes_tlh_status(demo: Demo, server: str, page: Page) -> None:
    def status() -> dict[str, Any]:
        return json.loads(tlh(demo.cfg, "status", "--format", "json", env=clean_env()))

    before = status()
    assert not before["halted"] and before["pauses"] == []
    page.goto(server + "/")
    expect(page.locator("#running")).to_contain_text("Harvesting is on")
    page.get_by_role("link", name="Pause…").click()
    page.wait_for_url("**/pause")
    page.fill("input[name=reason]", "checking the IRA transfer")
    page.check("input[name=confirm]")
    shoot(page, "pause")
    page.get_by_role("button", name="Pause harvesting").click()
    page.wait_for_url("**/?done=paused")
    expect(page.locator("#halted")).to_contain_text("checking the IRA transfer")
    shoot(page, "overview-paused")
    paused = status()
    assert paused["halted"] and [(p["scope"], p["reason"]) for p in paused["pauses"]] == [
        ("all accounts", "checking the IRA transfer")]
    page.get_by_role("link", name="Resume…").click()
    page.wait_for_url("**/resume")
    shoot(page, "resume")
    page.get_by_role("button", name="Resume all accounts").click()
    page.wait_for_url("**/?done=resumed")
    expect(page.locator("#running")).to_be_visible()
    after = status()
    assert not after["halted"] and after["pauses"] == []


def test_with_a_token_a_request_without_it_is_refused(demo: Demo, browser: Browser) -> None:
    (household,) = demo.report["households"]
    figure = dollars(household["harvested"])
    with serving(demo.cfg, TLH_DASHBOARD_TOKEN=TOKEN) as base:
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        try:
            response = page.goto(base + "/")
            assert response is not None and response.status == 401
            assert figure not in page.content() and "Sign in" in page.content()
            shoot(page, "login")
            api = page.request.get(base + "/api/report")
            assert api.status == 401 and api.json() == {"error": "unauthorized: send Authorization: Bearer <token>"}
            assert page.request.get(base + "/healthz").status == 200
            bearer = page.request.get(base + "/api/report", headers={"Authorization": f"Bearer {TOKEN}"})
            assert bearer.status == 200 and bearer.json()["households"][0]["harvested"] == household["harvested"]
            page.fill("input[name=token]", "not-the-token-at-all")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("alert")).to_have_text("Wrong token.")
            page.fill("input[name=token]", TOKEN)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector("#household-demo")
            assert page.locator("#household-demo [data-figure=harvested]").inner_text() == figure
            session = next(c for c in context.cookies() if c["name"] == "tlh_session")
            assert session["httpOnly"] and TOKEN not in session["value"]
        finally:
            context.close()
