"""Writing extract files the way the source systems do: names with extract dates, `;`, Russian
headers, mixed encodings (Windows-1251, UTF-8 with and without BOM), CRLF or LF, dates as
`ДД.ММ.ГГГГ` or ISO, quoting with doubled quotes; organizations sometimes as XLSX; accounts as
JSON Lines in UTF-8. Every written file is listed for the manifest with its sha256."""

from __future__ import annotations

import codecs
import hashlib
import io
import random
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

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


class _Sink:
    """A file being written: its text encoded, counted and hashed as it comes."""

    FLUSH_CHARS = 1 << 20

    def __init__(self, path: Path, encoding: str) -> None:
        self._file = path.open("wb")
        self._encode = codecs.getincrementalencoder(encoding)().encode
        self._hash = hashlib.sha256()
        self._pending: list[str] = []
        self._chars = 0
        self.size = 0

    def write(self, text: str) -> None:
        self._pending.append(text)
        self._chars += len(text)
        if self._chars >= self.FLUSH_CHARS:
            self._flush()

    def _flush(self) -> None:
        data = self._encode("".join(self._pending))
        self._pending.clear()
        self._chars = 0
        self._file.write(data)
        self._hash.update(data)
        self.size += len(data)

    def close(self) -> tuple[int, str]:
        """Write what is left; the file's size and sha256."""
        self._flush()
        self._file.close()
        return self.size, self._hash.hexdigest()


class Landing:
    """The landing folder: writes files and keeps the list for the manifest."""

    def __init__(self, out: Path, injector: Injector | None = None) -> None:
        self.out = out
        self.injector = injector
        self.files: list[dict[str, object]] = []
        out.mkdir(parents=True, exist_ok=True)

    def _register(
        self, name: str, feed: str, d: date, rows: int, size: int, sha256: str, **fmt: object
    ) -> None:
        self.files.append(
            {
                "name": name,
                "feed": feed,
                "extract_date": d.isoformat(),
                "rows": rows,
                **fmt,
                "bytes": size,
                "sha256": sha256,
            }
        )

    def _record(self, name: str, feed: str, d: date, rows: int, data: bytes, **fmt: object) -> None:
        (self.out / name).write_bytes(data)
        self._register(name, feed, d, rows, len(data), hashlib.sha256(data).hexdigest(), **fmt)

    def csv_batch(self, feed: str, d: date, style: Style, always: bool = True) -> CsvBatch:
        """A batch of a CSV feed to add lines to; `always`: a header-only file when none come."""
        return CsvBatch(self, feed, d, style, always)

    def csv(
        self,
        feed: str,
        d: date,
        lines: list[str],
        style: Style,
        tags: dict[int, str] | None = None,
    ) -> None:
        """Write one batch of a CSV feed, split into parts of at most MAX_ROWS rows."""
        batch = self.csv_batch(feed, d, style)
        if tags:
            for i, line in enumerate(lines):
                batch.add(line, tags.get(i, ""))
        else:
            batch.extend(lines)
        batch.close()

    def jsonl(self, feed: str, d: date, lines: Iterable[str]) -> None:
        name = file_name(feed, d, 1, "jsonl")
        sink = _Sink(self.out / name, "utf-8")
        rows = 0
        if self.injector is not None:
            body = self.injector.jsonl(feed, name, list(lines))
            sink.write("\n".join(body))
            if not self.injector.truncated_last:
                sink.write("\n")
            rows = len(body)
        else:
            for line in lines:
                sink.write(line + "\n")
                rows += 1
            if not rows:
                sink.write("\n")
        size, sha256 = sink.close()
        self._register(name, feed, d, rows, size, sha256, encoding="utf-8", newline="LF",
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


class CsvBatch:
    """One batch of a CSV feed, written as its lines come, in parts of at most MAX_ROWS rows.
    Without an injector lines go straight to disk; with one, each part is held until it is
    complete (the injector works on a whole part), so at most MAX_ROWS lines are in memory."""

    FLUSH_LINES = 5000

    def __init__(self, landing: Landing, feed: str, d: date, style: Style, always: bool) -> None:
        self.landing = landing
        self.injector = landing.injector
        self.feed = feed
        self.d = d
        self.style = style
        self.always = always
        self.header = list(HEADERS[feed])
        self.parts = 0
        self.rows = MAX_ROWS  # rows of the current part; a first line starts a part
        self.name = ""
        self.lines: list[str] = []
        self.tags: dict[int, str] = {}
        self.sink: _Sink | None = None

    def add(self, line: str, tag: str = "") -> None:
        if self.rows == MAX_ROWS:
            self._next_part()
        if tag:
            self.tags[self.rows] = tag
        self.lines.append(line)
        self.rows += 1
        if self.sink is not None and len(self.lines) >= self.FLUSH_LINES:
            self._flush()

    def extend(self, lines: list[str]) -> None:
        i = 0
        while i < len(lines):
            if self.rows == MAX_ROWS:
                self._next_part()
            take = lines[i : i + MAX_ROWS - self.rows]
            self.lines.extend(take)
            self.rows += len(take)
            i += len(take)
            if self.sink is not None and len(self.lines) >= self.FLUSH_LINES:
                self._flush()

    def close(self) -> None:
        if self.parts == 0:
            if not self.always:
                return
            self._next_part()
        self._end_part()

    def _flush(self) -> None:
        nl = self.style.newline
        self.sink.write(nl.join(self.lines) + nl)  # type: ignore[union-attr]
        self.lines.clear()

    def _next_part(self) -> None:
        if self.parts:
            self._end_part()
        self.parts += 1
        self.rows = 0
        self.name = file_name(self.feed, self.d, self.parts, "csv")
        if self.injector is None:
            self.sink = _Sink(self.landing.out / self.name, self.style.encoding)
            self.sink.write(self.style.join(self.header) + self.style.newline)

    def _end_part(self) -> None:
        style, name = self.style, self.name
        if self.injector is None:
            if self.lines:
                self._flush()
            sink = self.sink
            rows = self.rows
        else:
            head, body = self.injector.csv(
                self.feed, name, self.d, self.header, self.lines, style, self.tags
            )  # fmt: skip
            sink = _Sink(self.landing.out / name, style.encoding)
            sink.write(head)
            nl, step = style.newline, self.FLUSH_LINES
            for start in range(0, len(body), step):
                sink.write(nl + nl.join(body[start : start + step]))
            if not self.injector.truncated_last:
                sink.write(style.newline)
            rows = len(body)
            self.lines = []
            self.tags = {}
        self.sink = None
        size, sha256 = sink.close()  # type: ignore[union-attr]
        self.landing._register(
            name, self.feed, self.d, rows, size, sha256,
            encoding=style.encoding, newline="CRLF" if style.newline == "\r\n" else "LF",
            date_format="ISO" if style.iso_dates else "ДД.ММ.ГГГГ", format="csv",
        )  # fmt: skip
        if self.injector is not None:
            self.injector.after_write(self.landing, self.feed, name, self.d)


class Spool:
    """The lines one part of a region gives each feed on each extract day, kept on disk until
    that day's files are written from every part: one file per feed, each day's lines one
    span of it (a part writes its days in order). Reading opens the file for each span, so
    that a region of many parts holds no files open."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.name = name
        self._files: dict[str, BinaryIO] = {}
        self._spans: dict[str, dict[int, tuple[int, int]]] = {}

    def _path(self, feed: str) -> Path:
        return self.folder / f"{self.name}.{feed}"

    def write(self, feed: str, idx: int, lines: list[str]) -> None:
        if not lines:
            return
        f = self._files.get(feed)
        if f is None:
            f = self._files[feed] = self._path(feed).open("ab")
            self._spans.setdefault(feed, {})
        data = ("\n".join(lines) + "\n").encode("utf-8")
        start = f.tell()
        spans = self._spans[feed]
        first, end = spans.get(idx, (start, start))
        if end != start:
            raise ValueError(f"{self.name}: {feed} lines of day {idx} after a later day's")
        spans[idx] = (first, start + len(data))
        f.write(data)

    def close(self) -> None:
        """Finish writing (what is written stays readable)."""
        for f in self._files.values():
            f.close()
        self._files.clear()

    def read(self, feed: str, idx: int, chunk: int = 1 << 22) -> Iterator[list[str]]:
        """The lines written for `feed` on day `idx`, in order, a list of about `chunk` bytes
        at a time (nothing when none were written)."""
        span = self._spans.get(feed, {}).get(idx)
        if span is None:
            return
        if feed in self._files:
            self._files[feed].flush()
        pos, end = span
        rest = b""
        with self._path(feed).open("rb") as f:
            f.seek(pos)
            while pos < end:
                data = rest + f.read(min(chunk, end - pos))
                pos = min(pos + chunk, end)
                cut = data.rfind(b"\n") + 1
                rest = data[cut:]
                if cut:
                    yield data[:cut].decode("utf-8").split("\n")[:-1]


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
