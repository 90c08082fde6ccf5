"""The statutory calendar: the State Council notices as data, its version, its fallback."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, timedelta
from typing import Any

import chinese_calendar
import pytest

from sync.domain import holidays_cn
from sync.domain.calendar import (
    CALENDAR_VERSION,
    DEFAULT_CALENDAR,
    MONDAY_TO_FRIDAY,
    WorkCalendar,
    check_peer_calendar,
)
from sync.domain.holidays_cn import NOTICES, AdjustedWorkday, Break, Notice

CAL = DEFAULT_CALENDAR


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# ----------------------------------------------------------------- the published days


def test_spring_festival_2025_with_its_adjusted_sunday_and_saturday() -> None:
    # 除夕 (Tue 28 Jan) to 正月初七 (Tue 4 Feb) off; Sun 26 Jan and Sat 8 Feb worked.
    assert not any(CAL.is_workday(d) for d in _days(date(2025, 1, 28), date(2025, 2, 4)))
    assert CAL.is_workday(date(2025, 1, 26)) and date(2025, 1, 26).weekday() == 6
    assert CAL.is_workday(date(2025, 2, 8)) and date(2025, 2, 8).weekday() == 5
    assert CAL.is_workday(date(2025, 1, 27)) and CAL.is_workday(date(2025, 2, 5))
    assert not CAL.is_workday(date(2025, 1, 25)) and not CAL.is_workday(date(2025, 2, 9))


def test_spring_festival_2026_with_its_two_adjusted_saturdays() -> None:
    # 腊月二十八 (Sun 15 Feb) to 正月初七 (Mon 23 Feb) off, 9 days; Sat 14 and Sat 28 worked.
    assert not any(CAL.is_workday(d) for d in _days(date(2026, 2, 15), date(2026, 2, 23)))
    assert CAL.is_workday(date(2026, 2, 14)) and CAL.is_workday(date(2026, 2, 28))
    assert CAL.is_workday(date(2026, 2, 24))


def test_national_day_2025_merged_with_mid_autumn() -> None:
    assert not any(CAL.is_workday(d) for d in _days(date(2025, 10, 1), date(2025, 10, 8)))
    assert CAL.is_workday(date(2025, 9, 28))  # a Sunday
    assert CAL.is_workday(date(2025, 10, 11))  # a Saturday
    assert CAL.is_workday(date(2025, 10, 9))


def test_the_other_2026_breaks_and_adjusted_days() -> None:
    off = [
        *_days(date(2026, 1, 1), date(2026, 1, 3)),  # 元旦
        *_days(date(2026, 4, 4), date(2026, 4, 6)),  # 清明节, Monday 6 April off
        *_days(date(2026, 5, 1), date(2026, 5, 5)),  # 劳动节
        date(2026, 6, 19),  # 端午节, a Friday
        date(2026, 9, 25),  # 中秋节, a Friday
        *_days(date(2026, 10, 1), date(2026, 10, 7)),  # 国庆节
    ]
    assert not any(CAL.is_workday(d) for d in off)
    worked = [date(2026, 1, 4), date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10)]
    assert all(CAL.is_workday(d) and d.weekday() >= 5 for d in worked)


@pytest.mark.parametrize(
    ("start", "due", "monday_to_friday"),
    [
        # Fri 24 Jan 2025: Sun 26 (worked), Mon 27, then 28 Jan–4 Feb off, Wed 5 Feb.
        (date(2025, 1, 24), date(2025, 2, 5), date(2025, 1, 29)),
        # Tue 30 Sep 2025: 1–8 Oct off, Thu 9, Fri 10, Sat 11 (worked).
        (date(2025, 9, 30), date(2025, 10, 11), date(2025, 10, 3)),
        # Fri 26 Sep 2025: Sun 28 (worked), Mon 29, Tue 30.
        (date(2025, 9, 26), date(2025, 9, 30), date(2025, 10, 1)),
        # Fri 13 Feb 2026: Sat 14 (worked), 15–23 off, Tue 24, Wed 25.
        (date(2026, 2, 13), date(2026, 2, 25), date(2026, 2, 18)),
        # Thu 26 Feb 2026: Fri 27, Sat 28 (worked), Mon 2 Mar.
        (date(2026, 2, 26), date(2026, 3, 2), date(2026, 3, 3)),
        # Fri 7 Jun 2024: Mon 10 (端午节) off, Tue 11, Wed 12, Thu 13.
        (date(2024, 6, 7), date(2024, 6, 13), date(2024, 6, 12)),
    ],
)
def test_three_working_days_after_across_holidays(
    start: date, due: date, monday_to_friday: date
) -> None:
    count = CAL.count_workdays(start, 3)
    assert count.day == due == CAL.add_workdays(start, 3)
    assert count.covered and count.warning() is None
    assert MONDAY_TO_FRIDAY.add_workdays(start, 3) == monday_to_friday != due


def test_every_day_of_2024_to_2026_agrees_with_the_chinese_calendar_package() -> None:
    days = _days(date(2024, 1, 1), date(2026, 12, 31))
    disagree = [d for d in days if CAL.is_workday(d) != chinese_calendar.is_workday(d)]
    assert disagree == []
    assert len(days) == 366 + 365 + 365


# ------------------------------------------------------------------------ fallback


def test_an_uncovered_year_is_counted_monday_to_friday_and_says_so() -> None:
    # 2030 has no notice in this release: 1 October is counted as the Tuesday it is.
    count = CAL.count_workdays(date(2030, 9, 30), 3)
    assert count.day == date(2030, 10, 3) == MONDAY_TO_FRIDAY.add_workdays(date(2030, 9, 30), 3)
    assert not count.covered and count.uncovered_years == (2030,)
    warning = count.warning()
    assert warning is not None
    assert "2030" in warning and "Monday–Friday" in warning and CALENDAR_VERSION in warning


def test_a_count_reports_only_the_years_it_crossed() -> None:
    into_2027 = CAL.count_workdays(date(2026, 12, 31), 3)
    assert (into_2027.day, into_2027.uncovered_years) == (date(2027, 1, 5), (2027,))
    back_into_2023 = CAL.count_workdays(date(2024, 1, 2), -3)  # 1 Jan 2024 off
    assert (back_into_2023.day, back_into_2023.uncovered_years) == (date(2023, 12, 27), (2023,))
    assert CAL.count_workdays(date(2030, 6, 1), 0).covered  # nothing counted
    assert CAL.count_workdays(date(2026, 12, 30), 1).covered  # Thursday 31 December


def test_coverage_of_a_date_range() -> None:
    assert holidays_cn.COVERED_YEARS >= {2024, 2025, 2026}
    assert CAL.covers(date(2024, 1, 1), date(2026, 12, 31))
    assert CAL.uncovered_years(date(2027, 1, 1), date(2023, 12, 31)) == (2023, 2027)
    assert not CAL.covers(date(2026, 6, 1), date(2027, 1, 1))
    # A calendar built by hand has no notion of coverage: it is complete by construction.
    assert MONDAY_TO_FRIDAY.covers(date(1990, 1, 1), date(2090, 1, 1))
    assert WorkCalendar().count_workdays(date(2030, 9, 30), 3).covered


# ------------------------------------------------------------------------- version


def test_the_version_names_the_last_year_and_digests_the_data() -> None:
    assert re.fullmatch(r"cn-2026\.1-[0-9a-f]{12}", CALENDAR_VERSION)
    assert CALENDAR_VERSION == holidays_cn.CALENDAR_VERSION == CAL.version
    assert holidays_cn.calendar_version(tuple(reversed(NOTICES))) == CALENDAR_VERSION


def _edited(notice: Notice, **changes: Any) -> tuple[Notice, ...]:
    edited = dataclasses.replace(notice, **changes)
    return tuple(edited if n is notice else n for n in NOTICES)


def test_any_edit_of_the_data_changes_the_version() -> None:
    y2025 = next(n for n in NOTICES if n.year == 2025)
    first, *rest = y2025.breaks
    moved = Break(first.festival, first.first + timedelta(days=1), first.last, first.days)
    one_day_later = Break(
        first.festival, first.first + timedelta(days=1), first.last + timedelta(days=1), 1
    )
    relabelled = Break("新年", first.first, first.last, first.days)
    extra_worked = (*y2025.workdays, AdjustedWorkday("春节", date(2025, 2, 9)))
    variants = [
        _edited(y2025, breaks=(one_day_later, *rest)),
        _edited(y2025, breaks=(relabelled, *rest)),
        _edited(y2025, workdays=extra_worked),
        _edited(y2025, workdays=y2025.workdays[1:]),
        _edited(y2025, number=""),
        tuple(n for n in NOTICES if n is not y2025),  # a year dropped
    ]
    versions = {holidays_cn.calendar_version(v) for v in variants}
    versions.add(holidays_cn.calendar_version(NOTICES, revision=2))
    assert CALENDAR_VERSION not in versions and len(versions) == len(variants) + 1
    with pytest.raises(ValueError, match="2025-01-02 to 2025-01-01 is not the 1 days"):
        holidays_cn.check_notices(_edited(y2025, breaks=(moved, *rest)))


# ------------------------------------------------------------ checks on the data


def _notice(breaks: tuple[Break, ...] = (), workdays: tuple[AdjustedWorkday, ...] = ()) -> Notice:
    return Notice(2030, "", date(2029, 11, 1), breaks, workdays)


def test_a_break_must_last_the_days_the_notice_counts() -> None:
    with pytest.raises(ValueError, match="2030-10-01 to 2030-10-07 is not the 8 days"):
        holidays_cn.check_notices(
            [_notice((Break("国庆节", date(2030, 10, 1), date(2030, 10, 7), 8),))]
        )


def test_an_adjusted_workday_must_be_a_weekend_day() -> None:
    with pytest.raises(ValueError, match="2030-10-08 is not a weekend day"):
        holidays_cn.check_notices(
            [_notice(workdays=(AdjustedWorkday("国庆节", date(2030, 10, 8)),))]
        )


def test_a_date_is_not_both_off_and_worked_and_a_year_has_one_notice() -> None:
    sunday = date(2030, 9, 29)
    clash = _notice((Break("国庆节", sunday, sunday, 1),), (AdjustedWorkday("国庆节", sunday),))
    with pytest.raises(ValueError, match="2030-09-29 is both"):
        holidays_cn.check_notices([clash])
    with pytest.raises(ValueError, match="year 2030 is given by two notices"):
        holidays_cn.check_notices([_notice(), _notice()])
    with pytest.raises(ValueError, match="two notices"):
        WorkCalendar.from_notices((_notice(), _notice()))


def test_a_calendar_from_notices_covers_exactly_their_years() -> None:
    cal = WorkCalendar.from_notices(
        (_notice((Break("国庆节", date(2030, 10, 1), date(2030, 10, 7), 7),)),)
    )
    assert cal.covered_years == frozenset({2030}) and cal.version.startswith("cn-2030.1-")
    count = cal.count_workdays(date(2030, 9, 30), 3)
    assert count.day == date(2030, 10, 10) and count.covered


# -------------------------------------------------------------------------- peers


def test_peers_must_run_the_same_calendar() -> None:
    assert check_peer_calendar(CALENDAR_VERSION, CALENDAR_VERSION) is None
    older = "cn-2025.1-0123456789ab"
    reason = check_peer_calendar(CALENDAR_VERSION, older)
    assert reason is not None and CALENDAR_VERSION in reason and older in reason
    no_version = check_peer_calendar(CALENDAR_VERSION, "")
    assert no_version is not None and "none" in no_version
