"""The State Council's published holidays and adjusted working days (放假调休), as data.

Source: each year's 国务院办公厅关于20XX年部分节假日安排的通知, transcribed line by line below
with its document number and issue date, so that a reviewer can hold every date against the
published notice. The statutory days themselves come from 全国年节及纪念日放假办法 (revised
2024-11, effective 2025: 除夕 and 5月2日 added); the notices turn them into the actual days off
and the weekend days worked instead. See docs/calendar.md.

The data is fixed per release: ``CALENDAR_VERSION`` is derived from it, so any edit (a date, a
festival, a new year) changes the version, and nodes refuse to peer with a node whose calendar
version differs (``sync.domain.calendar.check_peer_calendar``). A date range outside
``COVERED_YEARS`` is counted Monday–Friday, and the count says so.

Pure data and a digest: no file is read (sync/ does no I/O).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

__all__ = [
    "CALENDAR_VERSION",
    "COVERED_YEARS",
    "NOTICES",
    "AdjustedWorkday",
    "Break",
    "Notice",
    "adjusted_workdays",
    "calendar_version",
    "canonical_text",
    "check_notices",
    "holidays",
]

# Bumped by hand when a release corrects a year already published (the digest changes anyway;
# the revision tells a reader that the last covered year stayed the same).
DATA_REVISION: Final = 1
_SATURDAY = 5  # date.weekday(): Monday = 0 … Sunday = 6


@dataclass(frozen=True, slots=True)
class Break:
    """One numbered item of a notice: ``first`` to ``last`` off, ``days`` days in all (共N天).

    ``festival`` is the item's heading as printed (e.g. "国庆节、中秋节" when they merge).
    ``days`` repeats the notice's own count so that a mistyped date fails ``check_notices``.
    """

    festival: str
    first: date
    last: date
    days: int


@dataclass(frozen=True, slots=True)
class AdjustedWorkday:
    """A Saturday or Sunday worked instead (调休上班), for the break of ``festival``."""

    festival: str
    day: date


@dataclass(frozen=True, slots=True)
class Notice:
    """A year's notice; ``number`` is its document number, "" where not confirmed."""

    year: int
    number: str
    issued_on: date
    breaks: tuple[Break, ...]
    workdays: tuple[AdjustedWorkday, ...]


D = date  # short, so that each line of data reads like the line of the notice

NOTICES: Final[tuple[Notice, ...]] = (
    # 国务院办公厅关于2024年部分节假日安排的通知, 国办发明电〔2023〕7号, 2023年10月25日.
    # Under the 2013 放假办法: 除夕 (2月9日) is not a holiday; units were only "encouraged"
    # to let staff rest that day, so it stays a working day here.
    Notice(
        year=2024,
        number="国办发明电〔2023〕7号",
        issued_on=D(2023, 10, 25),
        breaks=(
            Break("元旦", D(2024, 1, 1), D(2024, 1, 1), 1),  # 1月1日放假，与周末连休
            Break("春节", D(2024, 2, 10), D(2024, 2, 17), 8),  # 2月10日至17日，共8天
            Break("清明节", D(2024, 4, 4), D(2024, 4, 6), 3),  # 4月4日至6日，共3天
            Break("劳动节", D(2024, 5, 1), D(2024, 5, 5), 5),  # 5月1日至5日，共5天
            Break("端午节", D(2024, 6, 10), D(2024, 6, 10), 1),  # 6月10日放假，与周末连休
            Break("中秋节", D(2024, 9, 15), D(2024, 9, 17), 3),  # 9月15日至17日，共3天
            Break("国庆节", D(2024, 10, 1), D(2024, 10, 7), 7),  # 10月1日至7日，共7天
        ),
        workdays=(
            AdjustedWorkday("春节", D(2024, 2, 4)),  # 星期日
            AdjustedWorkday("春节", D(2024, 2, 18)),  # 星期日
            AdjustedWorkday("清明节", D(2024, 4, 7)),  # 星期日
            AdjustedWorkday("劳动节", D(2024, 4, 28)),  # 星期日
            AdjustedWorkday("劳动节", D(2024, 5, 11)),  # 星期六
            AdjustedWorkday("中秋节", D(2024, 9, 14)),  # 星期六
            AdjustedWorkday("国庆节", D(2024, 9, 29)),  # 星期日
            AdjustedWorkday("国庆节", D(2024, 10, 12)),  # 星期六
        ),
    ),
    # 国务院办公厅关于2025年部分节假日安排的通知, 国办发明电〔2024〕12号, 2024年11月12日.
    # First year under the 2024 放假办法: 春节 from 除夕, 8 days; 劳动节 5 days; 国庆节 and
    # 中秋节 merged into 8 days.
    Notice(
        year=2025,
        number="国办发明电〔2024〕12号",
        issued_on=D(2024, 11, 12),
        breaks=(
            Break("元旦", D(2025, 1, 1), D(2025, 1, 1), 1),  # 1月1日（周三）放假1天，不调休
            Break("春节", D(2025, 1, 28), D(2025, 2, 4), 8),  # 除夕（周二）至正月初七（周二）
            Break("清明节", D(2025, 4, 4), D(2025, 4, 6), 3),  # 4月4日（周五）至6日（周日）
            Break("劳动节", D(2025, 5, 1), D(2025, 5, 5), 5),  # 5月1日（周四）至5日（周一）
            Break("端午节", D(2025, 5, 31), D(2025, 6, 2), 3),  # 5月31日（周六）至6月2日（周一）
            # 10月1日（周三）至8日（周三）
            Break("国庆节、中秋节", D(2025, 10, 1), D(2025, 10, 8), 8),
        ),
        workdays=(
            AdjustedWorkday("春节", D(2025, 1, 26)),  # 周日
            AdjustedWorkday("春节", D(2025, 2, 8)),  # 周六
            AdjustedWorkday("劳动节", D(2025, 4, 27)),  # 周日
            AdjustedWorkday("国庆节、中秋节", D(2025, 9, 28)),  # 周日
            AdjustedWorkday("国庆节、中秋节", D(2025, 10, 11)),  # 周六
        ),
    ),
    # 国务院办公厅关于2026年部分节假日安排的通知, 2025年11月4日 (published by 新华社 the same
    # day). Its document number is not confirmed here, so it is cited by title and date.
    Notice(
        year=2026,
        number="",
        issued_on=D(2025, 11, 4),
        breaks=(
            Break("元旦", D(2026, 1, 1), D(2026, 1, 3), 3),  # 1月1日（周四）至3日（周六）
            # 2月15日（腊月二十八、周日）至23日（正月初七、周一）
            Break("春节", D(2026, 2, 15), D(2026, 2, 23), 9),
            Break("清明节", D(2026, 4, 4), D(2026, 4, 6), 3),  # 4月4日（周六）至6日（周一）
            Break("劳动节", D(2026, 5, 1), D(2026, 5, 5), 5),  # 5月1日（周五）至5日（周二）
            Break("端午节", D(2026, 6, 19), D(2026, 6, 21), 3),  # 6月19日（周五）至21日（周日）
            Break("中秋节", D(2026, 9, 25), D(2026, 9, 27), 3),  # 9月25日（周五）至27日（周日）
            Break("国庆节", D(2026, 10, 1), D(2026, 10, 7), 7),  # 10月1日（周四）至7日（周三）
        ),
        workdays=(
            AdjustedWorkday("元旦", D(2026, 1, 4)),  # 周日
            AdjustedWorkday("春节", D(2026, 2, 14)),  # 周六
            AdjustedWorkday("春节", D(2026, 2, 28)),  # 周六
            AdjustedWorkday("劳动节", D(2026, 5, 9)),  # 周六
            AdjustedWorkday("国庆节", D(2026, 9, 20)),  # 周日
            AdjustedWorkday("国庆节", D(2026, 10, 10)),  # 周六
        ),
    ),
)


def check_notices(notices: Iterable[Notice]) -> None:
    """Raise ValueError on data that cannot be what a notice says.

    Catches the transcription slips a reviewer might miss: a break whose length differs from
    its 共N天, a worked "weekend" day that is a weekday, a year given twice, a date both off and
    worked. Dates are not personal data, so the message names the offending one.
    """
    years: set[int] = set()
    off: set[date] = set()
    worked: set[date] = set()
    for notice in notices:
        if notice.year in years:
            raise ValueError(f"year {notice.year} is given by two notices")
        years.add(notice.year)
        for b in notice.breaks:
            if (b.last - b.first).days + 1 != b.days:
                span = f"{b.first.isoformat()} to {b.last.isoformat()}"
                raise ValueError(f"break {span} is not the {b.days} days its notice counts")
            off.update(_days(b.first, b.last))
        for w in notice.workdays:
            if w.day.weekday() < _SATURDAY:
                raise ValueError(f"adjusted workday {w.day.isoformat()} is not a weekend day")
            worked.add(w.day)
    clash = off & worked
    if clash:
        raise ValueError(f"date {min(clash).isoformat()} is both a holiday and a workday")


def holidays(notices: Iterable[Notice]) -> frozenset[date]:
    """Every day off in the notices' breaks, weekends inside a break included."""
    return frozenset(day for n in notices for b in n.breaks for day in _days(b.first, b.last))


def adjusted_workdays(notices: Iterable[Notice]) -> frozenset[date]:
    return frozenset(w.day for n in notices for w in n.workdays)


def canonical_text(notices: Iterable[Notice]) -> str:
    """One line per fact, sorted: what the version digest covers.

    Every field is included (the document number too): the rule is "any edit to the data
    changes the version", which needs no judgement about which edits matter.
    """
    lines = []
    for n in notices:
        lines.append(f"notice {n.year} {n.number or '-'} {n.issued_on.isoformat()}")
        lines.extend(
            f"off {n.year} {b.first.isoformat()} {b.last.isoformat()} {b.days} {b.festival}"
            for b in n.breaks
        )
        lines.extend(f"work {n.year} {w.day.isoformat()} {w.festival}" for w in n.workdays)
    return "".join(f"{line}\n" for line in sorted(lines))


def calendar_version(notices: tuple[Notice, ...], revision: int = DATA_REVISION) -> str:
    """``cn-<last covered year>.<revision>-<first 12 hex digits of SHA-256(canonical text)>``.

    The readable part tells an operator which release's calendar a node runs; the digest makes
    the version change with any edit, so two builds with different data can never claim the
    same version.
    """
    digest = hashlib.sha256(canonical_text(notices).encode()).hexdigest()[:12]
    last_year = max((n.year for n in notices), default=0)
    return f"cn-{last_year}.{revision}-{digest}"


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


check_notices(NOTICES)  # a bad edit fails at import, in every test run, not at a deadline

COVERED_YEARS: Final = frozenset(n.year for n in NOTICES)
CALENDAR_VERSION: Final = calendar_version(NOTICES)
