"""URLs of the margin-call pages (mounted at /margincall/, namespace "margincall")."""

from django.urls import path

from riskdesk.margincall import overviews, pages

app_name = "margincall"
urlpatterns = [
    *[u for page in pages.LIST_PAGES for u in page.urls()],
    path("calls/<int:pk>/", pages.call_detail, name="call"),
    path("calls/<int:pk>/annotate/", pages.annotate, name="annotate"),
    path("snapshots/<int:pk>/", pages.snapshot_detail, name="snapshot"),
    path("snapshots/<int:pk>/snapshot.json", pages.snapshot_download, name="snapshot-json"),
    # MC-6 … MC-9: securities lending, bad credit, covered-option and short-stock recall.
    *[u for page in overviews.LIST_PAGES for u in page.urls()],
]
