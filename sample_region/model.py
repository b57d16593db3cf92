"""The region model: territory, organizations, students and the movements that make up their
school lives, simulated year by year. Everything the files say and everything the manifest
claims comes from the objects built here.

Main-program events follow these rules (the files' `Дата события`):
- admissions to grade 1, to grade 10 elsewhere, to a college and to a kindergarten: the first
  school day of September; new pupils from outside the region and kindergarten children also
  arrive during the year;
- year-end promotions (`Перевод в следующий класс`) and repeats (`Оставлен на повторное обучение`):
  the last weekday of May, except grade 9 and colleges, whose orders are dated the last weekday
  of June, the date of `Выпуск` after grade 9 and grade 11;
- transfers: `Отчисление` with reason `перевод в другую ОО` and the announced `ОО назначения`,
  then `Зачисление` at the receiving school 1–7 weekdays later (or never, or elsewhere).
"""

from __future__ import annotations

import bisect
import math
import random
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from typing import TypeVar

from sample_region import names
from sample_region.calendar import (
    ONE_DAY,
    SchoolYear,
    age_on,
    extract_days,
    on_or_after_weekday,
    on_or_before_weekday,
    school_year_of,
    summer_excluded_days,
)
from sample_region.identifiers import make_guid, make_inn, make_kpp, make_ogrn, make_snils

T = TypeVar("T")

#: Days a child may be away between two enrolments before counting as lost (summer excluded).
MATCH_WINDOW_DAYS = 30

SCHOOL = "Общеобразовательная организация"
PRESCHOOL = "Дошкольная образовательная организация"
COLLEGE = "Профессиональная образовательная организация"
DOP_ORG = "Организация дополнительного образования"

DIRECTIONS = (
    "техническая",
    "естественнонаучная",
    "физкультурно-спортивная",
    "художественная",
    "туристско-краеведческая",
    "социально-гуманитарная",
)

ADMIT = "Зачисление"
PROMOTE = "Перевод в следующий класс"
REPEAT = "Оставлен на повторное обучение"
EXIT = "Отчисление"
GRADUATE = "Выпуск"
RESTORE = "Восстановление"
EVENT_TYPES = (ADMIT, PROMOTE, REPEAT, EXIT, GRADUATE, RESTORE)

R_TRANSFER = "перевод в другую ОО"
R_MOVED = "смена места жительства"
R_OWN = "по инициативе обучающегося"
R_ORG = "по инициативе ОО"
R_DONE = "завершение обучения"
R_FAMILY = "переход на семейное образование"
R_OTHER = "иное"

#: Yearly trajectory classes of a general-education student, in the order the first match wins.
TRAJECTORY_CLASSES = (
    ("graduated", "graduated from grade 11 (secondary general education received)"),
    ("continued", "stayed in the same organization all year: promoted, or still enrolled on the "
     "last extract date"),
    ("repeated", "kept down to repeat the grade (`Оставлен на повторное обучение`)"),
    ("reorganized", "moved with a reorganized organization to its successor (not a transfer)"),
    ("transfer_within_municipality", "arrived at another organization of the same municipality"),
    ("transfer_to_other_municipality", "arrived at an organization of another municipality"),
    ("grade9_to_grade10_elsewhere", "completed grade 9 and was admitted to grade 10 elsewhere"),
    ("to_vocational", "completed grade 9 and was admitted to a college (СПО)"),
    ("to_family_education", "left with reason `переход на семейное образование`"),
    ("left_region", "left with reason `смена места жительства` and was admitted nowhere"),
    ("left_lawfully", "left at 15 or older before completing grade 9, with consent (reason "
     "`по инициативе обучающегося`), admitted nowhere"),
    ("lost", "under 18, without secondary general education, left a main program and was "
     "admitted nowhere within the matching window"),
    ("undetermined", "left at the end of the year, and the matching window was still open on "
     "the last extract date"),
)  # fmt: skip
CLASS_ORDER = tuple(name for name, _ in TRAJECTORY_CLASSES)

SUBJECT_PROGRAM = {"НОО": "ООП НОО", "ООО": "ООП ООО", "СОО": "ООП СОО", "ДО": "ОП ДО"}
SPO_PROGRAMS = (
    ("09.02.07", "ИС", 4),
    ("43.02.15", "ПК", 4),
    ("15.02.16", "ТМ", 4),
    ("35.02.16", "ЭР", 3),
    ("38.02.01", "ЭБ", 3),
    ("44.02.02", "ПНК", 4),
)
LETTERS = "АБВГДЕЖИКЛМН"

#: Repeat rates by grade (published: 0.36 % overall; grade 9 34 % of cases, grade 1 17 %,
#: grade 4 11 %, the rest spread over the other grades).
REPEAT_RATE = {
    1: 0.0062, 2: 0.0020, 3: 0.0020, 4: 0.0040, 5: 0.0020, 6: 0.0020, 7: 0.0020,
    8: 0.0020, 9: 0.0124, 10: 0.0020, 11: 0.0,
}  # fmt: skip
#: Multipliers: rural 0.5 % vs urban 0.2 % around the 0.36 % mean; private a quarter of state.
REPEAT_RURAL, REPEAT_URBAN, REPEAT_PRIVATE = 0.5 / 0.36, 0.2 / 0.36, 0.25

#: Overrides of a version of an event: none (the record as it is), or a tombstone. Shared by
#: every event, like the other values the model holds many times over: read, never changed.
AS_IS: Mapping[str, object] = MappingProxyType({})
DELETED: Mapping[str, object] = MappingProxyType({"deleted": True})
NO_FACTS: Mapping[int, set[str]] = MappingProxyType({})
SINCE_EVER = date(1900, 1, 1)


def program_of(grade: int) -> str:
    return "НОО" if grade <= 4 else "ООО" if grade <= 9 else "СОО"


@dataclass
class Municipality:
    code: str  # 5 digits: what an education department covers
    oktmo: str  # 8 digits: the municipality's centre
    name: str
    urban: bool
    settlements: list[str] = field(default_factory=list)


@dataclass
class DopProgram:
    org_id: str
    code: str
    direction: str
    groups: int


@dataclass
class Org:
    org_id: str
    kind: str  # school, preschool, college, dop
    type_label: str
    ownership: str
    full_name: str
    short_name: str
    inn: str
    kpp: str
    ogrn: str
    oktmo: str
    muni: Municipality
    opened: date
    parent_id: str = ""
    grades: tuple[int, ...] = ()
    size: int = 0
    scheme: str = "quarters"
    effect: float = 0.0
    n_classes: dict[int, int] = field(default_factory=dict)
    g1_target: int = 0
    programs: list[DopProgram] = field(default_factory=list)
    final_status: str = "действующая"
    closed: date | None = None
    suspended: bool = False

    @property
    def urban(self) -> bool:
        return self.muni.urban

    def status_on(self, d: date) -> tuple[str, date | None]:
        """The registry's `Статус` and `Дата закрытия` as of `d`."""
        if self.closed is not None and self.closed <= d:
            return self.final_status, self.closed
        if self.suspended:
            return "приостановлена", None
        return "действующая", None


class Event:
    """One movement as the registry holds it; `versions` lists how it reached the files."""

    __slots__ = (
        "cancelled",
        "cls",
        "code",
        "date",
        "defect",
        "dest",
        "direction",
        "eid",
        "extract",
        "form",
        "grade",
        "order_date",
        "order_no",
        "org",
        "program",
        "reason",
        "student",
        "type",
        "versions",
    )  # fmt: skip

    def __init__(
        self,
        eid: str,
        student: Student,
        org: str,
        etype: str,
        d: date,
        program: str,
        grade: int | None,
        cls: str,
        reason: str = "",
        dest: str = "",
        direction: str = "",
        code: str = "",
        form: str = "очная",
    ) -> None:
        self.eid = eid
        self.student = student
        self.org = org
        self.type = etype
        self.date = d
        self.program = program
        self.direction = direction
        self.code = code
        self.grade = grade
        self.cls = cls
        self.form = form
        self.reason = reason
        self.dest = dest
        self.order_no = ""
        self.order_date = d
        self.cancelled = False
        self.extract = -1
        # (extract index, overrides) for each time the record is sent; filled by the model.
        self.versions: tuple[tuple[int, Mapping[str, object]], ...] = ()
        self.defect = ""


class Student:
    """A person in the registry: attributes, events and yearly facts."""

    __slots__ = (
        "ability",
        "birth",
        "citizenship",
        "cur",
        "disabled",
        "dop",
        "entry",
        "events",
        "excellent",
        "facts",
        "first",
        "idx",
        "kind",
        "last",
        "middle",
        "ovz",
        "registry",
        "residence",
        "sex",
        "sid",
        "snils",
    )  # fmt: skip

    def __init__(self, idx: int) -> None:
        self.idx = idx
        self.events: list[Event] = []
        self.facts: Mapping[int, set[str]] = NO_FACTS
        self.residence: tuple[tuple[date, str], ...] = ()
        self.cur: tuple[Org, int | None, str] | None = None
        self.dop: tuple[tuple[Org, DopProgram, str], ...] = ()
        self.registry = -1
        self.excellent: frozenset[int] = frozenset()
        self.kind = "school"

    def fact(self, year: int, name: str) -> None:
        facts = self.facts if isinstance(self.facts, dict) else {}
        facts.setdefault(year, set()).add(name)
        self.facts = facts

    def residence_on(self, d: date) -> str:
        value = self.residence[0][1]
        for since, code in self.residence:
            if since <= d:
                value = code
        return value


@dataclass
class Spell:
    """An enrolment interval: start ≤ D < end (end None = still enrolled)."""

    start: date
    end: date | None
    org: str
    program: str
    grade: int | None
    cls: str
    direction: str = ""
    code: str = ""

    def covers(self, d: date) -> bool:
        return self.start <= d and (self.end is None or d < self.end)


@dataclass(frozen=True)
class Shard:
    """A part of the region simulated on its own: the students of the schools `schools` (org
    IDs) when the first year begins, those who enter them later (from their municipalities'
    kindergartens, from outside the region), and a share of the colleges' students. They may
    move anywhere in the region; every part has the whole region's organizations."""

    number: int
    schools: frozenset[str]


@dataclass
class Params:
    students: int
    years: int
    seed: int
    until: date
    dirty: float = 0.0


class Region:
    """Builds the region for the given parameters and simulates it, whole or one part of it
    (`shard`)."""

    def __init__(self, params: Params, simulate: bool = True, shard: Shard | None = None) -> None:
        self.p = params
        self.shard = shard
        self.rng = random.Random(f"{params.seed}:model")
        self.last_year = school_year_of(params.until)
        self.first_year = self.last_year - params.years + 1
        self._years: dict[int, SchoolYear] = {}
        self.first_extract = self.year(self.first_year).first_day
        self.last_extract = on_or_before_weekday(params.until)
        if self.last_extract < self.first_extract:
            raise ValueError("`until` falls before the first school day of the first year")
        self.extract_days = extract_days(self.first_extract, self.last_extract)
        self.snapshot_idx = [
            i for i, d in enumerate(self.extract_days) if i == 0 or d.weekday() == 0
        ]
        self.munis: list[Municipality] = []
        self.orgs: list[Org] = []
        self.org_by_id: dict[str, Org] = {}
        self.students: list[Student] = []
        self.reorg: tuple[Org, Org, date] | None = None
        self.closure: tuple[Org, date] | None = None
        self.cases: dict[str, list[str]] = {}
        self._busy: set[int] = set()
        self._org_seq = 0
        self._order_seq = 0
        self._spo: dict[int, DopProgram] = {}  # college students' programs
        self._shared: dict[object, object] = {}  # equal values the events and students share
        self._kg_leavers: list[Student] = []
        self._territory()
        self._organizations()
        # the municipalities with schools of this part, and its share of the region's students
        self.own_munis = [
            m for m in self.munis
            if any(o.muni is m and self.own(o) for o in self.orgs if o.kind == "school")
        ]  # fmt: skip
        self.share = 1.0
        if shard is not None:
            self.rng = random.Random(f"{params.seed}:model:part-{shard.number}")
            counts = self.initial_by_school()
            self.share = sum(counts[o] for o in shard.schools) / sum(counts.values())
        if simulate:
            self.build()

    def initial_by_school(self) -> dict[str, int]:
        """Students of each school when the first school year begins."""
        out: dict[str, int] = {}
        for org, _, count in self._initial:
            out[org.org_id] = out.get(org.org_id, 0) + count
        return out

    def shards(self, limit: int) -> list[Shard | None]:
        """The parts to simulate one at a time: schools in the registry's order (municipality
        by municipality), grouped while their students stay within `limit`; `[None]` (the whole
        region at once) when the region is within `limit`."""
        if self.p.students <= limit:
            return [None]
        groups: list[list[str]] = [[]]
        size = 0
        for org_id, n in self.initial_by_school().items():
            if groups[-1] and size + n > limit:
                groups.append([])
                size = 0
            groups[-1].append(org_id)
            size += n
        if len(groups) == 1:
            return [None]
        return [Shard(i, frozenset(g)) for i, g in enumerate(groups)]

    def own(self, org: Org) -> bool:
        """Whether `org` is a school of this part (every school when the region is whole)."""
        return self.shard is None or org.org_id in self.shard.schools

    # -- helpers ---------------------------------------------------------------------------
    def year(self, y: int) -> SchoolYear:
        if y not in self._years:
            self._years[y] = SchoolYear(y)
        return self._years[y]

    def shared(self, value: T) -> T:
        """One object for equal dates and equal residence histories."""
        return self._shared.setdefault(value, value)  # type: ignore[return-value]

    def case(self, kind: str, student: Student) -> None:
        self.cases.setdefault(kind, []).append(student.sid)

    def event(
        self,
        st: Student,
        etype: str,
        d: date,
        org: Org,
        grade: int | None,
        cls: str,
        program: str | None = None,
        **kw: str,
    ) -> Event | None:
        """Add an event to a student's history, unless it lies after the last extract date."""
        if d > self.last_extract:
            return None
        if program is None:
            program = program_of(grade) if grade is not None else "ДО"
        code = kw.pop("code", "") or SUBJECT_PROGRAM.get(program, "")
        ev = Event(
            make_guid(self.rng), st, org.org_id, etype, self.shared(d), program, grade,
            sys.intern(cls), code=code,
        )  # fmt: skip
        for key, value in kw.items():
            setattr(ev, key, value)
        self._order_seq += 1
        if etype in (ADMIT, EXIT, GRADUATE, RESTORE):
            no = f"{self._order_seq % 900 + 1}-{'уч' if org.kind == 'school' else 'к'}"
            ev.order_date = self.shared(d - timedelta(days=self.rng.randint(0, 6)))
        else:
            no = f"{self._order_seq % 900 + 1}-п"
            ev.order_date = self.shared(d - timedelta(days=self.rng.randint(0, 3)))
        ev.order_no = sys.intern(no)
        st.events.append(ev)
        return ev

    def new_org_id(self) -> str:
        self._org_seq += 1
        return str(700100 + self._org_seq * 7)

    # -- territory and organizations -------------------------------------------------------
    def build(self) -> None:
        """Populate the first school year and simulate every year to the last extract."""
        self._populate()
        for y in range(self.first_year, self.last_year + 1):
            self._simulate_year(y)
        self._finalize()

    def _territory(self) -> None:
        n = self.p.students
        n_muni = min(40, max(3, round(n / 1250)))
        n_urban = max(1, round(n_muni * 0.25))
        rng = self.rng
        region = names.REGION_CODE
        for i in range(n_muni):
            urban = i < n_urban
            if urban:
                code = f"{region}{701 + i:03d}"
                town = names.TOWNS[i % len(names.TOWNS)]
                name = f"городской округ город {town}"
                oktmo = f"{code}000"
                settlements = [oktmo, f"{code}{rng.randint(401, 499)}"]
            else:
                j = i - n_urban
                code = f"{region}{610 + 3 * j:03d}"
                name = f"{names.DISTRICTS[j % len(names.DISTRICTS)]} муниципальный район"
                oktmo = f"{code}151"
                villages = sorted(rng.sample(range(404, 480), 6))
                settlements = [oktmo] + [f"{code}{v}{rng.randint(101, 120)}" for v in villages]
            self.munis.append(Municipality(code, oktmo, name, urban, settlements))

    def _org(
        self,
        kind: str,
        type_label: str,
        muni: Municipality,
        full: str,
        short: str,
        ownership: str = "муниципальная",
        oktmo: str | None = None,
        **kw: object,
    ) -> Org:
        rng = self.rng
        region = names.REGION_CODE
        opened = date(rng.randint(1958, 2016), rng.randint(1, 12), 1)
        org = Org(
            org_id=self.new_org_id(),
            kind=kind,
            type_label=type_label,
            ownership=ownership,
            full_name=full,
            short_name=short,
            inn=make_inn(rng, region),
            kpp=make_kpp(region, rng),
            ogrn=make_ogrn(rng, region, max(2002, opened.year)),
            oktmo=oktmo or muni.oktmo,
            muni=muni,
            opened=opened,
            **kw,  # type: ignore[arg-type]
        )
        self.orgs.append(org)
        self.org_by_id[org.org_id] = org
        return org

    def _school(
        self, muni: Municipality, number: int, kind: str, size: int, village: str = ""
    ) -> Org:
        """kind: sosh (1–11), oosh (1–9), branch (1–4), private, lyceum."""
        rng = self.rng
        town = muni.name.split()[-1]
        if kind in ("sosh", "oosh") and village:
            label, abbr = ("Средняя", "СОШ") if kind == "sosh" else ("Основная", "ООШ")
            full = (
                f'Муниципальное бюджетное общеобразовательное учреждение "{label} '
                f'общеобразовательная школа с. {village}"'
            )
            short = f'МБОУ "{abbr} с. {village}"'
        elif kind == "private":
            full = f'Частное общеобразовательное учреждение "Школа "Горизонт" г. {town}"'
            short = 'ЧОУ "Школа "Горизонт""'
        elif kind == "lyceum":
            full = (
                "Государственное бюджетное общеобразовательное учреждение "
                f'"Лицей-интернат № {number}"'
            )
            short = f'ГБОУ "Лицей-интернат № {number}"'
        elif kind == "branch":
            full = f"{village} начальная школа – филиал"
            short = f"{village} НШ (филиал)"
        else:
            full = (
                "Муниципальное автономное общеобразовательное учреждение "
                f'"Средняя общеобразовательная школа № {number}"'
            )
            short = f'МАОУ "СОШ № {number}"'
        grades = {
            "sosh": tuple(range(1, 12)),
            "oosh": tuple(range(1, 10)),
            "branch": (1, 2, 3, 4),
            "private": tuple(range(1, 12)),
            "lyceum": tuple(range(1, 12)),
        }[kind]
        ownership = {"private": "частная", "lyceum": "государственная"}.get(kind, "муниципальная")
        oktmo = muni.oktmo
        if village and not muni.urban:
            oktmo = muni.settlements[1 + number % (len(muni.settlements) - 1)]
        effect = rng.gauss(0.0, 0.18) + (0.15 if kind in ("private", "lyceum") else 0.0)
        return self._org(
            "school",
            SCHOOL,
            muni,
            full,
            short,
            ownership=ownership,
            oktmo=oktmo,
            grades=grades,
            size=size,
            scheme="trimesters" if rng.random() < 0.15 else "quarters",
            effect=effect,
        )

    def _organizations(self) -> None:
        rng = self.rng
        n = self.p.students
        urban_munis = [m for m in self.munis if m.urban]
        rural_munis = [m for m in self.munis if not m.urban]
        urban_total = round(n * 0.62) if rural_munis else n
        quotas = {m.code: urban_total / len(urban_munis) for m in urban_munis}
        for m in rural_munis:
            quotas[m.code] = (n - urban_total) / len(rural_munis)
        number = 0
        for mi, muni in enumerate(self.munis):
            q = quotas[muni.code]
            left = q
            if muni.urban:
                if mi == 0 and n >= 2500:
                    size = round(min(250, q * 0.08))
                    self._school(muni, 0, "private", size)
                    left -= size
                    size = round(min(500, q * 0.1))
                    number += 1
                    self._school(muni, number, "lyceum", size)
                    left -= size
                target = max(150.0, min(1000.0, q / 3))
                while left >= 1:
                    size = round(target * rng.uniform(0.75, 1.25))
                    if left - size < target * 0.4:
                        size = round(left)
                    number += 1
                    self._school(muni, number, "sosh", max(size, 1))
                    left -= max(size, 1)
            else:
                villages = rng.sample(names.VILLAGES, len(names.VILLAGES))
                pattern = ("oosh", "branch", "sosh", "oosh", "sosh", "branch")
                centre_size = round(q * 0.4)
                self._school(muni, 1, "sosh", centre_size, village=villages[0])
                left -= centre_size
                k = 0
                parent: Org | None = None
                while left >= 1:
                    kind = pattern[k % len(pattern)]
                    share = {"sosh": 0.25, "oosh": 0.15, "branch": 0.05}[kind]
                    size = max(8, round(q * share * rng.uniform(0.8, 1.2)))
                    if left - size < q * 0.04:
                        size = round(left)
                    k += 1
                    village = villages[k % len(villages)] + (
                        f"-{k // len(villages) + 1}" if k >= len(villages) else ""
                    )
                    school = self._school(muni, k + 1, kind, max(size, 1), village=village)
                    if kind == "branch":
                        school.parent_id = parent.org_id if parent else self.orgs[-2].org_id
                    elif kind == "sosh":
                        parent = school
                    left -= max(size, 1)
        self._kindergartens_colleges_dop()
        self._assign_counts()
        self._plan_reorganization()

    def _kindergartens_colleges_dop(self) -> None:
        rng = self.rng
        n = self.p.students
        for muni in self.munis:
            schools = [o for o in self.orgs if o.kind == "school" and o.muni is muni]
            count = max(1, round(len(schools) / 2))
            for k in range(count):
                full = (
                    "Муниципальное бюджетное дошкольное образовательное учреждение "
                    f'"Детский сад № {k + 1}" ({muni.name})'
                )
                self._org("preschool", PRESCHOOL, muni, full, f'МБДОУ "Детский сад № {k + 1}"')
        first = self.munis[0]
        kg = self._org(
            "preschool",
            PRESCHOOL,
            first,
            'Частное дошкольное образовательное учреждение "Детский сад "Теремок""',
            'ЧДОУ "Теремок"',
            ownership="частная",
        )
        kg.suspended = True
        urban = [m for m in self.munis if m.urban]
        n_colleges = max(1, round(n / 8000))
        specs = list(SPO_PROGRAMS)
        for k in range(n_colleges):
            muni = urban[k % len(urban)]
            full = (
                "Государственное бюджетное профессиональное образовательное учреждение "
                f'"Колледж № {k + 1}"'
            )
            college = self._org(
                "college", COLLEGE, muni, full, f'ГБПОУ "Колледж № {k + 1}"', "государственная"
            )
            college.programs = [
                DopProgram(college.org_id, code, abbr, length)
                for code, abbr, length in (specs[k % 6], specs[(k + 2) % 6], specs[(k + 4) % 6])
            ]
        titles = ("Центр детского творчества", "Спортивная школа", "Станция юных техников")
        for mi, muni in enumerate(self.munis):
            title = titles[mi % len(titles)]
            full = (
                "Муниципальное бюджетное учреждение дополнительного образования "
                f'"{title}" ({muni.name})'
            )
            dop = self._org("dop", DOP_ORG, muni, full, f'МБУ ДО "{title}"')
            offset = rng.randrange(6)
            count = 6 if mi == 0 else rng.randint(4, 8)
            dop.programs = [
                DopProgram(
                    dop.org_id,
                    f"ДООП-{dop.org_id[-4:]}-{j + 1:02d}",
                    DIRECTIONS[(offset + j) % 6],
                    rng.randint(2, 6),
                )
                for j in range(count)
            ]
        for org in self.orgs:
            if org.kind == "school":
                club_dirs = ("физкультурно-спортивная", "художественная", "социально-гуманитарная")
                org.programs = [
                    DopProgram(org.org_id, f"ДООП-{org.org_id[-4:]}-{j + 1:02d}", club_dirs[j], 2)
                    for j in range(1 if org.size < 100 else 2)
                ]

    def _assign_counts(self) -> None:
        """Split the region's students over schools and grades (largest remainder)."""
        schools = [o for o in self.orgs if o.kind == "school"]
        raw: list[tuple[Org, int, float]] = []
        for s in schools:
            weights = {g: (0.55 if g >= 10 else 1.0) for g in s.grades}
            total = sum(weights.values())
            for g in s.grades:
                raw.append((s, g, s.size * weights[g] / total))
        scale = self.p.students / sum(r for _, _, r in raw)
        counts = [math.floor(r * scale) for _, _, r in raw]
        short = self.p.students - sum(counts)
        order = sorted(range(len(raw)), key=lambda i: (-(raw[i][2] * scale - counts[i]), i))
        for i in order[:short]:
            counts[i] += 1
        self._initial: list[tuple[Org, int, int]] = []
        for (s, g, _), c in zip(raw, counts, strict=True):
            s.n_classes[g] = max(1, math.ceil(c / 25))
            if g == 1:
                s.g1_target = c
            self._initial.append((s, g, c))

    def _plan_reorganization(self) -> None:
        """One school merged into another of its municipality, and one school closed."""
        start, end = self.first_extract, self.last_extract - timedelta(days=45)
        if end <= start + timedelta(days=20):
            return
        span = (end - start).days
        r_date = on_or_after_weekday(start + timedelta(days=round(span * 0.45)))
        k_date = on_or_after_weekday(start + timedelta(days=round(span * 0.7)))
        if k_date.month in (6, 7, 8):
            k_date = on_or_after_weekday(date(k_date.year, 9, 10))
        if r_date.month in (6, 7, 8):
            r_date = on_or_after_weekday(date(r_date.year, 9, 10))
        if max(r_date, k_date) > end:
            return
        for muni in self.munis:
            schools = [o for o in self.orgs if o.kind == "school" and o.muni is muni]
            oosh = [s for s in schools if s.grades == tuple(range(1, 10))]
            sosh = [s for s in schools if 11 in s.grades and s.ownership == "муниципальная"]
            if oosh and sosh and self.reorg is None:
                a, b = oosh[0], sosh[0]
                a.final_status, a.closed = "реорганизована", r_date
                self.reorg = (a, b, r_date)
                continue
            branches = [s for s in schools if s.grades == (1, 2, 3, 4)]
            if branches and self.closure is None and len(schools) >= 3:
                c = branches[0]
                c.final_status, c.closed = "ликвидирована", k_date
                self.closure = (c, k_date)
        if self.closure is None:  # a school in an urban municipality then
            for muni in self.munis:
                schools = [o for o in self.orgs if o.kind == "school" and o.muni is muni]
                cands = [s for s in schools if s.closed is None and s.ownership == "муниципальная"]
                if len(cands) >= 3:
                    c = min(cands, key=lambda s: (s.size, s.org_id))
                    c.final_status, c.closed = "ликвидирована", k_date
                    self.closure = (c, k_date)
                    break

    # -- people ----------------------------------------------------------------------------
    def new_student(self, entry_year: int, muni: Municipality, kind: str = "school") -> Student:
        """A new person born so as to enter grade 1 in September of `entry_year`."""
        rng = self.rng
        st = Student(len(self.students))
        st.kind = kind
        st.entry = entry_year
        st.sid = make_guid(rng)
        st.sex = "М" if rng.random() < 0.51 else "Ж"
        r = rng.random()
        if r < 0.982:
            st.citizenship = "643"
        elif r < 0.997:
            st.citizenship = names.FOREIGN[rng.randrange(len(names.FOREIGN))][0]
        else:
            st.citizenship = ""
        has_snils = rng.random() < (0.995 if st.citizenship == "643" else 0.2)
        st.snils = make_snils(rng) if has_snils else ""
        st.last, st.first, st.middle = names.person_name(rng, st.sex, st.citizenship)
        span = (date(entry_year - 6, 2, 28) - date(entry_year - 7, 3, 1)).days
        st.birth = date(entry_year - 7, 3, 1) + timedelta(days=rng.randint(0, span))
        st.disabled = rng.random() < 0.018
        st.ovz = rng.random() < (0.6 if st.disabled else 0.0338)
        st.ability = min(5.0, max(2.3, rng.gauss(3.85, 0.55) - (0.25 if st.ovz else 0.0)))
        home = muni.oktmo if rng.random() < 0.8 else rng.choice(muni.settlements)
        st.residence = self.shared(((SINCE_EVER, home),))
        self.students.append(st)
        return st

    def _populate(self) -> None:
        """The students enrolled when the first school year begins, with their history."""
        rng = self.rng
        y0 = self.first_year
        for org, g, count in self._initial:
            if not self.own(org):
                continue
            for k in range(count):
                letter = LETTERS[k % org.n_classes[g]]
                st = self.new_student(y0 - (g - 1), org.muni)
                if g == 1:  # admitted on the first school day of the first year
                    self.event(st, ADMIT, self.year(y0).first_day, org, 1, f"1{letter}")
                    st.cur = (org, 1, f"1{letter}")
                    continue
                if g >= 10 and (rng.random() < 0.3 or 9 not in org.grades):
                    g0 = 10
                elif g <= 9 and rng.random() < 0.12:
                    g0 = rng.randint(2, g)
                else:
                    g0 = 1
                y = y0 - (g - g0)
                self.event(st, ADMIT, self.year(y).first_day, org, g0, f"{g0}{letter}")
                for grade in range(g0, g):
                    sy = self.year(y0 - (g - grade))
                    d = sy.graduation_date if grade == 9 else sy.promotion_date
                    self.event(st, PROMOTE, d, org, grade + 1, f"{grade + 1}{letter}")
                st.cur = (org, g, f"{g}{letter}")
        # kindergarten children who start school next September
        for muni in self.own_munis:
            self._kindergarten_intake(muni, y0 + 1, historical=True)
        # college students, courses 1-3
        colleges = [o for o in self.orgs if o.kind == "college"]
        cohort = self.p.students * self.share / 10.1
        for course in (1, 2, 3):
            for k in range(round(cohort * 0.3)):
                college = colleges[k % len(colleges)]
                spec = college.programs[k % len(college.programs)]
                muni = rng.choice(self.own_munis)
                st = self.new_student(y0 - course - 8, muni, kind="college")
                start_year = y0 - course + 1
                group = f"{spec.direction}-{start_year % 100}"
                self.event(
                    st, ADMIT, self.year(start_year).first_day, college, 1, group, "СПО",
                    code=spec.code,
                )  # fmt: skip
                for c in range(1, course):
                    d = self.year(start_year + c - 1).graduation_date
                    self.event(st, PROMOTE, d, college, c + 1, group, "СПО", code=spec.code)
                st.cur = (college, course, group)
                st.dop = ()
                self._spo[st.idx] = spec

    def _kindergarten_intake(
        self, muni: Municipality, entry_year: int, historical: bool = False
    ) -> list[Student]:
        """Kindergarten children of one cohort (those entering school in `entry_year`)."""
        rng = self.rng
        kgs = [o for o in self.orgs if o.kind == "preschool" and o.muni is muni and not o.suspended]
        cohort = sum(
            o.g1_target for o in self.orgs if o.kind == "school" and o.muni is muni and self.own(o)
        )
        out = []
        year = entry_year - 2  # the school year in which they enter the model's kindergartens
        sy = self.year(year)
        late_days = [d for d in sy.lesson_days if d <= self.last_extract - timedelta(days=20)]
        for k in range(round(cohort * 0.6)):
            kg = kgs[k % len(kgs)]
            st = self.new_student(entry_year, muni, kind="preschool")
            group = f"Группа {1 + k % 4}"
            if historical:
                d = self.year(entry_year - 4).first_day
            elif k % 10 < 7 or not late_days:
                d = sy.first_day
            else:
                d = rng.choice(late_days)
            if self.event(st, ADMIT, d, kg, None, group, "ДО") is None:
                self.students.pop()
                continue
            st.cur = (kg, None, group)
            out.append(st)
        return out

    # -- simulation ------------------------------------------------------------------------
    def _schools(self, y: int, grade: int, muni: Municipality | None = None) -> list[Org]:
        """Schools that teach `grade` all through school year `y`, optionally in one muni."""
        out = []
        for o in self.orgs:
            if o.kind != "school" or grade not in o.grades:
                continue
            if o.closed is not None and school_year_of(o.closed) <= y:
                continue
            if muni is not None and o.muni is not muni:
                continue
            out.append(o)
        return out

    def _weighted_school(self, schools: list[Org], grade: int) -> Org:
        weights = [max(1, o.size) for o in schools]
        return self.rng.choices(schools, weights)[0]

    def _class_at(self, org: Org, grade: int) -> str:
        n = org.n_classes.get(grade, 1)
        return f"{grade}{LETTERS[self.rng.randrange(n)]}"

    def _leave(self, st: Student, d: date, reason: str, y: int, fact: str | None) -> None:
        """Exit from the main program (not a transfer), closing additional programs too."""
        org, grade, cls = st.cur  # type: ignore[misc]
        self.event(st, EXIT, d, org, grade, cls, reason=reason)
        st.cur = None
        if fact:
            st.fact(y, fact)
        for dop_org, prog, group in st.dop:
            self.event(
                st, EXIT, d, dop_org, None, group, "ДОП", reason=R_OWN,
                direction=prog.direction, code=prog.code,
            )  # fmt: skip
        st.dop = ()

    def _transfer(
        self, st: Student, d: date, y: int, announced: Org, arrival: Org | None, fact: bool = True
    ) -> None:
        org, grade, cls = st.cur  # type: ignore[misc]
        self.event(st, EXIT, d, org, grade, cls, reason=R_TRANSFER, dest=announced.org_id)
        st.cur = None
        if arrival is None:
            return
        d2 = d
        for _ in range(self.rng.randint(1, 7)):
            d2 = on_or_after_weekday(d2 + ONE_DAY)
        new_cls = self._class_at(arrival, grade)  # type: ignore[arg-type]
        self.event(st, ADMIT, d2, arrival, grade, new_cls)
        st.cur = (arrival, grade, new_cls)
        if arrival.muni is not org.muni:
            st.residence = (*st.residence, (self.shared(d2), arrival.oktmo))
        if fact:
            same = arrival.muni is org.muni
            st.fact(y, "transfer_within_municipality" if same else "transfer_to_other_municipality")

    def _simulate_year(self, y: int) -> None:
        sy = self.year(y)
        self._busy = set()
        excluded: set[str] = set()
        if y > self.first_year:
            self._intake(y)
        for muni in self.own_munis:
            self._kindergarten_intake(muni, y + 2)
        self._dop_enrol(y)
        if self.reorg and school_year_of(self.reorg[2]) == y:
            a, b, r_date = self.reorg
            excluded.add(a.org_id)
            for st in self.students:
                if st.cur and st.cur[0] is a:
                    _, grade, _ = st.cur
                    self.event(st, EXIT, r_date, a, grade, st.cur[2], reason=R_TRANSFER,
                               dest=b.org_id)  # fmt: skip
                    cls = self._class_at(b, grade)  # type: ignore[arg-type]
                    self.event(st, ADMIT, r_date, b, grade, cls)
                    st.cur = (b, grade, cls)
                    st.fact(y, "reorganized")
                    self._busy.add(st.idx)
        if self.closure and school_year_of(self.closure[1]) == y:
            c, k_date = self.closure
            excluded.add(c.org_id)
            for st in self.students:
                if st.cur and st.cur[0] is c:
                    grade = st.cur[1]
                    dests = [
                        o for o in self._schools(y, grade, c.muni)  # type: ignore[arg-type]
                        if o is not c and o.org_id not in excluded
                    ]  # fmt: skip
                    if c.parent_id and self.org_by_id[c.parent_id] in dests:
                        dest = self.org_by_id[c.parent_id]
                    else:
                        dest = self._weighted_school(dests, grade)  # type: ignore[arg-type]
                    self._transfer(st, k_date, y, dest, dest)
                    self._busy.add(st.idx)
        self._midyear(y, sy, excluded)
        if sy.promotion_date <= self.last_extract:
            self._year_end(y, sy)

    def _intake(self, y: int) -> None:
        """1 September of year `y`: kindergarten leavers and new children start grade 1."""
        d = self.year(y).first_day
        if d > self.last_extract:
            return
        for muni in self.own_munis:
            schools = [o for o in self._schools(y, 1, muni) if self.own(o)]
            leavers = [st for st in self._kg_leavers if st.residence_on(d)[:5] == muni.code]
            slots: list[Org] = []
            for s in schools:
                slots.extend([s] * s.g1_target)
            self.rng.shuffle(slots)
            for i, school in enumerate(slots):
                if i < len(leavers):
                    st = leavers[i]
                    st.kind = "school"
                else:
                    st = self.new_student(y, muni)
                cls = self._class_at(school, 1)
                if self.event(st, ADMIT, d, school, 1, cls) is not None:
                    st.cur = (school, 1, cls)
        self._kg_leavers = []

    def _dop_enrol(self, y: int) -> None:
        rng = self.rng
        sy = self.year(y)
        days = sy.lesson_days[:10]
        dop_by_muni: dict[str, list[Org]] = {}
        for o in self.orgs:
            if o.kind == "dop":
                dop_by_muni.setdefault(o.muni.code, []).append(o)
        for st in self.students:
            if st.kind != "school" or st.cur is None or rng.random() >= 0.6:
                continue
            school = st.cur[0]
            places = dop_by_muni.get(school.muni.code, [])
            first = rng.choice(places) if places and rng.random() < 0.65 else school
            picks = [first]
            if rng.random() < 0.15:
                others = [o for o in [*places, school] if o is not first]
                if others:
                    picks.append(rng.choice(others))
            for org in picks:
                prog = rng.choice(org.programs)
                group = f"Группа {rng.randint(1, prog.groups)}"
                d = rng.choice(days)
                ev = self.event(st, ADMIT, d, org, None, group, "ДОП",
                                direction=prog.direction, code=prog.code)  # fmt: skip
                if ev is not None:
                    st.dop = (*st.dop, (org, prog, group))

    def _midyear(self, y: int, sy: SchoolYear, excluded: set[str]) -> None:
        rng = self.rng
        lo = date(y, 9, 15)
        hi = min(date(y + 1, 4, 30), self.last_extract - timedelta(days=45))
        days = [d for d in sy.lesson_days if lo <= d <= hi]
        if not days:
            return
        pool = [
            st for st in self.students
            if st.kind == "school" and st.cur is not None and st.idx not in self._busy
        ]  # fmt: skip
        n = len(pool)
        multi_muni = len(self.munis) > 1
        quotas = {
            "transfer_within": max(2, round(0.02 * n)),
            "transfer_other": max(1, round(0.008 * n)) if multi_muni else 0,
            "elsewhere": max(1, round(0.002 * n)),
            "not_arrived": max(1, round(0.001 * n)),
            "left_region": max(1, round(0.01 * n)),
            "family": max(1, round(0.0015 * n)),
            "lawful": max(1, round(0.001 * n)),
            "lost": max(1, round(0.0005 * n)),
            "restored": max(1, round(0.001 * n)),
            "cancelled": max(1, round(0.001 * n)),
        }
        order = rng.sample(pool, len(pool))
        used: set[int] = set()

        def take(kind: str, ok) -> list[tuple[Student, date]]:  # type: ignore[no-untyped-def]
            out = []
            for st in order:
                if len(out) >= quotas[kind]:
                    break
                if st.idx in used:
                    continue
                d = rng.choice(days)
                if ok(st, d):
                    used.add(st.idx)
                    out.append((st, d))
            return out

        def grade(st: Student) -> int:
            return st.cur[1]  # type: ignore[index, return-value]

        def dests(st: Student, same_muni: bool | None) -> list[Org]:
            org = st.cur[0]  # type: ignore[index]
            return [
                o for o in self._schools(y, grade(st))
                if o is not org and o.org_id not in excluded
                and (same_muni is None or (o.muni is org.muni) == same_muni)
            ]  # fmt: skip

        # the special cases first, so that small regions always have them
        for st, d in take("lawful", lambda s, d: grade(s) <= 9 and age_on(s.birth, d) >= 15):
            self._leave(st, d, R_OWN, y, "left_lawfully")
            self.case("left_lawfully", st)
        for st, d in take("lost", lambda s, d: grade(s) <= 10 and age_on(s.birth, d) < 18):
            self._leave(st, d, R_ORG if age_on(st.birth, d) >= 15 else R_OTHER, y, "lost")
            self.case("lost", st)
        for st, d in take("not_arrived", lambda s, d: grade(s) <= 10 and bool(dests(s, True))):
            self._transfer(st, d, y, self._weighted_school(dests(st, True), 0), None)
            st.events[-1].defect = "transfer_not_arrived"
            st.fact(y, "lost")
            self._leave_dop(st, d)
            self.case("lost", st)
            self.case("transfer_not_arrived", st)
        for st, d in take("elsewhere", lambda s, d: len(dests(s, None)) >= 2):
            cands = dests(st, None)
            announced = self._weighted_school(cands, 0)
            rest = [o for o in cands if o is not announced]
            near = [o for o in rest if o.muni is announced.muni] or rest
            self._transfer(st, d, y, announced, self._weighted_school(near, 0))
            self.case("arrived_elsewhere", st)
        for st, d in take("transfer_other", lambda s, d: bool(dests(s, False))):
            dest = self._weighted_school(dests(st, False), 0)
            self._transfer(st, d, y, dest, dest)
            self.case("transfer_to_other_municipality", st)
        for st, d in take("transfer_within", lambda s, d: bool(dests(s, True))):
            dest = self._weighted_school(dests(st, True), 0)
            self._transfer(st, d, y, dest, dest)
        for st, _ in take("left_region", lambda s, d: True):
            self._leave(st, _, R_MOVED, y, "left_region")
        for st, d in take("family", lambda s, d: True):
            self._leave(st, d, R_FAMILY, y, "to_family_education")
            self.case("to_family_education", st)
        for st, d in take("restored", lambda s, d: True):
            org, g, cls = st.cur  # type: ignore[misc]
            self.event(st, EXIT, d, org, g, cls, reason=R_OWN)
            back = on_or_after_weekday(d + timedelta(days=rng.randint(7, 20)))
            self.event(st, RESTORE, back, org, g, cls)
            self.case("restored", st)
        for st, d in take("cancelled", lambda s, d: True):
            org, g, cls = st.cur  # type: ignore[misc]
            ev = self.event(st, EXIT, d, org, g, cls, reason=R_OWN)
            if ev is not None:
                ev.cancelled = True
                self.case("cancelled_exit", st)
        # newcomers from outside the region, grades 2–11
        schools = [o for o in self._schools(y, 2) if o.org_id not in excluded and self.own(o)]
        for _ in range(round(0.01 * n) if schools else 0):  # a part's schools may all close
            school = self._weighted_school(schools, 0)
            g = rng.choice([g for g in school.grades if g >= 2])
            st = self.new_student(y - (g - 1), school.muni)
            cls = self._class_at(school, g)
            if self.event(st, ADMIT, rng.choice(days), school, g, cls) is not None:
                st.cur = (school, g, cls)

    def _leave_dop(self, st: Student, d: date) -> None:
        for dop_org, prog, group in st.dop:
            self.event(st, EXIT, d, dop_org, None, group, "ДОП", reason=R_OWN,
                       direction=prog.direction, code=prog.code)  # fmt: skip
        st.dop = ()

    def _window_closed(self, exit_date: date) -> bool:
        d = exit_date
        while summer_excluded_days(exit_date, d) < MATCH_WINDOW_DAYS:
            d += timedelta(days=7)
        return d <= self.last_extract

    def _year_end(self, y: int, sy: SchoolYear) -> None:
        rng = self.rng
        next_first = self.year(y + 1).first_day
        grad = sy.graduation_date
        promo = sy.promotion_date
        colleges = [o for o in self.orgs if o.kind == "college"]
        repeaters: list[Student] = []
        # additional programs end with the school year
        for st in self.students:
            for dop_org, prog, group in st.dop:
                self.event(st, EXIT, promo, dop_org, None, group, "ДОП", reason=R_DONE,
                           direction=prog.direction, code=prog.code)  # fmt: skip
            st.dop = ()
        # kindergarten leavers and colleges
        for st in self.students:
            if st.cur is None:
                continue
            org, course, group = st.cur
            if st.kind == "preschool" and st.entry == y + 1:
                self.event(st, EXIT, promo, org, None, group, "ДО", reason=R_DONE)
                st.cur = None
                self._kg_leavers.append(st)
            elif st.kind == "college" and grad <= self.last_extract:
                spec = self._spo[st.idx]
                if course >= spec.groups:  # type: ignore[operator]
                    self.event(st, GRADUATE, grad, org, course, group, "СПО", code=spec.code)
                    st.cur = None
                else:
                    self.event(st, PROMOTE, grad, org, course + 1, group, "СПО",  # type: ignore[operator]
                               code=spec.code)  # fmt: skip
                    st.cur = (org, course + 1, group)  # type: ignore[operator]
        school_students = [st for st in self.students if st.kind == "school" and st.cur]

        # a guaranteed repeater in grades 2–8 (attested) when the draw gives none
        def repeat_p(st: Student) -> float:
            org, g, _ = st.cur  # type: ignore[misc]
            p = REPEAT_RATE[g] * (REPEAT_URBAN if org.urban else REPEAT_RURAL)  # type: ignore[index]
            return p * (REPEAT_PRIVATE if org.ownership == "частная" else 1.0)

        repeat = {st.idx for st in school_students if rng.random() < repeat_p(st)}
        attested = [
            st
            for st in school_students
            if 2 <= st.cur[1] <= 8  # type: ignore[index, operator]
        ]
        if attested and not any(st.idx in repeat for st in attested):
            repeat.add(rng.choice(attested).idx)
        forced = next((st for st in attested if st.idx in repeat), None)
        if forced is not None:
            org, g, _ = forced.cur  # type: ignore[misc]
            mates = [
                st for st in attested
                if st.cur[0] is org and st.idx not in repeat and st is not forced  # type: ignore[index]
            ]  # fmt: skip
            mates.sort(key=lambda s: (s.cur[1] != g, -s.ability))  # type: ignore[index]
            if mates:
                mates[0].excellent = mates[0].excellent | {y}
                self.case("forced_excellent", mates[0])
            self.case("forced_fail", forced)
        for st in school_students:
            org, g, cls = st.cur  # type: ignore[misc]
            letter = cls[len(str(g)) :]
            if g == 11:
                if grad > self.last_extract:
                    continue
                self.event(st, GRADUATE, grad, org, 11, cls)
                st.fact(y, "graduated")
                st.cur = None
                if rng.random() < 0.1 and colleges:
                    self._to_college(st, y, rng.choice(colleges), next_first, track=False)
                continue
            if g == 9:
                if grad > self.last_extract:
                    continue
                if st.idx in repeat:
                    self.event(st, REPEAT, grad, org, 9, cls)
                    st.fact(y, "repeated")
                    repeaters.append(st)
                    continue
                if 10 in org.grades and rng.random() < 0.52:
                    new_cls = f"10{LETTERS[min(LETTERS.index(letter), org.n_classes[10] - 1)]}"
                    self.event(st, PROMOTE, grad, org, 10, new_cls)
                    st.cur = (org, 10, new_cls)
                    continue
                self.event(st, GRADUATE, grad, org, 9, cls)
                st.cur = None
                r = rng.random()
                p_elsewhere = 0.21 if 10 in org.grades else 0.6
                if r < p_elsewhere:
                    cands = [o for o in self._schools(y + 1, 10, org.muni) if o is not org]
                    cands = cands or [o for o in self._schools(y + 1, 10) if o is not org]
                    if next_first > self.last_extract or not cands:
                        st.fact(y, "undetermined")
                        continue
                    dest = self._weighted_school(cands, 10)
                    new_cls = self._class_at(dest, 10)
                    self.event(st, ADMIT, next_first, dest, 10, new_cls)
                    st.cur = (dest, 10, new_cls)
                    st.fact(y, "grade9_to_grade10_elsewhere")
                elif r < 0.985 and colleges:
                    if next_first > self.last_extract:
                        st.fact(y, "undetermined")
                        continue
                    self._to_college(st, y, rng.choice(colleges), next_first, track=True)
                else:
                    st.fact(y, "lost" if self._window_closed(grad) else "undetermined")
                    if self._window_closed(grad):
                        self.case("lost_after_grade9", st)
                continue
            if st.idx in repeat:
                self.event(st, REPEAT, promo, org, g, cls)
                st.fact(y, "repeated")
                repeaters.append(st)
                continue
            if g + 1 in org.grades:
                n_next = org.n_classes.get(g + 1, 1)
                new_cls = f"{g + 1}{LETTERS[min(LETTERS.index(letter), n_next - 1)]}"
                self.event(st, PROMOTE, promo, org, g + 1, new_cls)
                st.cur = (org, g + 1, new_cls)
                continue
            # a primary branch's fourth-graders continue at the head school
            dest = self.org_by_id.get(org.parent_id) if org.parent_id else None
            if dest is None or dest.closed is not None:
                cands = [o for o in self._schools(y + 1, g + 1, org.muni) if o is not org]
                dest = self._weighted_school(cands or self._schools(y + 1, g + 1), g + 1)
            self.event(st, EXIT, promo, org, g, cls, reason=R_TRANSFER, dest=dest.org_id)
            st.cur = None
            if next_first > self.last_extract:
                st.fact(y, "undetermined")
                continue
            new_cls = self._class_at(dest, g + 1)
            self.event(st, ADMIT, next_first, dest, g + 1, new_cls)
            st.cur = (dest, g + 1, new_cls)
            st.fact(y, "transfer_within_municipality")
        for st in repeaters:
            self.case("repeater", st)

    def _to_college(self, st: Student, y: int, college: Org, d: date, track: bool) -> None:
        spec = college.programs[self.rng.randrange(len(college.programs))]
        group = f"{spec.direction}-{(y + 1) % 100}"
        if self.event(st, ADMIT, d, college, 1, group, "СПО", code=spec.code) is None:
            return
        st.cur = (college, 1, group)
        st.kind = "college"
        self._spo[st.idx] = spec
        if track:
            st.fact(y, "to_vocational")

    # -- after the simulation --------------------------------------------------------------
    def _finalize(self) -> None:
        """Sort events, decide when each record reaches the files, and registry dates."""
        rng = random.Random(f"{self.p.seed}:extracts")
        days = self.extract_days
        last = len(days) - 1
        plain: dict[int, tuple[tuple[int, Mapping[str, object]], ...]] = {}  # sent once, as is
        for st in self.students:
            st.events.sort(key=event_sort_key)
            first = last
            for ev in st.events:
                if ev.date < days[0]:
                    idx = 0
                else:
                    idx = bisect.bisect_left(days, ev.date)
                    r = rng.random()
                    if r > 0.65:
                        idx += 1 if r < 0.9 else rng.randint(2, 3)
                    idx = min(idx, last)
                ev.extract = idx
                ev.versions = plain.get(idx) or plain.setdefault(idx, ((idx, AS_IS),))
                if ev.cancelled:
                    later = min(last, idx + rng.randint(2, 8))
                    if later == idx:
                        ev.cancelled = False  # nothing after it: the exit stands
                        continue
                    ev.versions = (ev.versions[0], (later, DELETED))
                elif ev.date >= days[0] and ev.type in (ADMIT, EXIT) and rng.random() < 0.012:
                    later = min(last, idx + rng.randint(1, 8))
                    if later > idx:
                        wrong: dict[str, object] = {"order_no": f"{rng.randint(1, 899)}-уч"}
                        if ev.grade is not None and ev.program != "СПО" and rng.random() < 0.5:
                            wrong["cls"] = f"{ev.grade}{LETTERS[rng.randrange(3)]}"
                        ev.versions = ((idx, wrong), (later, AS_IS))
                first = min(first, idx)
            st.registry = self.snapshot_on_or_before(first)
        if self.p.dirty > 0 and (self.shard is None or self.shard.number == 0):
            self._plant_orphan()

    def snapshot_on_or_before(self, idx: int) -> int:
        pos = bisect.bisect_right(self.snapshot_idx, idx) - 1
        return self.snapshot_idx[pos]

    def _plant_orphan(self) -> None:
        """One kindergarten child whose admission arrives before the child's registry record."""
        for st in self.students:
            if st.kind != "preschool" and not (st.events and st.events[0].program == "ДО"):
                continue
            ev = st.events[0]
            if ev.type != ADMIT or ev.program != "ДО" or ev.extract in self.snapshot_idx:
                continue
            later = [i for i in self.snapshot_idx if i > ev.extract]
            if not later or len(st.events) > 1 or len(ev.versions) > 1:
                continue
            st.registry = later[0]
            ev.defect = "orphan_student"
            self.cases.setdefault("orphan_student", []).append(st.sid)
            return

    # -- views used by the writers and the manifest ----------------------------------------
    def main_spells(self, st: Student) -> list[Spell]:
        """Enrolment intervals in main programs, one per grade, from the final events."""
        return spells_of([e for e in st.events if e.program != "ДОП" and not e.cancelled])

    def dop_spells(self, st: Student) -> list[Spell]:
        out: list[Spell] = []
        open_: dict[tuple[str, str], Spell] = {}
        for e in st.events:
            if e.program != "ДОП" or e.cancelled:
                continue
            key = (e.org, e.code)
            if e.type == ADMIT:
                open_[key] = Spell(e.date, None, e.org, "ДОП", None, e.cls, e.direction, e.code)
                out.append(open_[key])
            elif key in open_:
                open_.pop(key).end = e.date
        return out

    def trajectory_class(self, st: Student, y: int) -> str:
        facts = st.facts.get(y, set())
        for name in CLASS_ORDER:
            if name in facts:
                return name
        return "continued"


def event_sort_key(e: Event) -> tuple[date, int]:
    """Events on one date: exits first, then admissions, then promotions and repeats."""
    rank = {EXIT: 0, GRADUATE: 0, ADMIT: 1, RESTORE: 1, PROMOTE: 2, REPEAT: 2}[e.type]
    return (e.date, rank)


def spells_of(events: list[Event]) -> list[Spell]:
    out: list[Spell] = []
    cur: Spell | None = None
    for e in sorted(events, key=event_sort_key):
        if e.type in (ADMIT, RESTORE) or e.type in (PROMOTE, REPEAT):
            if cur is not None:
                cur.end = e.date
            cur = Spell(e.date, None, e.org, e.program, e.grade, e.cls, code=e.code)
            out.append(cur)
        elif cur is not None:
            cur.end = e.date
            cur = None
    return [s for s in out if s.end is None or s.end > s.start]
