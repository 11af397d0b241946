"""Our CSV format: every row or nothing, errors that name the file and line."""

from __future__ import annotations

from decimal import Decimal

import pytest

from daemon.importers.csv_trades import ImportedTrade, TradeImportError, parse
from daemon.ledger import Side, Trade

ACCOUNTS = {"tax", "ira"}
HEADER = "date,account,symbol,side,quantity,price,fees,lot_id\n"


def test_parses_rows_with_optional_columns() -> None:
    out = parse(HEADER + "2024-01-02,tax,vti,buy,1.5,200.10,,L1\n2024-02-01,ira,VXUS,reinvest,0.123,55,0.5,\n",
                "f.csv", ACCOUNTS)
    assert [(x.trade.symbol, x.trade.side, x.trade.quantity, x.trade.lot_id, x.line) for x in out] == [
        ("VTI", Side.BUY, Decimal("1.5"), "L1", 2), ("VXUS", Side.REINVEST, Decimal("0.123"), None, 3)]
    assert out[1].trade.fees == Decimal("0.5")


def test_ids_are_stable_and_identical_rows_stay_distinct() -> None:
    text = HEADER + "2024-01-02,tax,VTI,buy,1,200,,\n2024-01-02,tax,VTI,buy,1,200,,\n"
    a, b = parse(text, "f.csv", ACCOUNTS), parse(text, "other-name.csv", ACCOUNTS)
    assert [x.external_id for x in a] == [x.external_id for x in b]
    assert a[0].external_id != a[1].external_id


@pytest.mark.parametrize(("row", "reason"), [
    ("2024-13-02,tax,VTI,buy,1,200,,", "date"),
    ("2024-01-02,nope,VTI,buy,1,200,,", "unknown account 'nope'"),
    ("2024-01-02,tax,VTI,hold,1,200,,", "side"),
    ("2024-01-02,tax,VTI,buy,0,200,,", "quantity: must be positive"),
    ("2024-01-02,tax,VTI,buy,-3,200,,", "quantity: must be positive"),
    ("2024-01-02,tax,VTI,buy,1,abc,,", "price: not a number"),
    ("2024-01-02,tax,VTI,buy,1.0000000001,200,,", "9 decimal places"),
    ("2024-01-02,tax,,buy,1,200,,", "symbol: missing"),
])
def test_bad_row_names_file_line_and_reason(row: str, reason: str) -> None:
    text = HEADER + "2024-01-02,tax,VTI,buy,1,200,,\n" + row + "\n"
    with pytest.raises(TradeImportError) as exc:
        parse(text, "trades.csv", ACCOUNTS)
    assert str(exc.value).startswith("trades.csv:3: ")
    assert reason in str(exc.value)


def test_header_must_have_the_required_columns() -> None:
    with pytest.raises(TradeImportError, match=r"f.csv:1: header lacks column\(s\) price"):
        parse("date,account,symbol,side,quantity\n", "f.csv", ACCOUNTS)


def test_identity_is_the_rows_content_as_earlier_versions_computed_it() -> None:
    # Re-importing a file imported by an earlier version must add nothing: the digest of the normalized
    # content and the occurrence, whatever the spelling of the numbers.
    import hashlib

    out = parse("date,account,symbol,side,quantity,price,fees,lot_id,time,acquired,basis\n"
                "2024-01-02,tax,vti,BUY,100.0,200.50,$1.00,,,,\n2024-01-02,tax,VTI,buy,1E+2,200.5,1,,,,\n"
                "2024-01-03,tax,VTI,transfer_in,5,10,,,,2020-05-01,40.10\n", "f.csv", ACCOUNTS)

    def digest(content: str) -> str:
        return hashlib.sha256(content.encode()).hexdigest()[:20]

    assert [x.external_id for x in out] == [
        digest("2024-01-02|tax|VTI|buy|1E+2|200.5|1||1"), digest("2024-01-02|tax|VTI|buy|1E+2|200.5|1||2"),
        digest("2024-01-03|tax|VTI|transfer_in|5|1E+1|0|||2020-05-01|40.1|1")]
    assert out[0].trade.trade_id == f"csv-{out[0].external_id}"
    # Made after the rows (the ids from the trades'): the frozen public records all the same.
    assert {(type(x), type(x.trade)) for x in out} == {(ImportedTrade, Trade)}


def test_blank_short_and_long_rows() -> None:
    text = ("Date, Account ,SYMBOL,side,quantity,price\n"  # no optional columns; header case and spaces
            "2024-01-02,tax,VTI,buy,1,200\n"
            "\n"
            " , ,,,,\n"  # blank: skipped
            '2024-01-03,tax,"VTI",buy,2,"20\n1"\n'  # a quoted line break: the error names the record's last line
            "2024-01-04,tax,VTI,buy\n")
    with pytest.raises(TradeImportError, match=r"^f.csv:6: price: not a number: '20\\n1'"):
        parse(text, "f.csv", ACCOUNTS)
    fixed = text.replace('"20\n1"', "201")
    with pytest.raises(TradeImportError, match=r"^f.csv:6: quantity: missing"):  # a short row lacks fields
        parse(fixed, "f.csv", ACCOUNTS)
    out = parse(fixed.replace("2024-01-04,tax,VTI,buy\n", "2024-01-04,tax,VTI,sell,3,1\n"), "f.csv", ACCOUNTS)
    assert [(x.line, x.trade.quantity, x.trade.fees) for x in out] == [(2, 1, 0), (5, 2, 0), (6, 3, 0)]
    with pytest.raises(TradeImportError, match=r"^f.csv:2: more fields than the header has columns"):
        parse("date,account,symbol,side,quantity,price\n2024-01-02,tax,VTI,buy,1,200,9\n", "f.csv", ACCOUNTS)


def test_repeated_whole_quantities_share_one_value_written_as_each_row_wrote_it() -> None:
    # A whole-share quantity's Decimal is shared by the rows that write it the same way; "100.0" stays its
    # own (its exponent shows in output), and a bad quantity after a shared one still fails on its own line.
    rows = ["2024-01-02,tax,VTI,buy,100,200,,", "2024-01-03,tax,VTI,buy,100,201,,", "2024-01-04,tax,VTI,buy,100.0,2,,",
            "2024-01-05,tax,VTI,buy, 100 ,2,,"]
    out = parse(HEADER + "\n".join(rows) + "\n", "f.csv", ACCOUNTS)
    first, second, written_with_point, spaced = (x.trade.quantity for x in out)
    assert first is second is spaced and written_with_point is not first
    assert [str(q) for q in (first, written_with_point)] == ["100", "100.0"]
    for bad, reason in (("0", "must be positive"), ("100.0000000001", "9 decimal places"), ('"1,00"', "ambiguous")):
        with pytest.raises(TradeImportError, match=rf"^f.csv:4: quantity: .*{reason}"):
            parse(HEADER + "\n".join([*rows[:2], rows[2].replace("100.0", bad)]) + "\n", "f.csv", ACCOUNTS)
