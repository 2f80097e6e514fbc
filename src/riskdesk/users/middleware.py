from django.conf import settings
from django.contrib.auth.views import redirect_to_login

# Paths an anonymous visitor may reach: the login page, static files, the language switch and
# the API (which answers 401 itself, with a JSON body, instead of redirecting).
PUBLIC_PREFIXES = ("/login/", "/static/", "/i18n/", "/api/")


class LoginRequiredMiddleware:
    """An anonymous user sees only the login page (PL-2)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.user.is_authenticated and not request.path.startswith(PUBLIC_PREFIXES):
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        return self.get_response(request)
