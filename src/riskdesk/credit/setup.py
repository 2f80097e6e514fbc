from riskdesk.approvals.governed import seeding

# Currencies with their own financing limits (CR-5 names HKD and USD).
LIMIT_CURRENCIES = ("HKD", "USD")


def ensure_company_credit(**_kwargs) -> None:
    """Initialise the company credit when the firm is set up (CR-5): all zero, so no credit can
    be granted until the firm's limits have been set through approval."""
    from riskdesk.credit.models import CompanyCredit, CompanyCurrencyLimit

    with seeding("initial set-up"):
        if not CompanyCredit.objects.exists():
            CompanyCredit.objects.create(pk=1)
        for currency in LIMIT_CURRENCIES:
            if not CompanyCurrencyLimit.objects.filter(currency=currency).exists():
                CompanyCurrencyLimit.objects.create(currency=currency)
