"""Working-day and calendar-year arithmetic for statutory time limits.

Pure: "today" is always an argument. PRC public holidays are announced each year by the State
Council, and some weekends are made working days (调休), so the calendar takes both sets as
configuration instead of hard-coding any year.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

__all__ = ["DEFAULT_CALENDAR", "WorkCalendar", "add_years"]

_ONE_DAY = timedelta(days=1)
_SATURDAY = 5  # date.weekday(): Monday = 0 … Sunday = 6


def add_years(d: date, years: int) -> date:
    """`d` shifted by whole calendar years; 29 February maps to 28 February in common years.

    This is the "corresponding day" rule of Civil Code art. 202: a period counted in years ends
    on the same month and day, or on the last day of that month when the day does not exist.
    """
    year = d.year + years
    if d.month == 2 and d.day == 29 and not _stdlib_calendar.isleap(year):
        return date(year, 2, 28)
    return d.replace(year=year)


@dataclass(frozen=True)
class WorkCalendar:
    """Monday–Friday, minus `holidays`, plus `extra_workdays` (adjusted working weekends)."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    extra_workdays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        clash = self.holidays & self.extra_workdays
        if clash:
            # A date cannot be both; which one wins would be a silent guess. Dates are not
            # personal data, so naming one helps whoever maintains the holiday file.
            first = min(clash).isoformat()
            raise ValueError(f"date {first} is configured both as a holiday and as a workday")

    def is_workday(self, d: date) -> bool:
        if d in self.extra_workdays:
            return True
        if d in self.holidays:
            return False
        return d.weekday() < _SATURDAY

    def add_workdays(self, d: date, n: int) -> date:
        """The `n`-th working day after `d` (before it when `n` < 0); `d` itself for 0.

        `d` need not be a working day: "within 3 working days after X" counts the working
        days that follow X, whatever X is.
        """
        step = _ONE_DAY if n >= 0 else -_ONE_DAY
        remaining = abs(n)
        current = d
        while remaining:
            current += step
            if self.is_workday(current):
                remaining -= 1
        return current


DEFAULT_CALENDAR = WorkCalendar()
"""Monday–Friday with no holidays: for tests and offline tools; nodes configure the real one."""
