from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CreditConfig(AppConfig):
    name = "riskdesk.credit"
    label = "credit"
    verbose_name = "Credit"

    def ready(self) -> None:
        from riskdesk.credit import flows  # noqa: F401  (registers the credit flows)
        from riskdesk.credit.setup import ensure_company_credit

        post_migrate.connect(
            ensure_company_credit, sender=self, dispatch_uid="riskdesk.credit.setup"
        )
