"""RiskDesk: risk back-office for Hong Kong and US securities brokers."""

__version__ = "0.1.0"
