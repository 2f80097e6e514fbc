from django.apps import AppConfig


class MarginCallConfig(AppConfig):
    name = "riskdesk.margincall"
    label = "margincall"
    verbose_name = "Margin call"
