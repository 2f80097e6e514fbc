from django.apps import AppConfig


class ListsConfig(AppConfig):
    name = "riskdesk.lists"
    label = "lists"
    verbose_name = "Lists"

    def ready(self) -> None:
        from riskdesk.lists import flows  # noqa: F401  (registers the client-group flow)
