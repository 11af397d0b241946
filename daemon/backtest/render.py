"""A backtest report for people: rich tables (terminal or text file)."""

from __future__ import annotations

from typing import IO, Any

from rich.console import Console
from rich.table import Table

ASSUMPTION_NAMES = {"held": "held (never taxed)", "liquidated": "liquidated",
                    "liquidated_st_as_lt": "liquidated, short-term at long-term rates"}


def money(x: float | None) -> str:
    return "" if x is None else f"{round(x) or 0:,.0f}"


def pct(x: float | None, digits: int = 2) -> str:
    return "" if x is None else f"{x * 100:.{digits}f} %"


def headline(report: dict[str, Any]) -> list[tuple[str, str]]:
    total = report["total"]
    te = report["tracking_error"]
    rows = [
        ("period", f"{report['start']} to {report['end']} ({report['years_span']:.1f} years, "
                   f"{report['frequency']} harvesting)"),
        ("deposits", money(total["deposits"])),
        ("harvested losses", f"{money(total['harvested_short'])} short-term, "
                             f"{money(total['harvested_long'])} long-term in {total['pairs']} pairs "
                             f"({total['swap_backs']} swap backs)"),
        ("kept", f"swap backs realized {money(total.get('swap_back_realized_gains'))} of gains against "
                 f"{money(total.get('harvested_losses'))} of losses harvested"
                 + (f" ({pct(total['swap_back_gains_to_harvested_losses'], 1)})"
                    if total.get("swap_back_gains_to_harvested_losses") is not None else "")),
        ("wash sales created", f"{total['wash_sales_created']} (without harvesting: "
                               f"{total['wash_sales_without_harvesting']})"),
        ("tax alpha a year", f"{pct(report['tax_alpha_annual'])} (liquidated; held "
                             f"{pct(report['tax_alpha_annual_by_assumption']['held'])}, short-term at long-term "
                             f"rates {pct(report['tax_alpha_annual_by_assumption']['liquidated_st_as_lt'])})"),
        ("of which", f"before-tax difference {pct(report['pre_tax_difference_annual'])} (noise about ±"
                     f"{pct(report['pre_tax_noise_annual'])}), tax effect "
                     f"{pct(report['tax_effect_annual']['liquidated'])}"),
        ("tracking error", f"{pct(te['with_vs_without'])} vs the portfolio without harvesting"
         + (f"; {te['basket']} basket: {pct(te['with_vs_basket'])} with, {pct(te['without_vs_basket'])} "
            f"without" if "basket" in te else "")),
    ]
    if "placebo" in report:
        fake = report["placebo"]
        rows.append(("placebo", f"the same {fake['swaps']} swaps on random days: before-tax difference "
                                f"{pct(fake['before_tax_difference'])}; beyond it "
                                f"{pct(fake['before_tax_difference_beyond_placebo'])}"))
    return rows


def print_report(report: dict[str, Any], file: IO[str] | None = None) -> None:
    console = Console(file=file, width=160, force_terminal=False if file is not None else None)
    console.print(f"[bold]Backtest: {report['portfolio']}[/bold]  {report['description']}")
    for name, value in headline(report):
        console.print(f"  {name:<20} {value}")

    table = Table(title="With vs without harvesting")
    for col in ("", "with harvesting", "without harvesting"):
        table.add_column(col, justify="right" if col else "left")
    table.add_row("value at the end (pre-tax)", money(report["final_value"]["with_harvesting"]),
                  money(report["final_value"]["without_harvesting"]))
    for key, name in ASSUMPTION_NAMES.items():
        v = report["after_tax_value"][key]
        table.add_row(f"after tax: {name}", money(v["with_harvesting"]), money(v["without_harvesting"]))
    mwr = report["money_weighted_return"]
    table.add_row("money-weighted return, before tax", pct(mwr["before_tax"]["with_harvesting"]),
                  pct(mwr["before_tax"]["without_harvesting"]))
    for key, name in ASSUMPTION_NAMES.items():
        v = mwr["after_tax"][key]
        table.add_row(f"money-weighted return, after tax: {name}", pct(v["with_harvesting"]),
                      pct(v["without_harvesting"]))
    taxes = report["total"]["taxes_paid"]
    table.add_row("taxes paid over the years (negative: saved)", money(taxes["with_harvesting"]),
                  money(taxes["without_harvesting"]))
    console.print(table)

    years = Table(title="Per year (harvesting portfolio; taxes: with / without)")
    for col in ("year", "harvested short", "harvested long", "yield", "pairs", "swap backs", "turnover",
                "wash sales", "taxes with", "taxes without", "value with", "value without"):
        years.add_column(col, justify="left" if col == "year" else "right")
    for y in report["years"]:
        mark = "" if y["taxes_settled"] else "*"
        years.add_row(str(y["year"]), money(y["harvested_short"]), money(y["harvested_long"]),
                      pct(y["harvest_yield"]), str(y["pairs"]), str(y["swap_backs"]), pct(y["turnover"], 0),
                      str(y["wash_sales_created"]), money(y["taxes_paid"]["with_harvesting"]) + mark,
                      money(y["taxes_paid"]["without_harvesting"]) + mark,
                      money(y["end_value"]["with_harvesting"]), money(y["end_value"]["without_harvesting"]))
    console.print(years)
    console.print("  * due at the end (on realized gains), not yet settled")
    flagged = report["large_move_harvests"]
    if flagged:
        total = sum(f["loss"] for f in flagged)
        console.print(f"[yellow]{len(flagged)} harvested sales (${total:,.0f} of losses) held across a one-day "
                      f"move of 39 % or more (possibly a split the data did not adjust); first: "
                      + ", ".join(f"{f['symbol']} {f['date']} (move {f['move_date']} {pct(f['move'], 0)})"
                                  for f in flagged[:5]) + "[/yellow]")
    for caveat in report["caveats"]:
        console.print(f"  - {caveat}")


def print_windows(data: dict[str, Any], file: IO[str] | None = None) -> None:
    """`--windows`: one row per window, then the distribution across windows."""
    console = Console(file=file, width=160, force_terminal=False if file is not None else None)
    a = data["assumptions"]
    console.print(f"[bold]Backtest: {data['portfolio']}[/bold]  every {data['window']} window starting every "
                  f"{data['step']}, {data['frequency']} harvesting")
    console.print(f"  rates {pct(a['short_term_rate'], 1)} short-term / {pct(a['long_term_rate'], 1)} long-term "
                  f"(+ NIIT {pct(a['niit_rate'], 1)}, state {pct(a['state_rate'], 1)}); losses {a['losses']}; "
                  f"taxes paid from the {a['paid_from']}")
    table = Table(title="Windows (a year)")
    for col in ("start", "end", "tax alpha held", "liquidated", "ST at LT", "tax effect", "before-tax diff."):
        table.add_column(col, justify="left" if col in ("start", "end") else "right")
    for w in data["windows"]:
        t = w["tax_alpha"]
        table.add_row(w["start"], w["end"], pct(t["held"]), pct(t["liquidated"]), pct(t["st_at_lt"]),
                      pct(w["tax_effect"]), pct(w["before_tax_difference"]))
    console.print(table)
    summary = Table(title=f"Across {len(data['windows'])} windows (a year)")
    for col in ("", "median", "quartiles", "min", "max", "positive"):
        summary.add_column(col, justify="left" if not col else "right")
    rows = [(f"tax alpha, {name}", d) for name, d in data["summary"]["tax_alpha"].items()]
    rows += [("tax effect", data["summary"]["tax_effect"]),
             ("before-tax difference", data["summary"]["before_tax_difference"])]
    if "placebo_before_tax_difference" in data["summary"]:
        rows += [("placebo before-tax diff.", data["summary"]["placebo_before_tax_difference"]),
                 ("before-tax beyond placebo", data["summary"]["before_tax_difference_beyond_placebo"])]
    for name, d in rows:
        summary.add_row(name, pct(d["median"]), f"{pct(d['q1'])} .. {pct(d['q3'])}", pct(d["min"]),
                        pct(d["max"]), f"{d['positive']} of {d['count']}")
    console.print(summary)
