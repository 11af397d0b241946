"""The TOML configuration, validated. Key names here are a public contract: extend, don't rename."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from daemon.ledger.types import AccountType, IdenticalMatch, LotMethod, ReplacementAlreadySold


def _fraction(v: Decimal) -> Decimal:
    if not Decimal(0) <= v <= Decimal(1):
        raise ValueError("must be between 0 and 1")
    return v


Fraction = Annotated[Decimal, AfterValidator(_fraction)]


def _symbols(raw: list[str]) -> list[str]:
    """Upper-cased and stripped; two spellings of one symbol ("voo " and "VOO") are an error, not one."""
    out: list[str] = []
    for s in raw:
        symbol = s.strip().upper()
        if not symbol:
            raise ValueError("empty symbol")
        if symbol in out:
            same = [r for r in raw if r.strip().upper() == symbol]
            raise ValueError(f"{symbol} is listed twice ({', '.join(repr(r) for r in same)})")
        out.append(symbol)
    return out
NonNegative = Annotated[Decimal, Field(ge=0)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DirectIndexConfig(Strict):
    """`[accounts.direct_index]`: the account holds the index's stocks one by one (daemon/engine/direct_index.py)."""

    constituents: Annotated[str, Field(min_length=1)]  # CSV symbol,weight,sector,sub_industry ("sp500.csv": shipped)
    exclude: list[str] = Field(default_factory=list)  # symbols, or "sector:<GICS sector>"
    tracking_error_budget: Fraction = Decimal("0.01")  # annualized, estimated from trailing daily returns
    realized_gain_budget_usd: NonNegative = Decimal("0")  # per tax year, for swap backs and transition sales
    correlation_days: Annotated[int, Field(ge=20, le=1260)] = 252  # trailing daily returns for ranking

    @field_validator("exclude")
    @classmethod
    def _exclude(cls, v: list[str]) -> list[str]:
        out = []
        for item in v:
            item = item.strip()
            if item.lower().startswith("sector:"):
                sector = item.split(":", 1)[1].strip()
                if not sector:
                    raise ValueError(f"{item!r}: give a sector name after 'sector:'")
                out.append(f"sector:{sector}")
            elif item:
                out.append(item.upper())
        return out


class RecurringPurchase(Strict):
    """A monthly purchase the account makes on its own (a 401(k) contribution, an automatic investment)."""

    symbol: Annotated[str, Field(min_length=1)]
    amount: Annotated[Decimal, Field(gt=0)] | None = None  # USD
    quantity: Annotated[Decimal, Field(gt=0)] | None = None  # shares
    day_of_month: Annotated[int, Field(ge=1, le=31)]  # the next trading day when it is closed

    @field_validator("symbol")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.strip().upper()

    @model_validator(mode="after")
    def _one_size(self) -> RecurringPurchase:
        if (self.amount is None) == (self.quantity is None):
            raise ValueError("give either amount (USD) or quantity (shares)")
        return self


class AccountConfig(Strict):
    id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")]
    type: AccountType = AccountType.TAXABLE
    household: Annotated[str, Field(min_length=1)]
    broker: Literal["paper", "alpaca", "ibkr"] = "paper"
    lot_method: LotMethod = LotMethod.FIFO
    # The broker's own id for the account (IB account code, e.g. "U1234567"); optional for paper/alpaca.
    broker_account: str | None = None
    # Names the environment variables holding this account's keys: ALPACA_<CREDENTIALS>_API_KEY etc.
    # Unset means the plain ALPACA_API_KEY / ALPACA_SECRET_KEY.
    credentials: Annotated[str, Field(pattern=r"^[A-Z0-9_]+$")] | None = None
    # Form 8949: true, the broker's 1099-B reports basis to the IRS for covered lots (boxes A/D; non-covered
    # lots B/E); false, the 1099-B reports no basis (B/E); "none", there is no 1099-B (boxes C/F).
    basis_reported: bool | Literal["none"] = True
    # The taxpayer who owns the account (a name); default: the household id. See [[households]].
    owner: Annotated[str, Field(min_length=1)] | None = None
    # Purchases the account makes by itself: the engine looks ahead 30 days for them before a loss sale.
    recurring: list[RecurringPurchase] = Field(default_factory=list)
    drip: bool = False  # dividends are reinvested (dates from [harvest] dividend_dates)
    direct_index: DirectIndexConfig | None = None
    # A book of ETFs' target weight per asset class ([[asset_classes]] names; they add up to 1): the engine
    # invests the account's cash (all of it) in the most underweight classes. Empty: the
    # engine buys nothing but replacements.
    targets: dict[str, Fraction] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _direct_index_taxable(self) -> AccountConfig:
        if self.direct_index is not None and not self.type.taxable:
            raise ValueError("direct_index: only a taxable account can hold a direct index (nothing to harvest "
                             "in an IRA)")
        if self.targets:
            if self.direct_index is not None:
                raise ValueError("targets: a direct index invests by its constituents' weights; give either "
                                 "targets or direct_index")
            if not self.type.taxable:
                raise ValueError("targets: the engine trades taxable accounts only")
            total = sum(self.targets.values(), Decimal(0))
            if abs(total - 1) > Decimal("0.0001"):
                raise ValueError(f"targets: the weights must add up to 1, got {total}")
        return self


class HouseholdConfig(Strict):
    """How a household (the wash-sale scope) files: one joint return for its owners, or one per owner."""

    id: Annotated[str, Field(min_length=1)]
    filing: Literal["joint", "separate", "single"] = "joint"


class IdenticalGroup(Strict):
    symbols: Annotated[list[str], Field(min_length=2)]

    @field_validator("symbols")
    @classmethod
    def _upper(cls, v: list[str]) -> list[str]:
        return _symbols(v)


class AssetClass(Strict):
    name: Annotated[str, Field(min_length=1)]
    members: Annotated[list[str], Field(min_length=1)]  # ordered: primary, secondary, tertiary...

    @field_validator("members")
    @classmethod
    def _upper(cls, v: list[str]) -> list[str]:
        return _symbols(v)


class TaxConfig(Strict):
    short_term_rate: Fraction = Decimal("0.37")
    long_term_rate: Fraction = Decimal("0.20")
    niit_rate: Fraction = Decimal("0.038")
    state_rate: Fraction = Decimal("0")
    # Net capital loss deductible against ordinary income each year ($1,500 married filing separately).
    ordinary_income_offset: NonNegative = Decimal("3000")
    prior_carryforward_short: NonNegative = Decimal("0")
    prior_carryforward_long: NonNegative = Decimal("0")
    # The tax year the prior carry-forward is carried into (default: the first year of the ledger's sales)
    # and the return it belongs to (a joint household's id or an owner; needed when there are several).
    prior_carryforward_year: Annotated[int, Field(ge=1900, le=2999)] | None = None
    prior_carryforward_taxpayer: str | None = None
    # Wash-sale policies where the law is silent (shared/reference/wash-sales.md): does a replacement sold
    # before the loss sale still wash it ("adjust": yes, the earlier sale's basis takes the loss), and are
    # identical funds at different prices matched share for share or by value.
    replacement_already_sold: ReplacementAlreadySold = ReplacementAlreadySold.ADJUST
    identical_match: IdenticalMatch = IdenticalMatch.SHARES


class HarvestConfig(Strict):
    min_loss_pct: Fraction = Decimal("0.05")
    min_loss_usd: NonNegative = Decimal("200")
    min_net_benefit_usd: NonNegative = Decimal("25")
    # What to do with a candidate whose identical shares were bought in the last 30 days:
    # "skip" it, or harvest and count only the loss the purchase does not wash.
    lookback_policy: Literal["skip", "unwashed_only"] = "skip"
    cash_max_pct: Fraction = Decimal("0.02")
    max_spread_bps: NonNegative = Decimal("50")
    default_spread_bps: NonNegative = Decimal("5")  # when a price source has no bid/ask
    commission_usd: NonNegative = Decimal("0")  # per order
    max_price_age_days: Annotated[int, Field(ge=0)] = 4
    circuit_breaker: bool = True
    circuit_breaker_sigma: Annotated[Decimal, Field(gt=0)] = Decimal("3")
    circuit_breaker_benchmarks: list[str] = Field(default_factory=lambda: ["SPY", "VTI"])
    halt: bool = False  # manual halt flag: no harvesting while set
    max_pairs_per_run: Annotated[int, Field(ge=0)] = 20
    max_turnover_pct: Fraction = Decimal("1")  # of an account's value, sold per run; 1 = no cap
    swap_back: bool = False
    swap_back_max_gain_usd: NonNegative = Decimal("0")
    # A fill further than this from the quote the plan used is an error alert and pauses the account's
    # harvesting until `tlh resume` (the fill is still booked: it happened).
    max_fill_deviation_pct: Fraction = Decimal("0.10")
    # A loss that a scheduled purchase (accounts' recurring purchases, dividend reinvestment) in the next
    # 30 days would wash: "skip" the harvest, or "warn": harvest and alert naming the purchase to pause.
    scheduled_purchases: Literal["skip", "warn"] = "skip"
    # CSV of dividend dates for accounts with drip = true: symbol,ex_date[,pay_date] (relative to the file).
    dividend_dates: Path | None = None


class ScheduleConfig(Strict):
    calendar: str = "XNYS"
    timezone: str = "America/New_York"
    minutes_before_close: Annotated[int, Field(ge=1, le=240)] = 15
    sync_minutes_after_open: Annotated[int, Field(ge=0, le=240)] = 30
    heartbeat_seconds: Annotated[int, Field(ge=1)] = 15
    lease_seconds: Annotated[int, Field(ge=5)] = 60

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(v)
        except (KeyError, ValueError):
            raise ValueError("unknown time zone (e.g. America/New_York)") from None
        return v

    @model_validator(mode="after")
    def _heartbeat_within_lease(self) -> ScheduleConfig:
        if self.heartbeat_seconds >= self.lease_seconds:
            raise ValueError(f"heartbeat_seconds ({self.heartbeat_seconds}) must be less than lease_seconds "
                             f"({self.lease_seconds}), or the lease expires between heartbeats")
        return self


class AlertsConfig(Strict):
    jsonl_path: Path | None = None  # alerts appended as JSON lines
    # Webhook URL and SMTP password are secrets: TLH_WEBHOOK_URL and TLH_SMTP_PASSWORD (or *_FILE).
    webhook: bool = False
    email_to: list[str] = Field(default_factory=list)
    email_from: str | None = None
    smtp_host: str | None = None
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    smtp_user: str | None = None
    smtp_starttls: bool = True
    min_severity: Literal["info", "warning", "error"] = "info"


class PaperBrokerConfig(Strict):
    prices: Path | None = None  # wide (date + one column per symbol) or long (date,symbol,close[,bid,ask]) CSV
    spread_bps: NonNegative = Decimal("2")
    starting_cash: NonNegative = Decimal("0")


class AlpacaBrokerConfig(Strict):
    paper: bool = True
    base_url: str | None = None  # overrides the trading host (tests, proxies)
    data_url: str | None = None  # overrides the market-data host
    fill_timeout_seconds: Annotated[int, Field(ge=1)] = 120


class IbkrBrokerConfig(Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 4002
    client_id: int = 17
    paper: bool = True
    timeout_seconds: Annotated[int, Field(ge=1)] = 10
    flex_report: Path | None = None  # a saved Flex "Trades" XML report for history


class BrokersConfig(Strict):
    paper: PaperBrokerConfig = Field(default_factory=PaperBrokerConfig)
    alpaca: AlpacaBrokerConfig = Field(default_factory=AlpacaBrokerConfig)
    ibkr: IbkrBrokerConfig = Field(default_factory=IbkrBrokerConfig)


class GivingConfig(Strict):
    """`tlh donate`: giving appreciated long-term lots instead of cash."""

    # Adjusted gross income, for the note on the yearly limit (unset: the note gives the rule only).
    agi_usd: NonNegative | None = None
    # Appreciated long-term property given to a public charity or donor-advised fund is deductible up to
    # 30 % of AGI a year (IRC 170(b)(1)(C)); the excess carries forward five years (IRC 170(d)(1)).
    agi_limit_pct: Fraction = Decimal("0.30")
    # Most custodians move only whole shares to a charity or DAF; false allows fractions (6 decimals).
    whole_shares: bool = True
    report_lots: Annotated[int, Field(ge=0)] = 10  # lots `tlh report` lists as the best ones to give


class LocationClass(Strict):
    """One asset class's typical yearly distributions and their tax character (shares of the yield; what
    the shares leave over is return of capital, untaxed until sold)."""

    name: Annotated[str, Field(min_length=1)]  # an [[asset_classes]] name, or a class of its own
    placement: Literal["taxable", "tax_advantaged"]  # where the class belongs
    typical_yield: Fraction  # distributions a year, as a fraction of the value
    ordinary: Fraction = Decimal("0")  # taxed at the ordinary rate (short_term_rate): interest, REIT income
    section_199a: Fraction = Decimal("0")  # qualified REIT dividends: ordinary, less the 20 % deduction
    qualified: Fraction = Decimal("0")  # qualified dividends and capital-gain distributions (long_term_rate)
    exempt: Fraction = Decimal("0")  # federally tax-exempt interest (municipal bonds)
    members: list[str] = Field(default_factory=list)  # symbols of the class beyond its [[asset_classes]] ones
    source: str = ""

    @field_validator("members")
    @classmethod
    def _upper(cls, v: list[str]) -> list[str]:
        return [s.strip().upper() for s in v]

    @model_validator(mode="after")
    def _shares(self) -> LocationClass:
        total = self.ordinary + self.section_199a + self.qualified + self.exempt
        if total > 1:
            raise ValueError(f"{self.name}: ordinary + section_199a + qualified + exempt must not exceed 1, "
                             f"got {total}")
        return self


class LocationConfig(Strict):
    """`tlh location`: the table of asset classes' yields and tax character behind the hints."""

    # The shipped table (config/asset_location.toml) is merged with the classes below (yours win by name);
    # point this at your own file to replace it, or set it to "" for none.
    table: str | None = None
    asset_classes: list[LocationClass] = Field(default_factory=list)
    min_annual_savings_usd: NonNegative = Decimal("0")  # smaller swaps are not suggested


class DashboardConfig(Strict):
    # A folder of `tlh backtest --format json --output DIR/NAME.json` results for the dashboard's backtests page.
    backtests: Path | None = None


class Settings(Strict):
    database_url: str = "sqlite:///tlh.db"
    mode: Literal["dry-run", "paper", "live"] = "dry-run"
    # The shipped substitute groups (identical groups + asset classes) are merged with the ones below;
    # point this at your own file to replace them, or set it to "" for none.
    substitutes: str | None = None
    accounts: list[AccountConfig] = Field(default_factory=list)
    households: list[HouseholdConfig] = Field(default_factory=list)
    identical: list[IdenticalGroup] = Field(default_factory=list)
    asset_classes: list[AssetClass] = Field(default_factory=list)
    tax: TaxConfig = Field(default_factory=TaxConfig)
    harvest: HarvestConfig = Field(default_factory=HarvestConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    brokers: BrokersConfig = Field(default_factory=BrokersConfig)
    # Warnings found while loading (a user group that takes a symbol from a shipped group, ...).
    _warnings: list[str] = PrivateAttr(default_factory=list)
    # Mode of the files the daemon creates (SQLite database, alerts file, reports, exports): private by default.
    file_mode: str = "0600"
    giving: GivingConfig = Field(default_factory=GivingConfig)
    location: LocationConfig = Field(default_factory=LocationConfig)
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)

    @field_validator("file_mode")
    @classmethod
    def _file_mode(cls, v: str) -> str:
        from daemon.files import parse_mode

        parse_mode(v)
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        seen: set[str] = set()
        for account in self.accounts:
            if account.id in seen:
                raise ValueError(f"accounts: duplicate account id {account.id!r}")
            seen.add(account.id)
        codes: dict[str, str] = {}
        for account in self.accounts:
            if account.broker != "ibkr" or not account.broker_account:
                continue
            code = account.broker_account.strip().upper()
            if code in codes:
                other = self.account(codes[code])
                raise ValueError(f"accounts: {account.id!r} (household {account.household}) and {codes[code]!r} "
                                 f"(household {other.household if other else '?'}) name the same IB "
                                 f"broker_account {account.broker_account!r}; one broker account is one account")
            codes[code] = account.id
        owner: dict[str, int] = {}
        for i, group in enumerate(self.identical):
            for symbol in group.symbols:
                if symbol in owner and owner[symbol] != i:
                    raise ValueError(f"identical: {symbol} is in two identical groups")
                owner[symbol] = i
        return self

    @property
    def warnings(self) -> list[str]:
        return list(self._warnings)

    def account(self, account_id: str) -> AccountConfig | None:
        return next((a for a in self.accounts if a.id == account_id), None)
