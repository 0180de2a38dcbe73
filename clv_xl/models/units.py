"""Time units of the models' data and horizons, in days: no hidden 30-day months."""

from __future__ import annotations

from clv_xl.models._errors import ModelDataError

DAYS_PER_UNIT: dict[str, float] = {
    "days": 1.0,
    "weeks": 7.0,
    "months": 365.25 / 12,
    "years": 365.25,
}


def days_per(unit: str) -> float:
    """Days in one ``unit`` ("days", "weeks", "months" = 365.25/12 days, "years" = 365.25 days)."""
    try:
        return DAYS_PER_UNIT[unit]
    except (KeyError, TypeError):
        raise ModelDataError(
            f"The time unit must be one of {', '.join(DAYS_PER_UNIT)}; got {unit!r}."
        ) from None
