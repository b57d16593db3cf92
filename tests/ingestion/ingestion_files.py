"""Extract files written by hand for the ingestion tests."""

from __future__ import annotations

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
MOVEMENT_HEADER = [
    "ID события", "ID обучающегося", "ID ОО", "Тип события", "Дата события", "Вид программы",
    "Направленность", "Код программы", "Параллель", "Класс", "Форма обучения", "Причина",
    "ОО назначения", "Номер приказа", "Дата приказа", "Удалена",
]  # fmt: skip
MARK_HEADER = [
    "ID отметки", "ID обучающегося", "ID ОО", "Класс", "Предмет", "Дата урока", "Отметка",
    "Вид работы", "Вес", "ID учителя", "Дата изменения", "Удалена",
]  # fmt: skip
FINAL_HEADER = [
    "ID обучающегося", "ID ОО", "Учебный год", "Период", "Предмет", "Отметка",
    "Дата выставления",
]  # fmt: skip

VALID_INN = "7707083893"
VALID_OGRN = "1027700132195"


def org_row(org_id: str, parent: str = "", inn: str = VALID_INN) -> list[str]:
    return [
        org_id, inn, "770701001", VALID_OGRN, f"Школа {org_id}", org_id,
        "Общеобразовательная организация", "муниципальная", "45301000", "Город", "городская",
        parent, "действующая", "01.09.1990", "",
    ]  # fmt: skip


def student_row(
    sid: str,
    surname: str = "Иванов",
    snils: str = "112-233-445 95",
    birth: str = "01.02.2015",
    first_name: str = "Иван",
) -> list[str]:
    return [sid, snils, surname, first_name, "Иванович", birth, "М", "643", "нет", "нет",
            "45301000"]  # fmt: skip


def movement_row(
    eid: str,
    sid: str,
    org: str = "ORG1",
    kind: str = "Зачисление",
    date: str = "01.09.2025",
    reason: str = "",
    dest: str = "",
) -> list[str]:
    return [eid, sid, org, kind, date, "ООО", "", "ООП-5", "5", "5А", "очная", reason, dest,
            "12-к", "30.08.2025", "нет"]  # fmt: skip


def mark_row(mid: str, sid: str = "S1", mark: str = "5", date: str = "02.09.2025") -> list[str]:
    return [mid, sid, "ORG1", "5А", "Математика", date, mark, "Ответ на уроке", "1", "T1",
            f"{date} 10:15", "нет"]  # fmt: skip


def account_record(account_id: str, **fields) -> dict:
    """One line of the accounts feed (JSON Lines) as a dict."""
    return {
        "account_id": account_id,
        "esia_oid": "1000001",
        "role": "Учитель-предметник",
        "org_id": "ORG1",
        "oktmo": "45301000",
        "esia_linked_at": "2025-09-01T08:00:00+03:00",
        "last_login_at": "2025-09-10T10:00:00+03:00",
        "trust_level": "подтверждённая",
    } | fields


def csv_text(header: list[str], rows: list[list[str]], end: str = "\n") -> str:
    lines = [";".join(header)] + [";".join(r) for r in rows]
    return end.join(lines) + end


def write(landing: Path, name: str, header, rows, encoding: str = "utf-8", end: str = "\n") -> Path:
    path = landing / name
    path.write_bytes(csv_text(header, rows, end).encode(encoding))
    return path


def quarantined(q, schema: str = "raw") -> list[tuple[int, list[str]]]:
    rows = q(f"select line_number, reasons from {schema}.quarantine order by line_number")
    return [(ln, list(reasons)) for ln, reasons in rows]
