"""The electronic journal: current marks per lesson and final marks per period, produced one
extract day at a time so that memory does not grow with the number of marks.

Marks depend on the student's ability, the school's effect and the subject's difficulty; grade 1
has none. The attestation figures of the manifest (pass and quality rates, отличники,
хорошисты) are counted here from the final version of every final mark as it is generated.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta

from sample_region.calendar import SchoolYear, school_year_of, year_label
from sample_region.model import Org, Region, Student

# (subject, weekly lessons, difficulty group: 0 hard, 1 usual, 2 easy)
PRIMARY = (
    ("Русский язык", 5, 1), ("Литературное чтение", 4, 1), ("Математика", 4, 0),
    ("Окружающий мир", 2, 1), ("Английский язык", 2, 1), ("Музыка", 1, 2),
    ("Изобразительное искусство", 1, 2), ("Труд (технология)", 1, 2),
    ("Физическая культура", 2, 2),
)  # fmt: skip
BASIC = (
    ("Русский язык", 4, 1), ("Литература", 2, 1), ("Английский язык", 3, 1),
    ("Алгебра", 3, 0), ("Геометрия", 2, 0), ("Вероятность и статистика", 1, 0),
    ("Информатика", 1, 1), ("История", 2, 1), ("Обществознание", 1, 1), ("География", 2, 1),
    ("Биология", 2, 1), ("Физика", 2, 0), ("Химия", 2, 0), ("Труд (технология)", 1, 2),
    ("Физическая культура", 2, 2), ("ОБЗР", 1, 2),
)  # fmt: skip
JUNIOR_BASIC = (
    ("Русский язык", 5, 1), ("Литература", 3, 1), ("Английский язык", 3, 1),
    ("Математика", 5, 0), ("История", 2, 1), ("Обществознание", 1, 1), ("География", 1, 1),
    ("Биология", 1, 1), ("Музыка", 1, 2), ("Изобразительное искусство", 1, 2),
    ("Труд (технология)", 2, 2), ("Физическая культура", 2, 2),
)  # fmt: skip
SENIOR = (
    ("Русский язык", 2, 1), ("Литература", 3, 1), ("Английский язык", 3, 1),
    ("Алгебра", 3, 0), ("Геометрия", 2, 0), ("Вероятность и статистика", 1, 0),
    ("Информатика", 1, 1), ("История", 2, 1), ("Обществознание", 2, 1), ("География", 1, 1),
    ("Биология", 1, 1), ("Физика", 2, 0), ("Химия", 1, 0), ("Физическая культура", 2, 2),
    ("ОБЗР", 1, 2),
)  # fmt: skip
PASS_FAIL = {4: "ОРКСЭ", 10: "Индивидуальный проект", 11: "Индивидуальный проект"}
EXAM_SUBJECTS = ("Русский язык", "Математика")
FAILING = frozenset(("2", "незач", "н/а"))
KINDS = (("Ответ на уроке", 1), ("Самостоятельная работа", 2), ("Домашняя работа", 1))
LEVELS = 61  # table levels: mean 2.00 … 5.00 in steps of 0.05
TABLE = 200  # entries per level table
DIFFICULTY = (-0.15, 0.0, 0.4)
NOMINAL_LESSON_DAYS = 165
CHUNK = 2000  # lines handed to the writer at a time
MARK_IDS_PER_PART = 100_000_000  # mark IDs of one part of a region, counted from its first


def subjects_for(grade: int) -> tuple[tuple[str, int, int], ...]:
    if grade <= 4:
        return PRIMARY
    if grade <= 6:
        return JUNIOR_BASIC
    if grade <= 9:
        return BASIC
    return SENIOR


def _level_table(mean: float) -> list[tuple[str, int]]:
    """200 outcomes of one current mark for a pupil whose level is `mean` (deterministic)."""
    weights = {v: math.exp(-((v - mean) ** 2) / (2 * 0.75**2)) for v in (2, 3, 4, 5)}
    total = sum(weights.values())
    probs: list[tuple[str, int, float]] = [("1", 1, 0.002 if mean < 3 else 0.0)]
    probs += [(str(v), v, 0.95 * w / total) for v, w in weights.items()]
    probs += [("н", 0, 0.025), ("б", 0, 0.018), ("у", 0, 0.007)]
    out: list[tuple[str, int]] = []
    acc = 0.0
    for value, num, p in probs:
        acc += p
        while len(out) < round(acc * TABLE) and len(out) < TABLE:
            out.append((value, num))
    while len(out) < TABLE:
        out.append(("5", 5))
    return out


TABLES = [_level_table(2.0 + 0.05 * i) for i in range(LEVELS)]


_TABLES_FOR: dict[tuple[int, ...], tuple[list[tuple[str, int]], ...]] = {}


def _tables_for(level: float) -> tuple[list[tuple[str, int]], ...]:
    """The level tables of a pupil by difficulty group (one tuple for pupils of equal levels)."""
    key = tuple(min(LEVELS - 1, max(0, round((level + diff - 2.0) / 0.05))) for diff in DIFFICULTY)
    tables = _TABLES_FOR.get(key)
    if tables is None:
        tables = _TABLES_FOR[key] = tuple(TABLES[i] for i in key)
    return tables


def timetable(grade: int) -> list[list[tuple[str, int]]]:
    """Lessons of each weekday (Monday … Friday) for a grade: (subject, difficulty)."""
    week: list[tuple[str, int]] = []
    for name, hours, diff in subjects_for(grade):
        week.extend([(name, diff)] * hours)
    days: list[list[tuple[str, int]]] = [[] for _ in range(5)]
    for i, lesson in enumerate(week):
        days[i % 5].append(lesson)
    return days


class Group:
    """A class of a school: its members over time and its cached roster."""

    __slots__ = (
        "cls",
        "grade",
        "idx",
        "members",
        "org",
        "roster",
        "teachers",
        "valid_from",
        "valid_until",
    )  # fmt: skip

    def __init__(self, org: Org, grade: int, cls: str, idx: int) -> None:
        self.org = org
        self.grade = grade
        self.cls = cls
        self.idx = idx
        self.members: list[tuple[Student, date, date | None, tuple]] = []
        self.roster: list[tuple[Student, tuple]] = []
        self.valid_from = date.max
        self.valid_until = date.min
        self.teachers: dict[str, str] = {}

    def roster_on(self, d: date) -> list[tuple[Student, tuple]]:
        if self.valid_from <= d < self.valid_until:
            return self.roster
        roster = []
        lo, hi = date.min, date.max
        for st, start, end, tbls in self.members:
            if start <= d and (end is None or d < end):
                roster.append((st, tbls))
                if end is not None and end < hi:
                    hi = end
                if start > lo:
                    lo = start
            elif start > d:
                hi = min(hi, start)
            elif end is not None and end <= d:
                lo = max(lo, end)
        self.roster, self.valid_from, self.valid_until = roster, lo, hi
        return roster

    def teacher(self, subject: str, number: int) -> str:
        t = self.teachers.get(subject)
        if t is None:
            n = max(4, self.org.size // 12)
            t = f"{self.org.org_id}-{(self.idx * 7 + number * 3) % n + 1:03d}"
            self.teachers[subject] = t
        return t


class Attestation:
    """Counters of one organization × grade × school year × period."""

    __slots__ = (
        "excellent",
        "good",
        "n_num",
        "one_fail",
        "passed",
        "quality",
        "subject",
        "sum_num",
    )  # fmt: skip

    def __init__(self) -> None:
        self.subject = self.passed = self.quality = self.excellent = 0
        self.good = self.one_fail = self.n_num = self.sum_num = 0

    def add(self, values: list[str]) -> None:
        if not any(v != "осв" for v in values):
            return
        self.subject += 1
        fails = sum(1 for v in values if v in FAILING)
        nums = [int(v) for v in values if v.isdigit()]
        self.n_num += len(nums)
        self.sum_num += sum(nums)
        if fails == 1:
            self.one_fail += 1
        if fails:
            return
        self.passed += 1
        if nums and min(nums) >= 4:
            self.quality += 1
            if min(nums) == 5:
                self.excellent += 1
            else:
                self.good += 1


DateFmt = Callable[[date], str]


class Journal:
    """Generates the marks and final marks of each extract day."""

    def __init__(self, region: Region, marks_per_year: int, seed: int) -> None:
        self.region = region
        part = region.shard.number if region.shard is not None else None
        self.rng = random.Random(f"{seed}:journal" + ("" if part is None else f":part-{part}"))
        self.per_day = marks_per_year / NOMINAL_LESSON_DAYS
        self.mark_id = 10_000_000 + (part or 0) * MARK_IDS_PER_PART
        self.groups: list[Group] = []
        by_key: dict[tuple[str, str], Group] = {}
        for st in region.students:
            for sp in region.main_spells(st):
                if sp.program not in ("НОО", "ООО", "СОО") or (sp.grade or 0) < 2:
                    continue
                key = (sp.org, sp.cls)
                group = by_key.get(key)
                if group is None:
                    org = region.org_by_id[sp.org]
                    group = Group(org, sp.grade or 0, sp.cls, len(self.groups))
                    by_key[key] = group
                    self.groups.append(group)
                level = st.ability + group.org.effect
                group.members.append((st, sp.start, sp.end, _tables_for(level)))
        self.timetables = {g: timetable(g) for g in range(2, 12)}
        self.subject_lists = {g: [s for s, _, _ in subjects_for(g)] for g in range(2, 12)}
        # pending re-sends: extract index -> list of raw mark or final-mark records
        self.pending_marks: dict[int, list[tuple]] = {}
        self.pending_final: dict[int, list[tuple]] = {}
        self.current: dict[tuple[str, int], list[int]] = {}
        self.attestation: dict[tuple[int, str, int, str], Attestation] = {}
        self._countdown = self._gap()
        self._years: dict[int, tuple[set[date], dict[date, list[tuple[str, str, int]]]]] = {}

    def _gap(self) -> int:
        return int(-math.log(1.0 - self.rng.random()) / 0.007) + 1

    def _year_info(self, y: int) -> tuple[set[date], dict[date, list[tuple[str, str, int]]]]:
        """Lesson days and, per date, the (scheme, period, grade) whose final marks fall on it."""
        if y not in self._years:
            sy: SchoolYear = self.region.year(y)
            ends: dict[date, list[tuple[str, str, int]]] = {}
            for scheme in ("quarters", "trimesters"):
                for grade in range(2, 12):
                    if grade >= 10 and scheme == "trimesters":
                        continue
                    for p in sy.periods(scheme, grade):
                        ends.setdefault(p.end, []).append((scheme, p.name, grade))
            for grade in (9, 11):
                ends.setdefault(sy.exam_date, []).append(("*", "Экзамен", grade))
                ends.setdefault(sy.exam_date, []).append(("*", "Итоговая", grade))
            self._years[y] = (set(sy.lesson_days), ends)
        return self._years[y]

    # -- current marks ---------------------------------------------------------------------
    def marks(self, idx: int, d: date, ds: DateFmt, seconds: bool) -> Iterator[list[str]]:
        """Lines of the marks file of extract day `d` (index `idx`), a class at a time."""
        y = school_year_of(d)
        lesson_days, _ = self._year_info(y)
        if d in lesson_days:
            yield from self._lessons(idx, d, y, ds, seconds)
        pending = self.pending_marks.pop(idx, [])
        for i in range(0, len(pending), CHUNK):
            yield [self._format_mark(rec, ds, seconds) for rec in pending[i : i + CHUNK]]

    @staticmethod
    def _ts(t: datetime, seconds: bool) -> str:
        return t.strftime("%d.%m.%Y %H:%M:%S" if seconds else "%d.%m.%Y %H:%M")

    def _format_mark(self, rec: tuple, ds: DateFmt, seconds: bool) -> str:
        mid, sid, org, cls, subj, lesson, value, kind, w, teacher, changed, deleted = rec
        return (
            f"{mid};{sid};{org};{cls};{subj};{ds(lesson)};{value};{kind};{w};{teacher};"
            f"{self._ts(changed, seconds)};{'да' if deleted else 'нет'}"
        )

    def _lessons(
        self, idx: int, d: date, y: int, ds: DateFmt, seconds: bool
    ) -> Iterator[list[str]]:
        rng = self.rng
        rnd = rng.random
        sample = rng.sample
        dstr = ds(d)
        weekday = d.weekday()
        last = len(self.region.extract_days) - 1
        mid = self.mark_id
        cd = self._countdown
        base_dt = datetime(d.year, d.month, d.day, 12, 0)
        for group in self.groups:
            roster = group.roster_on(d)
            if not roster:
                continue
            lines: list[str] = []
            append = lines.append
            n = len(roster)
            lessons = self.timetables[group.grade][weekday]
            per_lesson = n * self.per_day / len(lessons)
            org_id = group.org.org_id
            cls = group.cls
            key = (org_id, y)
            stats = self.current.get(key)
            if stats is None:
                stats = self.current[key] = [0, 0, 0, 0, 0, 0]
            alive = num_n = num_s = w_s = w_t = deleted = 0
            for number, (subj, diff) in enumerate(lessons):
                if rnd() < 0.07:
                    chosen = roster
                    kind, w = "Контрольная работа", 3
                else:
                    k = (per_lesson - 0.07 * n) / 0.93
                    k = int(k) + (1 if rnd() < k - int(k) else 0)
                    chosen = sample(roster, min(n, max(0, k)))
                    kind, w = KINDS[0] if rnd() < 0.6 else KINDS[1 if rnd() < 0.5 else 2]
                if not chosen:
                    continue
                teacher = group.teacher(subj, number)
                changed = base_dt + timedelta(minutes=int(rnd() * 420))
                late = 0
                if rnd() < 0.02:
                    late = 1 + int(rnd() * 3)
                    changed += timedelta(days=late)
                if late:
                    target = self.pending_marks.setdefault(min(last, idx + late), [])
                    for st, tbls in chosen:
                        value, num = tbls[diff][int(rnd() * TABLE)]
                        mid += 1
                        target.append((mid, st.sid, org_id, cls, subj, d, value, kind, w,
                                       teacher, changed, False))  # fmt: skip
                        alive += 1
                        if num:
                            num_n += 1
                            num_s += num
                            w_s += num * w
                            w_t += w
                    continue
                prefix = f";{org_id};{cls};{subj};{dstr};"
                suffix = f";{kind};{w};{teacher};{self._ts(changed, seconds)};нет"
                for st, tbls in chosen:
                    value, num = tbls[diff][int(rnd() * TABLE)]
                    mid += 1
                    append(f"{mid};{st.sid}{prefix}{value}{suffix}")
                    cd -= 1
                    if cd == 0:
                        cd = self._gap()
                        later = min(last, idx + 1 + int(rnd() * 5))
                        if later == idx:
                            num_n, num_s, w_s, w_t, alive = self._count(
                                num, w, num_n, num_s, w_s, w_t, alive
                            )
                            continue
                        t2 = changed + timedelta(days=later - idx, minutes=5)
                        if rnd() < 0.4:  # deleted later
                            deleted += 1
                            self.pending_marks.setdefault(later, []).append(
                                (mid, st.sid, org_id, cls, subj, d, value, kind, w, teacher,
                                 t2, True)
                            )  # fmt: skip
                            continue
                        new_num = (num + (1 if num < 5 else -1)) if num >= 2 else 4
                        self.pending_marks.setdefault(later, []).append(
                            (mid, st.sid, org_id, cls, subj, d, str(new_num), kind, w, teacher,
                             t2, False)
                        )  # fmt: skip
                        num = new_num
                    alive += 1
                    if num:
                        num_n += 1
                        num_s += num
                        w_s += num * w
                        w_t += w
            stats[0] += alive
            stats[1] += num_n
            stats[2] += num_s
            stats[3] += w_s
            stats[4] += w_t
            stats[5] += deleted
            yield lines
        self.mark_id = mid
        self._countdown = cd

    @staticmethod
    def _count(
        num: int, w: int, num_n: int, num_s: int, w_s: int, w_t: int, alive: int
    ) -> tuple[int, int, int, int, int]:
        alive += 1
        if num:
            return num_n + 1, num_s + num, w_s + num * w, w_t + w, alive
        return num_n, num_s, w_s, w_t, alive

    # -- final marks -----------------------------------------------------------------------
    def final_marks(self, idx: int, d: date, ds: DateFmt) -> Iterator[list[str]]:
        """Lines of the final-marks file of extract day `d`, a class at a time."""
        y = school_year_of(d)
        _, ends = self._year_info(y)
        todo = ends.get(d, [])
        if todo:
            yield from self._final(idx, d, y, todo, ds)
        # a late record keeps its date; a correction is dated the day it is sent
        pending = self.pending_final.pop(idx, [])
        for i in range(0, len(pending), CHUNK):
            yield [
                f"{sid};{org};{year};{period};{subj};{value};{ds(given or d)}"
                for sid, org, year, period, subj, value, given in pending[i : i + CHUNK]
            ]

    def _final(
        self,
        idx: int,
        d: date,
        y: int,
        todo: list[tuple[str, str, int]],
        ds: DateFmt,
    ) -> Iterator[list[str]]:
        rng = self.rng
        gauss = rng.gauss
        last = len(self.region.extract_days) - 1
        label = year_label(y)
        wanted: dict[tuple[str, int], list[str]] = {}
        for scheme, period, grade in todo:
            wanted.setdefault((scheme, grade), []).append(period)
        for group in self.groups:
            g = group.grade
            periods = wanted.get((group.org.scheme if g < 10 else "quarters", g), [])
            periods = periods + wanted.get(("*", g), [])
            if not periods:
                continue
            roster = group.roster_on(d)
            org = group.org
            lines: list[str] = []
            for st, _ in roster:
                repeated = "repeated" in st.facts.get(y, ())
                excellent = y in st.excellent
                for period in periods:
                    values = self._student_period(st, org, g, period, repeated, excellent, gauss)
                    att_key = (y, org.org_id, g, period)
                    att = self.attestation.get(att_key)
                    if att is None:
                        att = self.attestation[att_key] = Attestation()
                    finals: list[str] = []
                    target = lines if rng.random() < 0.7 else None
                    later_idx = min(last, idx + 1)
                    if target is None and later_idx == idx:
                        target = lines
                    for subj, value in values:
                        final = value
                        rec_value = value
                        if (
                            period not in ("Год", "Экзамен", "Итоговая")
                            and value.isdigit()
                            and rng.random() < 0.005
                            and idx + 2 <= last
                        ):
                            final = str(int(value) + 1) if value != "5" else "4"
                            when = idx + 2 + int(rng.random() * 6)
                            self.pending_final.setdefault(min(last, when), []).append(
                                (st.sid, org.org_id, label, period, subj, final, None)
                            )
                        finals.append(final)
                        if target is not None:
                            target.append(
                                f"{st.sid};{org.org_id};{label};{period};{subj};{rec_value};{ds(d)}"
                            )
                        else:
                            self.pending_final.setdefault(later_idx, []).append(
                                (st.sid, org.org_id, label, period, subj, rec_value, d)
                            )
                    att.add(finals)
            yield lines

    def _student_period(
        self,
        st: Student,
        org: Org,
        grade: int,
        period: str,
        repeated: bool,
        excellent: bool,
        gauss: Callable[[float, float], float],
    ) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        level = st.ability + org.effect
        if period in ("Экзамен", "Итоговая"):
            for subj in EXAM_SUBJECTS:
                v = round(level + gauss(0.0, 0.5) - 0.2)
                v = min(5, max(3, v))
                if repeated and subj == "Математика":
                    v = 2
                out.append((subj, str(v)))
            return out
        year_mark = period == "Год"
        fails_left = (1 if st.idx % 2 else 2) if (repeated and year_mark) else 0
        for subj, _, diff in subjects_for(grade):
            if subj == "Физическая культура" and st.disabled:
                out.append((subj, "осв"))
                continue
            if excellent and year_mark:
                out.append((subj, "5"))
                continue
            if fails_left and diff == 0:
                fails_left -= 1
                out.append((subj, "2"))
                continue
            v = round(level + 0.2 + DIFFICULTY[diff] + gauss(0.0, 0.3 if year_mark else 0.35))
            v = min(5, max(3 if year_mark else 2, v))
            if not year_mark and self.rng.random() < 0.002:
                out.append((subj, "н/а"))
                continue
            out.append((subj, str(v)))
        extra = PASS_FAIL.get(grade)
        if extra and (grade == 4 or year_mark or period.endswith("полугодие")):
            ok = excellent or self.rng.random() >= 0.005 or year_mark
            out.append((extra, "зач" if ok else "незач"))
        return out
