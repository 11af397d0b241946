"""`--format json` output: the fast encoder writes exactly what `json.dumps(to_jsonable(v), indent=2)` did."""

from __future__ import annotations

import contextlib
import enum
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.cli.render import dumps, print_json_rows, to_jsonable


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(),
    st.decimals(allow_nan=False, allow_infinity=False), st.dates(),
    st.datetimes(timezones=st.just(UTC)), st.sampled_from([Colour.RED, Level.HIGH]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(st.one_of(st.text(max_size=5), st.integers(0, 3)), inner, max_size=4)), max_leaves=25)


@settings(max_examples=500, deadline=None)
@given(values)
def test_same_text_as_json_dumps(value: object) -> None:
    assert dumps(value) == json.dumps(to_jsonable(value), indent=2)


def test_a_gains_row() -> None:
    rows = [{"account": "demo-taxable", "symbol": "VTI", "quantity": Decimal("12.5"), "sold": date(2022, 3, 1),
             "gain": Decimal("-10.00"), "term": "short", "at": datetime(2022, 3, 1, 15, 0, tzinfo=UTC),
             "lots": ["a", "b"], "extra": {}, "none": None, "ok": True, "n": 3, "ratio": 0.25}, {}]
    assert dumps(rows) == json.dumps(to_jsonable(rows), indent=2)
    assert json.loads(dumps(rows))[0]["gain"] == "-10.00"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.dictionaries(st.text(max_size=5), scalars, max_size=6), values), max_size=5))
def test_rows_written_one_by_one_are_print_json_of_the_list(rows: list[object]) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_json_rows(iter(rows))
        print_json_rows(iter(rows))  # the cached layouts of the first pass give the same text
    assert out.getvalue() == (dumps(rows) + "\n") * 2
    assert dumps(rows) == json.dumps(to_jsonable(rows), indent=2)
