"""clv_xl: Customer Lifetime Value and retention analysis for Excel."""

__version__ = "0.1.0"
