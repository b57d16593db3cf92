"""The sample region's calendar: school years, terms and holidays, lesson days, extract days.

A school year starts on 1 September; `2025` stands for the school year 2025/2026. Extracts are
sent on every weekday (Monday to Friday) from the first school day of the first school year to
the last weekday on or before `until`; the full snapshots go out on Mondays and with the first
extract. Lessons run on weekdays inside the four quarters, public holidays excluded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)

#: The default last extract date (a Friday): fixed, so that the same arguments give the same files
#: whatever day they are run on.
DEFAULT_UNTIL = date(2026, 11, 27)

#: Day and month of the ОО-1 count date ("as of 20 September").
COUNT_DAY = (9, 20)

#: Public holidays with no lessons (day, month).
PUBLIC_HOLIDAYS = ((4, 11), (23, 2), (8, 3), (1, 5), (9, 5))


def school_year_of(d: date) -> int:
    """The school year (its starting calendar year) that contains `d`."""
    return d.year if d.month >= 9 else d.year - 1


def year_label(year: int) -> str:
    """`2025` → `2025/2026`, the `Учебный год` value."""
    return f"{year}/{year + 1}"


def on_or_before_weekday(d: date) -> date:
    """The last weekday on or before `d`."""
    while d.weekday() >= 5:
        d -= ONE_DAY
    return d


def on_or_after_weekday(d: date) -> date:
    """The first weekday on or after `d`."""
    while d.weekday() >= 5:
        d += ONE_DAY
    return d


def last_weekday_of_kind(d: date, weekday: int) -> date:
    """The last date on or before `d` that falls on `weekday` (0 = Monday)."""
    return d - timedelta(days=(d.weekday() - weekday) % 7)


def first_weekday_of_kind(d: date, weekday: int) -> date:
    """The first date on or after `d` that falls on `weekday` (0 = Monday)."""
    return d + timedelta(days=(weekday - d.weekday()) % 7)


def age_on(birth: date, d: date) -> int:
    """Age in full years on `d`."""
    return d.year - birth.year - ((d.month, d.day) < (birth.month, birth.day))


def summer_excluded_days(start: date, end: date) -> int:
    """Days from `start` to `end` not counting the summer holidays (1 June – 31 August).

    This is the clock of the transfer-matching window: a child who leaves in June and is
    admitted on 1 September has been away for one day, not ninety.
    """
    days = 0
    d = start
    while d < end:
        d += ONE_DAY
        if not 6 <= d.month <= 8:
            days += 1
    return days


@dataclass(frozen=True)
class Period:
    """An attestation period and the date its final marks are given."""

    name: str
    start: date
    end: date


@dataclass
class SchoolYear:
    """Terms, lesson days and the dates of the year-end orders of one school year."""

    year: int
    first_day: date = field(init=False)
    quarters: list[tuple[date, date]] = field(init=False)
    lesson_days: list[date] = field(init=False)
    promotion_date: date = field(init=False)
    graduation_date: date = field(init=False)
    exam_date: date = field(init=False)

    def __post_init__(self) -> None:
        y = self.year
        self.first_day = on_or_after_weekday(date(y, 9, 1))
        holidays = {date(y, m, d) if m >= 9 else date(y + 1, m, d) for d, m in PUBLIC_HOLIDAYS}
        raw = [
            (self.first_day, last_weekday_of_kind(date(y, 10, 24), 4)),
            (first_weekday_of_kind(date(y, 11, 3), 0), on_or_before_weekday(date(y, 12, 27))),
            (on_or_after_weekday(date(y + 1, 1, 9)), last_weekday_of_kind(date(y + 1, 3, 20), 4)),
            (
                first_weekday_of_kind(date(y + 1, 3, 30), 0),
                on_or_before_weekday(date(y + 1, 5, 26)),
            ),
        ]
        days: list[date] = []
        quarters: list[tuple[date, date]] = []
        for start, end in raw:
            d = start
            inside: list[date] = []
            while d <= end:
                if d.weekday() < 5 and d not in holidays:
                    inside.append(d)
                d += ONE_DAY
            quarters.append((inside[0], inside[-1]))
            days.extend(inside)
        self.quarters = quarters
        self.lesson_days = days
        self.promotion_date = on_or_before_weekday(date(y + 1, 5, 31))
        self.graduation_date = on_or_before_weekday(date(y + 1, 6, 30))
        self.exam_date = on_or_before_weekday(date(y + 1, 6, 19))

    def last_lesson_day_on_or_before(self, d: date) -> date:
        """The last lesson day on or before `d` (used for trimester ends)."""
        best = self.lesson_days[0]
        for day in self.lesson_days:
            if day > d:
                break
            best = day
        return best

    def periods(self, scheme: str, grade: int) -> list[Period]:
        """The attestation periods for a grade level under a school's scheme, `Год` last.

        Grades 10–11 are attested by half-years; grades 2–9 by quarters or, in schools on the
        trimester scheme, by trimesters. Grade 1 has none (no marks).
        """
        if grade < 2:
            return []
        q = self.quarters
        year_end = q[3][1]
        if grade >= 10:
            out = [
                Period("1 полугодие", q[0][0], q[1][1]),
                Period("2 полугодие", q[2][0], year_end),
            ]
        elif scheme == "trimesters":
            t1 = self.last_lesson_day_on_or_before(date(self.year, 11, 28))
            t2 = self.last_lesson_day_on_or_before(date(self.year + 1, 2, 27))
            out = [
                Period("1 триместр", q[0][0], t1),
                Period("2 триместр", t1 + ONE_DAY, t2),
                Period("3 триместр", t2 + ONE_DAY, year_end),
            ]
        else:
            out = [Period(f"{i + 1} четверть", s, e) for i, (s, e) in enumerate(q)]
        out.append(Period("Год", q[0][0], year_end))
        return out


def count_date(year: int) -> date:
    """20 September of a school year: the date of the ОО-1 counts."""
    return date(year, *COUNT_DAY)


def extract_days(first: date, last: date) -> list[date]:
    """Every weekday from `first` to `last` inclusive."""
    out = []
    d = first
    while d <= last:
        if d.weekday() < 5:
            out.append(d)
        d += ONE_DAY
    return out
