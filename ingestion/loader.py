"""Loading the landing folder: every new file, in extract-date and feed-dependency order, each
in one transaction, through COPY.

    results = load_landing(Path(".local/landing"))

A file whose content (sha256) was loaded before is skipped. A file refused whole (unknown feed
name, empty, undecodable, missing required column) loads nothing, is logged with the reason and
moved to `failed/` under the landing folder; the other files still load. Loaded files stay where
they are: the load log's sha256 makes a rerun skip them.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import os
import queue
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.copy import Copy, LibpqWriter

from ingestion import schema
from ingestion.checks import DUPLICATE_KEY, SOURCE_TIMEZONE, _unescape
from ingestion.columnar import COPY_SIGNATURE, COPY_TRAILER, PlainPath
from ingestion.columnar import thread as columnar_thread
from ingestion.contracts import FILE_NAME, Feed, feeds, get_feed
from ingestion.pseudonym import Pseudonymizer, load_secret
from ingestion.readers import (
    PAD_DIGITS,
    CsvReader,
    FileRefused,
    JsonLinesReader,
    PlainBlock,
    XlsxReader,
    escape_copy,
)
from ingestion.validate import ChunkResult, FeedProcessor, HeaderError, Suspect, key_hashes

LANDING_LOCK = 7_205_312  # advisory lock class: one loader per landing folder
FILE_LOCK = 7_205_313  # advisory lock class: one load per file content
SPOOL_BYTES = 16 << 20
SUBFOLDERS = ("failed", "loaded")
IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".error.txt")


class LoaderBusy(RuntimeError):
    """Another loader holds the landing folder."""


@dataclass
class FileResult:
    file: str
    feed: str | None
    extract_date: dt.date | None
    status: str  # loaded · skipped · failed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_flagged: int = 0
    rows_orphan: int = 0
    blank_lines: int = 0
    seconds: float = 0.0
    load_id: int | None = None
    encoding: str | None = None
    message: str = ""
    reason: str | None = None
    line: int | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        d = asdict(self)
        d["extract_date"] = self.extract_date.isoformat() if self.extract_date else None
        d["rows_per_second"] = round(self.rows_per_second, 1)
        return d


class Progress:
    """Callbacks for a progress display (the CLI draws a bar; the default does nothing)."""

    def start(self, file: str, total_bytes: int) -> None: ...

    def update(self, file: str, rows: int, bytes_done: int) -> None: ...

    def finish(self, result: FileResult) -> None: ...

    def message(self, text: str) -> None: ...


@dataclass(frozen=True)
class Candidate:
    path: Path
    feed: Feed | None
    extract_date: dt.date | None
    seq: int
    ext: str
    problem: str | None = None

    @property
    def sort_key(self):
        return (
            self.extract_date or dt.date.min,
            self.feed.order if self.feed else 0,
            self.seq,
            self.path.name,
        )


def discover(landing: Path) -> list[Candidate]:
    """The files of the landing folder (not its subfolders) in load order."""
    out: list[Candidate] = []
    for path in sorted(landing.iterdir()):
        name = path.name
        if not path.is_file() or name.startswith(".") or name.endswith(IGNORED_SUFFIXES):
            continue
        if name.startswith(("_", "manifest")) or name.endswith((".md", ".json")):
            continue  # a generator's manifest or notes beside the extracts
        m = FILE_NAME.match(name)
        if not m:
            out.append(Candidate(path, None, None, 0, "", "the name is not <feed>_<YYYYMMDD>"))
            continue
        feed = get_feed(m["feed"])
        try:
            day = dt.datetime.strptime(m["date"], "%Y%m%d").date()
        except ValueError:
            out.append(Candidate(path, feed, None, 0, m["ext"], "the date in the name is invalid"))
            continue
        ext = m["ext"].lower()
        seq = int(m["seq"] or 0)
        if feed is None:
            out.append(Candidate(path, None, day, seq, ext, f"unknown feed name «{m['feed']}»"))
        elif ext not in feed.formats:
            problem = f"a {feed.name} file must be {' or '.join(feed.formats)}, not {ext}"
            out.append(Candidate(path, feed, day, seq, ext, problem))
        else:
            out.append(Candidate(path, feed, day, seq, ext))
    return sorted(out, key=lambda c: c.sort_key)


def file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def open_reader(cand: Candidate):
    feed = cand.feed
    assert feed is not None
    if cand.ext == "xlsx":
        return XlsxReader(cand.path)
    if cand.ext == "jsonl":
        return JsonLinesReader(cand.path, [c.header for c in feed.columns])
    return CsvReader(cand.path)


def _connect(url: str | None) -> psycopg.Connection:
    if url is None:
        from kontingent.settings import get_settings

        url = get_settings().warehouse_url
    return psycopg.connect(url, application_name="kontingent-load")


# the C heap's free pages are given back every this many chunks of a file: glibc serves a
# block's large buffers from its heap once one of that size has been freed, and keeps what is
# freed; a 3-million-row file peaked 50 MiB above a file of a tenth of that (each trim ~7 ms)
RELEASE_EVERY = 4

# COPY data is handed to a sending thread in pieces of at most this size, at most this many
# waiting: the loader makes the next block's rows while the server takes the last ones, and
# holds no more than SEND_PIECES x SEND_PIECE bytes in the queue (memory stays flat)
SEND_PIECE = 128 * 1024
SEND_PIECES = 32


class SendingWriter(LibpqWriter):
    """Writes a COPY's data to the server from a worker thread, through a bounded queue.

    With psycopg's own writer the loader waits, after each block, until all but the last
    megabyte of it has been taken by the server, and only then parses and checks the next one:
    client and server took turns. Here `write` returns once its pieces are queued. The
    thread is the process's own (`columnar.thread`), kept for every file.
    """

    def __init__(self, cursor: psycopg.Cursor):
        super().__init__(cursor)
        self._queue: queue.Queue[memoryview | None] = queue.Queue(maxsize=SEND_PIECES)
        self._job = None
        self._error: BaseException | None = None

    def _send(self) -> None:
        try:
            while (piece := self._queue.get()) is not None:
                self._put(piece)
        except BaseException as exc:  # handed to the loader's thread by write() or finish()
            self._error = exc
            while self._queue.get() is not None:  # so that write() never blocks on a full queue
                pass

    def write(self, data) -> None:
        if self._error is not None:
            raise self._error
        if self._job is None:
            self._job = columnar_thread("send").submit(self._send)
        view = memoryview(data)
        for start in range(0, len(view), SEND_PIECE):
            self._queue.put(view[start : start + SEND_PIECE])

    def finish(self, exc: BaseException | None = None) -> None:
        if self._job is not None:
            self._queue.put(None)
            self._job.result()
            self._job = None
        if self._error is not None:
            raise self._error
        super().finish(exc)


def _copy(cur: psycopg.Cursor, statement: sql.Composable) -> Copy:
    """A COPY ... FROM STDIN whose data is sent by the sending thread."""
    return cur.copy(statement, writer=SendingWriter(cur))


@dataclass
class _Spool:
    """COPY text kept aside until the main COPY is done (memory up to SPOOL_BYTES, then disk)."""

    rows: int = 0
    file: tempfile.SpooledTemporaryFile = field(
        default_factory=lambda: tempfile.SpooledTemporaryFile(  # noqa: SIM115  # closed by close()
            max_size=SPOOL_BYTES, mode="w+", encoding="utf-8"
        )
    )

    def write(self, text: str, rows: int = 1) -> None:
        if text:
            self.file.write(text)
            self.rows += rows

    def copy_into(self, cur: psycopg.Cursor, statement: sql.Composable) -> None:
        if not self.rows:
            return
        self.file.seek(0)
        with cur.copy(statement) as copy:
            while block := self.file.read(1 << 20):
                copy.write(block)

    def close(self) -> None:
        self.file.close()


def _copy_statement(table: str, columns: list[str], binary: bool = False) -> sql.Composable:
    schema_name, name = table.split(".")
    options = sql.SQL("format binary" if binary else "null ''")
    return sql.SQL("copy {} ({}) from stdin with ({})").format(
        sql.Identifier(schema_name, name),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        options,
    )


QUARANTINE_COLUMNS = [
    "load_id",
    "feed",
    "file_name",
    "line_number",
    "reasons",
    "problems",
    "original_line",
]
ORPHAN_COLUMNS = ["load_id", "feed", "line_number", "entity", "ref_key"]


def _array(items) -> str:
    return "{" + ",".join(items) + "}"


class KnownKeys:
    """Which keys the warehouse knew before the file being loaded (`raw.known_keys`).

    Asked for each chunk's values not seen yet in the file, one indexed lookup per chunk and
    reference, so the loader's memory does not grow with the number of students and
    organizations ever loaded. The lookups run on a connection of their own (the load's
    connection is busy with its COPY while chunks are read); it sees the keys of the files
    committed before, which is what a file is checked against.
    """

    # planned for each call (`prepare=False`), as a join to the array: a plan reused across
    # calls was made while the table was small, a sequential scan comparing every row with
    # every element of the array (a parameter array is not hashed): seconds per chunk once a
    # region's students are known (a whole region's folder took hours instead of minutes)
    LOOKUP = (
        "select k.key from unnest(%s::text[]) as a(key) "
        "join raw.known_keys as k on k.entity = %s and k.key = a.key"
    )

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.conn: psycopg.Connection | None = None
        self._lock = threading.Lock()  # the columnar path asks from a thread of its own

    def __call__(self, entity: str, keys: set[str]) -> set[str]:
        if not keys:
            return set()
        with self._lock:
            if self.conn is None:
                self.conn = _connect(self.url)
                self.conn.autocommit = True
            rows = self.conn.execute(self.LOOKUP, (list(keys), entity), prepare=False).fetchall()
        return {r[0] for r in rows}

    def __enter__(self) -> KnownKeys:
        return self

    def __exit__(self, *exc) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class FileLoad:
    """One file's load inside the caller's transaction: COPY, quarantine, orphans, log."""

    def __init__(
        self,
        conn: psycopg.Connection,
        feed: Feed,
        load_id: int,
        extract_date: dt.date,
        file_name: str,
        pseudonymize: Pseudonymizer,
        progress: Progress | None = None,
        all_suspect: bool = False,
    ) -> None:
        self.conn = conn
        self.feed = feed
        self.load_id = load_id
        self.extract_date = extract_date
        self.file_name = file_name
        self.pseudonymize = pseudonymize
        self.progress = progress or Progress()
        self.all_suspect = all_suspect
        self.pii = _Spool()
        self.quarantine = _Spool()
        self.orphans = _Spool()
        self.read = self.loaded = self.rejected = self.flagged = self.blank = 0
        self.suspects: list[Suspect] = []
        self._chunks = 0
        self._q_prefix = f"{load_id}\t{feed.name}\t{escape_copy(file_name)}\t"

    def _take(self, res: ChunkResult) -> None:
        self._chunks += 1
        if self._chunks % RELEASE_EVERY == 0:
            release_memory()
        self.read += res.read
        self.loaded += res.loaded
        self.rejected += res.rejected
        self.flagged += res.flagged
        self.blank += res.blank_lines
        if res.pii_text:
            self.pii.write(res.pii_text, res.loaded)
        for line_no, text, reasons, problems in res.quarantine:
            self._quarantine(line_no, text, reasons, problems)
        if res.orphans:
            lid, fname = self.load_id, self.feed.name
            self.orphans.write(
                "".join(f"{lid}\t{fname}\t{ln}\t{ent}\t{key}\n" for ln, ent, key in res.orphans),
                len(res.orphans),
            )
        self.suspects.extend(res.suspects)

    def _quarantine(self, line_no: int, text: str, reasons, problems) -> None:
        self.quarantine.write(
            f"{self._q_prefix}{line_no}\t{_array(reasons)}\t{_array(problems)}\t{text}\n"
        )

    def run(self, reader, processor: FeedProcessor) -> None:
        cur = self.conn.cursor()
        processor.hold_all = self.all_suspect
        statement = _copy_statement(self.feed.raw_table, processor.raw_columns)
        plain = PlainPath.of(processor) if isinstance(reader, CsvReader) else None
        if plain is None:
            with _copy(cur, statement) as copy:
                for chunk in reader.chunks():
                    res = processor.process(chunk)
                    if res.raw_text:
                        copy.write(res.raw_text)
                    self._take(res)
                    self.progress.update(self.file_name, self.read, reader.position())
        else:
            # the columnar path's rows go in binary COPY; the rows of the blocks read record
            # by record are kept aside and copied after
            # (each plain block is parsed in a thread while the one before is processed)
            records = _Spool()
            binary = _copy_statement(self.feed.raw_table, processor.raw_columns, binary=True)
            parser = columnar_thread("parse")
            with _copy(cur, binary) as copy:
                copy.write(COPY_SIGNATURE)
                ahead = None
                for chunk in reader.chunks(plain=True):
                    parsing = (
                        parser.submit(plain.parse, chunk) if isinstance(chunk, PlainBlock) else None
                    )
                    if ahead is not None:
                        self._columnar(copy, records, plain, processor, *ahead)
                        self.progress.update(self.file_name, self.read, reader.position())
                    ahead = (chunk, parsing)
                if ahead is not None:
                    self._columnar(copy, records, plain, processor, *ahead)
                self._take(ChunkResult(orphans=plain.finish()))
                copy.write(COPY_TRAILER)
            records.copy_into(cur, statement)
            records.close()
        self._settle(cur, processor)
        if self.feed.pii_table:
            self.pii.copy_into(cur, _copy_statement(self.feed.pii_table, processor.pii_columns))
        self.quarantine.copy_into(
            cur, _copy_statement(self.feed.quarantine_table, QUARANTINE_COLUMNS)
        )
        self.orphans.copy_into(cur, _copy_statement("raw.orphans", ORPHAN_COLUMNS))
        for spool in (self.pii, self.quarantine, self.orphans):
            spool.close()
        processor.keys.close()

    def _columnar(self, copy, records: _Spool, plain: PlainPath, processor, chunk, parsing):
        """One chunk of a file read by the columnar path: its binary rows to the COPY, or,
        when read record by record, its text rows aside."""
        res = plain.process(chunk, parsing.result()) if parsing is not None else None
        if res is not None:
            if res.raw_text:
                copy.write(res.raw_text)
        else:
            if isinstance(chunk, PlainBlock):  # declined: read record by record
                chunk = chunk.chunk()
            res = processor.process(chunk)
            records.write(res.raw_text)
        self._take(res)

    def _settle(self, cur: psycopg.Cursor, processor: FeedProcessor) -> None:
        """Held-back rows: a duplicate of an earlier line goes to quarantine, the rest loads."""
        if not self.suspects:
            return
        key_cols = list(self.feed.key)
        maybe = self.suspects
        if not self.all_suspect:  # a key whose hash occurs once in the file came first
            hashes = key_hashes(list(zip(*(s.key for s in self.suspects), strict=True)))
            again = processor.keys.repeated(hashes)
            maybe = [s for s, a in zip(self.suspects, again.tolist(), strict=True) if a]
        seen = self._seen(cur, maybe, key_cols) if maybe else set()
        raw_rows: list[str] = []
        for s in sorted(self.suspects, key=lambda s: s.line_no):
            key = tuple(_unescape(k) for k in s.key)
            if key in seen:
                problems = tuple(f"{c}:{DUPLICATE_KEY}" for c in key_cols)
                self._quarantine(s.line_no, s.line, (DUPLICATE_KEY,), problems)
                self.rejected += 1
                continue
            seen.add(key)
            raw_rows.append(s.raw_row)
            if s.pii_row is not None:
                self.pii.write(s.pii_row + "\n")
            for entity, ref in s.refs:
                self.orphans.write(
                    f"{self.load_id}\t{self.feed.name}\t{s.line_no}\t{entity}\t{ref}\n"
                )
            if s.flagged:
                self.flagged += 1
            self.loaded += 1
        if raw_rows:
            with cur.copy(_copy_statement(self.feed.raw_table, processor.raw_columns)) as copy:
                copy.write("\n".join(raw_rows) + "\n")
        self.suspects = []

    def _seen(self, cur: psycopg.Cursor, suspects: list[Suspect], key_cols: list[str]) -> set:
        """The keys of these held rows that this load's rows already hold."""
        distinct = sorted({tuple(_unescape(k) for k in s.key) for s in suspects})
        arrays = [list(col) for col in zip(*distinct, strict=True)]
        query = sql.SQL(
            "select distinct {cols} from {table} where load_id = %s "
            "and ({cols}) in (select * from unnest({params}))"
        ).format(
            cols=sql.SQL(", ").join(map(sql.Identifier, key_cols)),
            table=sql.Identifier(*self.feed.raw_table.split(".")),
            params=sql.SQL(", ").join(sql.SQL("%s::text[]") for _ in key_cols),
        )
        return {tuple(r) for r in cur.execute(query, (self.load_id, *arrays)).fetchall()}

    def finish_keys_and_orphans(self, load_id_for_resolution: int) -> int:
        """Register the keys this feed makes known, settle orphans, return this load's open
        orphan count."""
        conn = self.conn
        for ref in self.feed.registers:
            conn.execute(
                sql.SQL(
                    "insert into raw.known_keys (entity, key, first_load_id) "
                    "select distinct %s, {col}, %s from {table} "
                    "where load_id = %s and {col} is not null on conflict do nothing"
                ).format(
                    col=sql.Identifier(ref.column),
                    table=sql.Identifier(*self.feed.raw_table.split(".")),
                ),
                (ref.entity, load_id_for_resolution, self.load_id),
            )
        if self.feed.registers:
            conn.execute(
                "update raw.orphans as o set resolved_load_id = %s, resolved_at = now() "
                "from raw.known_keys as k where o.resolved_load_id is null "
                "and k.entity = o.entity and k.key = o.ref_key",
                (load_id_for_resolution,),
            )
            # references to records of the same file were never orphans
            conn.execute(
                "delete from raw.orphans where load_id = %s and resolved_load_id = %s",
                (self.load_id, load_id_for_resolution),
            )
        row = conn.execute(
            "select count(distinct line_number) from raw.orphans "
            "where load_id = %s and feed = %s and resolved_load_id is null",
            (self.load_id, self.feed.name),
        ).fetchone()
        return int(row[0]) if row else 0


# the first lines of a text file whose length sizes the duplicate-key filter
SAMPLE_BYTES = 256 * 1024
SAMPLE_LINES = 64


def _rows_expected(reader, size: int) -> int | None:
    """The rows a text file is expected to hold, which sizes its duplicate-key filter: twice
    what its first lines' mean length gives, and at most one row for each byte a column (a
    line's separators and end). A file of more rows than that only makes the filter's
    positives more frequent (held back and settled at the end of the file), never misses a
    duplicate. For JSON Lines, the bound; none for a workbook, whose bytes are compressed."""
    if isinstance(reader, XlsxReader):
        return None
    at_most = size // max(len(reader.header), 1) + 1
    if not isinstance(reader, CsvReader):  # JSON Lines: the bound
        return at_most
    sample = reader.sample(SAMPLE_BYTES)
    lines = sample.count(b"\n")
    if len(sample) < SAMPLE_BYTES:  # the whole body: its lines are known
        return min(at_most, lines + 1)
    if lines < SAMPLE_LINES:
        return at_most
    mean = (sample.rindex(b"\n") + 1) / lines
    return min(at_most, 2 * int(size / mean) + 1)


def _processor(feed, reader, pseudonymize, known, prefix, size=None) -> FeedProcessor:
    rows = None if size is None else _rows_expected(reader, size)
    try:
        proc = FeedProcessor(feed, reader.header, pseudonymize, known, prefix, rows)
    except HeaderError as exc:
        raise FileRefused("missing_column", str(exc), line=1) from None
    if isinstance(reader, XlsxReader):
        pads = {}
        for col in feed.columns:
            if col.type in PAD_DIGITS and col.name in proc.mapping:
                pads[proc.mapping[col.name]] = PAD_DIGITS[col.type]
        reader.set_padding(pads)
    return proc


def load_file(
    conn: psycopg.Connection,
    cand: Candidate,
    pseudonymize: Pseudonymizer,
    known: KnownKeys,
    progress: Progress | None = None,
) -> FileResult:
    """Load one file in one transaction (the connection must not be in a transaction)."""
    progress = progress or Progress()
    feed = cand.feed
    assert feed is not None and cand.extract_date is not None
    t0 = time.perf_counter()
    name = cand.path.name
    result = FileResult(name, feed.name, cand.extract_date, "loaded")
    sha = file_sha256(cand.path)
    size = cand.path.stat().st_size
    reader = None
    try:
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(%s, hashtext(%s))", (FILE_LOCK, sha))
            prior = conn.execute(
                "select load_id, file_name from raw.load_log "
                "where sha256 = %s and status = 'loaded' and kind = 'file'",
                (sha,),
            ).fetchone()
            if prior:
                result.status = "skipped"
                result.load_id = prior[0]
                result.message = f"already loaded (same content as {prior[1]}, load {prior[0]})"
                result.seconds = time.perf_counter() - t0
                return result
            conn.execute(f"set local timezone = '{SOURCE_TIMEZONE}'")
            conn.execute("set local datestyle = 'ISO, DMY'")
            load_id = conn.execute(
                "insert into raw.load_log (kind, feed, file_name, file_path, extract_date, "
                "file_seq, sha256, size_bytes, status, loader) "
                "values ('file', %s, %s, %s, %s, %s, %s, %s, 'loading', %s) returning load_id",
                (
                    feed.name,
                    name,
                    str(cand.path),
                    cand.extract_date,
                    cand.seq,
                    sha,
                    size,
                    f"{socket.gethostname()}:{os.getpid()}",
                ),
            ).fetchone()[0]
            result.load_id = load_id
            progress.start(name, size)
            reader = open_reader(cand)
            result.encoding = reader.encoding
            job = FileLoad(conn, feed, load_id, cand.extract_date, name, pseudonymize, progress)
            prefix = f"{load_id}\t{cand.extract_date.isoformat()}"
            proc = _processor(feed, reader, pseudonymize, known, prefix, size)
            if proc.extra_headers:
                result.warnings.append(
                    "extra columns ignored: " + ", ".join(f"«{h}»" for h in proc.extra_headers)
                )
            missing_optional = [
                c.header for c in feed.columns if c.name not in proc.mapping and not c.required
            ]
            if missing_optional:
                result.warnings.append(
                    "optional columns absent (loaded as empty): "
                    + ", ".join(f"«{h}»" for h in missing_optional)
                )
            gc.disable()  # the load allocates millions of tuples: no collector passes meanwhile
            try:
                job.run(reader, proc)
            finally:
                gc.enable()
            if isinstance(reader, JsonLinesReader) and reader.extra_keys:
                result.warnings.append(
                    "extra keys ignored: " + ", ".join(sorted(reader.extra_keys))
                )
            if feed.mode == "snapshot" and job.read == 0:
                raise FileRefused("empty_file", "a full snapshot with no rows", line=2)
            if job.read != job.loaded + job.rejected:
                raise RuntimeError(
                    f"{name}: rows read {job.read} != loaded {job.loaded} + "
                    f"rejected {job.rejected}; nothing loaded"
                )
            orphans = job.finish_keys_and_orphans(load_id)
            result.rows_read, result.rows_loaded = job.read, job.loaded
            result.rows_rejected, result.rows_flagged = job.rejected, job.flagged
            result.rows_orphan, result.blank_lines = orphans, job.blank
            result.seconds = time.perf_counter() - t0
            conn.execute(
                "update raw.load_log set status = 'loaded', encoding = %s, header = %s, "
                "rows_read = %s, rows_loaded = %s, rows_rejected = %s, rows_flagged = %s, "
                "rows_orphan = %s, blank_lines = %s, warnings = %s, finished_at = now(), "
                "seconds = %s where load_id = %s",
                (
                    reader.encoding,
                    list(reader.header),
                    job.read,
                    job.loaded,
                    job.rejected,
                    job.flagged,
                    orphans,
                    job.blank,
                    result.warnings or None,
                    round(result.seconds, 3),
                    load_id,
                ),
            )
            result.message = (
                f"{job.loaded} loaded, {job.rejected} rejected"
                + (f", {job.flagged} flagged" if job.flagged else "")
                + (f", {orphans} orphan" if orphans else "")
            )
    except FileRefused as exc:
        result.status = "failed"
        result.reason = exc.reason
        result.line = exc.line
        result.rows_read = result.rows_loaded = result.rows_rejected = 0
        result.rows_flagged = result.rows_orphan = 0
        result.message = f"{name}, line {exc.line or 1}: {exc.message} ({exc.reason})"
        result.seconds = time.perf_counter() - t0
        _log_failure(conn, cand, result, sha, size)
    finally:
        if reader is not None:
            reader.close()
    return result


def _log_failure(conn, cand: Candidate, result: FileResult, sha: str | None, size: int) -> None:
    with conn.transaction():
        row = conn.execute(
            "insert into raw.load_log (kind, feed, file_name, file_path, extract_date, file_seq, "
            "sha256, size_bytes, status, error_reason, error_line, error, finished_at, seconds, "
            "loader) values ('file', %s, %s, %s, %s, %s, %s, %s, 'failed', %s, %s, %s, now(), "
            "%s, %s) returning load_id",
            (
                cand.feed.name if cand.feed else None,
                cand.path.name,
                str(cand.path),
                cand.extract_date,
                cand.seq,
                sha,
                size,
                result.reason,
                result.line,
                result.message,
                round(result.seconds, 3),
                f"{socket.gethostname()}:{os.getpid()}",
            ),
        ).fetchone()
        result.load_id = row[0]


def move_to_failed(landing: Path, path: Path, result: FileResult) -> Path:
    target_dir = landing / "failed"
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
        target = target_dir / f"{path.name}.{stamp}"
    shutil.move(str(path), target)
    (target.parent / (target.name + ".error.txt")).write_text(result.message + "\n")
    return target


def _refuse_name(conn, landing: Path, cand: Candidate, move: bool) -> FileResult:
    result = FileResult(
        cand.path.name,
        cand.feed.name if cand.feed else None,
        cand.extract_date,
        "failed",
        reason="unknown_feed" if cand.feed is None else "bad_file_name",
        line=None,
    )
    result.message = f"{cand.path.name}: {cand.problem} ({result.reason})"
    size = cand.path.stat().st_size
    _log_failure(conn, cand, result, file_sha256(cand.path), size)
    if move:
        move_to_failed(landing, cand.path, result)
    return result


@dataclass
class _Lock:
    conn: psycopg.Connection
    key: str

    def __enter__(self):
        got = self.conn.execute(
            "select pg_try_advisory_lock(%s, hashtext(%s))", (LANDING_LOCK, self.key)
        ).fetchone()[0]
        self.conn.commit()
        if not got:
            holder = self.conn.execute(
                "select a.pid, a.client_addr, a.backend_start from pg_locks as l "
                "join pg_stat_activity as a using (pid) where l.locktype = 'advisory' "
                "and l.classid = %s and l.objid = hashtext(%s)::oid and l.granted",
                (LANDING_LOCK, self.key),
            ).fetchone()
            self.conn.commit()
            who = f" (server process {holder[0]}, since {holder[2]:%H:%M:%S})" if holder else ""
            raise LoaderBusy(
                f"another loader is already loading {self.key}{who}; nothing was done by this "
                "one. Run it again when that load has finished."
            )
        return self

    def __exit__(self, *exc) -> None:
        if self.conn.closed:
            return
        if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.conn.rollback()
        self.conn.execute("select pg_advisory_unlock(%s, hashtext(%s))", (LANDING_LOCK, self.key))
        self.conn.commit()


def load_landing(
    landing_dir: Path | str | None = None,
    *,
    url: str | None = None,
    progress: Progress | None = None,
    move_failed: bool = True,
    until: dt.date | None = None,
) -> list[FileResult]:
    """Load every new file of the landing folder; return one result per file considered.

    With `until`, files extracted after that date are left for a later load (a backfill over
    extract dates loads each day's files in its own run).

    Raises PseudonymKeyMissing without the pseudonymization secret and LoaderBusy when
    another loader holds the folder (in both cases nothing is loaded).
    """
    from ingestion.erase import apply_retention

    if landing_dir is None:
        from kontingent.settings import get_settings

        landing_dir = get_settings().landing_dir
    landing = Path(landing_dir).resolve()
    if not landing.is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist")
    pseudonymize = Pseudonymizer(load_secret())
    progress = progress or Progress()
    results: list[FileResult] = []
    with _connect(url) as conn, KnownKeys(url) as known:
        schema.apply(conn)
        conn.commit()
        with _Lock(conn, str(landing)):
            for cand in discover(landing):
                if until and cand.extract_date and cand.extract_date > until:
                    continue
                if cand.problem:
                    res = _refuse_name(conn, landing, cand, move_failed)
                else:
                    res = load_file(conn, cand, pseudonymize, known, progress)
                    if res.status == "failed" and move_failed:
                        move_to_failed(landing, cand.path, res)
                results.append(res)
                release_memory()
                progress.finish(res)
            apply_retention(conn)
            conn.commit()
    return results


def release_memory() -> None:
    """Give the C heap's free pages back to the system after a file: a file's blocks, Arrow
    buffers and pseudonyms are freed when it ends, but glibc keeps freed memory for reuse, and
    a region's folder (a thousand files) would otherwise keep its largest file's peak."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _glibc():
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018  # glibc only
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _glibc()


def summary_counts(results: list[FileResult]) -> dict[str, int]:
    out = {"loaded": 0, "skipped": 0, "failed": 0}
    for r in results:
        out[r.status] = out.get(r.status, 0) + 1
    return out


def iter_feed_names() -> Iterator[str]:
    yield from feeds()
