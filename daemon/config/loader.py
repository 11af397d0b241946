"""Reading the TOML file: tomllib, pydantic validation, errors that name the file and the dotted key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from daemon.config import urls
from daemon.config.models import AssetClass, IdenticalGroup, LocationClass, LocationConfig, Settings
from daemon.ledger.types import IdenticalGroups, LotMethod

# The shipped substitute groups live in config/substitutes.toml; the package carries a link to them.
SHIPPED_SUBSTITUTES = Path(__file__).with_name("substitutes.toml")
# The shipped asset-location table (config/asset_location.toml), linked the same way.
SHIPPED_LOCATION = Path(__file__).with_name("asset_location.toml")


class ConfigError(Exception):
    """A configuration problem a user can fix; `str()` says file, key and what is wrong."""

    def __init__(self, path: Path | str, problems: list[tuple[str, str]]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}: {key}: {msg}" if key else f"{self.path}: {msg}"
                                   for key, msg in problems))


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _describe(error: Any) -> str:
    msg = str(error["msg"])
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if error["type"] == "missing":
        return "required key is missing"
    value = error.get("input")
    if error["type"] not in ("model_type",) and value is not None and not isinstance(value, dict | list):
        msg = f"{msg[0].lower()}{msg[1:]}, got {value!r}"
    return msg


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path, [("", "file not found")]) from None
    except IsADirectoryError:
        raise ConfigError(path, [("", "is a directory, not a TOML file")]) from None
    except OSError as exc:
        raise ConfigError(path, [("", f"cannot read: {exc.strerror or exc}")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError(path, [("", f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); TOML files "
                                      f"are UTF-8: save it as UTF-8")]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [("", f"not valid TOML: {exc}")]) from None


def _resolve(base: Path, value: str | Path | None) -> Path | None:
    if value is None or str(value) == "":
        return None
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def _resolve_database_url(base: Path, url: str) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        return prefix + str((base / url[len(prefix):]).resolve())
    return url


def load_substitutes(path: Path) -> tuple[list[IdenticalGroup], list[AssetClass]]:
    raw = _read_toml(path)
    extra = set(raw) - {"identical", "asset_classes"}
    if extra:
        raise ConfigError(path, [(k, "unknown key") for k in sorted(extra)])
    try:
        groups = [IdenticalGroup.model_validate(g) for g in raw.get("identical", [])]
        classes = [AssetClass.model_validate(c) for c in raw.get("asset_classes", [])]
    except ValidationError as exc:
        raise ConfigError(path, [(_dotted(tuple(e["loc"])), _describe(e)) for e in exc.errors()]) from None
    return groups, classes


def load_location_table(path: Path) -> list[LocationClass]:
    raw = _read_toml(path)
    extra = set(raw) - {"asset_classes"}
    if extra:
        raise ConfigError(path, [(k, "unknown key") for k in sorted(extra)])
    classes, problems = [], []
    for i, c in enumerate(raw.get("asset_classes", [])):
        try:
            classes.append(LocationClass.model_validate(c))
        except ValidationError as exc:
            problems += [(_dotted(("asset_classes", i, *e["loc"])), _describe(e)) for e in exc.errors()]
    if problems:
        raise ConfigError(path, problems)
    return classes


def _location(base: Path, location: LocationConfig) -> LocationConfig:
    """The location table's classes merged into [location] asset_classes (the file's own classes win by name);
    `table` becomes the resolved path of the table read, or "" for none."""
    if location.table == "":
        path = None
    elif location.table is None:
        path = SHIPPED_LOCATION if SHIPPED_LOCATION.exists() else None
    else:
        path = _resolve(base, location.table)
    classes = list(location.asset_classes)
    if path is not None:
        own = {c.name for c in classes}
        classes += [c for c in load_location_table(path) if c.name not in own]
    return location.model_copy(update={"table": str(path) if path else "", "asset_classes": classes})


def _database_password(url: str) -> str | None | bool:
    """The password in `url` (None: none), or False when it is not a database URL at all."""
    from daemon.store.sqlite import plain_file

    if plain_file(url) is not None:
        return None  # a SQLite file has no password (and SQLAlchemy need not be loaded to say so)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).password
    except ArgumentError:
        return False


def _post_checks(settings: Settings) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    password = _database_password(settings.database_url)
    if password is False:
        problems.append(("database_url", f"not a database URL, got {settings.database_url!r}"))
        password = None
    if password:
        problems.append(("database_url", "holds a password; secrets never live in the file: set "
                                         "TLH_DATABASE_PASSWORD or TLH_DATABASE_PASSWORD_FILE instead"))
    else:
        problems += [p for p in [urls.refuse("database_url", settings.database_url,
                                             "TLH_DATABASE_PASSWORD or TLH_DATABASE_PASSWORD_FILE")] if p]
    alpaca_keys = ("ALPACA_API_KEY and ALPACA_SECRET_KEY (or ALPACA_<credentials>_API_KEY / _SECRET_KEY, "
                   "or their *_FILE variants)")
    for key in ("base_url", "data_url"):
        value = getattr(settings.brokers.alpaca, key)
        if value:
            problems += [p for p in [urls.refuse(f"brokers.alpaca.{key}", value, alpaca_keys)] if p]
    for i, account in enumerate(settings.accounts):
        if account.broker == "alpaca" and account.lot_method is not LotMethod.FIFO:
            problems.append((f"accounts[{i}].lot_method",
                             f"Alpaca relieves lots FIFO and offers no lot selection; must be 'fifo', "
                             f"got {account.lot_method.value!r}"))
    from daemon.config import taxpayers

    problems += taxpayers.checks(settings)
    return problems


def load_settings(path: Path | str) -> Settings:
    """Load and validate a configuration file; relative paths resolve against the file's folder."""
    path = Path(path)
    raw = _read_toml(path)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(path, [(_dotted(tuple(e["loc"])), _describe(e)) for e in exc.errors()]) from None
    problems = _post_checks(settings)
    if problems:
        raise ConfigError(path, problems)
    base = path.resolve().parent

    if settings.substitutes == "":
        sub_path = None
    elif settings.substitutes is None:
        sub_path = SHIPPED_SUBSTITUTES if SHIPPED_SUBSTITUTES.exists() else None
    else:
        sub_path = _resolve(base, settings.substitutes)
    identical, classes = list(settings.identical), list(settings.asset_classes)
    if sub_path is not None:
        shipped_identical, shipped_classes = load_substitutes(sub_path)
        # The file's own groups win: a symbol the user regrouped leaves its shipped group.
        own = {s for g in identical for s in g.symbols}
        for g in shipped_identical:
            rest = [s for s in g.symbols if s not in own]
            if len(rest) >= 2:
                identical.append(IdenticalGroup(symbols=rest))
        own_classes = {c.name for c in classes}
        classes += [c for c in shipped_classes if c.name not in own_classes]
        warnings = _regroup_warnings(settings.identical, shipped_identical, sub_path)
    else:
        warnings = []
    # A warning, not an error: `tlh substitutes check` flags the same pairs (same_index) for review.
    warnings += [f"{key}: {message}" for key, message in _identical_within_classes(settings.asset_classes, identical)]
    warnings += _spread_warnings(settings)
    if warnings:
        import structlog  # only then: loading the configuration stays light for every command

        for warning in warnings:
            structlog.get_logger(__name__).warning("config.warning", file=str(path), warning=warning)

    accounts = _direct_indexes(path, base, settings)
    _check_targets(path, accounts, classes)
    brokers = settings.brokers
    paper = brokers.paper.model_copy(update={"prices": _resolve(base, brokers.paper.prices)})
    ibkr = brokers.ibkr.model_copy(update={"flex_report": _resolve(base, brokers.ibkr.flex_report)})
    alerts = settings.alerts.model_copy(update={"jsonl_path": _resolve(base, settings.alerts.jsonl_path)})
    harvest = settings.harvest.model_copy(
        update={"dividend_dates": _resolve(base, settings.harvest.dividend_dates)})
    dashboard = settings.dashboard.model_copy(update={"backtests": _resolve(base, settings.dashboard.backtests)})
    loaded = settings.model_copy(update={
        "database_url": _resolve_database_url(base, settings.database_url),
        "substitutes": str(sub_path) if sub_path else "",
        "identical": identical,
        "asset_classes": classes,
        "accounts": accounts,
        "alerts": alerts,
        "harvest": harvest,
        "brokers": brokers.model_copy(update={"paper": paper, "ibkr": ibkr}),
        "location": _location(base, settings.location),
        "dashboard": dashboard,
    })
    loaded._warnings = warnings
    return loaded


def _spread_warnings(settings: Settings) -> list[str]:
    """The engine prices a trade's spread at `default_spread_bps` when the price source has no bid and ask (a
    price file of closes); the paper broker fills at `[brokers.paper] spread_bps` from the close. Estimating
    less than the fills cost makes every harvest on paper look cheaper than it turns out."""
    estimate, charged = settings.harvest.default_spread_bps, settings.brokers.paper.spread_bps
    if estimate >= charged or not any(a.broker == "paper" for a in settings.accounts):
        return []
    return [f"harvest.default_spread_bps: {estimate} bps estimates less than the paper broker charges "
            f"(brokers.paper.spread_bps = {charged} bps): plans on paper will count costs lower than their "
            "fills; set default_spread_bps to at least spread_bps"]


def _regroup_warnings(own: list[IdenticalGroup], shipped: list[IdenticalGroup], source: Path) -> list[str]:
    """A user [[identical]] group that takes some (not all) of a shipped group's funds splits that group: the
    funds left behind stop being identical to the ones taken, and purchases between them stop washing."""
    warnings = []
    for i, group in enumerate(own):
        for g in shipped:
            taken = [s for s in g.symbols if s in group.symbols]
            left = [s for s in g.symbols if s not in group.symbols]
            if not taken or not left:
                continue
            warnings.append(
                f"identical[{i}]: takes {', '.join(taken)} out of the shipped identical group "
                f"[{', '.join(g.symbols)}] ({source.name}): {', '.join(taken)} is no longer treated as substantially "
                f"identical to {', '.join(left)}, so buying one within 30 days of a loss on the other is no longer "
                f"detected as a wash sale (a disallowed loss goes unreported); list all of "
                f"{', '.join(g.symbols)} in your group to keep them identical")
    return warnings


def _identical_within_classes(classes: list[AssetClass], identical: list[IdenticalGroup]) -> list[tuple[str, str]]:
    """An asset class lists one fund per index: two identical funds in it would make a replacement that washes
    the loss it harvests."""
    group_of = {s: g for g in identical for s in g.symbols}
    problems = []
    for i, c in enumerate(classes):
        seen: dict[int, str] = {}
        for symbol in c.members:
            g = group_of.get(symbol)
            if g is None:
                continue
            if id(g) in seen:
                problems.append((f"asset_classes[{i}].members",
                                 f"{seen[id(g)]} and {symbol} are identical (group [{', '.join(g.symbols)}]): "
                                 f"the engine never buys one for the other (it would wash the loss), so the "
                                 f"second is dead weight; list one fund per index"))
            else:
                seen[id(g)] = symbol
    return problems


def _check_targets(path: Path, accounts: list[Any], classes: list[AssetClass]) -> None:
    """Every asset class an account's `targets` names exists (the shipped classes or the file's own)."""
    known = {c.name for c in classes}
    for i, account in enumerate(accounts):
        unknown = sorted(set(account.targets) - known)
        if unknown:
            raise ConfigError(path, [(f"accounts[{i}].targets", f"no asset class named {', '.join(unknown)} "
                                                                 f"(known: {', '.join(sorted(known))})")])


def _direct_indexes(path: Path, base: Path, settings: Settings) -> list[Any]:
    """Resolve each direct index's constituents file (config folder, else shipped) and read it once now, so
    that a bad file stops the start with its line, not a harvest run later."""
    from daemon.config.constituents import load_constituents, resolve

    accounts = []
    for i, account in enumerate(settings.accounts):
        di = account.direct_index
        if di is not None:
            file = resolve(base, di.constituents)
            try:
                members = {c.symbol: c for c in load_constituents(file)}
            except ConfigError as exc:
                raise ConfigError(path, [(f"accounts[{i}].direct_index.constituents", str(exc))]) from None
            sectors = {c.sector for c in members.values()}
            unknown = [x for x in di.exclude if (x.split(":", 1)[1] not in sectors if x.startswith("sector:")
                                                 else x not in members)]
            if unknown:
                raise ConfigError(path, [(f"accounts[{i}].direct_index.exclude",
                                          f"not in {file.name}: {', '.join(unknown)}")])
            account = account.model_copy(update={"direct_index": di.model_copy(update={"constituents": str(file)})})
        accounts.append(account)
    return accounts


def identical_groups(settings: Settings) -> IdenticalGroups:
    return IdenticalGroups(tuple(frozenset(g.symbols) for g in settings.identical))
