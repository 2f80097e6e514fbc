from riskdesk.approvals.governed import seeding


def ensure_parameters(**_kwargs) -> None:
    """Create the liquidation parameters when the firm is set up (PL-12): the switch off and
    auto liquidation off, so nothing is liquidated in batch or automatically until a change
    has been approved."""
    from riskdesk.liquidation.models import LiquidationParameters

    with seeding("initial set-up"):
        if not LiquidationParameters.objects.exists():
            LiquidationParameters.objects.create(pk=1)
