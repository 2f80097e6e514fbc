"""Company credit figures (CR-5): the settings beside what the book uses now."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from riskdesk.book.models import Account, CashBalance
from riskdesk.credit.models import CompanyCredit, CompanyCurrencyLimit

ZERO = Decimal(0)


@dataclass(frozen=True)
class CurrencyFigures:
    currency: str
    max_financing: Decimal
    financing_warning: Decimal
    used_financing: Decimal
    advance_warning: Decimal
    advanced: Decimal

    @property
    def financing_alert(self) -> str:
        return _level(self.used_financing, self.financing_warning, self.max_financing)

    @property
    def advance_alert(self) -> str:
        return _level(self.advanced, self.advance_warning, None)


@dataclass(frozen=True)
class CompanyFigures:
    total_credit: Decimal
    approved_credit: Decimal
    approved_warning: Decimal
    currencies: list[CurrencyFigures]

    @property
    def remaining(self) -> Decimal:
        return self.total_credit - self.approved_credit

    @property
    def approved_alert(self) -> str:
        return _level(self.approved_credit, self.approved_warning, self.total_credit)

    @property
    def alerts(self) -> list[str]:
        out = []
        if self.approved_alert != "ok":
            out.append("approved")
        out += [f"{c.currency} financing" for c in self.currencies if c.financing_alert != "ok"]
        out += [f"{c.currency} advance" for c in self.currencies if c.advance_alert != "ok"]
        return out


def _level(value: Decimal, warning: Decimal, limit: Decimal | None) -> str:
    """ok / warning (at or over the threshold) / over (above the limit). A zero threshold is unset."""
    if limit is not None and limit > 0 and value > limit:
        return "over"
    if warning > 0 and value >= warning:
        return "warning"
    return "ok"


def approved_credit() -> Decimal:
    """Sum of the financing credit approved to clients. Client credit (CR-1/CR-2) is not built
    yet, so nothing has been approved."""
    return ZERO


def _debt_by_currency(types) -> dict[str, Decimal]:
    rows = (
        CashBalance.objects.filter(
            balance__lt=0, account__type__in=types, account__status=Account.Status.ACTIVE
        )
        .values("currency")
        .annotate(total=Sum("balance"))
    )
    return {r["currency"]: -r["total"] for r in rows}


def company_figures() -> CompanyFigures:
    """CR-5: used financing = debit balances of margin and intraday accounts per currency;
    advanced (垫资) = debit balances of cash accounts, which the firm pays until the client does."""
    company = CompanyCredit.objects.get(pk=1)
    used = _debt_by_currency([Account.Type.MARGIN, Account.Type.INTRADAY])
    advanced = _debt_by_currency([Account.Type.CASH])
    currencies = [
        CurrencyFigures(
            limit.currency,
            limit.max_financing,
            limit.financing_warning,
            used.get(limit.currency, ZERO),
            limit.advance_warning,
            advanced.get(limit.currency, ZERO),
        )
        for limit in CompanyCurrencyLimit.objects.all()
    ]
    return CompanyFigures(
        company.total_credit, approved_credit(), company.approved_warning, currencies
    )
