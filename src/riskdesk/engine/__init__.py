"""RiskDesk's pure risk engine: Decimal reference functions and vectorised kernels.

Imports nothing from Django, the database or the rest of riskdesk. Modules:

- ``money``: rounding constants and helpers (the one place that rounds); ``fx``: conversion.
- ``margin``: MC-1 account figures; ``stress``: ST-7 liquid-capital shortfall (scalar reference).
- ``scenario``: scenario file model and parser; ``reports``: `calc margin` / `calc shortfall`.
- ``arrays``: the array layout of a book; ``batch_margin`` / ``batch_stress``: vectorised
  kernels; ``rescreen``: incremental re-screening on price ticks; ``intmath``/``jit``: helpers.
"""
