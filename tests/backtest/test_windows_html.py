"""`tlh backtest --windows ... --format html` as a person sees it, in headless Chromium (Debian's chromium via
Playwright; screenshots in test-output/backtest/): the distribution across windows, each window's after-tax
difference over time, each window's values on a log scale; the single run's value chart on a log scale too.
The JSON keeps its keys; the path's last after-tax difference is the report's own."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright
from typer.testing import CliRunner

from daemon.backtest import load_history, load_portfolio, run
from daemon.backtest.html import _log_ticks, line_chart
from daemon.backtest.windows import run_windows
from daemon.cli.main import app
from tests.backtest.test_windows import _files
from tests.web.test_browser import chromium

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output" / "backtest"
CONTRACT = {"start", "end", "tax_alpha", "tax_effect", "before_tax_difference", "harvested_losses",
            "swap_back_realized_gains", "tracking_error"}


def _ys(svg: str) -> list[float]:
    points = re.search(r'<polyline[^>]* points="([^"]+)"', svg)
    assert points is not None
    return [float(p.split(",")[1]) for p in points.group(1).split()]


def test_a_log_scale_puts_equal_ratios_at_equal_distances() -> None:
    ys = _ys(line_chart("v", ["2020-01-01", "2021-01-01", "2022-01-01"], {"a": [100.0, 1000.0, 10000.0]}, log=True))
    assert ys[0] - ys[1] == pytest.approx(ys[1] - ys[2], abs=0.15) and ys[0] > ys[1] > ys[2]
    linear = _ys(line_chart("v", ["2020-01-01", "2021-01-01", "2022-01-01"], {"a": [100.0, 1000.0, 10000.0]}))
    assert linear[0] - linear[1] < (linear[1] - linear[2]) / 5
    assert _log_ticks(80_000, 450_000) == [80_000, 90_000, 100_000, 200_000, 300_000, 400_000]  # 1-2-5: too few
    assert _log_ticks(1_000, 200_000) == [1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000]


def test_the_path_ends_at_the_reports_after_tax_difference(tmp_path: Path) -> None:
    prices, portfolio = _files(tmp_path)
    spec, history = load_portfolio(portfolio), load_history(prices)
    data = run_windows(spec, history, None, None, (0, 6), (0, 3), "weekly", paths=True)
    for w in data["windows"]:
        alone = run(spec, history, date.fromisoformat(w["start"]), date.fromisoformat(w["end"]), "weekly").report
        after = alone["after_tax_value"]["liquidated"]
        path = w["after_tax_difference"]
        assert path["usd"][-1] == pytest.approx(after["with_harvesting"] - after["without_harvesting"], abs=0.02)
        assert path["pct_of_without"][-1] == pytest.approx(
            (after["with_harvesting"] - after["without_harvesting"]) / after["without_harvesting"], abs=1e-5)
        assert path["date"][-1] == w["end"] and len(path["date"]) >= 2  # quarter ends and the last day
        assert w["series"]["date"][-1] == w["end"] and w["series"]["with_harvesting"][-1] == alone[
            "final_value"]["with_harvesting"]


def test_windows_html_in_a_browser(tmp_path: Path) -> None:
    prices, portfolio = _files(tmp_path)
    base = ["backtest", str(portfolio), "--prices", str(prices), "--windows", "6m", "--step", "2m", "--placebo"]
    as_json = CliRunner().invoke(app, [*base, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert all(set(w) == CONTRACT | {"placebo_before_tax_difference", "before_tax_difference_beyond_placebo"}
               for w in data["windows"])  # the JSON's keys are the contract's (no drawing data in it)
    page_file = tmp_path / "windows.html"
    result = CliRunner().invoke(app, [*base, "--format", "html", "--output", str(page_file)])
    assert result.exit_code == 0, result.output
    text = page_file.read_text()
    assert "<script" not in text and not re.search(r'(src|href)="(https?:)?//', text)  # self-contained

    single_file = tmp_path / "single.html"
    single = CliRunner().invoke(app, ["backtest", str(portfolio), "--prices", str(prices), "--format", "html",
                                      "--output", str(single_file)])
    assert single.exit_code == 0, single.output

    OUT.mkdir(parents=True, exist_ok=True)
    n = len(data["windows"])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(single_file.as_uri())
            value = page.locator('svg[aria-label="Portfolio value (log scale)"]')
            assert value.count() == 1 and value.is_visible()
            value.screenshot(path=str(OUT / "single-value-log.png"))

            page.goto(page_file.as_uri())
            spread = page.locator('svg[aria-label^="Across 5 windows"]')
            assert n == 5 and spread.is_visible()
            # A dot per window and measure: 3 tax alphas, tax effect, before-tax difference, 2 placebo rows.
            assert spread.locator("circle").count() == 7 * n
            over_time = page.locator('svg[aria-label^="After-tax difference over time"]')
            lines = over_time.locator("polyline")
            assert lines.count() == n
            assert [lines.nth(i).locator("title").text_content() for i in range(n)] == [w["start"] for w in
                                                                                     data["windows"]]
            figures = page.locator("figure.window")
            assert figures.count() == n
            for i, w in enumerate(data["windows"]):
                figure = figures.nth(i)
                assert figure.locator("figcaption").inner_text().startswith(f"{w['start']} to {w['end']}")
                assert figure.locator('svg[aria-label="Value (log scale)"] polyline').count() == 2
                assert figure.locator('svg[aria-label^="After-tax difference"] polyline').count() == 1
            bars = page.locator('svg[aria-label^="Per window"]')
            assert bars.locator("rect[fill^='#']").count() >= 3 * n  # a bar per window and series, and a key
            assert _overlaps(bars) == [], "the key or a label covers a bar"
            starts = [w["start"][:7] for w in data["windows"]]  # every 2 months: the year alone repeats
            assert [t for t in bars.locator("text").all_text_contents() if t in starts] == starts
            bars.screenshot(path=str(OUT / "windows-per-window.png"))
            page.screenshot(path=str(OUT / "windows.png"), full_page=True)
            spread.screenshot(path=str(OUT / "windows-distribution.png"))
            over_time.screenshot(path=str(OUT / "windows-after-tax-over-time.png"))
            figures.first.screenshot(path=str(OUT / "windows-first-window.png"))
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the page is {overflow}px wider than the window"
        finally:
            browser.close()


_OVERLAPS = """svg => {
  const boxes = [...svg.querySelectorAll("rect[fill^='#'], text")].map(e => {
    const b = e.getBBox();
    return {what: e.tagName + " " + (e.textContent || e.getAttribute("fill")), x0: b.x, y0: b.y,
            x1: b.x + b.width, y1: b.y + b.height};
  });
  const hits = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0) > 0.5 && Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0) > 0.5)
      hits.push(a.what + " / " + b.what);
  }
  return hits;
}"""


def _overlaps(svg: Any) -> list[str]:
    """Pairs of drawn things (bars, the key's swatches, any text) that cover each other, in the browser's
    own layout (getBBox): bars side by side only touch."""
    return svg.evaluate(_OVERLAPS)
