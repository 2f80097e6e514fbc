"""Minimum price steps (tick sizes) used by the demo book and the simulated feed.

Prices are handled here as integer micro-units (1 = 0.000001 of the currency), the precision of
``Price.last``, so that rounding to a tick is exact integer arithmetic in both the scalar and the
vectorised form.

- HK stocks, ETFs and warrants: the HKEX spread table (Part A), e.g. 0.01 up to 10, 0.02 up to
  20, 0.05 up to 100, 0.1 up to 200, 0.2 up to 500 (a band's upper bound is inclusive).
- HK stock options: 0.01.
- US: 0.01 from 1 upwards, 0.0001 below 1 (Reg NMS sub-penny rule).
- China Connect A-shares: 0.01.
"""

from decimal import Decimal

import numpy as np

MICRO = 1_000_000

# (upper bound inclusive, tick), in micro-units.
HK_SPREAD_TABLE: list[tuple[int, int]] = [
    (250_000, 1_000),
    (500_000, 5_000),
    (10_000_000, 10_000),
    (20_000_000, 20_000),
    (100_000_000, 50_000),
    (200_000_000, 100_000),
    (500_000_000, 200_000),
    (1_000_000_000, 500_000),
    (2_000_000_000, 1_000_000),
    (5_000_000_000, 2_000_000),
    (2**62, 5_000_000),
]
_HK_BOUNDS = np.array([b for b, _ in HK_SPREAD_TABLE], dtype=np.int64)
_HK_TICKS = np.array([t for _, t in HK_SPREAD_TABLE], dtype=np.int64)

# Lowest price each market quotes (micro-units): HKEX's minimum is 0.01.
MIN_PRICE = {"HK": 10_000, "US": 100, "CN": 10_000}


def tick_micro(market: str, kind: str, price_micro: int) -> int:
    """The tick (micro-units) that applies to a price of ``price_micro``."""
    if kind == "option":
        return 10_000
    if market == "HK":
        return int(_HK_TICKS[np.searchsorted(_HK_BOUNDS, price_micro, side="left")])
    if market == "US":
        return 10_000 if price_micro >= MICRO else 100
    return 10_000


def round_to_tick(market: str, kind: str, price_micro: int) -> int:
    """Round half up to the tick of the band the price falls in; never below the minimum."""
    floor = MIN_PRICE.get(market, 100)
    price_micro = max(int(price_micro), floor)
    tick = tick_micro(market, kind, price_micro)
    rounded = (price_micro + tick // 2) // tick * tick
    return max(rounded, floor)


def round_to_tick_array(market: str, kind: str, price_micro: np.ndarray) -> np.ndarray:
    """Vectorised ``round_to_tick`` for many prices of one market and kind."""
    floor = MIN_PRICE.get(market, 100)
    p = np.maximum(np.asarray(price_micro, dtype=np.int64), floor)
    if kind == "option":
        tick = np.full_like(p, 10_000)
    elif market == "HK":
        tick = _HK_TICKS[np.searchsorted(_HK_BOUNDS, p, side="left")]
    elif market == "US":
        tick = np.where(p >= MICRO, 10_000, 100)
    else:
        tick = np.full_like(p, 10_000)
    return np.maximum((p + tick // 2) // tick * tick, floor)


def to_micro(value: Decimal) -> int:
    return int((Decimal(value) * MICRO).to_integral_value())


def micro_str(price_micro: int) -> str:
    """``12340000`` -> ``"12.34"``: at most 6 places, no trailing zeros, never an exponent."""
    whole, frac = divmod(int(price_micro), MICRO)
    if not frac:
        return str(whole)
    return f"{whole}.{frac:06d}".rstrip("0")
