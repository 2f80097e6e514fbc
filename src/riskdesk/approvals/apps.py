from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "riskdesk.approvals"
    label = "approvals"
    verbose_name = "Approval centre"

    def ready(self) -> None:
        from riskdesk.approvals import history  # noqa: F401  (stamps history rows with the request)
        from riskdesk.approvals.setup import ensure_flows
        from riskdesk.site.bootstrap import connect_after_migrate

        # Once per migrate, when every room has registered its flows and created its tables.
        connect_after_migrate(ensure_flows, "riskdesk.approvals.ensure_flows")
