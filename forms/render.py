"""A built form as XLSX in the layout of the paper form, and as CSV of the same cells.

Workbook: «Титульный лист» (form code, title, report period, respondent block, data cut-off),
one sheet per section (section heading, merged column headers, the row of column codes, row
labels and codes, "x" cells shaded, number formats, frozen header, landscape print setup with
repeated header rows) and «Контроль» (every control ratio and its result).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from forms.build import SUPPRESSED, BuiltSection, Form
from forms.controls import X

HEADER_TOP = 7  # first header row of a section sheet
FIRST_DATA_COLUMN = 3  # A = label, B = row code

_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_X_FILL = PatternFill("solid", fgColor="D9D9D9")
_HEAD_FILL = PatternFill("solid", fgColor="F2F2F2")
_BAD_FILL = PatternFill("solid", fgColor="F4CCCC")
_BOLD = Font(bold=True)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_WRAP = Alignment(vertical="center", wrap_text=True)


def _fit_height(ws: Worksheet, row: int, text: Any, width: float, line: float = 15.0) -> None:
    """Give a row with wrapped text the height of its lines: a row height left unset is not
    grown by every spreadsheet program when the file is opened (LibreOffice prints it clipped)."""
    lines = math.ceil(len(str(text or "")) / max(width - 4, 1)) or 1
    if lines > 1:
        current = ws.row_dimensions[row].height or line
        ws.row_dimensions[row].height = max(current, lines * line)


def _date(value: Any) -> str:
    return f"{value:%d.%m.%Y}" if value else "нет данных"


def _header_lines(form: Form) -> list[str]:
    d = form.definition
    return [
        f"Форма № {d.code} (редакция {d.edition} г.), {d.periodicity}".rstrip(", "),
        d.title,
        d.report_period_text(form.params),
        f"Данные по состоянию на {_date(form.cutoff)} (последняя загруженная выгрузка)",
    ]


def _title_sheet(ws: Worksheet, form: Form) -> None:
    d = form.definition
    ws.title = "Титульный лист"
    ws.column_dimensions["A"].width = 46
    ws.column_dimensions["B"].width = 70
    ws["B1"] = f"Форма № {d.code}"
    ws["B1"].font = Font(bold=True, size=12)
    ws["B1"].alignment = Alignment(horizontal="right")
    ws["B2"] = d.periodicity
    ws["B2"].alignment = Alignment(horizontal="right")
    ws.merge_cells("A4:B4")
    ws["A4"] = d.title.upper()
    ws["A4"].font = Font(bold=True, size=12)
    ws["A4"].alignment = _CENTER
    ws.row_dimensions[4].height = 48
    ws.merge_cells("A5:B5")
    ws["A5"] = d.report_period_text(form.params)
    ws["A5"].alignment = _CENTER
    block = [
        ("Наименование отчитывающейся организации", form.respondent.get("name", "")),
        ("ИНН", form.respondent.get("inn", "")),
        ("Код по ОКТМО", form.respondent.get("oktmo", "")),
        ("Уровень", form.respondent.get("level", "")),
        ("Код территории (организации)", form.territory),
        ("Отчётная дата", _date(form.report_date)),
        ("Данные по состоянию на (срез данных)", _date(form.cutoff)),
        ("Редакция формы", str(d.edition)),
    ]
    if form.definition.age_rule and form.definition.age_rule.get("text"):
        block.append(("Возраст", form.definition.age_rule["text"]))
    if form.level == "organization":
        block.append(
            (
                "Филиалы",
                "каждое подразделение отдельно"
                if form.branches_separately
                else "включены в отчёт головной организации",
            )
        )
    if form.suppressed:
        block.append(
            (
                "Обозначения",
                f"{SUPPRESSED} — сведения о здоровье менее чем о 5 лицах не раскрываются "
                "(152-ФЗ, ст. 10)",
            )
        )
    for i, (label, value) in enumerate(block, start=7):
        ws.cell(i, 1, label).border = _BORDER
        ws.cell(i, 1).fill = _HEAD_FILL
        ws.cell(i, 1).alignment = _WRAP
        ws.cell(i, 2, value).border = _BORDER
        ws.cell(i, 2).alignment = _WRAP
        _fit_height(ws, i, value, 70)
    ws.page_setup.orientation = "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    # both columns on one page: the form code (B1) and the respondent's values are in column B
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_area = f"A1:B{6 + len(block)}"


def _number_format(form: Form, built: BuiltSection, column_code: str) -> str:
    col = built.section.column(column_code)
    if col.measure is not None and col.measure.ratio is not None:
        return "0." + "0" * col.measure.digits if col.measure.digits else "0"
    return "#,##0"


def _section_sheet(ws: Worksheet, form: Form, built: BuiltSection) -> None:
    section = built.section
    cols = section.columns
    last_col = FIRST_DATA_COLUMN + len(cols) - 1
    last_letter = get_column_letter(last_col)
    ws.title = f"Раздел {section.code}"
    ws["A1"] = f"Форма № {form.definition.code} · раздел {section.code}"
    ws["A1"].font = _BOLD
    ws.merge_cells(f"A2:{last_letter}2")
    ws["A2"] = f"Раздел {section.code}. {section.title}"
    ws["A2"].font = Font(bold=True, size=12)
    ws["A2"].alignment = _CENTER
    ws.row_dimensions[2].height = 32
    period = form.definition.report_period_text(form.params)
    ws["A3"] = f"{form.respondent.get('name', '')} · {period}"
    ws["A4"] = f"Данные по состоянию на {_date(form.cutoff)}"
    ws["A5"] = f"Единица измерения: {section.unit}" if section.unit else ""
    if section.note:
        ws["A6"] = f"Примечание: {section.note}"
        ws["A6"].font = Font(italic=True)

    top, sub, codes_row = HEADER_TOP, HEADER_TOP + 1, HEADER_TOP + 2
    for c in (1, 2):
        ws.merge_cells(start_row=top, start_column=c, end_row=sub, end_column=c)
    ws.cell(top, 1, "Наименование показателя")
    ws.cell(top, 2, "№ строки")
    ws.cell(codes_row, 1, "1")
    ws.cell(codes_row, 2, "2")
    i = 0
    while i < len(cols):
        col = cols[i]
        excel_col = FIRST_DATA_COLUMN + i
        if col.group:
            j = i
            while j + 1 < len(cols) and cols[j + 1].group == col.group:
                j += 1
            ws.cell(top, excel_col, col.group)
            if j > i:
                ws.merge_cells(
                    start_row=top, start_column=excel_col, end_row=top, end_column=excel_col + j - i
                )
            for k in range(i, j + 1):
                ws.cell(sub, FIRST_DATA_COLUMN + k, cols[k].label)
            i = j + 1
        else:
            ws.cell(top, excel_col, col.label)
            ws.merge_cells(start_row=top, start_column=excel_col, end_row=sub, end_column=excel_col)
            i += 1
    for k, col in enumerate(cols):
        ws.cell(codes_row, FIRST_DATA_COLUMN + k, col.code)
    for r in range(top, codes_row + 1):
        for c in range(1, last_col + 1):
            cell = ws.cell(r, c)
            cell.border = _BORDER
            cell.alignment = _CENTER
            cell.fill = _HEAD_FILL
            cell.font = _BOLD if r < codes_row else Font(size=9)
    ws.row_dimensions[top].height = 30
    ws.row_dimensions[sub].height = 60

    r = codes_row + 1
    for row in built.rows:
        label = ws.cell(r, 1, row.label)
        label.alignment = Alignment(
            horizontal="left", vertical="center", wrap_text=True, indent=row.indent * 2
        )
        label.border = _BORDER
        _fit_height(ws, r, "  " * row.indent + row.label, 48)
        code = ws.cell(r, 2, row.code)
        code.alignment = _CENTER
        code.border = _BORDER
        for k, col in enumerate(cols):
            key = (section.code, row.code, col.code)
            value = form.shown(key)
            cell = ws.cell(r, FIRST_DATA_COLUMN + k, "" if value is None else value)
            cell.border = _BORDER
            if value == X:
                cell.fill = _X_FILL
                cell.alignment = _CENTER
            elif value == SUPPRESSED:
                cell.alignment = Alignment(horizontal="right")
            else:
                cell.number_format = _number_format(form, built, col.code)
        r += 1

    ws.column_dimensions["A"].width = 48
    ws.column_dimensions["B"].width = 8
    for k, col in enumerate(cols):
        # wide enough for the longest word of its label: no word broken in the middle
        words = col.label.split()
        longest = max((len(w) for w in words), default=0)
        width = min(24, max(12, round(longest * 1.15) + 2))
        ws.column_dimensions[get_column_letter(FIRST_DATA_COLUMN + k)].width = width
    # the lines above the table stay inside the printed width: merged over it and wrapped
    total_width = sum(
        ws.column_dimensions[get_column_letter(c)].width for c in range(1, last_col + 1)
    )
    for line in range(3, HEADER_TOP):
        if ws.cell(line, 1).value:
            ws.merge_cells(f"A{line}:{last_letter}{line}")
            ws.cell(line, 1).alignment = _WRAP
            _fit_height(ws, line, ws.cell(line, 1).value, total_width)
    ws.freeze_panes = ws.cell(codes_row + 1, FIRST_DATA_COLUMN)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{top}:{codes_row}"
    ws.print_area = f"A1:{last_letter}{r - 1}"


def _control_sheet(ws: Worksheet, form: Form) -> None:
    ws.title = "Контроль"
    ws["A1"] = f"Контрольные соотношения формы № {form.definition.code}"
    ws["A1"].font = Font(bold=True, size=12)
    ok = sum(1 for c in form.controls if c.ok)
    bad = len(form.violations)
    ws["A2"] = f"Проверено: {len(form.controls)}; выполнено: {ok}; нарушено: {bad}"
    headers = ["Соотношение", "Раздел", "Описание", "Где", "Проверка", "Ячейки", "Результат"]
    for c, text in enumerate(headers, start=1):
        cell = ws.cell(4, c, text)
        cell.font = _BOLD
        cell.fill = _HEAD_FILL
        cell.border = _BORDER
        cell.alignment = _CENTER
    for r, result in enumerate(form.controls, start=5):
        hide = form.suppressed and any(c in form.suppressed for c in result.cells)
        verdict = {True: "выполнено", False: "НАРУШЕНО", None: "не применимо"}[result.ok]
        row = [
            result.control_id,
            result.section,
            result.text,
            result.instance,
            "значения не раскрываются" if hide else result.expression,
            result.cell_names,
            verdict,
        ]
        for c, value in enumerate(row, start=1):
            cell = ws.cell(r, c, value)
            cell.border = _BORDER
            cell.alignment = _WRAP
            if result.ok is False:
                cell.fill = _BAD_FILL
    for letter, width in zip("ABCDEFG", (12, 8, 50, 10, 40, 50, 14), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A5"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "4:4"


def to_workbook(form: Form) -> Workbook:
    wb = Workbook()
    _title_sheet(wb.active, form)
    for built in form.sections:
        _section_sheet(wb.create_sheet(), form, built)
    _control_sheet(wb.create_sheet(), form)
    created = form.cutoff or form.report_date
    from datetime import datetime, time

    stamp = datetime.combine(created, time(0, 0))
    wb.properties.creator = "kontingent forms"
    wb.properties.title = f"{form.definition.code} {form.territory_slug} {form.report_date}"
    wb.properties.created = stamp
    wb.properties.modified = stamp
    return wb


def write_xlsx(form: Form, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    to_workbook(form).save(path)
    return path


CSV_HEADER = ["section", "row", "row_label", "column", "column_label", "value"]


def csv_text(form: Form) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for (section, row, column), row_label, column_label, value in form.cells():
        writer.writerow([section, row, row_label, column, column_label, _csv_value(value)])
    return buffer.getvalue()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_csv(form: Form, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(csv_text(form), encoding="utf-8")
    return path


def write(form: Form, path: Path) -> Path:
    """Write the form as XLSX or CSV, by the file's extension."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return write_xlsx(form, path)
    if suffix == ".csv":
        return write_csv(form, path)
    raise ValueError(f"{path}: the file name must end in .xlsx or .csv")


def read_section_cells(path: Path, section: str) -> dict[tuple[str, str], Any]:
    """(row code, column code) -> value of one section sheet of a written workbook."""
    from openpyxl import load_workbook

    ws = load_workbook(path, read_only=True)[f"Раздел {section}"]
    rows = list(ws.iter_rows(values_only=True))
    codes_row = rows[HEADER_TOP + 1]
    columns = {i: str(v) for i, v in enumerate(codes_row) if i >= FIRST_DATA_COLUMN - 1 and v}
    out: dict[tuple[str, str], Any] = {}
    for values in rows[HEADER_TOP + 2 :]:
        if values[1] is None:
            continue
        for i, code in columns.items():
            out[(str(values[1]), code)] = values[i]
    return out
