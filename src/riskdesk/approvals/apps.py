from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "riskdesk.approvals"
    label = "approvals"
    verbose_name = "Approval centre"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from riskdesk.approvals import history  # noqa: F401  (stamps history rows with the request)
        from riskdesk.approvals.setup import ensure_flows

        post_migrate.connect(ensure_flows, dispatch_uid="riskdesk.approvals.ensure_flows")
