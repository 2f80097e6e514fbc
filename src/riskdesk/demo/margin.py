"""Margin settings of the demo broker (MR-1, MR-2, MR-4, MR-5), so that buying power, the
ratio pages and "why this ratio" have something to show from the first `make run`.

Written as system set-up (``seeding("demo")``): a real broker enters these through approval.
"""

import numpy as np

from riskdesk.approvals.governed import seeding
from riskdesk.demo.universe import HK_WELL_KNOWN, US_WELL_KNOWN

# (im, mcm, mm, fm) tiers, most marginable first; blue chips take the first.
TIERS = [
    ("0.3000", "0.2500", "0.2000", "0.1500"),
    ("0.4000", "0.3500", "0.3000", "0.2500"),
    ("0.5000", "0.4500", "0.4000", "0.3500"),
    ("0.6500", "0.6000", "0.5500", "0.5000"),
]
INTRADAY = ("0.2000", "0.1500", "0.1200", "0.1000")
SHORT = ("0.5000", "0.4500", "0.4000", "0.3500")
BLUE_CHIPS = [row[0] for row in HK_WELL_KNOWN[:12]] + [row[0] for row in US_WELL_KNOWN[:8]]


def seed_margin(*, seed: int) -> dict[str, int]:
    from decimal import Decimal

    from riskdesk.book.models import Client, Instrument
    from riskdesk.lists.models import ClientGroup, ClientGroupMember
    from riskdesk.margin.models import (
        ClientMarginRule,
        IntradayMargin,
        IntradayRule,
        ShortMargin,
        StockGroup,
        StockGroupMember,
        StockMargin,
    )

    rng = np.random.default_rng([seed, 7])
    D = Decimal
    stocks = list(
        Instrument.objects.filter(
            kind__in=["stock", "etf"], status__in=["normal", "suspended"]
        ).order_by("code")
    )
    blue = [s for s in stocks if s.code in BLUE_CHIPS]

    def factors(tier):
        return {k: D(v) for k, v in zip(("im", "mcm", "mm", "fm"), tier, strict=True)}

    with seeding("demo"):
        long_rows = []
        for s in stocks:
            if s.code in BLUE_CHIPS:
                long_rows.append(StockMargin(instrument=s, **factors(TIERS[0])))
            elif rng.random() < 0.8:  # about one stock in five is not marginable
                long_rows.append(
                    StockMargin(instrument=s, **factors(TIERS[1 + int(rng.integers(0, 3))]))
                )
        StockMargin.objects.bulk_create(long_rows)
        IntradayMargin.objects.bulk_create(
            [IntradayMargin(instrument=s, **factors(INTRADAY)) for s in blue]
        )
        for market in ("HK", "US"):
            IntradayRule.objects.create(market=market, starts_after_open=0, ends_before_close=30)
        ShortMargin.objects.bulk_create(
            [
                ShortMargin(
                    instrument=s,
                    **factors(SHORT),
                    shortable="allowed",
                    auto_close_qty=10_000,
                    auto_restore_qty=50_000,
                    pool_qty=int(rng.integers(60_000, 2_000_000)),
                    status_reason="demo set-up",
                )
                for s in blue
            ]
        )
        hsi = StockGroup.objects.create(name="HSI blue chips", note="demo")
        StockGroupMember.objects.bulk_create(
            [StockGroupMember(group=hsi, instrument=s) for s in blue if s.market == "HK"]
        )
        vip = ClientGroup.objects.create(
            name="Private banking", business_type="margin", note="demo"
        )
        members = list(Client.objects.order_by("code").values_list("pk", flat=True)[:50:5])
        ClientGroupMember.objects.bulk_create(
            [ClientGroupMember(group=vip, client_id=pk) for pk in members]
        )
        ClientMarginRule.objects.create(
            side="long",
            client_group=vip,
            stock_group=hsi,
            **factors(("0.2500", "0.2000", "0.1500", "0.1000")),
        )
    return {
        "long ratios": len(long_rows),
        "intraday ratios": len(blue),
        "short ratios": len(blue),
        "client rules": 1,
    }
