"""The margin panel of the account page and the margin fields of the account API (MR-6):
initial-margin requirement, buying power, and per position the ratio used and why."""

from riskdesk.engine.money import fmt_amount
from riskdesk.margin.figures import account_risk


def account_panel(request, account):
    if not request.user.has_perm("margin.view_stockmargin"):
        return None
    return "margin/_account_panel.html", {"risk": account_risk(account)}


def account_api_fields(account):
    risk = account_risk(account)
    f = risk.figures
    return "margin", {
        "equity": fmt_amount(f.equity),
        "im_requirement": fmt_amount(risk.im_requirement),
        "trading_credit": fmt_amount(risk.trading_credit),
        "buying_power": fmt_amount(risk.buying_power),
        "lna": fmt_amount(f.lna),
        "req": {
            "im": fmt_amount(f.req.im),
            "mcm": fmt_amount(f.req.mcm),
            "mm": fmt_amount(f.req.mm),
            "fm": fmt_amount(f.req.fm),
        },
        "alert": f.alert,
        "positions": [
            {
                "instrument": line.code,
                "side": "long" if line.quantity > 0 else "short",
                "ratio": {
                    k: str(v)
                    for k, v in zip(
                        ("im", "mcm", "mm", "fm"), line.resolved.factors.as_tuple(), strict=True
                    )
                },
                "source": line.resolved.source,
                "why": line.resolved.reason,
                "im_requirement": fmt_amount(line.im_requirement),
            }
            for line in risk.lines
        ],
    }
