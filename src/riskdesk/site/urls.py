from django.contrib.auth import views as auth_views
from django.urls import include, path

from riskdesk.console import pages as console
from riskdesk.site.api import api

urlpatterns = [
    path("", console.dashboard, name="dashboard"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="console/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("book/", include("riskdesk.book.pages")),
    path("approvals/", include("riskdesk.approvals.pages")),
    path("credit/", include("riskdesk.credit.pages")),
    path("margin/", include("riskdesk.margin.urls")),
    path("lists/", include("riskdesk.lists.pages")),
    path("calendar/", include("riskdesk.calendars.pages")),
    path("margincall/", include("riskdesk.margincall.urls", namespace="margincall")),
    path("notices/", include("riskdesk.notices.pages", namespace="notices")),
    path("liquidation/", include("riskdesk.liquidation.pages", namespace="liquidation")),
    path("imports/<str:key>/template.xlsx", console.import_template, name="import-template"),
    path("imports/<str:key>/", console.import_upload, name="import-upload"),
    path("imports/batch/<int:batch_id>/", console.import_preview, name="import-preview"),
    path("api/v1/", api.urls),
]
