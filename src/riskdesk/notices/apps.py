from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "riskdesk.notices"
    label = "notices"
    verbose_name = "Messages"
