"""Readers: CSV (UTF-8, UTF-8 with BOM or Windows-1251, detected), XLSX (first sheet) and JSON
Lines, streamed in chunks of records so that memory stays flat whatever the file size.

Every record leaves a reader in one of two ways: as a row of fields (with its first physical
line number and the record as decoded), or as a reader-level reject (wrong field count, a line
cut off at the end of the file, a quote that never closes, a line that is not JSON). Blank lines
are counted, not loaded. Text is escaped for PostgreSQL's COPY text format as it is read
(backslash, tab, newline, carriage return), so the loader sends it on without copying.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

from ingestion.checks import FIELD_COUNT, INVALID_JSON, INVALID_QUOTING, TRUNCATED

# bytes read at a time, cut at the last line end: about a million characters of Cyrillic text
# (the records of one chunk), larger when plain blocks go to the columnar path
BLOCK_BYTES = 3 << 19
PLAIN_BLOCK_BYTES = 2 << 20
SAMPLE_BYTES = 1 << 16
MAX_RECORD_LINES = 50  # a quoted field spanning more lines than this is a broken quote


class FileRefused(Exception):
    """The whole file is refused: nothing of it is loaded."""

    def __init__(self, reason: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.line = line
        self.message = message


@dataclass
class Chunk:
    line_nos: list[int]  # first physical line of each record (the header is line 1)
    lines: list[str]  # each record as decoded, COPY-escaped
    rows: list[list[str]]  # its fields, exactly as many as the header has cells
    rejects: list[tuple[int, str, tuple[str, ...]]] = field(default_factory=list)
    blank_lines: int = 0
    # the last record of the file has no line end: if it does not load cleanly it was cut off
    unterminated_last: bool = False
    # the same fields column by column (one list per header cell), given instead of `rows`
    # (then empty) when every record of the chunk is plain
    columns: list[list[str]] | None = None


def escape_copy(text: str, newlines: bool = True) -> str:
    """Text escaped for COPY's text format (a block of lines keeps its line ends when
    `newlines` is false)."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\t" in text:
        text = text.replace("\t", "\\t")
    if newlines and "\n" in text:
        text = text.replace("\n", "\\n")
    if "\r" in text:
        text = text.replace("\r", "\\r")
    return text


def detect_encoding(path: Path) -> str:
    """`utf-8-sig` (BOM), `utf-8` or `cp1251`; FileRefused when empty or not text."""
    with open(path, "rb") as f:
        sample = f.read(SAMPLE_BYTES)
        at_eof = len(sample) < SAMPLE_BYTES or not f.read(1)
    if not sample.strip(b" \t\r\n\xef\xbb\xbf"):
        raise FileRefused("empty_file", "the file is empty", line=1)
    if b"\x00" in sample:
        raise FileRefused("undecodable", "the file is not text (NUL bytes)", line=1)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=at_eof)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1251")
    except UnicodeDecodeError:
        raise FileRefused(
            "undecodable", "the file is neither UTF-8 nor Windows-1251", line=1
        ) from None
    return "cp1251"


def _split_header(line: str) -> list[str]:
    if '"' in line:
        return next(csv.reader([line], delimiter=";", quotechar='"'))
    return line.split(";")


class CsvReader:
    """`;`-separated text with a header row, read in blocks of whole lines.

    `chunks(plain=True)` gives a block of plain lines (no quote, backslash or tab) as a
    `PlainBlock`, which the columnar path parses and
    checks in bulk; every other block, and a plain one that path declines, becomes a `Chunk`
    record by record.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.encoding = detect_encoding(path)
        self._f = open(path, "rb")  # noqa: SIM115  # closed by close()
        self.bytes_total = path.stat().st_size
        first = self._f.readline()
        try:
            header_line = first.decode(self.encoding).rstrip("\r\n")
        except UnicodeDecodeError:
            self.close()
            raise FileRefused("undecodable", f"not valid {self.encoding}", line=1) from None
        if not header_line.strip(" ;\ufeff"):
            self.close()
            raise FileRefused("empty_file", "the first line (the header) is empty", line=1)
        self.header = [c.replace("\ufeff", "") for c in _split_header(header_line)]
        self.header_ends_line = first.endswith(b"\n")
        # the body has no byte-order mark: a BOM file decodes as UTF-8 after its header
        self._body_encoding = "utf-8" if self.encoding == "utf-8-sig" else self.encoding
        n = len(self.header)
        # trailing header cells with no name may be missing from the rows
        unnamed_tail = 0
        for cell in reversed(self.header):
            if cell.strip():
                break
            unnamed_tail += 1
        self._width = n
        self._min_fields = n - unnamed_tail

    def close(self) -> None:
        self._f.close()

    def sample(self, size: int) -> bytes:
        """Up to `size` bytes of the body from the current position, which stays where it
        was."""
        at = self._f.tell()
        try:
            return self._f.read(size)
        finally:
            self._f.seek(at)

    def position(self) -> int:
        try:
            return self._f.tell()
        except (OSError, ValueError):
            return 0

    def _decode(self, body: bytes, line_no: int) -> str:
        """A block's lines as text, escaped for COPY (backslash, tab, carriage return)."""
        try:
            text = body.decode(self._body_encoding)
        except UnicodeDecodeError:
            raise FileRefused(
                "undecodable", f"not valid {self.encoding} after line {line_no}", line=line_no
            ) from None
        return escape_copy(text, newlines=False)

    def chunks(self, plain: bool = False) -> Iterator[Chunk | PlainBlock]:
        n, min_fields = self._width, self._min_fields
        carry = b""
        line_no = 2
        f = self._f
        size = PLAIN_BLOCK_BYTES if plain else BLOCK_BYTES
        if not self.header_ends_line:
            return
        while True:
            block = f.read(size)
            if block:
                text = carry + block if carry else block
                cut = text.rfind(b"\n")
                if cut < 0:
                    carry = text
                    continue
                # a line end of CR LF: its CR stays with the line before the cut
                body, carry = (
                    text[: cut - 1 if text[cut - 1 : cut] == b"\r" else cut],
                    text[cut + 1 :],
                )
                final = terminated = False
            else:
                if not carry:
                    return
                body, carry, final = carry, b"", True
                # a record given back by an earlier block may end with its line end
                terminated = body.endswith(b"\n")
                if terminated:
                    body = body[:-2] if body.endswith(b"\r\n") else body[:-1]
            if b"\r" in body:
                body = body.replace(b"\r\n", b"\n")
            if plain and not final and _is_plain(body):
                count = body.count(b"\n") + 1
                yield PlainBlock(line_no, count, body, self._body_encoding, self)
                line_no += count
                continue
            lines = self._decode(body, line_no).split("\n")
            chunk = self._records(lines, line_no, n, min_fields, final, b'"' in body, terminated)
            if chunk.pending:
                # a quoted field continues past this block: read its lines again with the next
                k = len(chunk.pending)
                carry = b"\n".join(body.rsplit(b"\n", k)[-k:]) + b"\n" + carry
                line_no += len(lines) - k
            else:
                line_no += len(lines)
            yield chunk
            if final:
                return

    def plain_chunk(self, block: PlainBlock) -> Chunk:
        """The records of a plain block, as `chunks` gives any other block."""
        lines = self._decode(block.body, block.first_line).split("\n")
        return self._records(lines, block.first_line, self._width, self._min_fields, False, False)

    def _records(
        self, lines, first_no, n, min_fields, final, has_quotes, terminated=False
    ) -> _CsvChunk:
        chunk = _CsvChunk([], [], [])
        if not lines:
            return chunk
        if final and not terminated:
            chunk.unterminated_last = True
        if not has_quotes:
            recs = lines
            nos = list(range(first_no, first_no + len(lines)))
        else:
            recs, nos = [], []
            i = 0
            count = len(lines)
            while i < count:
                line = lines[i]
                if '"' not in line:
                    recs.append(line)
                    nos.append(first_no + i)
                    i += 1
                    continue
                j = i
                text = line
                while _open_quote(text):
                    if j + 1 >= count or j - i + 1 >= MAX_RECORD_LINES:
                        break
                    j += 1
                    text = text + "\\n" + lines[j]
                if _open_quote(text):
                    if j + 1 >= count and not final and j - i + 1 < MAX_RECORD_LINES:
                        # the record may continue in the next block
                        chunk.pending = lines[i:]
                        break
                    at_end = final and j + 1 >= count and not terminated
                    reason = TRUNCATED if at_end else INVALID_QUOTING
                    if reason == INVALID_QUOTING:
                        chunk.rejects.append((first_no + i, line, (reason,)))
                        i += 1
                        continue
                    chunk.rejects.append((first_no + i, text, (reason,)))
                    chunk.unterminated_last = False
                    i = j + 1
                    continue
                recs.append(text)
                nos.append(first_no + i)
                i = j + 1
        # blank lines (or lines of empty fields) are counted, not loaded
        if recs and min(map(len, recs)) <= n:
            keep = [k for k, r in enumerate(recs) if r.strip(" ;")]
            if len(keep) != len(recs):
                chunk.blank_lines = len(recs) - len(keep)
                last_blank = not recs[-1].strip(" ;")
                recs = [recs[k] for k in keep]
                nos = [nos[k] for k in keep]
                if last_blank:
                    chunk.unterminated_last = False
        if not recs:
            chunk.unterminated_last = False
            return chunk
        if not has_quotes and set(map(str.count, recs, repeat(";"))) == {n - 1}:
            # plain records of the right width: split once, take the columns by slicing
            fields = ";".join(recs).split(";")
            chunk.columns = [fields[k::n] for k in range(n)]
            chunk.lines, chunk.line_nos = recs, nos
            return chunk
        if has_quotes:
            rows = [
                next(csv.reader([r], delimiter=";", quotechar='"')) if '"' in r else r.split(";")
                for r in recs
            ]
        else:
            rows = list(map(str.split, recs, repeat(";")))
        lens = set(map(len, rows))
        if lens != {n}:
            good_recs, good_nos, good_rows = [], [], []
            last = len(rows) - 1
            for k, row in enumerate(rows):
                size = len(row)
                if size == n:
                    pass
                elif min_fields <= size < n:
                    row = row + [""] * (n - size)
                elif size > n and not any(c.strip() for c in row[n:]):
                    row = row[:n]
                else:
                    cut_off = final and k == last and chunk.unterminated_last and size < n
                    reason = TRUNCATED if cut_off else FIELD_COUNT
                    chunk.rejects.append((nos[k], recs[k], (reason,)))
                    if k == last:
                        chunk.unterminated_last = False
                    continue
                good_recs.append(recs[k])
                good_nos.append(nos[k])
                good_rows.append(row)
            recs, nos, rows = good_recs, good_nos, good_rows
        chunk.lines, chunk.line_nos, chunk.rows = recs, nos, rows
        if not recs:
            chunk.unterminated_last = False
        return chunk


@dataclass
class _CsvChunk(Chunk):
    pending: list[str] = field(default_factory=list)


def _is_plain(body: bytes) -> bool:
    """Lines with none of what needs a record-by-record reading: quotes, backslashes and tabs
    (COPY escapes). A blank line or a carriage return inside a line is no record of the
    header's width, which the columnar path finds when it parses the block."""
    return bool(body and b'"' not in body and b"\\" not in body and b"\t" not in body)


@dataclass
class PlainBlock:
    """Whole lines of a CSV file with nothing to escape or unquote (see `CsvReader.chunks`)."""

    first_line: int  # the physical line number of the block's first line
    lines: int
    body: bytes  # the lines without the last line end, in the file's encoding
    encoding: str
    reader: CsvReader

    def utf8(self) -> bytes:
        if self.encoding == "utf-8":
            return self.body
        return self.body.decode(self.encoding).encode("utf-8")

    def chunk(self) -> Chunk:
        return self.reader.plain_chunk(self)


def _open_quote(text: str) -> bool:
    """True when the record text ends inside a quoted field."""
    if text.count('"') % 2 == 0:
        return False
    try:
        next(csv.reader([text], delimiter=";", quotechar='"', strict=True))
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _cell_text(value, digits: int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, float):
        value = int(value) if value.is_integer() else value
    if isinstance(value, int):
        text = str(value)
        if digits and len(text) < digits:
            text = text.zfill(digits)
        return text
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _csv_line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=";", quotechar='"', lineterminator="").writerow(cells)
    return out.getvalue()


# digit columns Excel may have turned into numbers: pad back their leading zeros
PAD_DIGITS = {"inn": 10, "kpp": 9, "ogrn": 13, "oktmo": 8}


class XlsxReader:
    """The first sheet of a workbook; the first non-empty row is the header."""

    encoding = "xlsx"

    def __init__(self, path: Path, pad: dict[str, int] | None = None) -> None:
        from python_calamine import CalamineWorkbook

        self.path = path
        self.bytes_total = path.stat().st_size
        try:
            book = CalamineWorkbook.from_path(str(path))
            sheet = book.get_sheet_by_index(0)
        except Exception as exc:  # a broken workbook is refused whole
            msg = f"not a readable workbook ({type(exc).__name__})"
            raise FileRefused("undecodable", msg, 1) from None
        self._rows = iter(sheet.iter_rows())
        self._line = 0
        self.header: list[str] = []
        for row in self._rows:
            self._line += 1
            cells = [_cell_text(v, None).strip() for v in row]
            if any(cells):
                self.header = cells
                break
        if not self.header:
            raise FileRefused("empty_file", "the first sheet is empty", line=1)
        self.header_ends_line = True
        self.pad_by_index: dict[int, int] = {}
        self._pad = pad or {}

    def set_padding(self, pad_by_index: dict[int, int]) -> None:
        self.pad_by_index = pad_by_index

    def position(self) -> int:
        return 0

    def close(self) -> None:
        pass

    def chunks(self, size: int = 5000) -> Iterator[Chunk]:
        n = len(self.header)
        chunk = Chunk([], [], [])
        for row in self._rows:
            self._line += 1
            cells = [_cell_text(v, self.pad_by_index.get(i)) for i, v in enumerate(row)]
            if not any(c.strip() for c in cells):
                chunk.blank_lines += 1
                continue
            line = escape_copy(_csv_line(cells))
            cells = [escape_copy(c) for c in cells]
            if len(cells) < n:
                cells += [""] * (n - len(cells))
            elif len(cells) > n:
                if any(c.strip() for c in cells[n:]):
                    chunk.rejects.append((self._line, line, (FIELD_COUNT,)))
                    continue
                cells = cells[:n]
            chunk.line_nos.append(self._line)
            chunk.lines.append(line)
            chunk.rows.append(cells)
            if len(chunk.rows) >= size:
                yield chunk
                chunk = Chunk([], [], [])
        yield chunk


class JsonLinesReader:
    """One JSON object per line (UTF-8); the contract's keys are the header."""

    def __init__(self, path: Path, keys: list[str]) -> None:
        self.path = path
        self.bytes_total = path.stat().st_size
        self.encoding = detect_encoding(path)
        if self.encoding == "cp1251":
            raise FileRefused("undecodable", "JSON Lines must be UTF-8", line=1)
        self._f = open(path, encoding=self.encoding, errors="strict", newline="")  # noqa: SIM115
        self.header = list(keys)
        self.header_ends_line = True
        self.extra_keys: set[str] = set()

    def position(self) -> int:
        try:
            return self._f.buffer.tell()
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        self._f.close()

    def chunks(self, size: int = 5000) -> Iterator[Chunk]:
        keys = self.header
        known = set(keys)
        chunk = Chunk([], [], [])
        line_no = 0
        while True:
            try:
                raw = self._f.readline()
            except UnicodeDecodeError:
                raise FileRefused(
                    "undecodable", f"not valid UTF-8 after line {line_no}", line=line_no + 1
                ) from None
            if not raw:
                break
            line_no += 1
            terminated = raw.endswith("\n")
            text = raw.rstrip("\r\n")
            if not text.strip():
                chunk.blank_lines += 1
                continue
            escaped = escape_copy(text)
            try:
                obj = json.loads(text)
            except ValueError:
                obj = None
            if not isinstance(obj, dict):
                reason = INVALID_JSON if terminated or obj is not None else TRUNCATED
                chunk.rejects.append((line_no, escaped, (reason,)))
                continue
            extra = obj.keys() - known
            if extra:
                self.extra_keys |= extra
            row = []
            for k in keys:
                v = obj.get(k)
                if v is None:
                    row.append("")
                elif isinstance(v, str):
                    row.append(escape_copy(v))
                elif isinstance(v, bool):
                    row.append("да" if v else "нет")
                else:
                    row.append(escape_copy(json.dumps(v, ensure_ascii=False)))
            chunk.line_nos.append(line_no)
            chunk.lines.append(escaped)
            chunk.rows.append(row)
            if not terminated:
                chunk.unterminated_last = True
            if len(chunk.rows) >= size:
                yield chunk
                chunk = Chunk([], [], [])
        yield chunk
