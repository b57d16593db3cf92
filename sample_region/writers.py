"""Writing extract files the way the source systems do: names with extract dates, `;`, Russian
headers, mixed encodings (Windows-1251, UTF-8 with and without BOM), CRLF or LF, dates as
`ДД.ММ.ГГГГ` or ISO, quoting with doubled quotes; organizations sometimes as XLSX; accounts as
JSON Lines in UTF-8. Every written file is listed for the manifest with its sha256."""

from __future__ import annotations

import hashlib
import io
import random
import re
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sample_region.dirty import Injector

ORGANIZATIONS = (
    "ID ОО", "ИНН", "КПП", "ОГРН", "Полное наименование", "Краткое наименование", "Тип ОО",
    "Форма собственности", "Код ОКТМО", "Муниципальное образование", "Местность", "Головная ОО",
    "Статус", "Дата открытия", "Дата закрытия",
)  # fmt: skip
STUDENTS = (
    "ID обучающегося", "СНИЛС", "Фамилия", "Имя", "Отчество", "Дата рождения", "Пол",
    "Гражданство", "ОВЗ", "Инвалидность", "ОКТМО проживания",
)  # fmt: skip
MOVEMENTS = (
    "ID события", "ID обучающегося", "ID ОО", "Тип события", "Дата события", "Вид программы",
    "Направленность", "Код программы", "Параллель", "Класс", "Форма обучения", "Причина",
    "ОО назначения", "Номер приказа", "Дата приказа", "Удалена",
)  # fmt: skip
MARKS = (
    "ID отметки", "ID обучающегося", "ID ОО", "Класс", "Предмет", "Дата урока", "Отметка",
    "Вид работы", "Вес", "ID учителя", "Дата изменения", "Удалена",
)  # fmt: skip
FINAL_MARKS = (
    "ID обучающегося", "ID ОО", "Учебный год", "Период", "Предмет", "Отметка",
    "Дата выставления",
)  # fmt: skip
HEADERS = {
    "organizations": ORGANIZATIONS,
    "students": STUDENTS,
    "movements": MOVEMENTS,
    "marks": MARKS,
    "final_marks": FINAL_MARKS,
}
#: Rows per file before a batch is split into `_02`, `_03`, … parts.
MAX_ROWS = 200_000
FIXED_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Style:
    """How one CSV file is written."""

    encoding: str  # cp1251, utf-8, utf-8-sig
    newline: str
    iso_dates: bool
    seconds: bool
    quote_all: bool

    def date(self, d: date | None) -> str:
        if d is None:
            return ""
        if self.iso_dates:
            return d.isoformat()
        return f"{d.day:02d}.{d.month:02d}.{d.year}"

    def join(self, fields: list[str] | tuple[str, ...]) -> str:
        if self.quote_all:
            return ";".join('"' + f.replace('"', '""') + '"' for f in fields)
        return ";".join(quote(f) for f in fields)


def quote(value: str) -> str:
    if ";" in value or '"' in value or "\n" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def choose_style(rng: random.Random, may_quote_all: bool = False) -> Style:
    enc = rng.choices(("cp1251", "utf-8", "utf-8-sig"), (0.45, 0.35, 0.2))[0]
    return Style(
        encoding=enc,
        newline="\r\n" if rng.random() < 0.6 else "\n",
        iso_dates=rng.random() < 0.15,
        seconds=rng.random() < 0.5,
        quote_all=may_quote_all and rng.random() < 0.15,
    )


def file_name(feed: str, d: date, seq: int, ext: str) -> str:
    suffix = f"_{seq:02d}" if seq > 1 else ""
    return f"{feed}_{d:%Y%m%d}{suffix}.{ext}"


class Landing:
    """The landing folder: writes files and keeps the list for the manifest."""

    def __init__(self, out: Path, injector: Injector | None = None) -> None:
        self.out = out
        self.injector = injector
        self.files: list[dict[str, object]] = []
        out.mkdir(parents=True, exist_ok=True)

    def _record(self, name: str, feed: str, d: date, rows: int, data: bytes, **fmt: object) -> None:
        (self.out / name).write_bytes(data)
        self.files.append(
            {
                "name": name,
                "feed": feed,
                "extract_date": d.isoformat(),
                "rows": rows,
                **fmt,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )

    def csv(
        self,
        feed: str,
        d: date,
        lines: list[str],
        style: Style,
        tags: dict[int, str] | None = None,
    ) -> None:
        """Write one batch of a CSV feed, split into parts of at most MAX_ROWS rows."""
        header = list(HEADERS[feed])
        parts = [lines[i : i + MAX_ROWS] for i in range(0, len(lines), MAX_ROWS)] or [[]]
        for n, part in enumerate(parts):
            name = file_name(feed, d, n + 1, "csv")
            part_tags = {
                i - n * MAX_ROWS: t
                for i, t in (tags or {}).items()
                if n * MAX_ROWS <= i < (n + 1) * MAX_ROWS
            }
            head = style.join(header)
            body = part
            if self.injector is not None:
                head, body = self.injector.csv(feed, name, d, header, part, style, part_tags)
            text = style.newline.join([head, *body])
            if not (self.injector and self.injector.truncated_last):
                text += style.newline
            data = text.encode(style.encoding)
            rows = len(body)
            self._record(
                name, feed, d, rows, data,
                encoding=style.encoding, newline="CRLF" if style.newline == "\r\n" else "LF",
                date_format="ISO" if style.iso_dates else "ДД.ММ.ГГГГ", format="csv",
            )  # fmt: skip
            if self.injector is not None:
                self.injector.after_write(self, feed, name, d, data)

    def jsonl(self, feed: str, d: date, lines: list[str]) -> None:
        name = file_name(feed, d, 1, "jsonl")
        body = lines
        if self.injector is not None:
            body = self.injector.jsonl(feed, name, lines)
        text = "\n".join(body)
        if not (self.injector and self.injector.truncated_last):
            text += "\n"
        data = text.encode("utf-8")
        self._record(name, feed, d, len(body), data, encoding="utf-8", newline="LF",
                     format="jsonl")  # fmt: skip

    def xlsx(self, feed: str, d: date, rows: list[list[str]]) -> None:
        """The organization registry as a workbook (first sheet, header in row 1)."""
        from openpyxl import Workbook

        name = file_name(feed, d, 1, "xlsx")
        header = list(HEADERS[feed])
        if self.injector is not None:
            rows = self.injector.xlsx_rows(feed, name, rows)
        wb = Workbook()
        ws = wb.active
        ws.title = "Реестр ОО"
        ws.append(header)
        for row in rows:
            ws.append(row)
        buf = io.BytesIO()
        wb.save(buf)
        data = _deterministic_zip(buf.getvalue())
        self._record(name, feed, d, len(rows), data, format="xlsx", date_format="ДД.ММ.ГГГГ")

    def raw(self, name: str, feed: str, d: date, data: bytes) -> None:
        """A file written as given (the defects that are whole files)."""
        self._record(name, feed, d, 0, data, format="raw")


def _deterministic_zip(data: bytes) -> bytes:
    """Rewrite an XLSX with fixed timestamps so that equal content gives equal bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>2000-01-01T00:00:00Z\g<3>",
                    content,
                )
            zi = zipfile.ZipInfo(info.filename, FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            dst.writestr(zi, content)
    return out.getvalue()
