from django.apps import AppConfig
from django.db.models.signals import post_migrate


class UsersConfig(AppConfig):
    name = "riskdesk.users"
    label = "users"
    verbose_name = "Users and roles"

    def ready(self) -> None:
        from riskdesk.users.roles import sync_roles

        # Roles are data kept in code (roles.py); every migrate brings the groups in line.
        # Not limited to this app's signal: other apps' permissions are created after ours.
        post_migrate.connect(sync_roles, dispatch_uid="riskdesk.sync_roles")
