from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "riskdesk.console"
    label = "console"
    verbose_name = "Console"
