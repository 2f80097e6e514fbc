"""The demo broker's instrument universe: well-known HK, US and China Connect names, a few
hundred generated small caps, and a handful of HK and US stock options.

Everything is drawn from the ``numpy.random.Generator`` passed in, so a seed gives the same
universe; only option expiries depend on today's date (they must lie in the future).
"""

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from riskdesk.demo.ticks import MICRO, round_to_tick

CURRENCIES = ("HKD", "USD", "CNH")  # index 0 is the base currency
FX_RATES = {"USD": "7.8", "CNH": "1.08"}  # units of HKD per unit
FX_FLOAT = np.array([1.0, 7.8, 1.08])

# code, name, lot size, approximate price, kind, popularity
HK_WELL_KNOWN = [
    ("700.HK", "Tencent Holdings", 100, 480, "stock", 40),
    ("9988.HK", "Alibaba Group Holding-SW", 100, 120, "stock", 30),
    ("5.HK", "HSBC Holdings", 400, 95, "stock", 28),
    ("2800.HK", "Tracker Fund of Hong Kong", 500, 25, "etf", 26),
    ("1299.HK", "AIA Group", 200, 70, "stock", 20),
    ("388.HK", "Hong Kong Exchanges and Clearing", 100, 380, "stock", 18),
    ("3690.HK", "Meituan-W", 100, 130, "stock", 18),
    ("1810.HK", "Xiaomi Corporation-W", 200, 45, "stock", 20),
    ("941.HK", "China Mobile", 500, 85, "stock", 14),
    ("2318.HK", "Ping An Insurance (Group)", 500, 50, "stock", 12),
    ("939.HK", "China Construction Bank", 1000, 7, "stock", 12),
    ("1398.HK", "Industrial and Commercial Bank of China", 1000, 5.8, "stock", 10),
    ("3988.HK", "Bank of China", 1000, 4.3, "stock", 8),
    ("883.HK", "CNOOC", 1000, 19, "stock", 8),
    ("1211.HK", "BYD Company", 500, 110, "stock", 10),
    ("9618.HK", "JD.com-SW", 50, 130, "stock", 8),
    ("9999.HK", "NetEase-S", 100, 180, "stock", 6),
    ("1024.HK", "Kuaishou Technology-W", 100, 60, "stock", 6),
    ("2020.HK", "ANTA Sports Products", 200, 90, "stock", 5),
    ("16.HK", "Sun Hung Kai Properties", 500, 85, "stock", 6),
    ("1.HK", "CK Hutchison Holdings", 500, 45, "stock", 5),
    ("2.HK", "CLP Holdings", 500, 65, "stock", 5),
    ("3.HK", "Hong Kong and China Gas", 1000, 6.8, "stock", 4),
    ("11.HK", "Hang Seng Bank", 100, 100, "stock", 5),
    ("27.HK", "Galaxy Entertainment Group", 1000, 35, "stock", 4),
    ("66.HK", "MTR Corporation", 500, 27, "stock", 4),
    ("823.HK", "Link Real Estate Investment Trust", 100, 36, "stock", 4),
    ("1109.HK", "China Resources Land", 500, 27, "stock", 3),
    ("2382.HK", "Sunny Optical Technology", 100, 60, "stock", 3),
    ("2269.HK", "WuXi Biologics (Cayman)", 500, 20, "stock", 3),
    ("9888.HK", "Baidu-SW", 50, 90, "stock", 4),
    ("9868.HK", "XPeng-W", 100, 75, "stock", 4),
    ("2015.HK", "Li Auto-W", 50, 100, "stock", 4),
    ("981.HK", "Semiconductor Manufacturing International", 500, 50, "stock", 6),
    ("6618.HK", "JD Health International", 50, 40, "stock", 2),
    ("2628.HK", "China Life Insurance", 1000, 18, "stock", 3),
    ("857.HK", "PetroChina", 2000, 7, "stock", 4),
    ("386.HK", "China Petroleum & Chemical (Sinopec)", 2000, 4.5, "stock", 3),
    ("2388.HK", "BOC Hong Kong (Holdings)", 500, 30, "stock", 3),
    ("12.HK", "Henderson Land Development", 1000, 25, "stock", 2),
    ("2828.HK", "Hang Seng China Enterprises Index ETF", 200, 90, "etf", 4),
    ("3033.HK", "CSOP Hang Seng TECH Index ETF", 200, 5.5, "etf", 5),
]

US_WELL_KNOWN = [
    ("AAPL.US", "Apple Inc.", 230, "stock", 30),
    ("MSFT.US", "Microsoft Corporation", 420, "stock", 20),
    ("NVDA.US", "NVIDIA Corporation", 135, "stock", 30),
    ("TSLA.US", "Tesla, Inc.", 250, "stock", 25),
    ("AMZN.US", "Amazon.com, Inc.", 190, "stock", 14),
    ("GOOGL.US", "Alphabet Inc. Class A", 170, "stock", 12),
    ("META.US", "Meta Platforms, Inc.", 560, "stock", 10),
    ("NFLX.US", "Netflix, Inc.", 700, "stock", 5),
    ("AMD.US", "Advanced Micro Devices, Inc.", 150, "stock", 8),
    ("INTC.US", "Intel Corporation", 22, "stock", 5),
    ("BABA.US", "Alibaba Group Holding Ltd ADR", 95, "stock", 10),
    ("PDD.US", "PDD Holdings Inc. ADR", 110, "stock", 6),
    ("JD.US", "JD.com, Inc. ADR", 35, "stock", 4),
    ("NIO.US", "NIO Inc. ADR", 5, "stock", 6),
    ("BIDU.US", "Baidu, Inc. ADR", 90, "stock", 3),
    ("TSM.US", "Taiwan Semiconductor Manufacturing ADR", 180, "stock", 6),
    ("JPM.US", "JPMorgan Chase & Co.", 220, "stock", 3),
    ("BAC.US", "Bank of America Corporation", 42, "stock", 2),
    ("KO.US", "The Coca-Cola Company", 65, "stock", 2),
    ("DIS.US", "The Walt Disney Company", 95, "stock", 2),
    ("COIN.US", "Coinbase Global, Inc.", 230, "stock", 4),
    ("PLTR.US", "Palantir Technologies Inc.", 40, "stock", 6),
    ("UBER.US", "Uber Technologies, Inc.", 70, "stock", 2),
    ("ORCL.US", "Oracle Corporation", 170, "stock", 2),
    ("AVGO.US", "Broadcom Inc.", 170, "stock", 4),
    ("SPY.US", "SPDR S&P 500 ETF Trust", 580, "etf", 14),
    ("QQQ.US", "Invesco QQQ Trust", 500, "etf", 14),
    ("IWM.US", "iShares Russell 2000 ETF", 220, "etf", 3),
    ("TQQQ.US", "ProShares UltraPro QQQ", 70, "etf", 5),
    ("ARKK.US", "ARK Innovation ETF", 50, "etf", 3),
    ("KWEB.US", "KraneShares CSI China Internet ETF", 30, "etf", 4),
    ("GLD.US", "SPDR Gold Shares", 240, "etf", 3),
]

CN_WELL_KNOWN = [
    ("600519.SH", "Kweichow Moutai", 1500, 12),
    ("601318.SH", "Ping An Insurance (Group) A", 50, 8),
    ("000858.SZ", "Wuliangye Yibin", 140, 5),
    ("300750.SZ", "Contemporary Amperex Technology (CATL)", 250, 10),
    ("600036.SH", "China Merchants Bank A", 35, 6),
    ("000333.SZ", "Midea Group A", 70, 5),
]

# underlying, HKEX option class, contract size (shares per contract)
HK_OPTION_CLASSES = [
    ("700.HK", "TCH", 100),
    ("9988.HK", "ALB", 500),
    ("5.HK", "HKB", 400),
    ("1299.HK", "AIA", 1000),
    ("388.HK", "HEX", 100),
]
US_OPTION_UNDERLYINGS = ["AAPL.US", "NVDA.US", "TSLA.US", "SPY.US", "QQQ.US"]

_PREFIXES = [
    "Sino",
    "Pacific",
    "Golden",
    "Harbour",
    "Dragon",
    "Jade",
    "Pearl River",
    "Kowloon",
    "Victoria",
    "Lion Rock",
    "Orient",
    "Greater Bay",
    "Silver",
    "Imperial",
    "Everbright",
    "Fortune",
    "Grand",
    "Evergreen",
    "Prosper",
    "Wah Kwong",
    "Tai Hing",
    "Shun Tak",
    "Hing Wai",
    "Fook Lam",
    "Kam Wah",
    "Ming Fai",
    "Sun Shing",
    "Tianli",
    "Huaxin",
    "Zhongyuan",
    "Hengda",
    "Jiangnan",
    "Lingnan",
    "Yue Xiu",
    "Kai Yuan",
    "Bright Star",
    "New Century",
    "Asia Pacific",
    "Cathay",
    "Lotus",
]
_SECTORS = [
    "Properties",
    "Technology",
    "Pharmaceutical",
    "Energy",
    "Logistics",
    "Healthcare",
    "Education",
    "Mining",
    "Textiles",
    "Electronics",
    "Auto Parts",
    "Food",
    "Water",
    "Environmental",
    "Financial",
    "Semiconductor",
    "Biotech",
    "Gaming",
    "Consumer",
    "Telecom",
    "Shipping",
    "Construction",
    "Materials",
    "Paper",
    "Jewellery",
    "Securities",
    "Media",
    "New Energy",
    "Agriculture",
    "Catering",
]
_SUFFIXES = ["Holdings", "Group", "International Holdings", "Group Holdings", "Limited", "Co"]
_US_SECTORS = [
    "Therapeutics",
    "Software",
    "Bancorp",
    "Energy",
    "Semiconductor",
    "Networks",
    "Robotics",
    "Biosciences",
    "Foods",
    "Retail",
    "Aerospace",
    "Realty",
    "Payments",
    "Media",
    "Mining",
]
_US_WORDS = [
    "Apex",
    "Blue Ridge",
    "Cascade",
    "Summit",
    "Liberty",
    "Pioneer",
    "Northstar",
    "Granite",
    "Harbor",
    "Redwood",
    "Keystone",
    "Atlas",
    "Beacon",
    "Frontier",
    "Ironwood",
    "Meridian",
    "Sierra",
    "Vanguard",
    "Quantum",
    "Horizon",
]


@dataclass
class Universe:
    codes: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    markets: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    currency: list[int] = field(default_factory=list)  # index into CURRENCIES
    lot: list[int] = field(default_factory=list)
    multiplier: list[int] = field(default_factory=list)
    price: list[int] = field(default_factory=list)  # micro-units
    prev_close: list[int] = field(default_factory=list)
    stale_days: list[int] = field(default_factory=list)  # price age: suspended names do not trade
    weight: list[float] = field(default_factory=list)
    underlying: list[int | None] = field(default_factory=list)  # index into this universe
    strike: list[int | None] = field(default_factory=list)
    expiry: list[date | None] = field(default_factory=list)
    option_type: list[str] = field(default_factory=list)

    def add(
        self,
        *,
        code,
        name,
        market,
        kind,
        currency,
        lot,
        price,
        weight,
        status="normal",
        multiplier=1,
        prev_close=None,
        stale_days=0,
        underlying=None,
        strike=None,
        expiry=None,
        option_type="",
    ) -> int:
        self.codes.append(code)
        self.names.append(name)
        self.markets.append(market)
        self.kinds.append(kind)
        self.statuses.append(status)
        self.currency.append(currency)
        self.lot.append(lot)
        self.multiplier.append(multiplier)
        self.price.append(price)
        self.prev_close.append(prev_close if prev_close is not None else price)
        self.stale_days.append(stale_days)
        self.weight.append(weight)
        self.underlying.append(underlying)
        self.strike.append(strike)
        self.expiry.append(expiry)
        self.option_type.append(option_type)
        return len(self.codes) - 1

    def __len__(self) -> int:
        return len(self.codes)

    def arrays(self) -> dict[str, np.ndarray]:
        status = np.array(self.statuses)
        kind = np.array(self.kinds)
        return {
            "currency": np.array(self.currency, dtype=np.int64),
            "lot": np.array(self.lot, dtype=np.int64),
            "multiplier": np.array(self.multiplier, dtype=np.int64),
            "price": np.array(self.price, dtype=np.int64),
            "weight": np.array(self.weight, dtype=np.float64),
            "normal": status == "normal",
            "status": status,
            "option": kind == "option",
            "market": np.array(self.markets),
            # HKD value of one unit held (one share, or one contract for an option)
            "unit_hkd": np.array(self.price, dtype=np.float64)
            / MICRO
            * np.array(self.multiplier, dtype=np.float64)
            * FX_FLOAT[np.array(self.currency, dtype=np.int64)],
        }


def _prev_close(rng: np.random.Generator, market: str, kind: str, price: int) -> int:
    change = float(np.clip(rng.normal(0.0, 0.018), -0.09, 0.09))
    return round_to_tick(market, kind, int(price / (1 + change)))


def _hk_lot(rng: np.random.Generator, price: float) -> int:
    if price < 1:
        return int(rng.choice([2000, 4000, 5000, 10000]))
    if price < 10:
        return int(rng.choice([500, 1000, 2000], p=[0.3, 0.5, 0.2]))
    return int(rng.choice([100, 200, 500, 1000], p=[0.35, 0.3, 0.25, 0.1]))


def _unique_names(rng: np.random.Generator, n: int, make) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        name = make()
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


def _hk_expiry(year: int, month: int) -> date:
    """HKEX stock options expire on the business day before the last business day."""
    nxt = date(year + month // 12, month % 12 + 1, 1)
    day = nxt - timedelta(days=1)
    business = []
    while len(business) < 2:
        if day.weekday() < 5:
            business.append(day)
        day -= timedelta(days=1)
    return business[1]


def _months_ahead(today: date, n: int) -> tuple[int, int]:
    m = today.month - 1 + n
    return today.year + m // 12, m % 12 + 1


def _strike_step(price: float) -> float:
    for bound, step in ((10, 0.5), (50, 1.0), (100, 2.5), (200, 5.0), (500, 10.0)):
        if price <= bound:
            return step
    return 20.0


def _premium(spot: float, strike: float, days: int, call: bool) -> float:
    intrinsic = max(spot - strike, 0.0) if call else max(strike - spot, 0.0)
    time_value = spot * 0.32 * math.sqrt(max(days, 1) / 365.0) * 0.4
    moneyness = abs(spot - strike) / spot
    return max(intrinsic + time_value * math.exp(-4 * moneyness), 0.01)


def _fmt_strike(strike: float) -> str:
    return f"{strike:.2f}".rstrip("0").rstrip(".")


def build_universe(
    rng: np.random.Generator, *, today: date, hk_generated: int = 280, us_generated: int = 90
) -> Universe:
    """A deterministic instrument universe for the demo broker (about 450 instruments)."""
    u = Universe()
    index: dict[str, int] = {}

    for code, name, lot, px, kind, pop in HK_WELL_KNOWN:
        price = round_to_tick("HK", kind, int(px * MICRO * rng.uniform(0.97, 1.03)))
        index[code] = u.add(
            code=code,
            name=name,
            market="HK",
            kind=kind,
            currency=0,
            lot=lot,
            price=price,
            prev_close=_prev_close(rng, "HK", kind, price),
            weight=float(pop),
        )
    for code, name, px, kind, pop in US_WELL_KNOWN:
        price = round_to_tick("US", kind, int(px * MICRO * rng.uniform(0.97, 1.03)))
        index[code] = u.add(
            code=code,
            name=name,
            market="US",
            kind=kind,
            currency=1,
            lot=1,
            price=price,
            prev_close=_prev_close(rng, "US", kind, price),
            weight=float(pop) * 0.9,
        )
    for code, name, px, pop in CN_WELL_KNOWN:
        price = round_to_tick("CN", "stock", int(px * MICRO * rng.uniform(0.97, 1.03)))
        index[code] = u.add(
            code=code,
            name=name,
            market="CN",
            kind="stock",
            currency=2,
            lot=100,
            price=price,
            prev_close=_prev_close(rng, "CN", "stock", price),
            weight=float(pop) * 0.8,
        )

    # Generated HK small and mid caps; a slice of them suspended, long suspended or delisted.
    taken = {int(c.split(".")[0]) for c in index if c.endswith(".HK")}
    pool = np.array([n for n in range(1, 10000) if n not in taken])
    numbers = sorted(rng.choice(pool, size=hk_generated, replace=False).tolist())
    names = _unique_names(
        rng,
        hk_generated,
        lambda: " ".join(
            (str(rng.choice(_PREFIXES)), str(rng.choice(_SECTORS)), str(rng.choice(_SUFFIXES)))
        ),
    )
    statuses = ["normal"] * hk_generated
    order = rng.permutation(hk_generated)
    for k, status in zip(
        order[:30], ["suspended"] * 12 + ["long_suspended"] * 8 + ["delisted"] * 10, strict=True
    ):
        statuses[int(k)] = status
    prices = np.exp(rng.normal(math.log(3.0), 1.5, hk_generated)).clip(0.05, 600)
    weights = rng.lognormal(0.0, 1.0, hk_generated) * 0.25
    for number, name, status, px, w in zip(numbers, names, statuses, prices, weights, strict=True):
        if status == "delisted":
            px = min(px, rng.uniform(0.05, 2.0))
        suffix = rng.choice(["", "", "", "-W", "-B", "-H"]) if status == "normal" else ""
        price = round_to_tick("HK", "stock", int(px * MICRO))
        stale = {
            "normal": 0,
            "suspended": int(rng.integers(1, 20)),
            "long_suspended": int(rng.integers(90, 900)),
            "delisted": int(rng.integers(30, 1500)),
        }[status]
        u.add(
            code=f"{number}.HK",
            name=f"{name}{suffix}",
            market="HK",
            kind="stock",
            currency=0,
            lot=_hk_lot(rng, float(px)),
            price=price,
            prev_close=price if stale else _prev_close(rng, "HK", "stock", price),
            stale_days=stale,
            status=status,
            weight=float(w),
        )

    # Generated US names.
    taken_us = {c.split(".")[0] for c in index if c.endswith(".US")}
    letters = np.array(list("ABCDEFGHIJKLMNOPRSTUVWXYZ"))
    tickers: list[str] = []
    while len(tickers) < us_generated:
        t = "".join(rng.choice(letters, size=int(rng.choice([3, 4]))))
        if t not in taken_us:
            taken_us.add(t)
            tickers.append(t)
    us_names = _unique_names(
        rng,
        us_generated,
        lambda: " ".join(
            (
                str(rng.choice(_US_WORDS)),
                str(rng.choice(_US_SECTORS)),
                str(rng.choice(["Inc.", "Corp.", "Holdings, Inc.", "Group, Inc."])),
            )
        ),
    )
    us_status = ["normal"] * us_generated
    for k, status in zip(
        rng.permutation(us_generated)[:6],
        ["suspended", "suspended", "delisted", "delisted", "delisted", "long_suspended"],
        strict=True,
    ):
        us_status[int(k)] = status
    us_prices = np.exp(rng.normal(math.log(35.0), 1.2, us_generated)).clip(0.3, 900)
    us_weights = rng.lognormal(0.0, 1.0, us_generated) * 0.15
    for t, name, status, px, w in zip(
        tickers, us_names, us_status, us_prices, us_weights, strict=True
    ):
        price = round_to_tick("US", "stock", int(px * MICRO))
        stale = 0 if status == "normal" else int(rng.integers(5, 700))
        u.add(
            code=f"{t}.US",
            name=name,
            market="US",
            kind="stock",
            currency=1,
            lot=1,
            price=price,
            prev_close=price if stale else _prev_close(rng, "US", "stock", price),
            stale_days=stale,
            status=status,
            weight=float(w),
        )

    # Options: near-month at the money call and put, next-month out of the money call.
    def add_options(und_code: str, market: str, cls: str, mult: int, expiries: list[date]):
        und = index[und_code]
        spot = u.price[und] / MICRO
        step = _strike_step(spot)
        atm = round(spot / step) * step
        otm = atm + 2 * step if spot < 100 else atm + step * max(1, round(0.08 * spot / step))
        for expiry, strike, right in (
            (expiries[0], atm, "call"),
            (expiries[0], atm, "put"),
            (expiries[1], otm, "call"),
        ):
            days = (expiry - today).days
            premium = _premium(spot, strike, days, right == "call")
            price = round_to_tick(market, "option", int(premium * MICRO))
            cp = "C" if right == "call" else "P"
            code = f"{cls}{expiry:%y%m%d}{cp}{_fmt_strike(strike)}.{market}"
            name = f"{u.names[und]} {expiry:%b%y} {strike:.2f} {right.title()}"
            u.add(
                code=code,
                name=name,
                market=market,
                kind="option",
                currency=u.currency[und],
                lot=1,
                multiplier=mult,
                price=price,
                prev_close=_prev_close(rng, market, "option", price),
                weight=1.0,
                underlying=und,
                strike=round(strike * MICRO),
                expiry=expiry,
                option_type=right,
            )

    hk_exp = [_hk_expiry(*_months_ahead(today, k)) for k in (1, 2)]
    us_exp = [_third_friday(*_months_ahead(today, k)) for k in (1, 2)]
    for und_code, cls, mult in HK_OPTION_CLASSES:
        add_options(und_code, "HK", cls, mult, hk_exp)
    for und_code in US_OPTION_UNDERLYINGS:
        add_options(und_code, "US", und_code.split(".")[0], 100, us_exp)
    return u
