"""A hand-written region for the edges of transfer matching and the yearly status: one student
per case, written as extract files in the feed contract and loaded by the real loader.

Organizations: two schools of municipality 57701 (A, B), one of 57610 (C), a basic school of
57701 reorganized into B on 3 March 2026 (R) and a college of 57701 (K). Every student but the
newcomer has a year of history before the first extract (1 September 2025), as the registry's
history holds; the last extract is 27 November 2026."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

A, B, C, R, K = "701001", "701002", "701003", "701004", "701005"
LAST_EXTRACT = date(2026, 11, 27)
REORGANIZED_ON = date(2026, 3, 3)

ORG_HEADER = (
    "ID ОО;ИНН;КПП;ОГРН;Полное наименование;Краткое наименование;Тип ОО;Форма собственности;"
    "Код ОКТМО;Муниципальное образование;Местность;Головная ОО;Статус;Дата открытия;Дата закрытия"
)
STUDENT_HEADER = (
    "ID обучающегося;СНИЛС;Фамилия;Имя;Отчество;Дата рождения;Пол;Гражданство;ОВЗ;Инвалидность;"
    "ОКТМО проживания"
)
MOVEMENT_HEADER = (
    "ID события;ID обучающегося;ID ОО;Тип события;Дата события;Вид программы;Направленность;"
    "Код программы;Параллель;Класс;Форма обучения;Причина;ОО назначения;Номер приказа;"
    "Дата приказа;Удалена"
)
SCHOOL = "Общеобразовательная организация"
COLLEGE = "Профессиональная образовательная организация"
CITY = ("57701000", "городской округ город Северогорск", "городская")
DISTRICT = ("57610151", "Берёзовский муниципальный район", "сельская")

TRANSFER = "перевод в другую ОО"
OWN = "по инициативе обучающегося"
FAMILY = "переход на семейное образование"
MOVED = "смена места жительства"


@dataclass
class Case:
    """One student: a source ID, a birth date and events (type, date, org, program, grade,
    reason, destination)."""

    sid: str
    birth: date
    events: list[tuple]
    surname: str = "Тестова"


def _d(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def _program(grade: int | None, program: str | None) -> str:
    if program:
        return program
    return "НОО" if grade <= 4 else "ООО" if grade <= 9 else "СОО"  # type: ignore[operator]


def cases() -> dict[str, Case]:
    def start(org: str, grade: int) -> list[tuple]:
        """The history before the first extract: admitted a year earlier, promoted in May."""
        return [
            ("Зачисление", date(2024, 9, 2), org, None, grade - 1, "", ""),
            ("Перевод в следующий класс", date(2025, 5, 30), org, None, grade, "", ""),
        ]

    return {
        # announced to B, arrives at C (another municipality)
        "elsewhere": Case(
            "T-ELSEWHERE",
            date(2013, 5, 1),
            [
                *start(A, 6),
                ("Отчисление", date(2025, 10, 10), A, None, 6, TRANSFER, B),
                ("Зачисление", date(2025, 10, 14), C, None, 6, "", ""),
            ],
        ),
        # arrives at the announced school on day 29 (matched) ...
        "day29": Case(
            "T-DAY29",
            date(2014, 4, 2),
            [
                *start(A, 5),
                ("Отчисление", date(2025, 11, 3), A, None, 5, TRANSFER, B),
                ("Зачисление", date(2025, 12, 2), B, None, 5, "", ""),
            ],
        ),
        # ... and on day 31 (not matched: lost that year, not lost any more)
        "day31": Case(
            "T-DAY31",
            date(2014, 4, 3),
            [
                *start(A, 5),
                ("Отчисление", date(2025, 11, 3), A, None, 5, TRANSFER, B),
                ("Зачисление", date(2025, 12, 4), B, None, 5, "", ""),
            ],
        ),
        # leaves at the end of May, admitted on 1 September: three days away
        "summer": Case(
            "T-SUMMER",
            date(2015, 3, 3),
            [
                *start(A, 4),
                ("Отчисление", date(2026, 5, 29), A, None, 4, TRANSFER, C),
                ("Зачисление", date(2026, 9, 1), C, None, 5, "", ""),
            ],
        ),
        # expelled, restored at the same school 14 days later
        "restored": Case(
            "T-RESTORED",
            date(2012, 6, 6),
            [
                *start(A, 7),
                ("Отчисление", date(2025, 11, 10), A, None, 7, OWN, ""),
                ("Восстановление", date(2025, 11, 24), A, None, 7, "", ""),
            ],
        ),
        # completes grade 9 at 16 and is admitted nowhere: lost (compulsory until 18)
        "grade9_nowhere": Case(
            "T-G9-NOWHERE",
            date(2010, 1, 15),
            [
                *start(A, 9),
                ("Выпуск", date(2026, 6, 26), A, None, 9, "", ""),
            ],
            surname="Потерянная",
        ),
        # completes grade 9 and goes on to a college: not lost
        "grade9_college": Case(
            "T-G9-COLLEGE",
            date(2010, 2, 16),
            [
                *start(A, 9),
                ("Выпуск", date(2026, 6, 26), A, None, 9, "", ""),
                ("Зачисление", date(2026, 9, 1), K, "СПО", 1, "", ""),
            ],
        ),
        # moves to family education: not lost
        "family": Case(
            "T-FAMILY",
            date(2012, 7, 7),
            [
                *start(A, 7),
                ("Отчисление", date(2025, 12, 1), A, None, 7, FAMILY, ""),
            ],
        ),
        # leaves at 14 on the student's own initiative: lost (consent only from 15)
        "fourteen": Case(
            "T-FOURTEEN",
            date(2011, 6, 1),
            [
                *start(A, 8),
                ("Отчисление", date(2025, 10, 20), A, None, 8, OWN, ""),
            ],
            surname="Четырнадцатилетняя",
        ),
        # leaves at 15 before grade 9 with consent: lawful
        "fifteen": Case(
            "T-FIFTEEN",
            date(2010, 3, 1),
            [
                *start(A, 9),
                ("Отчисление", date(2025, 10, 20), A, None, 9, OWN, ""),
            ],
        ),
        # moves out of the region
        "moved": Case(
            "T-MOVED",
            date(2013, 8, 8),
            [
                *start(B, 6),
                ("Отчисление", date(2025, 10, 6), B, None, 6, MOVED, ""),
            ],
        ),
        # comes from outside the region into grade 3
        "newcomer": Case(
            "T-NEWCOMER",
            date(2017, 9, 9),
            [
                ("Зачисление", date(2025, 10, 1), B, None, 3, "", ""),
            ],
        ),
        # the reorganized school's students move with it to B
        "reorg_1": Case(
            "T-REORG-1",
            date(2016, 1, 1),
            [
                *start(R, 3),
                ("Отчисление", REORGANIZED_ON, R, None, 3, TRANSFER, B),
                ("Зачисление", REORGANIZED_ON, B, None, 3, "", ""),
            ],
        ),
        "reorg_2": Case(
            "T-REORG-2",
            date(2013, 1, 1),
            [
                *start(R, 6),
                ("Отчисление", REORGANIZED_ON, R, None, 6, TRANSFER, B),
                ("Зачисление", REORGANIZED_ON, B, None, 6, "", ""),
            ],
        ),
        # an exit later cancelled by a tombstone (written by `write` below)
        "tombstone": Case(
            "T-TOMBSTONE",
            date(2013, 2, 2),
            [
                *start(A, 6),
                ("Отчисление", date(2025, 12, 10), A, None, 6, OWN, ""),
            ],
        ),
    }


TOMBSTONED = "tombstone"  # the case whose last event (the exit) is re-sent with `Удалена` = `да`


def _org_rows(reorganized: bool, college: str = "Колледж К") -> list[str]:
    def row(org, name, kind, place, status="действующая", closed=""):
        oktmo, muni, locality = place
        return (
            f'{org};7700000000;770001001;1027700000000;"{name}";"{name}";{kind};муниципальная;'
            f"{oktmo};{muni};{locality};;{status};01.09.1990;{closed}"
        )

    return [
        row(A, "Школа А", SCHOOL, CITY),
        row(B, "Школа Б", SCHOOL, CITY),
        row(C, "Школа В", SCHOOL, DISTRICT),
        row(R, "Основная школа Р", SCHOOL, CITY,
            *(("реорганизована", _d(REORGANIZED_ON)) if reorganized else ())),
        row(K, college, COLLEGE, CITY),
    ]  # fmt: skip


def _write(path: Path, header: str, rows: list[str]) -> None:
    path.write_text("\r\n".join([header, *rows]) + "\r\n", encoding="utf-8")


def write(out: Path) -> dict[str, Case]:
    """Write the region's extract files into `out`; return the cases."""
    out.mkdir(parents=True, exist_ok=True)
    all_cases = cases()
    # the last snapshot renames the college (a snapshot equal to the one before is skipped
    # whole as a duplicate file): it sets the data cut-off
    for day, reorganized, college in (
        (date(2025, 9, 1), False, "Колледж К"),
        (date(2026, 3, 9), True, "Колледж К"),
        (LAST_EXTRACT, True, "Колледж К им. Ломоносова"),
    ):
        rows = _org_rows(reorganized, college)
        _write(out / f"organizations_{day:%Y%m%d}.csv", ORG_HEADER, rows)
    students = [
        f"{c.sid};;{c.surname};Анна;Петровна;{_d(c.birth)};Ж;643;нет;нет;57701000"
        for c in all_cases.values()
    ]
    _write(out / "students_20250901.csv", STUDENT_HEADER, students)
    rows: list[str] = []
    tombstone: str = ""
    for name, case in all_cases.items():
        for i, (etype, day, org, program, grade, reason, dest) in enumerate(case.events):
            prog = _program(grade, program)
            code = {"СПО": "09.02.07"}.get(prog, f"ООП {prog}")
            cls = f"{grade}А" if prog != "СПО" else "ИС-26"
            row = (
                f"{case.sid}-E{i};{case.sid};{org};{etype};{_d(day)};{prog};;{code};{grade};"
                f"{cls};очная;{reason};{dest};{i + 1}-уч;{_d(day)};"
            )
            rows.append(row + "нет")
            if name == TOMBSTONED and i == len(case.events) - 1:
                tombstone = row + "да"
    _write(out / "movements_20260901.csv", MOVEMENT_HEADER, rows)
    _write(out / "movements_20260915.csv", MOVEMENT_HEADER, [tombstone])
    return all_cases
