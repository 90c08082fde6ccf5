"""Working-day and calendar-year arithmetic for statutory time limits.

Pure: "today" is always an argument. PRC public holidays are announced each year by the State
Council, and some weekends are made working days (调休). ``DEFAULT_CALENDAR`` holds the
published notices of the years this release knows (sync/domain/holidays_cn.py); every rule
whose result enters folded state counts working days with it, so every node running the same
release computes the same dates.

Why data fixed per release and not a package or a log entry (docs/calendar.md): an upgrade of
a holiday package on one node would silently change folded state on that node only; dates in
the repository are reviewed line by line against the notices; and a calendar carried in a log
would need a calendar authority that the federation does not have. Nodes refuse to peer when
their calendar versions differ (``check_peer_calendar``).

For a year with no published notice the count falls back to Monday–Friday, and says so: the
pure core cannot log, so a count returns the uncovered years for the caller to warn about.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

from sync.domain import holidays_cn

__all__ = [
    "CALENDAR_VERSION",
    "DEFAULT_CALENDAR",
    "MONDAY_TO_FRIDAY",
    "WorkCalendar",
    "WorkdayCount",
    "add_years",
    "check_peer_calendar",
]

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
class WorkdayCount:
    """The day a count of working days reached, and the years it had no published data for.

    ``uncovered_years`` lists the years of the days examined (after the start, up to the day
    reached) that the calendar has no notice for: those days were counted Monday–Friday, and
    a later release with that year's notice may give another day.
    """

    day: date
    uncovered_years: tuple[int, ...] = ()
    version: str = ""

    @property
    def covered(self) -> bool:
        return not self.uncovered_years

    def warning(self) -> str | None:
        """A sentence for the officer or the log when the count fell back; None if covered."""
        if self.covered:
            return None
        years = ", ".join(str(y) for y in self.uncovered_years)
        return (
            f"calendar {self.version} has no published holidays for {years}: working days "
            f"there were counted Monday–Friday"
        )


@dataclass(frozen=True)
class WorkCalendar:
    """Monday–Friday, minus `holidays`, plus `extra_workdays` (adjusted working weekends).

    `covered_years` says for which years the two sets are the published truth: a count through
    any other year falls back to Monday–Friday there and reports it (``count_workdays``).
    None means the sets are complete by construction (Monday–Friday, or a calendar a test
    builds), so nothing is reported. `version` names the data for peers and warnings.
    """

    holidays: frozenset[date] = field(default_factory=frozenset)
    extra_workdays: frozenset[date] = field(default_factory=frozenset)
    covered_years: frozenset[int] | None = None
    version: str = ""

    def __post_init__(self) -> None:
        clash = self.holidays & self.extra_workdays
        if clash:
            # A date cannot be both; which one wins would be a silent guess. Dates are not
            # personal data, so naming one helps whoever maintains the holiday file.
            first = min(clash).isoformat()
            raise ValueError(f"date {first} is configured both as a holiday and as a workday")

    @classmethod
    def from_notices(cls, notices: tuple[holidays_cn.Notice, ...]) -> WorkCalendar:
        """The calendar of the State Council notices given, covering exactly their years."""
        holidays_cn.check_notices(notices)
        return cls(
            holidays=holidays_cn.holidays(notices),
            extra_workdays=holidays_cn.adjusted_workdays(notices),
            covered_years=frozenset(n.year for n in notices),
            version=holidays_cn.calendar_version(notices),
        )

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

    def uncovered_years(self, first: date, last: date) -> tuple[int, ...]:
        """The years from `first` to `last` (inclusive, either order) with no published data."""
        if self.covered_years is None:
            return ()
        low, high = sorted((first.year, last.year))
        return tuple(y for y in range(low, high + 1) if y not in self.covered_years)

    def covers(self, first: date, last: date) -> bool:
        """Whether every day from `first` to `last` lies in a year with published data."""
        return not self.uncovered_years(first, last)

    def count_workdays(self, d: date, n: int) -> WorkdayCount:
        """``add_workdays(d, n)`` with the years it had to count Monday–Friday."""
        day = self.add_workdays(d, n)
        if n == 0:
            return WorkdayCount(day, (), self.version)
        # The days examined are those after `d` up to `day`: `d` itself is never counted.
        nearest = d + (_ONE_DAY if n > 0 else -_ONE_DAY)
        return WorkdayCount(day, self.uncovered_years(nearest, day), self.version)


def check_peer_calendar(ours: str, theirs: str) -> str | None:
    """None when a peer's calendar version equals ours; otherwise why to refuse it.

    Working-day counts enter folded state (a listing's delisting deadline), so two nodes with
    different holiday data would fold the same entries into different rows. They must not
    exchange entries until both run the same release. An empty version (a peer too old to
    send one) is a mismatch too. Versions are not personal data, so the reason names both.
    """
    if ours == theirs:
        return None
    shown = theirs or "none"
    return (
        f"calendar version mismatch: ours {ours}, peer's {shown}; every node of a federation "
        f"must run the same holiday data"
    )


MONDAY_TO_FRIDAY = WorkCalendar()
"""Monday–Friday with no holidays: the fallback's rule, and for tests that mean exactly that."""

DEFAULT_CALENDAR = WorkCalendar.from_notices(holidays_cn.NOTICES)
"""The statutory calendar of this release: every rule whose result is folded counts with it."""

CALENDAR_VERSION = DEFAULT_CALENDAR.version
"""What a node announces to its peers; equal to ``holidays_cn.CALENDAR_VERSION``."""
