from django.apps import AppConfig
from django.db.models.signals import post_migrate


class LiquidationConfig(AppConfig):
    name = "riskdesk.liquidation"
    label = "liquidation"
    verbose_name = "Liquidation"

    def ready(self) -> None:
        from riskdesk.liquidation import flows  # noqa: F401  (registers the parameter flow)
        from riskdesk.liquidation.setup import ensure_parameters

        post_migrate.connect(
            ensure_parameters, sender=self, dispatch_uid="riskdesk.liquidation.setup"
        )
