"""The columnar path: plain CSV blocks parsed, checked and turned into COPY rows in bulk.

A block of plain lines (`readers.PlainBlock`: no quote, backslash, tab or blank line) is parsed
by Apache Arrow's CSV reader into string columns. Each column is checked on its distinct values
by the same converters as the record-by-record path (`FeedProcessor`); the distinct values met
so far are kept in Arrow arrays with their outputs, so a value is converted once per file, and
timestamps are checked and converted by NumPy on their bytes. The rows are assembled by Arrow
kernels in PostgreSQL's binary COPY format (the server then parses no dates or numbers). The Python
work is per distinct value, not per row.

The path takes a block only when it loads whole and clean: every value valid, none flagged,
no space around a value, as many fields as the header. Any other block is declined and goes
through `FeedProcessor`, which finds every reason. Lines whose key may have come earlier in the
file (the duplicate-key filter's hits) are handed to `FeedProcessor` too, to be settled at the
end of the file as there. Both paths store the same values for the same lines (a test loads a
file both ways and compares the rows).
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
import zoneinfo
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ingestion.checks import SOURCE_TIMEZONE, Flag, Reject, parse_date
from ingestion.readers import Chunk, PlainBlock
from ingestion.validate import (
    CACHE_LIMIT,
    FEW,
    MOSTLY_NEW,
    ChunkResult,
    FeedProcessor,
    _ColumnRun,
    arrow_bytes,
    arrow_ints,
    arrow_strings,
    key_hashes,
    numpy_bools,
    numpy_ints,
)

# what `str.strip` removes (every character whose `isspace()` is true; a test checks the
# list): a value starting or ending with one of these is declined (the record path strips it)
SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# the shape of a timestamp the columnar path converts (0: a digit); others go to the record
# path
_TIMESTAMP_SHAPE = np.frombuffer(b"00.00.0000 00:00:00", dtype=np.uint8)

PG_EPOCH = dt.date(2000, 1, 1)
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # no flags, no header extension
COPY_TRAILER = b"\xff\xff"
NULL_FIELD = b"\xff\xff\xff\xff"
FEW_VALUES = 4096  # a column of at most this many values met is looked up row by row
SQL_TYPES = ("text", "date", "integer", "boolean", "timestamptz")

# Arrow's buffers come from the C library's allocator, not its default (mimalloc), which keeps
# the segments of freed blocks: the loader frees each block's buffers and gives the heap's free
# pages back after each file (loader.release_memory); with mimalloc a folder's load held ~40 MiB
# more after its first large file.
pa.set_memory_pool(pa.system_memory_pool())

_THREADS: dict[str, concurrent.futures.ThreadPoolExecutor] = {}
# a forked child has none of its parent's threads: its executors would take work that no
# thread ever runs (a loader started with `fork` after a load in the parent hung for ever)
os.register_at_fork(after_in_child=_THREADS.clear)


def thread(name: str) -> concurrent.futures.ThreadPoolExecutor:
    """A worker thread of the process, kept for every file: a thread started per file would
    leave its memory allocator's heap behind when it ends (hundreds of files in one run)."""
    if name not in _THREADS:
        _THREADS[name] = concurrent.futures.ThreadPoolExecutor(1, f"kontingent-{name}")
    return _THREADS[name]


def _constant(data: bytes) -> pa.Scalar:
    return arrow_bytes([data])[0]


_NO_SEPARATOR = _constant(b"")
_NULL = _constant(NULL_FIELD)
_EMPTY_TEXT = arrow_strings([""])[0]
_ANY_TIMESTAMP = {
    16: arrow_strings(["01.01.2000 00:00"])[0],
    19: arrow_strings(["01.01.2000 00:00:00"])[0],
}


def field(sql_type: str, text: str) -> bytes:
    """One value of binary COPY (its length, then its bytes), from its COPY text ("" is
    null)."""
    if text == "":
        return NULL_FIELD
    if sql_type == "text":
        data = text.encode()
        return len(data).to_bytes(4, "big") + data
    if sql_type == "date":
        day = parse_date(text)
        assert day is not None, text
        return b"\x00\x00\x00\x04" + (day - PG_EPOCH).days.to_bytes(4, "big", signed=True)
    if sql_type == "integer":
        return b"\x00\x00\x00\x04" + int(text).to_bytes(4, "big", signed=True)
    if sql_type == "boolean":
        return b"\x00\x00\x00\x01" + (b"\x01" if text == "t" else b"\x00")
    raise ValueError(f"no binary form for {sql_type}")


def _fixed(records: np.ndarray) -> pa.BinaryArray:
    """Each record of a NumPy structured array as one binary value."""
    width = records.dtype.itemsize
    fixed = pa.Array.from_buffers(pa.binary(width), len(records), [None, pa.py_buffer(records)])
    return fixed.cast(pa.binary())


def _ints(values: np.ndarray, size: int) -> pa.BinaryArray:
    """Binary COPY fields of integers of `size` bytes (4: int4 and date, 8: int8 and
    timestamptz)."""
    records = np.empty(len(values), dtype=[("size", ">i4"), ("value", f">i{size}")])
    records["size"] = size
    records["value"] = values
    return _fixed(records)


def _text_parts(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """A text column's binary COPY fields as two parts, the lengths and the bytes (an empty
    value is null), joined with the rest of the row."""
    lengths = numpy_ints(pc.binary_length(values))
    prefix = np.where(lengths == 0, -1, lengths).astype(">i4")
    prefixes = pa.Array.from_buffers(pa.binary(4), len(values), [None, pa.py_buffer(prefix)])
    return prefixes.cast(pa.binary()), values.cast(pa.binary())


class _Values:
    """The distinct values of one column met so far in the file, each with its output (COPY
    text and binary field) and whether it is a key the warehouse knows (for the orphan
    check); bounded. A value is found by its 64-bit hash in an open-addressing table of NumPy
    arrays (an Arrow hash table rebuilt for each block would cost more than the block), then
    compared whole."""

    def __init__(self, convert: Callable[[str], str | None], sql_type: str | None) -> None:
        self.convert = convert
        self.sql_type = sql_type
        self._reset()

    def _reset(self) -> None:
        self.generation = getattr(self, "generation", -1) + 1  # places change at a reset
        self.inputs = arrow_strings([])
        self.texts = arrow_strings([])
        self.fields = arrow_bytes([])
        self.known = np.zeros(0, dtype=bool)
        self._bits = 10  # 2**bits slots, at most half of them filled
        self._slots = np.full(1 << self._bits, -1, dtype=np.int32)  # a place, or -1
        self._hash_of = np.zeros(0, dtype=np.uint64)  # each place's hash

    def _start(self, hashes: np.ndarray) -> np.ndarray:
        return (hashes >> np.uint64(64 - self._bits)).astype(np.intp)

    def _find(self, distinct: pa.Array, hashes: np.ndarray) -> np.ndarray:
        """Each value's place in `inputs`, -1 for a value not met before."""
        place = np.full(len(distinct), -1, dtype=np.int64)
        if not self._hash_of.size:
            return place
        mask = (1 << self._bits) - 1
        todo = np.arange(len(distinct))
        slot = self._start(hashes)
        while todo.size:  # linear probing, every value one step at a time
            at = self._slots[slot[todo]]
            filled = at >= 0
            hit = filled & (self._hash_of[np.where(filled, at, 0)] == hashes[todo])
            place[todo[hit]] = at[hit]
            todo = todo[filled & ~hit]  # another hash in the slot: the next slot
            slot[todo] = (slot[todo] + 1) & mask
        match = np.flatnonzero(place >= 0)
        if match.size:
            same = pc.equal(
                distinct.take(arrow_ints(match)), self.inputs.take(arrow_ints(place[match]))
            )
            if not pc.all(same).as_py():  # another value of the same hash: taken as new
                place[match[~numpy_bools(same)]] = -1
        return place

    def _insert(self, hashes: np.ndarray, places: np.ndarray) -> None:
        self._hash_of = np.concatenate([self._hash_of, hashes])
        if 2 * len(self._hash_of) > len(self._slots):  # a table twice as large, filled anew
            while 2 * len(self._hash_of) > (1 << self._bits):
                self._bits += 1
            self._slots = np.full(1 << self._bits, -1, dtype=np.int32)
            hashes, places = self._hash_of, np.arange(len(self._hash_of))
        self._fill(hashes, places)

    def _fill(self, hashes: np.ndarray, places: np.ndarray) -> None:
        mask = (1 << self._bits) - 1
        slot = self._start(hashes)
        todo = np.arange(len(hashes))
        while todo.size:
            free = self._slots[slot[todo]] < 0
            # of the values wanting one free slot, the first takes it
            want = todo[free]
            _, first = np.unique(slot[want], return_index=True)
            took = want[first]
            self._slots[slot[took]] = places[took]
            left = np.ones(len(todo), dtype=bool)
            left[np.flatnonzero(free)[first]] = False
            todo = todo[left]
            slot[todo] = (slot[todo] + 1) & mask

    def encode(self, values: pa.Array) -> np.ndarray | None:
        """Each row's place in `inputs`; None when a value met for the first time does not
        convert cleanly. While the values met are few, the rows are looked up directly."""
        if 0 < len(self.inputs) <= FEW_VALUES:
            direct = pc.index_in(values, value_set=self.inputs)
            if not direct.null_count:
                return numpy_ints(direct)
        d = pc.dictionary_encode(values)
        distinct = d.dictionary
        hashes = key_hashes([distinct])
        place = self._find(distinct, hashes)
        new = np.flatnonzero(place < 0)
        if new.size:
            # as the record path's caches: a column of mostly new values (IDs, timestamps)
            # keeps only this block's once it holds more than FEW
            held = len(self.inputs)
            if held + new.size > CACHE_LIMIT or (
                held > FEW and new.size > MOSTLY_NEW * len(distinct)
            ):
                self._reset()
                place[:] = -1
                new = np.arange(len(distinct))
            fresh = distinct.take(arrow_ints(new))
            texts = [self.convert(v) for v in fresh.to_pylist()]
            if None in texts:
                return None
            place[new] = len(self.inputs) + np.arange(new.size)
            self.inputs = pa.concat_arrays([self.inputs, fresh])
            self.texts = pa.concat_arrays([self.texts, arrow_strings(texts)])
            if self.sql_type is not None:
                made = arrow_bytes([field(self.sql_type, t) for t in texts])
                self.fields = pa.concat_arrays([self.fields, made])
            self.known = np.concatenate([self.known, np.zeros(new.size, dtype=bool)])
            self._insert(hashes[new], place[new])
        return place[numpy_ints(d.indices)]


def _clean(run: _ColumnRun) -> Callable[[str], str | None]:
    convert = run.convert

    def clean(value: str) -> str | None:
        r = convert(value)
        if type(r) is Reject or type(r) is Flag:
            return None
        return r[0]

    return clean


def _same(value: str) -> str:
    return value


class PlainPath:
    """The columnar path for one file, beside its `FeedProcessor` (whose caches of known keys
    and duplicate-key filter it shares). `process` gives binary COPY rows."""

    @classmethod
    def of(cls, proc: FeedProcessor) -> PlainPath | None:
        """The path for a feed whose every column gives one raw column of a type it writes
        (no restricted zone, checksums or derived values) and that has a required column (so
        a line of empty fields, blank to the record path, is declined); None otherwise, or
        on replay."""
        feed = proc.feed
        if feed.has_pii_table or proc.hold_all:
            return None
        if any(len(run.places) != 1 for run in proc.runs):
            return None
        if any(o.sql_type not in SQL_TYPES for o in proc.outputs if o.zone == "raw"):
            return None
        if not any(c.required for c in feed.columns):
            return None
        return cls(proc)

    def __init__(self, proc: FeedProcessor) -> None:
        self.proc = proc
        names = [f"c{i}" for i in range(proc.header_width)]
        self._names = names
        self._parse = pcsv.ParseOptions(
            delimiter=";",
            quote_char=False,
            double_quote=False,
            escape_char=False,
            newlines_in_values=False,
            ignore_empty_lines=False,
        )
        self._convert = pcsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        # each output place's SQL type, and the constant fields: the tuple's field count,
        # the flags (none), the load and the extract date
        raw = [i for i, o in enumerate(proc.outputs) if o.zone == "raw"]
        self._types = dict(zip(proc.raw_pos, (proc.outputs[i].sql_type for i in raw), strict=True))
        load_id, extract_date = proc.prefix.split("\t")
        self._head = _constant((len(proc.raw_columns)).to_bytes(2, "big"))
        self._tail = _constant(
            b"\x00\x00\x00\x08"
            + int(load_id).to_bytes(8, "big", signed=True)
            + field("date", extract_date)
        )
        self._absent = {
            run.places[0]: _constant(field(self._types[run.places[0]], run.cache[""][0]))
            for run in proc.runs
            if run.index is None
        }
        self._key_places = set(proc.key_pos)
        self._values: dict[int, _Values] = {}
        for i, run in enumerate(proc.runs):
            if run.index is None or run.timestamps is not None or run.passthrough:
                continue
            self._values[i] = _Values(_clean(run), self._types[run.places[0]])
        # reference columns: passthrough ones get their distinct values kept for the check
        self._refs: list[tuple[int, str]] = []
        for run, entity in proc.ref_runs:
            i = proc.runs.index(run)
            if run.index is None:
                continue
            if i not in self._values:
                self._values[i] = _Values(_same, None)
            self._refs.append((i, entity))
        # whether references are known is asked in a thread while the next block is made
        self._lookups = thread("known")
        self._pending: list[tuple] = []
        self._zone = zoneinfo.ZoneInfo(SOURCE_TIMEZONE)
        self._days: dict[str, int | None] = {}  # day -> its local midnight, s after 2000 UTC

    def parse(self, block: PlainBlock) -> pa.Table | None:
        """The block's fields as string columns; None when its lines are not all of the
        header's width (Arrow's reader releases the interpreter: this can run in a thread
        while the block before is processed)."""
        try:
            body = block.utf8()
            table = pcsv.read_csv(
                pa.py_buffer(body),
                read_options=pcsv.ReadOptions(
                    column_names=self._names, use_threads=False, block_size=len(body) + 1
                ),
                parse_options=self._parse,
                convert_options=self._convert,
            )
        except (pa.ArrowInvalid, UnicodeDecodeError):
            return None  # a field count that differs, or undecodable text: the record path
        if table.num_rows != block.lines:
            return None
        return table

    def process(self, block: PlainBlock, table: pa.Table | None = None) -> ChunkResult | None:
        """The block's result (`raw_text` holds binary COPY rows), or None when the record
        path must read it; `table` is the block parsed already."""
        table = table if table is not None else self.parse(block)
        if table is None:
            return None
        proc = self.proc
        n = table.num_rows
        cols = [c.combine_chunks() for c in table.columns]
        fields: dict[int, pa.Array | pa.Scalar] = dict(self._absent)
        texts: dict[int, pa.Array] = {}  # the key columns' COPY text (for the key hashes)
        encoded: dict[int, np.ndarray] = {}  # each looked-up column's places of its rows
        for i, run in enumerate(proc.runs):
            if run.index is None:
                continue
            place = run.places[0]
            values = cols[run.index]
            if run.passthrough:  # the other columns' converters strip their values
                if _spaced(values):
                    return None
                if run.col.required and pc.any(pc.equal(values, _EMPTY_TEXT)).as_py():
                    return None
                fields[place] = _text_parts(values)
                texts[place] = values
            elif run.timestamps is not None:
                converted = self._timestamps(run, values)
                if converted is None:
                    return None
                fields[place] = converted
            if i in self._values:
                places = self._values[i].encode(values)
                if places is None:
                    return None
                encoded[i] = places
                if not run.passthrough:
                    take = arrow_ints(places)
                    fields[place] = self._values[i].fields.take(take)
                    if place in self._key_places:
                        texts[place] = self._values[i].texts.take(take)
        held = np.flatnonzero(proc.keys.suspects(key_hashes([texts[p] for p in proc.key_pos])))
        res = ChunkResult(read=n, loaded=n - held.size)
        numbers = _ints(np.arange(block.first_line, block.first_line + n), 4)
        parts = [self._head, numbers, _NULL]
        for p in proc.raw_pos:
            f = fields[p]
            parts.extend(f) if isinstance(f, tuple) else parts.append(f)
        rows = pc.binary_join_element_wise(*parts, self._tail, _NO_SEPARATOR)
        keep = None
        if held.size:
            res.suspects = self._settle_later(table, block.first_line, held)
            keep = np.ones(n, dtype=bool)
            keep[held] = False
            rows = rows.take(arrow_ints(np.flatnonzero(keep)))
        if len(rows):
            _valid, offsets, data = rows.buffers()
            bounds = np.frombuffer(
                offsets, dtype=np.int32, count=len(rows) + 1, offset=rows.offset * 4
            )
            start, end = int(bounds[0]), int(bounds[-1])
            res.raw_text = data.slice(start, end - start).to_pybytes()
        # the references of the block before, whose lookups ran while this one was made, then
        # this block's lookups (the rows held back carry their own)
        res.orphans = self._answers()
        self._ask(encoded, block.first_line, keep)
        return res

    def finish(self) -> list[tuple[int, str, str]]:
        """The orphans whose lookups are still out."""
        return self._answers()

    def _day(self, day: str) -> int | None:
        """Seconds from 2000-01-01 UTC to the local midnight of a day `ДД.ММ.ГГГГ`; None for
        an invalid day or one whose UTC offset changes (the record path has PostgreSQL read
        its times)."""
        if day not in self._days:
            if len(self._days) > CACHE_LIMIT:
                self._days.clear()
            d = parse_date(day)
            start = end = None
            if d is not None:
                start = self._zone.utcoffset(dt.datetime(d.year, d.month, d.day))
                end = self._zone.utcoffset(dt.datetime(d.year, d.month, d.day, 23, 59, 59))
            if d is None or start is None or start != end:
                self._days[day] = None
            else:
                self._days[day] = (d - PG_EPOCH).days * 86400 - int(start.total_seconds())
        return self._days[day]

    def _timestamps(self, run: _ColumnRun, values: pa.Array) -> pa.Array | None:
        """Binary COPY fields of a timestamp column `ДД.ММ.ГГГГ ЧЧ:ММ[:СС]` (all of one
        length) in the source's time zone; None when a value is of another shape, invalid, or
        the lengths differ."""
        n = len(values)
        lengths = numpy_ints(pc.binary_length(values))
        width = int(lengths.max())
        blanks = bool((lengths == 0).any())
        if blanks:  # a blank stands in as a valid value of the same length, then is null
            if run.col.required:
                return None
            empty = pc.equal(values, _EMPTY_TEXT)
            if width not in _ANY_TIMESTAMP:
                return None
            values = pc.if_else(empty, _ANY_TIMESTAMP[width], values)
            lengths = numpy_ints(pc.binary_length(values))
        if width not in (16, 19) or not (lengths == width).all():
            return None
        _valid, offsets, data = values.buffers()
        bounds = np.frombuffer(offsets, dtype=np.int32, count=n + 1, offset=values.offset * 4)
        text = np.frombuffer(data, dtype=np.uint8)[bounds[0] : bounds[-1]].reshape(n, width)
        shape = _TIMESTAMP_SHAPE[:width]
        digit = shape == ord("0")
        cells = text.astype(np.int64) - ord("0")
        if not (np.all((cells[:, digit] >= 0) & (cells[:, digit] <= 9))):
            return None
        if not np.all(text[:, ~digit] == shape[~digit]):
            return None
        number = cells[:, :-1] * 10 + cells[:, 1:]  # the two-digit number starting at each cell
        year = number[:, 6] * 100 + number[:, 8]
        hour, minute = number[:, 11], number[:, 14]
        second = number[:, 17] if width == 19 else 0
        if np.any(hour > 23) or np.any(minute > 59) or np.any(second > 59):
            return None
        days, which = np.unique(
            year * 10_000 + number[:, 3] * 100 + number[:, 0], return_inverse=True
        )
        midnights = [
            self._day(f"{d % 100:02d}.{d // 100 % 100:02d}.{d // 10_000:04d}")
            for d in days.tolist()
        ]
        if None in midnights:
            return None
        seconds = np.array(midnights, dtype=np.int64)[which] + hour * 3600 + minute * 60 + second
        out = _ints(seconds * 1_000_000, 8)
        if blanks:
            out = pc.if_else(empty, _NULL, out)
        return out

    def _ask(self, encoded: dict[int, np.ndarray], first_line: int, keep) -> None:
        """Ask, in the lookups' thread, which of the block's references not found known before
        the warehouse knows (`_answers` takes the answers)."""
        for i, entity in self._refs:
            places = encoded[i]
            values = self._values[i]
            unsure_rows = ~values.known[places]
            if keep is not None:
                unsure_rows &= keep
            if not unsure_rows.any():
                continue
            unsure = np.unique(places[unsure_rows])
            keys = values.texts.take(arrow_ints(unsure)).to_pylist()
            ask = {k for k in keys if k}
            if not ask:
                continue
            answer = self._lookups.submit(self.proc.known, entity, ask)
            self._pending.append(
                (answer, values, values.generation, entity, unsure, keys, places, unsure_rows,
                 first_line)
            )  # fmt: skip

    def _answers(self) -> list[tuple[int, str, str]]:
        """(line, entity, key) of each reference of the blocks asked about to a key the
        warehouse does not know, in line order; the keys found known are remembered."""
        found: list[tuple[int, str, str]] = []
        for (
            answer,
            values,
            generation,
            entity,
            unsure,
            keys,
            places,
            rows,
            first_line,
        ) in self._pending:
            known = answer.result()
            same = values.generation == generation  # else the places were renumbered since
            unknown: dict[int, str] = {}
            for u, key in zip(unsure.tolist(), keys, strict=True):
                if key in known:
                    if same:
                        values.known[u] = True
                elif key:
                    unknown[u] = key
            if not unknown:
                continue
            is_unknown = np.zeros(int(places.max()) + 1, dtype=bool)
            is_unknown[list(unknown)] = True
            for row in np.flatnonzero(is_unknown[places] & rows).tolist():
                found.append((first_line + row, entity, unknown[int(places[row])]))
        self._pending = []
        found.sort(key=lambda o: o[0])
        return found

    def _settle_later(self, table: pa.Table, first_line: int, held: np.ndarray):
        """The held lines, through the record path (which holds every line it is given)."""
        proc = self.proc
        rows = [list(r.values()) for r in table.take(arrow_ints(held)).to_pylist()]
        chunk = Chunk(
            line_nos=[first_line + int(i) for i in held],
            lines=[";".join(r) for r in rows],
            rows=rows,
        )
        proc.hold_all = True
        try:
            res = proc.process(chunk)
        finally:
            proc.hold_all = False
        assert res.loaded == 0 and not res.quarantine and len(res.suspects) == len(rows)
        return res.suspects


def _spaced(values: pa.Array) -> bool:
    """Whether a value starts or ends with a space."""
    trimmed = pc.utf8_trim(values, SPACES)
    return bool(pc.any(pc.not_equal(pc.binary_length(trimmed), pc.binary_length(values))).as_py())
