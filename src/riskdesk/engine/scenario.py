"""Scenario files: the data model and a strict parser (SCENARIO.md "Format").

A scenario is a whole book in one JSON document. ``load_scenario(text)`` and
``parse_scenario(dict)`` return a frozen ``Scenario`` or raise ``ScenarioError`` whose ``str`` is
one line naming the JSON path of the bad value, e.g. ``accounts[1].cash.USD: not a decimal``.

Numbers are JSON strings (decimals) or integers (quantities, multiplier, level); a JSON number
with a fraction or exponent is refused for every decimal field. Unknown keys are refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from riskdesk.engine.margin import FACTOR_NAMES, KINDS, STATUSES, MarginFactors, factor_order_error
from riskdesk.engine.money import (
    AMOUNT_PLACES,
    FACTOR_PLACES,
    FX_PLACES,
    ONE,
    PRICE_PLACES,
    RATIO_PLACES,
    ZERO,
    has_places,
    parse_decimal,
    places_count,
)
from riskdesk.engine.stress import LEVEL_KEYS, Benchmarks, Drops, StressParams

ACCOUNT_TYPES = ("cash", "margin", "intraday")
TOP = "top level"


class ScenarioError(ValueError):
    """A bad scenario; ``str`` is ``"<json path>: <what is wrong>"`` on one line."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path or TOP
        self.message = message
        super().__init__(f"{self.path}: {message}")


@dataclass(frozen=True)
class Instrument:
    code: str
    currency: str
    price: Decimal
    margin: MarginFactors
    kind: str = "stock"
    status: str = "normal"
    haircut: Decimal = ONE
    level: int | None = None
    multiplier: int = 1


@dataclass(frozen=True)
class Account:
    id: str
    client: str
    type: str = "margin"
    cash: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    positions: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    interest_receivable: Decimal = ZERO
    trading_credit: Decimal = ZERO
    credit_limit: Decimal | None = None


@dataclass(frozen=True)
class Scenario:
    base_currency: str
    fx: Mapping[str, Decimal]
    instruments: tuple[Instrument, ...]
    accounts: tuple[Account, ...]
    stress: StressParams | None = None

    @cached_property
    def instrument_by_code(self) -> Mapping[str, Instrument]:
        return {i.code: i for i in self.instruments}


# --------------------------------------------------------------------------------- parsing


class _Object(dict):
    """A JSON object that remembers keys given twice (the last value wins in ``json``)."""

    duplicates: list[str]


def _object_pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    obj.duplicates = []
    for key, value in pairs:
        if key in obj:
            obj.duplicates.append(key)
        obj[key] = value
    return obj


def _key(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _obj(value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...]) -> dict:
    if not isinstance(value, dict):
        raise ScenarioError(path, "not an object")
    for dup in getattr(value, "duplicates", ()):
        raise ScenarioError(_key(path, dup), "duplicate key")
    allowed = set(required) | set(optional)
    for key in value:
        if key not in allowed:
            raise ScenarioError(_key(path, key), "unknown key")
    for key in required:
        if key not in value:
            raise ScenarioError(path, f"missing key '{key}'")
    return value


def _mapping(value: Any, path: str) -> dict:
    """A JSON object with free keys (fx, cash, positions)."""
    if not isinstance(value, dict):
        raise ScenarioError(path, "not an object")
    for dup in getattr(value, "duplicates", ()):
        raise ScenarioError(_key(path, dup), "duplicate key")
    return value


def _list(value: Any, path: str) -> list:
    if not isinstance(value, list):
        raise ScenarioError(path, "not a list")
    return value


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(path, "not a non-empty string")
    return value


def _choice(value: Any, path: str, choices: tuple[str, ...], what: str) -> str:
    if value not in choices or not isinstance(value, str):
        raise ScenarioError(path, f"unknown {what} {value!r} (one of {', '.join(choices)})")
    return value


def _integer(value: Any, path: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ScenarioError(path, "not an integer")
    return value


def _decimal(
    value: Any,
    path: str,
    places: Decimal,
    *,
    low: Decimal | None = None,
    high: Decimal | None = None,
    positive: bool = False,
) -> Decimal:
    try:
        d = parse_decimal(value)
    except ValueError:
        raise ScenarioError(path, "not a decimal") from None
    if not has_places(d, places):
        raise ScenarioError(path, f"more than {places_count(places)} decimal places")
    if positive and d <= ZERO:
        raise ScenarioError(path, "must be positive")
    if low is not None and d < low:
        raise ScenarioError(
            path, "must not be negative" if low == ZERO else f"must be at least {low}"
        )
    if high is not None and d > high:
        raise ScenarioError(path, f"must be at most {high}")
    return d


def _fx(value: Any, base: str) -> dict[str, Decimal]:
    rates: dict[str, Decimal] = {}
    for currency, rate in _mapping(value, "fx").items():
        path = _key("fx", currency)
        _text(currency, path)
        d = _decimal(rate, path, FX_PLACES, positive=True)
        if currency == base and d != ONE:
            raise ScenarioError(path, "the base currency's rate must be 1")
        rates[currency] = d
    return rates


def _instrument(value: Any, path: str, currencies: set[str]) -> Instrument:
    obj = _obj(
        value,
        path,
        ("code", "currency", "price", "margin"),
        ("kind", "status", "haircut", "level", "multiplier"),
    )
    code = _text(obj["code"], _key(path, "code"))
    currency = _text(obj["currency"], _key(path, "currency"))
    if currency not in currencies:
        raise ScenarioError(_key(path, "currency"), f"no fx rate for {currency}")
    margin_path = _key(path, "margin")
    m = _obj(obj["margin"], margin_path, FACTOR_NAMES, ())
    factors = MarginFactors(
        *(_decimal(m[name], _key(margin_path, name), FACTOR_PLACES) for name in FACTOR_NAMES)
    )
    problem = factor_order_error(factors)
    if problem is not None:
        raise ScenarioError(_key(margin_path, problem[0]), problem[1])
    level = obj.get("level")
    if level is not None and (type(level) is not int or level not in (1, 2)):
        raise ScenarioError(_key(path, "level"), "must be 1, 2 or null")
    multiplier = _integer(obj.get("multiplier", 1), _key(path, "multiplier"))
    if multiplier <= 0:
        raise ScenarioError(_key(path, "multiplier"), "must be positive")
    return Instrument(
        code=code,
        currency=currency,
        price=_decimal(obj["price"], _key(path, "price"), PRICE_PLACES, low=ZERO),
        margin=factors,
        kind=_choice(obj.get("kind", "stock"), _key(path, "kind"), KINDS, "kind"),
        status=_choice(obj.get("status", "normal"), _key(path, "status"), STATUSES, "status"),
        haircut=_decimal(
            obj.get("haircut", "1"), _key(path, "haircut"), FACTOR_PLACES, low=ZERO, high=ONE
        ),
        level=level,
        multiplier=multiplier,
    )


def _account(value: Any, path: str, currencies: set[str], codes: set[str]) -> Account:
    obj = _obj(
        value,
        path,
        ("id", "client"),
        ("type", "cash", "positions", "interest_receivable", "trading_credit", "credit_limit"),
    )
    cash: dict[str, Decimal] = {}
    cash_path = _key(path, "cash")
    for currency, amount in _mapping(obj.get("cash", {}), cash_path).items():
        p = _key(cash_path, currency)
        if currency not in currencies:
            raise ScenarioError(p, f"no fx rate for {currency}")
        cash[currency] = _decimal(amount, p, AMOUNT_PLACES)
    positions: dict[str, int] = {}
    pos_path = _key(path, "positions")
    for code, quantity in _mapping(obj.get("positions", {}), pos_path).items():
        p = _key(pos_path, code)
        if code not in codes:
            raise ScenarioError(p, "unknown instrument")
        positions[code] = _integer(quantity, p)
    limit = obj.get("credit_limit")
    return Account(
        id=_text(obj["id"], _key(path, "id")),
        client=_text(obj["client"], _key(path, "client")),
        type=_choice(obj.get("type", "margin"), _key(path, "type"), ACCOUNT_TYPES, "type"),
        cash=MappingProxyType(cash),
        positions=MappingProxyType(positions),
        interest_receivable=_decimal(
            obj.get("interest_receivable", "0"),
            _key(path, "interest_receivable"),
            AMOUNT_PLACES,
            low=ZERO,
        ),
        trading_credit=_decimal(
            obj.get("trading_credit", "0"), _key(path, "trading_credit"), AMOUNT_PLACES, low=ZERO
        ),
        credit_limit=None
        if limit is None
        else _decimal(limit, _key(path, "credit_limit"), AMOUNT_PLACES, low=ZERO),
    )


def _stress(value: Any) -> StressParams:
    obj = _obj(value, "stress", ("lc", "rlc"), ("drops", "elc_benchmark"))
    drops_path = "stress.drops"
    d = _obj(obj.get("drops", {}), drops_path, (), ("a", "b", "c", "d"))
    default_drops = Drops()
    drops = Drops(
        **{
            k: _decimal(d[k], _key(drops_path, k), RATIO_PLACES, low=ZERO, high=ONE)
            if k in d
            else getattr(default_drops, k)
            for k in ("a", "b", "c", "d")
        }
    )
    bench_path = "stress.elc_benchmark"
    b = _obj(obj.get("elc_benchmark", {}), bench_path, (), LEVEL_KEYS)
    default_bench = Benchmarks()
    fields = dict(zip(LEVEL_KEYS, ("level1", "level2", "other"), strict=True))
    bench = Benchmarks(
        **{
            name: _decimal(b[key], _key(bench_path, key), RATIO_PLACES, positive=True)
            if key in b
            else getattr(default_bench, name)
            for key, name in fields.items()
        }
    )
    return StressParams(
        lc=_decimal(obj["lc"], "stress.lc", AMOUNT_PLACES),
        rlc=_decimal(obj["rlc"], "stress.rlc", AMOUNT_PLACES),
        drops=drops,
        elc_benchmark=bench,
    )


def parse_scenario(data: Any) -> Scenario:
    """Validate a decoded scenario document and build the frozen model (defaults per SCENARIO.md)."""
    top = _obj(data, "", ("base_currency", "instruments", "accounts"), ("fx", "stress"))
    base = _text(top["base_currency"], "base_currency")
    fx = _fx(top.get("fx", {}), base)
    currencies = {base, *fx}
    instruments: list[Instrument] = []
    codes: set[str] = set()
    for i, item in enumerate(_list(top["instruments"], "instruments")):
        path = f"instruments[{i}]"
        instrument = _instrument(item, path, currencies)
        if instrument.code in codes:
            raise ScenarioError(_key(path, "code"), f"duplicate code {instrument.code!r}")
        codes.add(instrument.code)
        instruments.append(instrument)
    accounts: list[Account] = []
    ids: set[str] = set()
    for i, item in enumerate(_list(top["accounts"], "accounts")):
        path = f"accounts[{i}]"
        account = _account(item, path, currencies, codes)
        if account.id in ids:
            raise ScenarioError(_key(path, "id"), f"duplicate id {account.id!r}")
        ids.add(account.id)
        accounts.append(account)
    return Scenario(
        base_currency=base,
        fx=MappingProxyType(fx),
        instruments=tuple(instruments),
        accounts=tuple(accounts),
        stress=_stress(top["stress"]) if "stress" in top else None,
    )


def load_scenario(text: str) -> Scenario:
    """Decode JSON text and parse it; bad JSON -> ``line L column C: invalid JSON: <reason>``."""
    try:
        data = json.loads(text, object_pairs_hook=_object_pairs)
    except json.JSONDecodeError as e:
        raise ScenarioError(f"line {e.lineno} column {e.colno}", f"invalid JSON: {e.msg}") from None
    return parse_scenario(data)


def read_scenario(path: str | Path) -> Scenario:
    """Read and parse a scenario file; an unreadable file is a ``ScenarioError`` too."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise ScenarioError(str(path), f"cannot read: {reason}") from None
    return load_scenario(text)
