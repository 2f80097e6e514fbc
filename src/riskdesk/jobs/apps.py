from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "riskdesk.jobs"
    label = "jobs"
    verbose_name = "Scheduler and tasks"
