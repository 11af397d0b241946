"""Why ledger and broker disagree: per symbol, by how much, and the likeliest cause.

The ledger is right about what it was told; a disagreement means it was not told something. The shape of
the difference points at what: a whole-number (or 1/n) multiple of the shares is a split, the same shares
gone from one symbol and found under another a symbol change or merger, shares only the broker holds a
purchase or transfer in the ledger never saw, shares only the ledger holds a sale or transfer out.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction

ZERO = Decimal(0)
_MAX_TERM = 20  # split ratios in practice: 2:1 .. 20:1, 3:2, 1:10 .. 1:20


def _n(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _split_ratio(ledger: Decimal, broker: Decimal) -> Fraction | None:
    """broker/ledger when it is a ratio a split would make (n:1, 1:n, or a small fraction like 3:2)."""
    ratio = Fraction(broker) / Fraction(ledger)
    if ratio == 1:
        return None
    simple = ratio.limit_denominator(_MAX_TERM)
    if simple != ratio or simple.numerator > _MAX_TERM:
        return None
    return simple


def cause(symbol: str, ledger: Decimal, broker: Decimal, ledger_only: Mapping[str, Decimal],
          broker_only: Mapping[str, Decimal]) -> str:
    """The likeliest cause of one symbol's difference (`ledger_only`/`broker_only`: the symbols held by
    one side only, to spot a renamed or merged position)."""
    if ledger > 0 and broker > 0:
        ratio = _split_ratio(ledger, broker)
        if ratio is not None:
            times = f"{float(ratio):.1f}x" if ratio.denominator == 1 or ratio > 1 else f"1/{float(1 / ratio):g}"
            kind = "split" if ratio > 1 else "reverse split"
            return (f"broker holds {times} the ledger's shares: an unrecorded {kind} "
                    f"({ratio.numerator}:{ratio.denominator})?")
        if broker > ledger:
            return f"broker holds {_n(broker - ledger)} more: a purchase or transfer in the ledger never saw?"
        return f"broker holds {_n(ledger - broker)} fewer: a sale or transfer out the ledger never saw?"
    if broker > 0:  # only the broker holds it
        olds = [s for s in ledger_only if s != symbol]
        if len(olds) == 1:
            old = olds[0]
            ratio = Fraction(broker) / Fraction(ledger_only[old])
            if ratio == 1:
                return f"the ledger holds as many {old} instead: an unrecorded symbol change {old} -> {symbol}?"
            return (f"the ledger holds {_n(ledger_only[old])} {old} instead: an unrecorded merger of {old} into "
                    f"{symbol} ({float(ratio):g} per share) or spin-off?")
        return "the ledger has no such shares: a purchase, transfer in or spin-off never recorded?"
    news = [s for s in broker_only if s != symbol]
    if len(news) == 1:
        return f"the broker holds {news[0]} instead: an unrecorded symbol change or merger {symbol} -> {news[0]}?"
    return "the broker holds none: a sale, transfer out, cash merger or worthless removal never recorded?"


def explain(ledger: Mapping[str, Decimal], broker: Mapping[str, Decimal], tolerance: Decimal) -> list[str]:
    """One line per symbol that differs: "VTI: ledger 100 broker 400 (broker +300; broker holds 4.0x ...)"."""
    symbols = sorted(set(ledger) | set(broker))
    differs = [s for s in symbols if abs(ledger.get(s, ZERO) - broker.get(s, ZERO)) > tolerance]
    ledger_only = {s: ledger[s] for s in differs if ledger.get(s, ZERO) > 0 and broker.get(s, ZERO) <= 0}
    broker_only = {s: broker[s] for s in differs if broker.get(s, ZERO) > 0 and ledger.get(s, ZERO) <= 0}
    out = []
    for s in differs:
        mine, theirs = ledger.get(s, ZERO), broker.get(s, ZERO)
        delta = theirs - mine
        out.append(f"{s}: ledger {_n(mine)} broker {_n(theirs)} (broker {'+' if delta > 0 else '-'}"
                   f"{_n(abs(delta))}; {cause(s, mine, theirs, ledger_only, broker_only)})")
    return out
