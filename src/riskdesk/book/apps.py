from django.apps import AppConfig


class BookConfig(AppConfig):
    name = "riskdesk.book"
    label = "book"
    verbose_name = "Book of record"
