import os


def setup_django() -> None:
    """Configure Django once, for commands that run outside a server."""
    from django.apps import apps

    if apps.ready:
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskdesk.site.settings")
    import django

    django.setup()
