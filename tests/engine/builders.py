"""Small builders for scenario documents used by the engine tests."""

from __future__ import annotations

from typing import Any

STD_MARGIN = {"im": "0.40", "mcm": "0.35", "mm": "0.30", "fm": "0.25"}


def instrument(
    code: str,
    price: str,
    *,
    currency: str = "HKD",
    margin: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "code": code,
        "currency": currency,
        "price": price,
        "margin": dict(margin or STD_MARGIN),
    }
    doc.update(extra)
    return doc


def account(
    account_id: str,
    client: str,
    *,
    cash: dict[str, str] | None = None,
    positions: dict[str, int] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": account_id, "client": client}
    if cash is not None:
        doc["cash"] = cash
    if positions is not None:
        doc["positions"] = positions
    doc.update(extra)
    return doc


def scenario(
    instruments: list[dict[str, Any]],
    accounts: list[dict[str, Any]],
    *,
    fx: dict[str, str] | None = None,
    stress: dict[str, Any] | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"base_currency": "HKD", "instruments": instruments, "accounts": accounts}
    if fx is not None:
        doc["fx"] = fx
    if stress is not None:
        doc["stress"] = stress
    return doc
