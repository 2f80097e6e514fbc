from riskdesk.approvals.governed import seeding


def ensure_flows(**_kwargs) -> None:
    """Give every registered flow key a flow (its handler's default steps) if it has none, so
    a new flow works at once and the administrator tunes it afterwards."""
    from riskdesk.approvals.models import Flow, FlowRoute, FlowStep
    from riskdesk.approvals.registry import REGISTRY

    with seeding("default flow"):
        for key, handler in REGISTRY.items():
            if Flow.objects.filter(key=key).exists():
                continue
            flow = Flow.objects.create(key=key, title=str(handler.title))
            route = FlowRoute.objects.create(flow=flow, position=1)
            for position, step in enumerate(
                getattr(handler, "default_steps", None)
                or [{"role": "risk_approver", "approvals": 1}],
                start=1,
            ):
                FlowStep.objects.create(
                    route=route, position=position, role=step["role"], approvals=step["approvals"]
                )
