"""Extension points of the account page and the account API: rooms built on the book (margin,
margin call, credit) add their panel and their fields without the book importing them."""

from collections.abc import Callable

# (request, account) -> (template name, context) or None
ACCOUNT_PANELS: list[Callable] = []
# account -> (key, JSON-able value) added to GET /api/v1/accounts/{number}
ACCOUNT_API_FIELDS: list[Callable] = []


def account_panels(request, account) -> list[tuple[str, dict]]:
    return [
        panel for provider in ACCOUNT_PANELS if (panel := provider(request, account)) is not None
    ]


def account_api_fields(account) -> dict:
    return dict(provider(account) for provider in ACCOUNT_API_FIELDS)
