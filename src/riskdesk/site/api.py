"""The /api/v1 instance: bearer-token auth, and errors as JSON naming the field and why."""

from django.utils import timezone
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer

from riskdesk.book.errors import BookError
from riskdesk.users.models import ApiToken, hash_token


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        found = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=hash_token(token), revoked=False)
            .first()
        )
        if found is None or not found.user.is_active:
            return None
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
        request.user = found.user
        return found.user


api = NinjaAPI(
    title="RiskDesk API",
    version="1",
    description="Book events, accounts and risk figures of RiskDesk. Authenticate with `Authorization: Bearer <token>` (create one with `riskdesk token USER`).",
    auth=BearerToken(),
    urls_namespace="api",
    docs_url="/docs",
)


@api.exception_handler(BookError)
def book_error(request, exc: BookError):
    return api.create_response(
        request, {"field": exc.field, "reason": exc.reason}, status=exc.status
    )


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    first = exc.errors[0] if exc.errors else {}
    loc = [str(p) for p in first.get("loc", []) if p not in ("body", "payload", "query", "path")]
    return api.create_response(
        request,
        {
            "field": ".".join(loc) or "body",
            "reason": first.get("msg", "invalid"),
            "errors": exc.errors,
        },
        status=422,
    )


@api.exception_handler(AuthenticationError)
def auth_error(request, exc):
    return api.create_response(
        request,
        {"field": "authorization", "reason": "a valid bearer token is required"},
        status=401,
    )


class Forbidden(Exception):
    pass


@api.exception_handler(Forbidden)
def forbidden(request, exc):
    return api.create_response(request, {"field": "authorization", "reason": str(exc)}, status=403)


def require(request, perm: str) -> None:
    """Every endpoint names the permission it needs (PL-2)."""
    if not request.user.has_perm(perm):
        raise Forbidden(f"your role may not do this (needs {perm})")


from riskdesk.approvals.api import router as approvals_router  # noqa: E402
from riskdesk.book.api import router as book_router  # noqa: E402

api.add_router("/", book_router)
api.add_router("/", approvals_router)

from riskdesk.margin.api_rules import router as margin_rules_router  # noqa: E402
from riskdesk.margin.api_short import router as margin_short_router  # noqa: E402
from riskdesk.margin.api_stock import router as margin_stock_router  # noqa: E402

api.add_router("/margin", margin_stock_router)
api.add_router("/margin", margin_short_router)
api.add_router("/margin", margin_rules_router)

from riskdesk.margincall.api import router as margincall_router  # noqa: E402

api.add_router("/margin-calls", margincall_router)

from riskdesk.liquidation.api import router as liquidation_router  # noqa: E402

api.add_router("/liquidation", liquidation_router)
