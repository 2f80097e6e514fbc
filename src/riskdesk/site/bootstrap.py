import os


def setup_django() -> None:
    """Configure Django once, for commands that run outside a server."""
    from django.apps import apps

    if apps.ready:
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskdesk.site.settings")
    import django

    django.setup()


def connect_after_migrate(receiver, uid: str) -> None:
    """Run ``receiver`` once per ``migrate``, after every app's post-migrate work (so every
    permission exists): it listens to the last app that has models, not to each app."""
    from django.apps import apps
    from django.db.models.signals import post_migrate

    last = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
    post_migrate.connect(receiver, sender=last, dispatch_uid=uid)
