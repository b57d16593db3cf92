"""Extract files for the fault trials, with their expected counts computed as they are written
(an independent count: the loader's own numbers are compared with these)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ORG_HEADER = [
    "ID ОО", "ИНН", "КПП", "ОГРН", "Полное наименование", "Краткое наименование", "Тип ОО",
    "Форма собственности", "Код ОКТМО", "Муниципальное образование", "Местность", "Головная ОО",
    "Статус", "Дата открытия", "Дата закрытия",
]  # fmt: skip
STUDENT_HEADER = [
    "ID обучающегося", "СНИЛС", "Фамилия", "Имя", "Отчество", "Дата рождения", "Пол",
    "Гражданство", "ОВЗ", "Инвалидность", "ОКТМО проживания",
]  # fmt: skip
MARK_HEADER = [
    "ID отметки", "ID обучающегося", "ID ОО", "Класс", "Предмет", "Дата урока", "Отметка",
    "Вид работы", "Вес", "ID учителя", "Дата изменения", "Удалена",
]  # fmt: skip

KNOWN_STUDENTS = 500  # S0 … S499 are in the students snapshot; S500 … S599 are not (orphans)
REFERENCED_STUDENTS = 600
BAD_EVERY = 97  # a mark of 7: invalid_code
DUPLICATE_EVERY = 113  # the previous line's mark ID again: duplicate_key


@dataclass(frozen=True)
class Expected:
    rows: int
    loaded: int
    rejected: int
    orphans: int


def write_registry(landing: Path, day: str = "20250801") -> None:
    """One organization and the known students: the references of the marks files."""
    org = ["ORG1", "7707083893", "770701001", "1027700132195", "Школа 1", "Школа 1",
           "Общеобразовательная организация", "муниципальная", "45301000", "Город",
           "городская", "", "действующая", "01.09.1990", ""]  # fmt: skip
    (landing / f"organizations_{day}.csv").write_text(
        ";".join(ORG_HEADER) + "\n" + ";".join(org) + "\n", encoding="utf-8"
    )
    lines = [";".join(STUDENT_HEADER)]
    for i in range(KNOWN_STUDENTS):
        lines.append(f"S{i};;Фамилия{i};Имя{i};;01.02.2015;{'МЖ'[i % 2]};643;нет;нет;45301000")
    (landing / f"students_{day}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_marks(path: Path, rows: int, prefix: str) -> Expected:
    """A marks delta of `rows` lines: some invalid, some duplicates, some of unknown students."""
    loaded = rejected = orphans = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write(";".join(MARK_HEADER) + "\n")
        for i in range(rows):
            student = i % REFERENCED_STUDENTS
            mark_id = f"{prefix}{i - 1}" if i % DUPLICATE_EVERY == 5 else f"{prefix}{i}"
            mark = "7" if i % BAD_EVERY == 3 else str(2 + i % 4)
            f.write(
                f"{mark_id};S{student};ORG1;5А;Математика;02.09.2025;{mark};Ответ на уроке;1;T1;"
                "02.09.2025 10:15;нет\n"
            )
            if mark == "7":
                rejected += 1
            elif i % DUPLICATE_EVERY == 5 and (i - 1) % BAD_EVERY != 3:
                rejected += 1  # its first line loaded: this one is the duplicate
            else:
                loaded += 1
                orphans += student >= KNOWN_STUDENTS
    return Expected(rows, loaded, rejected, orphans)
