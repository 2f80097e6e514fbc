"""Registers every margin flow: each module registers its handlers when imported."""

from riskdesk.margin import group_flows, rule_flows, short_flows, stock_flows  # noqa: F401
