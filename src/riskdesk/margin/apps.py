from django.apps import AppConfig


class MarginConfig(AppConfig):
    name = "riskdesk.margin"
    label = "margin"
    verbose_name = "Margin ratios"

    def ready(self) -> None:
        from riskdesk.book import extensions
        from riskdesk.margin import (
            account,
            flows,  # noqa: F401  (registers the margin flows)
        )

        extensions.ACCOUNT_PANELS.append(account.account_panel)
        extensions.ACCOUNT_API_FIELDS.append(account.account_api_fields)
