from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "riskdesk.users"
    label = "users"
    verbose_name = "Users and roles"

    def ready(self) -> None:
        from riskdesk.site.bootstrap import connect_after_migrate
        from riskdesk.users.roles import sync_roles

        # Roles are data kept in code (roles.py); every migrate brings the groups in line, once
        # every app's permissions exist.
        connect_after_migrate(sync_roles, "riskdesk.sync_roles")
