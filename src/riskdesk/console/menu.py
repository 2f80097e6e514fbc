"""The console's menu tree (PL-9): every feature of FEATURES.md, in the order of the
commercial console (风控管理, then 清算管理 > 合约管理).

An entry names its feature ID, its URL name once built, and the permission it needs. An
entry whose URL name is ``None`` is shown greyed as "coming soon": visible so that a risk
officer sees the whole system, never a broken link.
"""

from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Entry:
    label: str
    feature: str
    url_name: str | None = None
    permission: str | None = None


@dataclass(frozen=True)
class Group:
    label: str
    entries: tuple[Entry, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Section:
    label: str
    groups: tuple[Group, ...]


def _soon(label, feature):
    return Entry(label, feature)


MENU: tuple[Section, ...] = (
    Section(
        _("Book of record"),
        (
            Group(
                _("Book"),
                (
                    Entry(_("Dashboard"), "PL-1", "dashboard"),
                    Entry(_("Clients"), "PL-1", "book:clients", "book.view_client"),
                    Entry(_("Accounts"), "PL-1", "book:accounts", "book.view_account"),
                    Entry(_("Instruments"), "PL-1", "book:instruments", "book.view_instrument"),
                    Entry(_("Prices"), "PL-1", "book:prices", "book.view_price"),
                    Entry(_("FX rates"), "PL-1", "book:fx", "book.view_fxrate"),
                    Entry(_("Cash ledger"), "PL-1", "book:ledger", "book.view_cashentry"),
                    Entry(_("Book events"), "PL-1", "book:events", "book.view_bookevent"),
                ),
            ),
        ),
    ),
    Section(
        _("Credit"),
        (
            Group(
                _("Financing credit"),
                (
                    _soon(_("Client credit"), "CR-1"),
                    _soon(_("Credit approval"), "CR-6"),
                    _soon(_("Client FPS"), "CR-8"),
                    _soon(_("Credit groups"), "CR-9"),
                    _soon(_("Credit snapshots"), "CR-10"),
                    _soon(_("Batch change"), "CR-11"),
                    Entry(
                        _("Company credit"), "CR-5", "credit:company", "credit.view_companycredit"
                    ),
                ),
            ),
            Group(
                _("Client financing"),
                (
                    _soon(_("Financing used detail"), "CR-12"),
                    _soon(_("Over-limit detail"), "CR-12"),
                ),
            ),
            Group(
                _("Trading credit"),
                (
                    _soon(_("Client trading credit"), "TC-1"),
                    _soon(_("Trading credit change records"), "TC-3"),
                ),
            ),
            Group(
                _("Borrowed-currency reminders"),
                (
                    _soon(_("FX rules"), "BR-1"),
                    _soon(_("Reminder list"), "BR-2"),
                    _soon(_("Reminder history"), "BR-4"),
                    _soon(_("Reminder snapshots"), "BR-5"),
                    _soon(_("Auto-repay subscriptions"), "BR-6"),
                ),
            ),
        ),
    ),
    Section(
        _("Margin call"),
        (
            Group(
                _("Risk alerts"),
                (
                    Entry(
                        _("Real-time alerts"),
                        "MC-1",
                        "margincall:alerts",
                        "margincall.view_margincall",
                    ),
                    Entry(
                        _("Intraday real-time alerts"),
                        "MC-3",
                        "margincall:intraday",
                        "margincall.view_margincall",
                    ),
                    Entry(
                        _("Exception list"),
                        "MC-1",
                        "margincall:exceptions",
                        "margincall.view_margincall",
                    ),
                    Entry(
                        _("Margin-call history"),
                        "MC-4",
                        "margincall:history",
                        "margincall.view_margincall",
                    ),
                    Entry(
                        _("Margin-call snapshots"),
                        "MC-5",
                        "margincall:snapshots",
                        "margincall.view_margincall",
                    ),
                    Entry(
                        _("Client messages"),
                        "PL-7",
                        "notices:messages",
                        "notices.view_message",
                    ),
                    Entry(
                        _("Securities-lending overview"),
                        "MC-6",
                        "margincall:lending",
                        "margincall.view_margincall",
                    ),
                    Entry(
                        _("Bad credit"),
                        "MC-7",
                        "margincall:bad-credit",
                        "margincall.view_margincall",
                    ),
                ),
            ),
            Group(
                _("Stock recall"),
                (
                    Entry(
                        _("Covered-option recall"),
                        "MC-8",
                        "margincall:covered-calls",
                        "margincall.view_margincall",
                    ),
                    Entry(
                        _("Short-stock recall"),
                        "MC-9",
                        "margincall:short-recalls",
                        "margincall.view_margincall",
                    ),
                ),
            ),
            Group(
                _("Liquidation"),
                (
                    Entry(
                        _("Liquidation orders"),
                        "MC-10",
                        "liquidation:orders",
                        "liquidation.view_liquidationorder",
                    ),
                    Entry(
                        _("Batch liquidation"),
                        "MC-2",
                        "liquidation:batch",
                        "liquidation.view_liquidationorder",
                    ),
                ),
            ),
        ),
    ),
    Section(
        _("Margin"),
        (
            Group(
                _("Stock margin"),
                (
                    Entry(
                        _("Long stock margin"), "MR-1", "margin:stock", "margin.view_stockmargin"
                    ),
                    Entry(
                        _("Intraday real-time margin"),
                        "MR-2",
                        "margin:intraday",
                        "margin.view_intradaymargin",
                    ),
                    Entry(
                        _("Setting records"), "MR-3", "margin:settings", "margin.view_marginsetting"
                    ),
                    Entry(_("Short margin"), "MR-4", "margin:short", "margin.view_shortmargin"),
                ),
            ),
            Group(
                _("Client margin"),
                (
                    Entry(
                        _("Client long margin"),
                        "MR-5",
                        "margin:client-long",
                        "margin.view_clientmarginrule",
                    ),
                    Entry(
                        _("Client short margin"),
                        "MR-5",
                        "margin:client-short",
                        "margin.view_clientmarginrule",
                    ),
                ),
            ),
        ),
    ),
    Section(
        _("Options"),
        (
            Group(
                _("Options"),
                (
                    _soon(_("Option exercise"), "OP-1"),
                    _soon(_("Exercise records"), "OP-2"),
                    _soon(_("Expiring options"), "OP-3"),
                ),
            ),
        ),
    ),
    Section(
        _("Trading limits"),
        (
            Group(
                _("Trading limits"),
                (
                    _soon(_("Global limits"), "TL-1"),
                    _soon(_("Client limits"), "TL-2"),
                    _soon(_("Security limits"), "TL-3"),
                    _soon(_("Trader limits"), "TL-4"),
                    _soon(_("Client category limits"), "TL-5"),
                    _soon(_("Multi-dimension limits"), "TL-6"),
                ),
            ),
        ),
    ),
    Section(
        _("Lists"),
        (
            Group(
                _("Lists"),
                (
                    _soon(_("Blacklist"), "LS-1"),
                    Entry(
                        _("Client groups"), "LS-2", "lists:client-groups", "lists.view_clientgroup"
                    ),
                ),
            ),
        ),
    ),
    Section(
        _("Stress tests"),
        (
            Group(
                _("Margin-call stress test"),
                (
                    _soon(_("Test details"), "ST-1"),
                    _soon(_("Custom data"), "ST-2"),
                ),
            ),
            Group(
                _("Index management"),
                (
                    _soon(_("Index levels"), "ST-3"),
                    _soon(_("Stock index membership"), "ST-4"),
                    _soon(_("Stock level share"), "ST-5"),
                ),
            ),
            Group(
                _("Haircut management"),
                (
                    _soon(_("Stock haircuts"), "ST-6"),
                    _soon(_("Index haircuts"), "ST-6"),
                    _soon(_("Haircut change records"), "ST-6"),
                ),
            ),
            Group(_("Liquid-capital shortfall"), (_soon(_("Liquid-capital shortfall"), "ST-7"),)),
        ),
    ),
    Section(
        _("Approval centre"),
        (
            Group(
                _("Approval centre"),
                (
                    _soon(_("My pending approvals"), "PL-3"),
                    _soon(_("My requests"), "PL-3"),
                    _soon(_("All requests"), "PL-3"),
                    _soon(_("Change records"), "PL-4"),
                ),
            ),
        ),
    ),
    Section(
        _("Business parameters"),
        (
            Group(
                _("Business parameters"),
                (
                    _soon(_("Market management"), "PL-10"),
                    _soon(_("Fee configuration"), "PL-11"),
                    _soon(_("Risk parameters"), "PL-12"),
                    Entry(
                        _("Liquidation switch"),
                        "PL-12",
                        "liquidation:parameters",
                        "liquidation.view_liquidationparameters",
                    ),
                    Entry(
                        _("Stock groups"), "PL-12", "margin:stock-groups", "margin.view_stockgroup"
                    ),
                    Entry(
                        _("Trading-day calendar"),
                        "PL-8",
                        "calendars:days",
                        "calendars.view_tradingday",
                    ),
                    _soon(_("Tasks"), "PL-8"),
                ),
            ),
        ),
    ),
    Section(
        _("Clearing"),
        (
            Group(
                _("Contract management"),
                (
                    _soon(_("Back-office trade entry"), "BO-2"),
                    _soon(_("OTC instruments"), "BO-5"),
                ),
            ),
        ),
    ),
)


def visible_menu(user, path: str = "") -> list[dict]:
    """The menu as this user sees it: built entries they may open are links; the rest greyed.
    The section holding the current page is open."""
    sections = []
    for section in MENU:
        groups = []
        for group in section.groups:
            entries = []
            for entry in group.entries:
                url = None
                if entry.url_name and (entry.permission is None or user.has_perm(entry.permission)):
                    try:
                        url = reverse(entry.url_name)
                    except NoReverseMatch:
                        url = None
                entries.append(
                    {
                        "label": entry.label,
                        "feature": entry.feature,
                        "url": url,
                        "built": entry.url_name is not None,
                    }
                )
            groups.append({"label": group.label, "entries": entries})
        is_open = any(
            path.startswith(e["url"])
            for g in groups
            for e in g["entries"]
            if e["url"] and e["url"] != "/"
        )
        sections.append({"label": section.label, "groups": groups, "open": is_open})
    return sections


def menu_context(request) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    from riskdesk.users.roles import ROLE_LABELS, role_of

    role = role_of(request.user)
    return {
        "menu": visible_menu(request.user, request.path),
        "user_role_label": ROLE_LABELS.get(role, ""),
    }
