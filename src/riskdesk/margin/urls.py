"""URLs of the margin room: each page module contributes its own."""

from riskdesk.margin import group_pages, rule_pages, short_pages, stock_pages

app_name = "margin"
urlpatterns = [
    *stock_pages.urlpatterns,
    *short_pages.urlpatterns,
    *rule_pages.urlpatterns,
    *group_pages.urlpatterns,
]
