"""Working days and calendar-year arithmetic."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.domain.calendar import DEFAULT_CALENDAR, WorkCalendar, add_years

FAST = settings(max_examples=100, database=None, derandomize=True, deadline=None)

FRI = date(2024, 3, 1)
assert FRI.weekday() == 4

# The 2024 National Day holiday as announced: 1–7 October off, Sunday 29 September and
# Saturday 12 October worked instead.
NATIONAL_DAY_2024 = WorkCalendar(
    holidays=frozenset(date(2024, 10, d) for d in range(1, 8)),
    extra_workdays=frozenset({date(2024, 9, 29), date(2024, 10, 12)}),
)


def test_weekends_are_not_workdays_by_default() -> None:
    assert [DEFAULT_CALENDAR.is_workday(FRI + timedelta(days=i)) for i in range(7)] == [
        True, False, False, True, True, True, True,
    ]  # fmt: skip


def test_add_workdays_across_a_weekend() -> None:
    assert DEFAULT_CALENDAR.add_workdays(FRI, 1) == date(2024, 3, 4)  # Monday
    assert DEFAULT_CALENDAR.add_workdays(FRI, 3) == date(2024, 3, 6)  # Wednesday
    saturday = date(2024, 3, 2)
    assert DEFAULT_CALENDAR.add_workdays(saturday, 3) == date(2024, 3, 6)


def test_add_workdays_skips_a_configured_holiday() -> None:
    calendar = WorkCalendar(holidays=frozenset({date(2024, 3, 4)}))
    assert not calendar.is_workday(date(2024, 3, 4))
    assert calendar.add_workdays(FRI, 3) == date(2024, 3, 7)  # Tue, Wed, Thu


def test_adjusted_working_weekend_counts() -> None:
    cal = NATIONAL_DAY_2024
    assert cal.is_workday(date(2024, 9, 29))  # a Sunday
    assert not cal.is_workday(date(2024, 10, 2))  # a Wednesday
    # Friday 27 September + 3: Sun 29 (worked), Mon 30, then 1–7 October off, Tue 8.
    assert cal.add_workdays(date(2024, 9, 27), 3) == date(2024, 10, 8)
    # From the last holiday: Tue 8, Wed 9, Thu 10.
    assert cal.add_workdays(date(2024, 10, 7), 3) == date(2024, 10, 10)


def test_zero_and_negative_workdays() -> None:
    assert DEFAULT_CALENDAR.add_workdays(FRI, 0) == FRI
    assert DEFAULT_CALENDAR.add_workdays(date(2024, 3, 4), -1) == FRI
    assert NATIONAL_DAY_2024.add_workdays(date(2024, 10, 8), -2) == date(2024, 9, 29)


def test_a_date_cannot_be_both_holiday_and_workday() -> None:
    day = date(2024, 10, 1)
    with pytest.raises(ValueError, match="2024-10-01"):
        WorkCalendar(holidays=frozenset({day}), extra_workdays=frozenset({day}))


@FAST
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 1, 1)), st.integers(0, 30))
def test_add_workdays_lands_on_a_workday_and_inverts(start: date, n: int) -> None:
    cal = NATIONAL_DAY_2024
    end = cal.add_workdays(start, n)
    assert end >= start
    if n:
        assert cal.is_workday(end)
        days = (end - start).days
        assert sum(cal.is_workday(start + timedelta(days=i)) for i in range(1, days + 1)) == n
        assert cal.add_workdays(end, -n) <= start


@pytest.mark.parametrize(
    ("start", "years", "expected"),
    [
        (date(2024, 2, 29), 1, date(2025, 2, 28)),
        (date(2024, 2, 29), 4, date(2028, 2, 29)),
        (date(2024, 2, 29), 2, date(2026, 2, 28)),
        (date(2024, 3, 1), 2, date(2026, 3, 1)),
        (date(2024, 12, 31), 5, date(2029, 12, 31)),
        (date(2025, 2, 28), -1, date(2024, 2, 28)),
    ],
)
def test_add_years(start: date, years: int, expected: date) -> None:
    assert add_years(start, years) == expected
