"""Corpus cases built when the suite runs instead of being committed: workbooks (binary) and
files with huge lines (megabytes). Each builder returns the file's bytes; the expected outcome
is in the committed `<case>.expect.yaml` beside this file (`generated: true`)."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

ORG_HEADER = [
    "ID ОО", "ИНН", "КПП", "ОГРН", "Полное наименование", "Краткое наименование", "Тип ОО",
    "Форма собственности", "Код ОКТМО", "Муниципальное образование", "Местность", "Головная ОО",
    "Статус", "Дата открытия", "Дата закрытия",
]  # fmt: skip
MARK_HEADER = [
    "ID отметки", "ID обучающегося", "ID ОО", "Класс", "Предмет", "Дата урока", "Отметка",
    "Вид работы", "Вес", "ID учителя", "Дата изменения", "Удалена",
]  # fmt: skip
SCHOOL = "Общеобразовательная организация"


def _org(org_id: str) -> list:
    return [
        org_id, "7707083893", "770701001", "1027700132195", f"Школа {org_id}", org_id, SCHOOL,
        "муниципальная", "45301000", "Город", "городская", "", "действующая", "01.09.1990", "",
    ]  # fmt: skip


def _mark(mark_id: str, work_type: str = "Ответ на уроке") -> str:
    return ";".join(
        [mark_id, "S1", "ORG1", "5А", "Математика", "02.09.2025", "5", work_type, "1", "T1",
         "02.09.2025 10:15", "нет"]
    )  # fmt: skip


def _save(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _workbook(rows: list[list]):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    return book, sheet


def organizations_xlsx_merged_cells() -> bytes:
    """«Тип ОО» merged over rows 2–4 and «Муниципальное образование» over rows 2–5: Excel shows
    the value on every row, the file holds it in the first cell only."""
    rows = [_org(f"ORG{i}") for i in range(1, 5)]
    for r in rows[1:3]:
        r[6] = None
    for r in rows[1:]:
        r[9] = None
    book, sheet = _workbook([ORG_HEADER, *rows])
    sheet.merge_cells("G2:G4")
    sheet.merge_cells("J2:J5")
    return _save(book)


def organizations_xlsx_title_row() -> bytes:
    """A title merged across the columns above the header: it is taken for the header."""
    book, sheet = _workbook([["Реестр образовательных организаций на 01.09.2025"], ORG_HEADER])
    sheet.append(_org("ORG1"))
    sheet.merge_cells("A1:O1")
    return _save(book)


def organizations_xlsx_formulas() -> bytes:
    """Formulas with the values Excel stored for them (read), and formulas saved without a
    value by a tool that never calculated the sheet (read as empty)."""
    rows = [_org(f"ORG{i}") for i in range(1, 5)]
    rows[0][4] = '=CONCATENATE("Школа ","ORG1")'  # cached value added below
    rows[1][5] = "=LEFT(E3,5)"  # no cached value: optional short name, empty
    rows[2][0] = '=CONCATENATE("ORG","3")'  # no cached value: required ID, empty
    rows[3][8] = "=45301000"  # cached value added below
    book, _sheet = _workbook([ORG_HEADER, *rows])
    data = _save(book)
    cached = {"E2": ("str", "Школа ORG1 (формула)"), "I5": ("n", "45301000")}
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = body.decode()
                for ref, (kind, value) in cached.items():
                    text = re.sub(
                        rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*/?>(?:</v>)?</c>',
                        lambda m, k=kind, v=value, r=ref: (
                            f'<c r="{r}" t="{k}"><f>{m[2]}</f><v>{v}</v></c>'
                        ),
                        text,
                    )
                body = text.encode()
            dst.writestr(item, body)
    return out.getvalue()


def organizations_xlsx_numbers() -> bytes:
    """Codes that Excel turned into numbers (leading zeros lost) and real date cells."""
    row = _org("ORG1")
    row[1] = 100000004  # INN 0100000004
    row[2] = 770701001
    row[3] = 1027700132195
    row[8] = 1234567  # OKTMO 01234567
    row[13] = dt.datetime(1990, 9, 1)
    book, _sheet = _workbook([ORG_HEADER, row, _org("ORG2")])
    return _save(book)


def organizations_xlsx_empty_first_sheet() -> bytes:
    """The registry is on the second sheet; the first one is empty."""
    book, _sheet = _workbook([])
    second = book.create_sheet("Реестр")
    second.append(ORG_HEADER)
    second.append(_org("ORG1"))
    return _save(book)


HUGE_TEXT = 3_000_000  # characters of one field: three times a reader's block
HUGE_GARBAGE = 2_000_000


def marks_huge_lines() -> bytes:
    """A line with a 3-million-character field (valid: a text column) and a 2-million-character
    line with no delimiter at all."""
    lines = [
        ";".join(MARK_HEADER),
        _mark("M1"),
        _mark("M2", work_type="Сочинение " + "а" * (HUGE_TEXT - len("Сочинение "))),
        "ж" * HUGE_GARBAGE,
        _mark("M4"),
    ]
    return ("\n".join(lines) + "\n").encode()


BUILDERS = {
    "organizations_xlsx_merged_cells": organizations_xlsx_merged_cells,
    "organizations_xlsx_title_row": organizations_xlsx_title_row,
    "organizations_xlsx_formulas": organizations_xlsx_formulas,
    "organizations_xlsx_numbers": organizations_xlsx_numbers,
    "organizations_xlsx_empty_first_sheet": organizations_xlsx_empty_first_sheet,
    "marks_huge_lines": marks_huge_lines,
}
