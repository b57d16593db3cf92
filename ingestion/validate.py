"""Checking and converting records, a chunk at a time.

Per chunk, each contract column is checked for its distinct values only (a cache keeps the
results: a marks file has a few hundred distinct dates and subjects but hundreds of thousands
of rows). The chunk is handled column by column: a column whose values change (pseudonymous
keys, ISO dates, `да`/`нет`) is replaced by its converted column, derived columns are added,
and the chunk's rows become COPY text in one join. A row that fails a rejecting check goes to
quarantine with every reason found; duplicate keys are caught by a fixed-size Bloom filter
whose (rare) hits are held back and settled against the database at the end of the file, so
memory does not grow with the file.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import is_not, itemgetter

import numpy as np
import pyarrow as pa

from ingestion.checks import (
    INVALID_DATE,
    MISSING_VALUE,
    NULL,
    TRUNCATED,
    Flag,
    Reject,
    converter,
    parse_date,
)
from ingestion.contracts import Column, Feed, Output, normalize_header
from ingestion.readers import Chunk

CACHE_LIMIT = 200_000
HASHES_PER_READ = 1 << 17
# a column whose chunk brings almost only values not met before (IDs, timestamps) keeps only
# the chunk's values once it holds more than FEW: keeping them for the file cost up to
# CACHE_LIMIT entries per such column (the peak of a loader run) and saved nothing, since they
# do not come back; a column of few values (teachers, dates, codes) keeps them all, and so does
# a column of many values that do come back (students: a chunk of a large file meets a share
# of them again, and forgetting them would check and pseudonymize them again in every chunk)
MOSTLY_NEW = 0.9
FEW = 20_000


class HeaderError(Exception):
    def __init__(self, missing: list[Column]) -> None:
        self.missing = missing
        names = ", ".join(f"«{c.header}»" for c in missing)
        super().__init__(f"required column(s) missing from the header: {names}")


def match_header(feed: Feed, header: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Contract column name -> index in the file; plus the header cells nobody claims."""
    by_norm: dict[str, Column] = {}
    for col in feed.columns:
        for h in col.headers:
            by_norm[normalize_header(h)] = col
    mapping: dict[str, int] = {}
    extra: list[str] = []
    for i, cell in enumerate(header):
        norm = normalize_header(cell)
        col = by_norm.get(norm)
        if col is None:
            if norm:
                extra.append(cell.strip())
            continue
        mapping.setdefault(col.name, i)  # a repeated header: the first one counts
    missing = [c for c in feed.columns if c.header_required and c.name not in mapping]
    if missing:
        raise HeaderError(missing)
    return mapping, extra


@dataclass
class Suspect:
    """A row held back because its key may have occurred earlier in the file."""

    key: tuple[str, ...]
    line_no: int
    line: str
    raw_row: str
    pii_row: str | None
    refs: list[tuple[str, str]]  # (entity, key) unknown so far
    flagged: bool


@dataclass
class ChunkResult:
    raw_text: str | bytes = ""  # COPY text (bytes from the columnar path)
    pii_text: str = ""
    quarantine: list[tuple[int, str, tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=list
    )  # (line, text, reasons, problems "column:reason")
    orphans: list[tuple[int, str, str]] = field(default_factory=list)  # (line, entity, key)
    suspects: list[Suspect] = field(default_factory=list)
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    flagged: int = 0
    blank_lines: int = 0


class _TimestampCheck:
    """`ДД.ММ.ГГГГ ЧЧ:ММ[:СС]` (or ISO) sent on as delivered: PostgreSQL reads both forms
    with DateStyle ISO, DMY. Valid = a real date and a real time of day."""

    TIMES = frozenset(
        [f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)]
        + [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
    )

    def __init__(self) -> None:
        self.dates: dict[str, bool] = {}
        self.ok: set[str] = set()  # values found valid before (bounded)

    # the common shape, checked for a whole chunk in one regular-expression pass
    _SHAPE = re.compile(r"(?:\d\d\.\d\d\.\d{4} (?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?\n)*")
    _DAYS = re.compile(r"^(\d\d\.\d\d\.\d{4})", re.M)

    def invalid(self, values: set[str]) -> set[str]:
        """The non-empty values that are not valid timestamps."""
        values.discard("")
        values.difference_update(self.ok)
        if not values:
            return set()
        if len(self.ok) > 200_000:
            self.ok.clear()
        text = "\n".join(values) + "\n"
        if self._SHAPE.fullmatch(text):
            days = set(self._DAYS.findall(text))
            dates = self.dates
            unknown = days.difference(dates)
            for day in unknown:
                dates[day] = parse_date(day) is not None
            if all(dates[d] for d in days):
                self.ok.update(values)
                return set()
        bad = {v for v in values if not self.valid(v)}
        self.ok.update(values.difference(bad))
        return bad

    def valid(self, value: str) -> bool:
        day, sep, time = value.partition(" ")
        if not sep:
            day, sep, time = value.partition("T")
        if not sep or time not in self.TIMES:
            return False
        ok = self.dates.get(day)
        if ok is None:
            if len(self.dates) > 100_000:
                self.dates.clear()
            ok = self.dates[day] = parse_date(day) is not None
        return ok


class _ColumnRun:
    """Checks one contract column of a chunk and sets its output columns.

    The first output takes the place of the file's column (index `index`); further outputs
    (validity, derived values, the clear ID for pii) take the places in `extra` after the
    file's columns. A column absent from the file gives the outputs of an empty value.
    """

    def __init__(self, col: Column, index: int | None, convert: Callable, width: int):
        self.col = col
        self.index = index
        self.convert = convert
        self.width = width
        self.places: list[int] = []  # where each output goes, set by the processor
        self.passthrough = col.type in ("text", "id") and not col.pseudonym
        self.cache: dict[str, tuple[str, ...]] = {}
        self.first: dict[str, str] = {}
        self.identity: set[str] = set()
        self.bad: dict[str, str] = {}
        self.flag: dict[str, str] = {}
        self.timestamps = _TimestampCheck() if col.type == "timestamp" else None
        self.uniq: set[str] | None = None  # the distinct values of the chunk last run

    def _forget(self) -> None:
        for d in (self.cache, self.first, self.bad, self.flag):
            d.clear()
        self.identity.clear()

    def _learn(self, values: set[str]) -> None:
        nulls = (NULL,) * self.width
        for v in values:
            r = self.convert(v)
            if type(r) is Reject:
                self.bad[v] = r.code
                r = nulls
            elif type(r) is Flag:
                self.flag[v] = r.code
                r = r.out
            self.cache[v] = r
            self.first[v] = r[0]
            if r[0] == v and self.width == 1:
                self.identity.add(v)

    def run(
        self,
        values: Sequence[str],
        out: list,
        rejected: dict[int, list[tuple[str, str]]],
        flags: dict[int, list[str]],
    ) -> None:
        """Check `values` (the column's field in every row) and put the outputs into `out`,
        one sequence per output place; every pass over the rows is a C-level map."""
        col = self.col
        n = len(values)
        self.uniq = None
        if self.index is None:  # absent from the file: the outputs of an empty value
            for place, value in zip(self.places, self.cache[""], strict=True):
                out[place] = (value,) * n
            return
        if self.passthrough:
            # spaces around a value are not part of it (str.strip returns the same object
            # when there are none, so an untouched column costs one C-level pass)
            stripped = list(map(str.strip, values))
            if any(map(is_not, stripped, values)):
                values = out[self.index] = stripped
            if col.required and "" in values:
                for i, v in enumerate(values):
                    if not v:
                        rejected.setdefault(i, []).append((col.name, MISSING_VALUE))
            return
        if self.timestamps is not None:
            bad = self.timestamps.invalid(set(values))
            if bad or (col.required and "" in values):
                column = list(values)
                for i, v in enumerate(values):
                    if v in bad or not v:
                        code = INVALID_DATE if v else MISSING_VALUE
                        column[i] = NULL
                        if col.required:
                            rejected.setdefault(i, []).append((col.name, code))
                        elif v:
                            flags.setdefault(i, []).append(f"{col.name}:{code}")
                out[self.index] = column
            return
        if len(self.cache) > CACHE_LIMIT:
            self._forget()
        uniq = self.uniq = set(values)
        new = uniq.difference(self.cache)
        if len(new) > MOSTLY_NEW * len(uniq) and len(self.cache) > FEW:
            self._forget()
            new = uniq
        if new:
            self._learn(new)
        if self.bad and not uniq.isdisjoint(self.bad):
            bad = self.bad
            for i, v in enumerate(values):
                code = bad.get(v)
                if code is not None:
                    rejected.setdefault(i, []).append((col.name, code))
        if self.flag and not uniq.isdisjoint(self.flag):
            fl = self.flag
            for i, v in enumerate(values):
                code = fl.get(v)
                if code is not None:
                    flags.setdefault(i, []).append(f"{col.name}:{code}")
        if self.width == 1:
            if not uniq.issubset(self.identity):
                out[self.index] = list(map(self.first.__getitem__, values))
            return
        outputs = zip(*map(self.cache.__getitem__, values), strict=True)
        for place, column in zip(self.places, outputs, strict=True):
            out[place] = column


# random odd multipliers, one per byte position (mod 256), and the mixing constants of
# splitmix64: a key's hash is the same whatever path read its line
_WEIGHTS = np.random.default_rng(20_251_207).integers(0, 2**63, size=256, dtype=np.uint64)
_WEIGHTS = _WEIGHTS * np.uint64(2) + np.uint64(1)
_M1, _M2, _K = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(31)


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def arrow_bytes(items: Sequence[bytes], type_: pa.DataType | None = None) -> pa.Array:
    """An Arrow binary (or string) array of Python bytes, built from its buffers: `pa.array`
    on Python objects would first import pandas (≈ 80 MiB), to recognise its objects, which
    the loader never has."""
    offsets = np.zeros(len(items) + 1, dtype=np.int32)
    np.cumsum(np.fromiter(map(len, items), dtype=np.int32, count=len(items)), out=offsets[1:])
    return pa.Array.from_buffers(
        type_ or pa.binary(),
        len(items),
        [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(items))],
    )


def arrow_strings(values: Sequence[str]) -> pa.StringArray:
    """An Arrow string array of Python strings (see `arrow_bytes`)."""
    return arrow_bytes([v.encode() for v in values], pa.string())


_ARROW_INTS = {np.dtype(np.int32): pa.int32(), np.dtype(np.int64): pa.int64()}


def arrow_ints(values: np.ndarray) -> pa.Array:
    """An Arrow integer array sharing a NumPy array's memory (as `arrow_strings`, without
    `pa.array`, which imports pandas)."""
    values = np.ascontiguousarray(values)
    if values.dtype not in _ARROW_INTS:
        values = values.astype(np.int64)
    return pa.Array.from_buffers(
        _ARROW_INTS[values.dtype], len(values), [None, pa.py_buffer(values)]
    )


def numpy_ints(values: pa.Array) -> np.ndarray:
    """The values of an Arrow integer array without nulls, as a read-only NumPy view."""
    dtype = np.dtype(values.type.to_pandas_dtype())
    return np.frombuffer(
        values.buffers()[1], dtype=dtype, count=len(values), offset=values.offset * dtype.itemsize
    )


def numpy_bools(values: pa.Array) -> np.ndarray:
    """The values of an Arrow boolean array without nulls, as NumPy booleans."""
    bits = np.frombuffer(values.buffers()[1], dtype=np.uint8)
    unpacked = np.unpackbits(bits, bitorder="little")
    return unpacked[values.offset : values.offset + len(values)].astype(bool)


HASH_BYTES = 1 << 18


def _string_hashes(values) -> np.ndarray:
    """A 64-bit hash of each string (vectorized over its UTF-8 bytes)."""
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else arrow_strings(values)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.string():
        arr = arr.cast(pa.string())
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=n + 1, offset=arr.offset * 4)
    start = offsets[0]
    total = int(offsets[-1] - start)
    if total > HASH_BYTES and n > 1:
        # the arrays below take ~40 bytes a byte of text: hashed in slices of bounded bytes
        step = max(1, n * HASH_BYTES // total)
        return np.concatenate([_string_hashes(arr.slice(i, step)) for i in range(0, n, step)])
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[start : offsets[-1]]
    lengths = np.diff(offsets)
    position = np.arange(data.size) - np.repeat(offsets[:-1] - start, lengths)
    terms = (data.astype(np.uint64) + np.uint64(1)) * _WEIGHTS[position & 255]
    sums = np.concatenate(([np.uint64(0)], np.cumsum(terms, dtype=np.uint64)))
    h = sums[offsets[1:] - start] - sums[offsets[:-1] - start]
    return _mix(h ^ lengths.astype(np.uint64))


def key_hashes(columns: Sequence) -> np.ndarray:
    """The hash of each row's key, given column by column (strings, as in the COPY text)."""
    h = None
    for column in columns:
        hc = _string_hashes(column)
        h = hc if h is None else _mix(h * _K + hc)
    assert h is not None
    return h


class KeyTracker:
    """Which keys were seen earlier in this file: a blocked Bloom filter (no false negatives;
    each key sets three bits of one 64-bit word, so one memory access a key) whose positives
    are settled exactly later. Fixed memory: 2**bits_log2 bits, sized by `for_rows` from the
    rows the file is expected to hold, 32 MiB at most (a filter far larger than its keys would
    touch every one of its pages for a few thousand keys: 32 MiB resident for a small file)."""

    BITS_PER_KEY = 16
    MAX_BITS_LOG2 = 28

    @classmethod
    def for_rows(cls, rows: int | None) -> KeyTracker:
        if rows is None:
            return cls(cls.MAX_BITS_LOG2)
        wanted = max(rows, 1) * cls.BITS_PER_KEY
        return cls(min(max(10, (wanted - 1).bit_length()), cls.MAX_BITS_LOG2))

    def __init__(self, bits_log2: int = MAX_BITS_LOG2) -> None:
        self.words = np.zeros(1 << (bits_log2 - 6), dtype=np.uint64)
        assert bits_log2 >= 7
        self.shift = np.uint64(64 - (bits_log2 - 6))  # the top bits of a hash pick the word
        # every key's hash, in file order (8 bytes a row, on disk): a held key whose hash
        # occurs once was not seen before, without asking the database
        self.hashes = tempfile.TemporaryFile()  # noqa: SIM115  # closed by close()

    def close(self) -> None:
        self.hashes.close()

    def repeated(self, h: np.ndarray) -> np.ndarray:
        """Which of these hashes (of rows given to `suspects`) occur more than once in the
        file so far: only their keys can have come earlier."""
        wanted = np.unique(h)
        counts = np.zeros(len(wanted), dtype=np.int64)
        self.hashes.seek(0)
        while True:
            block = np.fromfile(self.hashes, dtype=np.uint64, count=HASHES_PER_READ)
            if not block.size:
                break
            at = np.searchsorted(wanted, block)
            at[at == wanted.size] = 0
            found = at[wanted[at] == block]
            if found.size:
                counts += np.bincount(found, minlength=len(wanted))
        self.hashes.seek(0, 2)
        return counts[np.searchsorted(wanted, h)] > 1

    def suspects(self, h: np.ndarray) -> np.ndarray:
        """Given the rows' key hashes (`key_hashes`): which may have occurred before."""
        n = len(h)
        if n == 0:
            return np.zeros(0, dtype=bool)
        h.tofile(self.hashes)
        word = (h >> self.shift).astype(np.intp)
        one = np.uint64(1)
        bits = (
            (one << (h & np.uint64(63)))
            | (one << ((h >> np.uint64(6)) & np.uint64(63)))
            | (one << ((h >> np.uint64(12)) & np.uint64(63)))
        )
        hit = (self.words[word] & bits) == bits
        _, first = np.unique(h, return_index=True)
        repeated = np.ones(n, dtype=bool)
        repeated[first] = False
        np.bitwise_or.at(self.words, word, bits)  # unbuffered: a word may take several keys
        return hit | repeated


class FeedProcessor:
    """Turns reader chunks of one file into COPY text, quarantine entries and orphan refs."""

    def __init__(
        self,
        feed: Feed,
        header: Sequence[str],
        pseudonymize: Callable[[str], str],
        known: Callable[[str, set[str]], set[str]],
        load_prefix: str,
        rows_expected: int | None = None,
    ) -> None:
        self.feed = feed
        self.mapping, self.extra_headers = match_header(feed, header)
        self.outputs: list[Output] = feed.outputs()
        self.known = known
        self.prefix = load_prefix
        self.tail = load_prefix + "\n"
        self.keys = KeyTracker.for_rows(rows_expected)
        self.hold_all = False  # replay: every row is settled against the database
        # where each output column sits: first outputs replace their file column, the others
        # come after the file's columns, in column order
        width = self.header_width = len(header)
        position: dict[int, int] = {}
        self.runs: list[_ColumnRun] = []
        for col in feed.columns:
            outs = [i for i, o in enumerate(self.outputs) if o.source == col.name]
            index = self.mapping.get(col.name)
            conv = converter(col, pseudonymize, in_pii=feed.has_pii_table)
            run = _ColumnRun(col, index, conv, len(outs))
            if index is None:
                run.cache[""] = _outputs_of_empty(conv, len(outs))
                for k in outs:
                    position[k] = width
                    width += 1
            else:
                position[outs[0]] = index
                for k in outs[1:]:
                    position[k] = width
                    width += 1
            run.places = [position[k] for k in outs]
            self.runs.append(run)
        self.width = width
        raw = [i for i, o in enumerate(self.outputs) if o.zone == "raw"]
        pii = [i for i, o in enumerate(self.outputs) if o.zone == "pii"]
        self.raw_names = [self.outputs[i].name for i in raw]
        self.pii_names = [self.outputs[i].name for i in pii]
        self.raw_pos = [position[i] for i in raw]
        self.pii_pos = [position[i] for i in pii]
        self.key_pos = [position[self._raw_output(name)] for name in feed.key]
        by_source = {run.col.name: run for run in self.runs}
        self.ref_runs = [
            (by_source[self.outputs[self._raw_output(r.column)].source], r.entity)
            for r in feed.refs
        ]
        # per reference: the input values already found known (the known keys do not change
        # during a file, so each value is looked up once)
        self.ref_seen: list[set[str]] = [set() for _ in self.ref_runs]

    def _raw_output(self, name: str) -> int:
        for i, o in enumerate(self.outputs):
            if o.zone == "raw" and o.name == name:
                return i
        raise KeyError(name)

    # COPY text puts the load and the extract date last: a row's end and the next row's
    # start then come from one constant, and a chunk's rows are one join (see `_rows`)
    @property
    def raw_columns(self) -> list[str]:
        return ["line_number", "flags", *self.raw_names, "load_id", "extract_date"]

    @property
    def pii_columns(self) -> list[str]:
        return ["line_number", *self.pii_names, "load_id", "extract_date"]

    def _rows(self, columns: list[Sequence[str]], n: int) -> str:
        """COPY text of n rows given column by column: the fields are laid out row after row
        in one list and joined once. Every field is COPY-escaped (no newline in it), so the
        only `\n\t` pairs are the row ends the tail brings, followed by the join's tab."""
        k = len(columns) + 1
        flat = [self.tail] * (n * k)
        for j, column in enumerate(columns):
            flat[j::k] = column
        return "\t".join(flat).replace("\n\t", "\n")

    def _row(self, columns: list[Sequence[str]], i: int) -> str:
        return "\t".join([*(column[i] for column in columns), self.prefix])

    def process(self, chunk: Chunk) -> ChunkResult:
        res = ChunkResult(blank_lines=chunk.blank_lines)
        for line_no, text, reasons in chunk.rejects:
            res.quarantine.append((line_no, text, reasons, ()))
        n = len(chunk.line_nos)
        res.read = n + len(chunk.rejects)
        res.rejected = len(chunk.rejects)
        if n == 0:
            return res
        cols = chunk.columns
        if cols is None:
            cols = list(zip(*chunk.rows, strict=True))
        empty = ("",) * n
        rejected: dict[int, list[tuple[str, str]]] = {}
        flags: dict[int, list[str]] = {}
        # the output columns: the file's columns, changed or not, then the appended ones
        out: list[Sequence[str]] = [*cols, *([empty] * (self.width - len(cols)))]
        for run in self.runs:
            values = cols[run.index] if run.index is not None else empty
            run.run(values, out, rejected, flags)
        if chunk.unterminated_last:
            last = n - 1
            if last in rejected or last in flags:
                problems = [("", TRUNCATED), *rejected.get(last, [])]
                problems += [tuple(f.split(":", 1)) for f in flags.pop(last, [])]
                rejected[last] = problems
        # orphans: references to students or organizations not known yet (found on the
        # distinct values; rows are visited only when a value is unknown)
        orphan_by_row: dict[int, list[tuple[str, str]]] = {}
        for (run, entity), seen in zip(self.ref_runs, self.ref_seen, strict=True):
            if run.index is None:
                values = empty
            else:  # a passthrough column's output is its stripped input
                values = out[run.index] if run.passthrough else cols[run.index]
            maybe = (run.uniq if run.uniq is not None else set(values)).difference(seen)
            maybe.discard("")
            if not maybe:
                continue
            if len(seen) > CACHE_LIMIT:
                seen.clear()
            key_of = {v: v if run.passthrough else run.first.get(v, v) for v in maybe}
            known = self.known(entity, set(key_of.values()))
            unknown_in: dict[str, str] = {}  # input value -> the key it refers to
            for v, key in key_of.items():
                if key in known:
                    seen.add(v)
                else:
                    unknown_in[v] = key
            if unknown_in:
                for i, v in enumerate(values):
                    if v in unknown_in and i not in rejected:
                        orphan_by_row.setdefault(i, []).append((entity, unknown_in[v]))
        line_nos = chunk.line_nos
        lines = chunk.lines
        if rejected:
            for i in sorted(rejected):
                problems = rejected[i]
                reasons = tuple(sorted({code for _c, code in problems}))
                where = tuple(f"{c}:{code}" for c, code in problems if c)
                res.quarantine.append((line_nos[i], lines[i], reasons, where))
            res.rejected += len(rejected)
            keep = [i for i in range(n) if i not in rejected]
            n = len(keep)
            if n == 0:
                return res
            pick = _picker(keep)
            out = [pick(column) for column in out]
            line_nos = pick(line_nos)
            lines = pick(lines)
            flags = {new: flags[old] for new, old in enumerate(keep) if old in flags}
            orphan_by_row = {
                new: orphan_by_row[old] for new, old in enumerate(keep) if old in orphan_by_row
            }
        # duplicate keys: rows whose key may have come earlier are held back
        if len(self.key_pos) == 1:
            keys = out[self.key_pos[0]]
        else:
            keys = list(zip(*(out[p] for p in self.key_pos), strict=True))
        if self.hold_all:
            held = list(range(n))
        else:
            hashes = key_hashes([out[p] for p in self.key_pos])
            held = np.flatnonzero(self.keys.suspects(hashes)).tolist()
        # COPY text, column by column: line, flags, the outputs, then load and extract date
        numbers = list(map(str, line_nos))
        flag_col: Sequence[str] = ("",) * n
        if flags:
            flag_col = list(flag_col)
            for i, fl in flags.items():
                flag_col[i] = "{" + ",".join(sorted(set(fl))) + "}"
        raw_cols = [numbers, flag_col, *(out[p] for p in self.raw_pos)]
        pii_cols = [numbers, *(out[p] for p in self.pii_pos)] if self.pii_pos else None
        if held:
            single = len(self.key_pos) == 1
            for i in held:
                res.suspects.append(
                    Suspect(
                        key=(keys[i],) if single else keys[i],
                        line_no=line_nos[i],
                        line=lines[i],
                        raw_row=self._row(raw_cols, i),
                        pii_row=self._row(pii_cols, i) if pii_cols else None,
                        refs=orphan_by_row.pop(i, []),
                        flagged=i in flags,
                    )
                )
            take = sorted(set(range(n)).difference(held))
            res.flagged = len(flags) - sum(1 for i in held if i in flags)
            n = len(take)
            if n:
                pick = _picker(take)
                raw_cols = [pick(c) for c in raw_cols]
                if pii_cols is not None:
                    pii_cols = [pick(c) for c in pii_cols]
        else:
            res.flagged = len(flags)
        res.loaded = n
        if n:
            res.raw_text = self._rows(raw_cols, n)
            if pii_cols is not None:
                res.pii_text = self._rows(pii_cols, n)
        for i, refs in orphan_by_row.items():
            for entity, key in refs:
                res.orphans.append((line_nos[i], entity, key))
        return res


def _picker(keep: list[int]) -> Callable[[Sequence], list]:
    """Takes the kept positions of a sequence (C-level)."""
    if len(keep) == 1:
        k = keep[0]
        return lambda seq: [seq[k]]
    get = itemgetter(*keep)
    return lambda seq: list(get(seq))


def _outputs_of_empty(conv: Callable, width: int) -> tuple[str, ...]:
    r = conv("")
    if isinstance(r, tuple):
        return r
    if isinstance(r, Flag):
        return r.out
    return (NULL,) * width
