"""Book pages (PL-1): list pages on the shared pattern, plus account and client detail."""

from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from riskdesk.book import (
    extensions,
    imports,  # noqa: F401  (registers the instrument import)
    selectors,
)
from riskdesk.book.models import Account, BookEvent, CashEntry, Client, FxRate, Instrument, Price
from riskdesk.console.listing import Column, Filter, ListPage
from riskdesk.console.pages import import_upload
from riskdesk.users.permissions import requires

ACCOUNT_TYPES = dict(Account.Type.choices)
ACCOUNT_STATUSES = dict(Account.Status.choices)
KINDS = dict(Instrument.Kind.choices)
STATUSES = dict(Instrument.Status.choices)
MARKETS = dict(Instrument.Market.choices)
ENTRY_KINDS = dict(CashEntry.Kind.choices)
EVENT_KINDS = dict(BookEvent.Kind.choices)

clients = ListPage(
    name="clients",
    title=_("Clients"),
    feature="PL-1",
    permission="book.view_client",
    queryset=lambda: Client.objects.all(),
    default_sort="code",
    columns=[
        Column("code", _("Client code"), sortable=True, link=("book:client", "code")),
        Column("name", _("Name"), sortable=True),
        Column("language", _("Language")),
        Column("email", _("E-mail")),
        Column("created_at", _("Created"), kind="datetime", sortable=True),
    ],
    filters=[
        Filter("code", _("Client code"), "prefix"),
        Filter("name", _("Name"), "contains"),
        Filter("email", _("E-mail"), "contains"),
    ],
)

accounts = ListPage(
    name="accounts",
    title=_("Accounts"),
    feature="PL-1",
    permission="book.view_account",
    queryset=lambda: Account.objects.all(),
    default_sort="number",
    columns=[
        Column("number", _("Account"), sortable=True, link=("book:account", "number")),
        Column("client__code", _("Client code"), link=("book:client", "client__code")),
        Column("client__name", _("Name")),
        Column("type", _("Type"), choices=ACCOUNT_TYPES),
        Column("status", _("Status"), choices=ACCOUNT_STATUSES),
        Column("interest_receivable", _("Interest receivable"), kind="amount", sortable=True),
        Column("opened_at", _("Opened"), kind="datetime", sortable=True),
    ],
    filters=[
        Filter("number", _("Account"), "prefix"),
        Filter("client", _("Client code"), "prefix", lookup="client__code"),
        Filter("type", _("Type"), "choice", choices=tuple(Account.Type.choices)),
        Filter("status", _("Status"), "choice", choices=tuple(Account.Status.choices)),
    ],
)

instruments = ListPage(
    name="instruments",
    title=_("Instruments"),
    feature="PL-1",
    permission="book.view_instrument",
    queryset=lambda: Instrument.objects.all(),
    default_sort="code",
    columns=[
        Column("code", _("Code"), sortable=True),
        Column("name", _("Name"), sortable=True),
        Column("market", _("Market"), choices=MARKETS),
        Column("kind", _("Kind"), choices=KINDS),
        Column("currency", _("Currency")),
        Column("lot_size", _("Lot size"), kind="quantity"),
        Column("status", _("Status"), choices=STATUSES),
        Column("underlying__code", _("Underlying")),
        Column("strike", _("Strike"), kind="price"),
        Column("expiry", _("Expiry"), kind="date"),
        Column("option_type", _("Call/put")),
        Column("price__last", _("Last"), kind="price", currency_key="currency"),
    ],
    filters=[
        Filter("code", _("Code"), "prefix"),
        Filter("name", _("Name"), "contains"),
        Filter("market", _("Market"), "choice", choices=tuple(Instrument.Market.choices)),
        Filter("kind", _("Kind"), "choice", choices=tuple(Instrument.Kind.choices)),
        Filter("status", _("Status"), "choice", choices=tuple(Instrument.Status.choices)),
        Filter("currency", _("Currency"), "exact"),
    ],
    actions=[
        (_("Batch import"), "book:instruments-import", "book.import_instruments"),
    ],
)

prices = ListPage(
    name="prices",
    title=_("Prices"),
    feature="PL-1",
    permission="book.view_price",
    queryset=lambda: Price.objects.all(),
    default_sort="instrument__code",
    columns=[
        Column("instrument__code", _("Code"), sortable=True),
        Column("instrument__name", _("Name")),
        Column("instrument__currency", _("Currency")),
        Column("last", _("Last"), kind="price", currency_key="instrument__currency", sortable=True),
        Column(
            "prev_close", _("Previous close"), kind="price", currency_key="instrument__currency"
        ),
        Column("as_of", _("As of"), kind="datetime", sortable=True),
    ],
    filters=[
        Filter("code", _("Code"), "prefix", lookup="instrument__code"),
        Filter(
            "market",
            _("Market"),
            "choice",
            lookup="instrument__market",
            choices=tuple(Instrument.Market.choices),
        ),
        Filter("last_min", _("Last from"), "min", lookup="last"),
        Filter("last_max", _("Last to"), "max", lookup="last"),
    ],
)

fx_rates = ListPage(
    name="fx",
    title=_("FX rates"),
    feature="PL-1",
    permission="book.view_fxrate",
    queryset=lambda: FxRate.objects.all(),
    default_sort="currency",
    columns=[
        Column("currency", _("Currency"), sortable=True),
        Column("rate", _("Rate (base per unit)"), kind="rate"),
        Column("as_of", _("As of"), kind="datetime"),
    ],
)

ledger = ListPage(
    name="ledger",
    title=_("Cash ledger"),
    feature="PL-1",
    permission="book.view_cashentry",
    queryset=lambda: CashEntry.objects.all(),
    default_sort="-id",
    columns=[
        Column("id", _("Entry")),
        Column("created_at", _("Time"), kind="datetime"),
        Column("account__number", _("Account"), link=("book:account", "account__number")),
        Column("kind", _("Kind"), choices=ENTRY_KINDS),
        Column("currency", _("Currency")),
        Column("amount", _("Amount"), kind="amount", currency_key="currency"),
        Column("note", _("Note")),
        Column("event__key", _("Event key")),
    ],
    filters=[
        Filter("account", _("Account"), "exact", lookup="account__number"),
        Filter("kind", _("Kind"), "choice", choices=tuple(CashEntry.Kind.choices)),
        Filter("currency", _("Currency"), "exact"),
        Filter("amount_min", _("Amount from"), "min", lookup="amount"),
        Filter("amount_max", _("Amount to"), "max", lookup="amount"),
        Filter("date_from", _("From date"), "date_from", lookup="created_at"),
        Filter("date_to", _("To date"), "date_to", lookup="created_at"),
    ],
)

events = ListPage(
    name="events",
    title=_("Book events"),
    feature="PL-1",
    permission="book.view_bookevent",
    queryset=lambda: BookEvent.objects.all(),
    default_sort="-id",
    columns=[
        Column("id", _("Event")),
        Column("created_at", _("Time"), kind="datetime"),
        Column("kind", _("Kind"), choices=EVENT_KINDS),
        Column("key", _("Idempotency key")),
        Column("account__number", _("Account"), link=("book:account", "account__number")),
        Column("actor__username", _("By")),
    ],
    filters=[
        Filter("kind", _("Kind"), "choice", choices=tuple(BookEvent.Kind.choices)),
        Filter("account", _("Account"), "exact", lookup="account__number"),
        Filter("key", _("Idempotency key"), "prefix"),
    ],
)

LIST_PAGES = [clients, accounts, instruments, prices, fx_rates, ledger, events]


@requires("book.view_account", "book.view_position")
def account_detail(request, number):
    account = get_object_or_404(Account.objects.select_related("client"), number=number)
    view = selectors.account_view(account)
    recent = account.cash_entries.order_by("-id")[:20]
    panels = extensions.account_panels(request, account)
    return render(
        request, "book/account_detail.html", {"view": view, "recent": recent, "panels": panels}
    )


@requires("book.view_client", "book.view_account")
def client_detail(request, code):
    client = get_object_or_404(Client, code=code)
    return render(
        request,
        "book/client_detail.html",
        {
            "client": client,
            "accounts": client.accounts.order_by("number"),
        },
    )


app_name = "book"
urlpatterns = [
    *[u for page in LIST_PAGES for u in page.urls()],
    path("accounts/<str:number>/", account_detail, name="account"),
    path("clients/<str:code>/", client_detail, name="client"),
    path(
        "instruments/import/", import_upload, {"key": "book.instruments"}, name="instruments-import"
    ),
]
