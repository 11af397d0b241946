"""Plain immutable records the ledger works on.

Everything here is a value: no database rows, no I/O. Money and quantities are `Decimal`; dates are
trade dates in the exchange's time zone.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import MISSING, dataclass, field, fields
from datetime import date, time
from decimal import Decimal
from operator import attrgetter
from typing import Any, TypeVar

ZERO = Decimal(0)


class Side(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"
    REINVEST = "reinvest"  # a dividend reinvestment: a purchase like any other
    # Shares that arrive or leave without a purchase or a sale (no gain or loss is realized):
    TRANSFER_IN = "transfer_in"  # ACATS in: the lot keeps its original basis and acquisition date
    GIFT_IN = "gift_in"  # received as a gift: carryover basis (and the FMV basis for losses, §1015)
    INHERITED = "inherited"  # from an estate: basis stepped up to the value at death, always long-term
    TRANSFER_OUT = "transfer_out"  # ACATS out, a gift or donation made: shares leave the ledger

    @property
    def acquires(self) -> bool:
        return self is not Side.SELL and self is not Side.TRANSFER_OUT

    @property
    def purchase(self) -> bool:
        """An acquisition "by purchase" (§1091(a)): only these can replace a loss sale. A gift or an
        inheritance is not a purchase; an ACATS transfer is the original purchase, made elsewhere."""
        return self in (Side.BUY, Side.REINVEST, Side.TRANSFER_IN)


class Origin(enum.StrEnum):
    """How a lot's shares came to the taxpayer (Form 8949 column (b) says INHERITED for inherited ones)."""

    PURCHASE = "purchase"
    TRANSFER = "transfer"
    GIFT = "gift"
    INHERITED = "inherited"
    SPINOFF = "spinoff"

    @property
    def replaceable(self) -> bool:
        return self in (Origin.PURCHASE, Origin.TRANSFER)


class ReplacementAlreadySold(enum.StrEnum):
    """Policy: does a replacement acquired in the window, but sold before the loss sale, wash it?"""

    ADJUST = "adjust"  # yes (the statute counts acquisitions); the earlier sale's basis is adjusted
    IGNORE = "ignore"  # no: only replacements still held at the loss sale count (most trackers)


class IdenticalMatch(enum.StrEnum):
    """Policy: how replacement shares of a different but identical fund are counted against loss shares."""

    SHARES = "shares"  # share for share
    VALUE = "value"  # by value: replacement shares x (replacement price / sold share's price)


@dataclass(frozen=True, slots=True)
class LedgerPolicy:
    replacement_already_sold: ReplacementAlreadySold = ReplacementAlreadySold.ADJUST
    identical_match: IdenticalMatch = IdenticalMatch.SHARES


class AccountType(enum.StrEnum):
    TAXABLE = "taxable"
    TRADITIONAL_IRA = "traditional_ira"
    ROTH_IRA = "roth_ira"
    K401 = "401k"
    B403 = "403b"
    HSA = "hsa"

    @property
    def taxable(self) -> bool:
        return self is AccountType.TAXABLE


class LotMethod(enum.StrEnum):
    FIFO = "fifo"
    LIFO = "lifo"
    HIFO = "hifo"
    SPECIFIC = "specific"


class Term(enum.StrEnum):
    SHORT = "short"
    LONG = "long"


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    household: str
    type: AccountType
    lot_method: LotMethod = LotMethod.FIFO
    basis_reported: bool = True  # Form 8949 box A/D (reported to the IRS) vs B/E


@dataclass(frozen=True, slots=True)
class Trade:
    """One buy, sell or reinvestment, as imported. `trade_id` is unique and stable across re-imports."""

    trade_id: str
    date: date
    account: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    fees: Decimal = ZERO
    lot_id: str | None = None  # buy: names the purchase lot; sell: the lot to sell from
    time: time | None = None  # execution time (exchange time zone) when the source has one
    # Transfers in: the original acquisition date and the total basis the shares carry (ACATS, a gift's
    # donor basis). `price` is the fair market value per share for gifts and inherited shares.
    acquired: date | None = None
    basis: Decimal | None = None
    # The broker order the fill belongs to: the fills of one sell order are one sale, so its shares never
    # replace each other, whatever order the fills are booked in.
    order_id: str | None = None

    @property
    def event_id(self) -> str:
        return self.trade_id


@dataclass(frozen=True, slots=True)
class Lot:
    """Open shares with one basis per share and one holding-period start.

    A purchase creates one lot; a wash sale that reaches only part of its open shares splits it into
    children `<id>.1` (the washed shares) and `<id>.2` (the rest), and the parent closes. `purchase_id`
    stays the id of the original purchase: shares of one purchase never replace each other.
    """

    lot_id: str
    purchase_id: str
    parent_id: str | None
    account: str
    symbol: str
    quantity: Decimal  # open shares
    cost: Decimal  # what the open shares cost, fees included
    adjustment: Decimal  # wash-sale basis adjustment carried by the open shares
    purchased: date  # trade date of the purchase
    acquired: date  # adjusted holding-period start
    absorbed: bool  # these shares already washed a loss (each share washes at most one)
    seq: int  # the purchase's sequence number, shared by all its pieces: with lot_id, the tie-break order
    trade_id: str
    reinvested: bool = False
    origin: Origin = Origin.PURCHASE
    # Purchase ids of the sales whose disallowed losses flowed (directly or down a chain) into these shares:
    # shares of those purchases are never these shares' replacement (no wash runs in a circle).
    washed_from: frozenset[str] = frozenset()
    # A gift received when its value was below the donor's basis (§1015(a)): the basis for a loss.
    loss_basis: Decimal | None = None

    @property
    def basis(self) -> Decimal:
        return self.cost + self.adjustment

    @property
    def is_open(self) -> bool:
        return self.quantity > 0


@dataclass(frozen=True, slots=True)
class Disposition:
    """Shares of one lot sold by one sell trade.

    `adjustment` is the disallowed loss (>= 0) on `washed_quantity` of the shares; `permanent` is the part of
    it that no lot's basis received (a replacement bought in an IRA/HSA/401(k)). Gain for Form 8949 is
    proceeds - cost_basis + adjustment.
    """

    disposition_id: str
    trade_id: str
    account: str
    symbol: str
    lot_id: str
    purchase_id: str
    quantity: Decimal
    proceeds: Decimal
    cost_basis: Decimal
    acquired: date
    purchased: date
    sold: date
    taxable: bool
    seq: int
    washed_quantity: Decimal = ZERO
    adjustment: Decimal = ZERO
    permanent: Decimal = ZERO
    kind: str = "sale"  # sale | transfer_out (shares that left without a sale: no gain or loss)
    lot_seq: int = 0  # the sold lot's purchase sequence number (order among replacements)
    origin: Origin = Origin.PURCHASE
    washed_from: frozenset[str] = frozenset()
    # These sold shares had already washed a loss (as a replacement): they cannot wash another.
    absorbed: bool = False
    # The cumulative split ratio of the symbol when sold: loss and replacement shares compare in
    # post-split terms.
    split_factor: Decimal = Decimal(1)
    # Disallowed losses of later sales added to this sale's basis, because these shares were those sales'
    # replacement (policy replacement_already_sold = "adjust"): an amendment-worthy change.
    replacement_adjustment: Decimal = ZERO
    time: time | None = None
    order_id: str | None = None

    @property
    def loss(self) -> Decimal:
        """The loss before any wash sale (0 for a gain or a sale at cost)."""
        return max(self.cost_basis - self.proceeds, ZERO)

    @property
    def gain(self) -> Decimal:
        return self.proceeds - self.cost_basis + self.adjustment

    @property
    def term(self) -> Term:
        return term_of(self.acquired, self.sold)

    @property
    def unwashed_quantity(self) -> Decimal:
        return self.quantity - self.washed_quantity


@dataclass(frozen=True, slots=True)
class WashMatch:
    """Replacement shares of `lot_id` that washed `quantity` loss shares of a disposition."""

    disposition_id: str
    lot_id: str  # the replacement lot (after any split)
    account: str  # the replacement's account
    symbol: str
    quantity: Decimal
    disallowed: Decimal
    permanent: bool  # the replacement sits in a tax-advantaged account: no basis carried
    replacement_date: date
    # Set when the replacement shares had already been sold (policy "adjust"): that sale's disposition id.
    replacement_disposition: str | None = None


@dataclass(frozen=True, slots=True)
class Part:
    """What a ledger state loaded in part leaves out (`LedgerState.part`).

    A batch of events after `through` reads and changes only the open lots, the sales inside the wash-sale
    window (sold or purchased 30 days or less before `through`) and those sales' wash matches; the rest of
    a long history (closed lots, old sales and their matches) is carried unchanged. So a store may load only
    that part to book a day's trades (`daemon.store.ledger_repo.load_part`). The part's matches are the
    whole state's from position `first_match` on; `lots_left_out` names the stored lots it leaves out, so
    that a lot id in use is still known. A batch that reaches a record left out raises `Unloaded`: the
    caller books it again on the whole state, never on a guess."""

    lots_left_out: frozenset[str]
    first_match: int


@dataclass(frozen=True, slots=True)
class LedgerState:
    """What the ledger knows after replaying a household's trades up to `through` (inclusive).

    `part`: None for a whole state; else this state holds only part of the household's records (`Part`)."""

    household: str
    through: date | None = None
    lots: tuple[Lot, ...] = ()
    dispositions: tuple[Disposition, ...] = ()
    matches: tuple[WashMatch, ...] = ()
    next_seq: int = 0
    # Corporate actions' lasting effects: the cumulative split ratio of each split symbol, and symbol
    # changes (old -> new), so that later events see one security under its current name.
    split_factors: tuple[tuple[str, Decimal], ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()
    splits_applied: tuple[str, ...] = ()
    part: Part | None = None

    def current_symbol(self, symbol: str) -> str:
        names = dict(self.renamed)
        seen = {symbol}
        while symbol in names and names[symbol] not in seen:
            symbol = names[symbol]
            seen.add(symbol)
        return symbol

    @property
    def open_lots(self) -> tuple[Lot, ...]:
        return tuple(lot for lot in self.lots if lot.is_open)


@dataclass(frozen=True, slots=True)
class IdenticalGroups:
    """Symbols treated as substantially identical. A symbol in no group is identical only to itself."""

    groups: tuple[frozenset[str], ...] = field(default_factory=tuple)

    def key(self, symbol: str) -> str:
        for group in self.groups:
            if symbol in group:
                return min(group)
        return symbol

    def members(self, symbol: str) -> frozenset[str]:
        for group in self.groups:
            if symbol in group:
                return group
        return frozenset({symbol})


_Record = TypeVar("_Record", Lot, Disposition)


def _working(cls: type) -> Any:
    """The mutable twin of a frozen record class, for the ledger's book while it folds events: the same slots
    (so a record's class can be switched back to `cls` in place, see `publish`), plain attribute writes, and
    an `__init__` that stores the fields directly (a frozen dataclass's calls `object.__setattr__` per
    field, five times slower). `dataclasses.replace` on a working record makes another working record."""
    params, defaults = [], {}
    for f in fields(cls):
        if f.default is not MISSING:
            params.append(f"{f.name}=_default_{f.name}")
            defaults[f"_default_{f.name}"] = f.default
        elif f.default_factory is not MISSING:
            params.append(f"{f.name}=_default_{f.name}")
            defaults[f"_default_{f.name}"] = f.default_factory()
        else:
            params.append(f.name)
    body = "".join(f"    self.{f.name} = {f.name}\n" for f in fields(cls))
    namespace: dict[str, Any] = dict(defaults)
    exec(f"def __init__(self, {', '.join(params)}):\n{body}", namespace)  # noqa: S102 - the class's own fields
    return type(f"Working{cls.__name__}", (cls,), {
        "__slots__": (), "__init__": namespace["__init__"], "__setattr__": object.__setattr__,
        "__delattr__": object.__delattr__, "__module__": cls.__module__})


# Positional constructors of working records (all fields, in field order).
make_lot = WorkingLot = _working(Lot)
make_disposition = WorkingDisposition = _working(Disposition)
make_match = WorkingMatch = _working(WashMatch)
_PUBLIC = {WorkingLot: Lot, WorkingDisposition: Disposition, WorkingMatch: WashMatch}
_lot_fields = attrgetter(*(f.name for f in fields(Lot)))
_disposition_fields = attrgetter(*(f.name for f in fields(Disposition)))


def working_copy(record: _Record) -> _Record:
    """A working copy of a record for the ledger's book to change (the original stays as it was)."""
    if isinstance(record, Lot):
        return make_lot(*_lot_fields(record))  # type: ignore[no-any-return]
    return make_disposition(*_disposition_fields(record))  # type: ignore[no-any-return]


def publish(records: Iterable[object]) -> None:
    """Turn the book's working records into the frozen public records, in place (the same layout)."""
    public = _PUBLIC
    last_type: type | None = None
    cls: type | None = None
    for record in records:
        kind = type(record)
        if kind is not last_type:  # a table is mostly of one kind: look the class up when it changes
            last_type, cls = kind, public.get(kind)
        if cls is not None:
            record.__class__ = cls


def add_one_year(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # Feb 29: the anniversary is Feb 28
        return day.replace(year=day.year + 1, day=28)


def term_of(acquired: date, sold: date) -> Term:
    """Long-term means held more than one year: sold after the anniversary of the acquisition."""
    return Term.LONG if sold > add_one_year(acquired) else Term.SHORT
