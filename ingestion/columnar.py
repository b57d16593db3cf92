"""The columnar path: plain CSV blocks parsed, checked and turned into COPY text in bulk.

A block of plain lines (`readers.PlainBlock`: no quote, backslash, tab or blank line) is parsed
by Apache Arrow's CSV reader into string columns. Each column is checked on its distinct values
by the same converters as the record-by-record path (`FeedProcessor`), the distinct values met
so far kept in Arrow arrays with their outputs, so a value is converted once per file; the rows'
COPY text is joined by Arrow kernels. The Python work is per distinct value, not per row.

The path takes a block only when it loads whole and clean: every value valid, none flagged,
no space around a value, as many fields as the header. Any other block is declined and goes
through `FeedProcessor`, which finds every reason. Lines whose key may have come earlier in the
file (the duplicate-key filter's hits) are handed to `FeedProcessor` too, to be settled at the
end of the file as there. Both paths give the same COPY text for the same lines.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ingestion.checks import Flag, Reject
from ingestion.readers import Chunk, PlainBlock
from ingestion.validate import (
    CACHE_LIMIT,
    ChunkResult,
    FeedProcessor,
    _ColumnRun,
    arrow_ints,
    arrow_strings,
    key_hashes,
    numpy_ints,
)

# what `str.strip` removes (every character whose `isspace()` is true; a test checks the
# list): a value starting or ending with one of these is declined (the record path strips it)
SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


_SPACES = arrow_strings(list(SPACES))
_EMPTY = arrow_strings([])
_EMPTY_TEXT = arrow_strings([""])[0]
_TAB = arrow_strings(["\t"])[0]
_NOT_MET = arrow_ints(np.array([-1], dtype=np.int32))[0]


class _Values:
    """The distinct values of one column met so far in the file, each with its output and
    whether it is a key the warehouse knows (for the orphan check); bounded."""

    def __init__(self, convert: Callable[[str], str | None]) -> None:
        self.convert = convert
        self._reset()

    def _reset(self) -> None:
        self.inputs = _EMPTY
        self.outputs = _EMPTY
        self.known = np.zeros(0, dtype=bool)

    def encode(self, values: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray] | None:
        """(the block's distinct values, each one's place in `inputs`, each row's distinct
        value); None when a value met for the first time does not convert cleanly."""
        d = pc.dictionary_encode(values)
        distinct = d.dictionary
        place = numpy_ints(pc.index_in(distinct, value_set=self.inputs).fill_null(_NOT_MET))
        new = np.flatnonzero(place < 0)
        if new.size:
            if len(self.inputs) + new.size > CACHE_LIMIT:
                self._reset()
                place = np.full(len(distinct), -1, dtype=np.int32)
                new = np.arange(len(distinct))
            fresh = distinct.take(arrow_ints(new))
            outputs = [self.convert(v) for v in fresh.to_pylist()]
            if None in outputs:
                return None
            place = place.copy()
            place[new] = len(self.inputs) + np.arange(new.size)
            self.inputs = pa.concat_arrays([self.inputs, fresh])
            self.outputs = pa.concat_arrays([self.outputs, arrow_strings(outputs)])
            self.known = np.concatenate([self.known, np.zeros(new.size, dtype=bool)])
        return distinct, place, numpy_ints(d.indices)


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


def _spaced(values: pa.Array) -> bool:
    first = pc.utf8_slice_codeunits(values, 0, 1)
    last = pc.utf8_slice_codeunits(values, -1)
    return bool(pc.any(pc.or_(pc.is_in(first, _SPACES), pc.is_in(last, _SPACES))).as_py())


class PlainPath:
    """The columnar path for one file, beside its `FeedProcessor` (whose caches of known keys
    and duplicate-key filter it shares)."""

    @classmethod
    def of(cls, proc: FeedProcessor) -> PlainPath | None:
        """The path for a feed whose every column gives one raw column (no restricted zone,
        checksums or derived values) and that has a required column (so a line of empty
        fields, blank to the record path, is declined); None otherwise, or on replay."""
        feed = proc.feed
        if feed.has_pii_table or proc.hold_all:
            return None
        if any(len(run.places) != 1 for run in proc.runs):
            return None
        if not any(c.required for c in feed.columns):
            return None
        return cls(proc)

    def __init__(self, proc: FeedProcessor) -> None:
        self.proc = proc
        names = [f"c{i}" for i in range(proc.header_width)]
        self._read = pcsv.ReadOptions(column_names=names, use_threads=False)
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
        self._tail = arrow_strings([proc.tail])[0]
        self._values: dict[int, _Values] = {}
        for i, run in enumerate(proc.runs):
            if run.index is None or run.timestamps is not None:
                continue
            if not run.passthrough:
                self._values[i] = _Values(_clean(run))
        # reference columns: passthrough ones get their distinct values kept for the check
        self._refs: list[tuple[int, str]] = []
        for run, entity in proc.ref_runs:
            i = proc.runs.index(run)
            if run.index is None:
                continue
            if i not in self._values:
                self._values[i] = _Values(_same)
            self._refs.append((i, entity))

    def _table(self, block: PlainBlock) -> pa.Table | None:
        try:
            body = block.utf8()
            table = pcsv.read_csv(
                pa.py_buffer(body),
                read_options=pcsv.ReadOptions(
                    column_names=self._read.column_names,
                    use_threads=False,
                    block_size=len(body) + 1,
                ),
                parse_options=self._parse,
                convert_options=self._convert,
            )
        except (pa.ArrowInvalid, UnicodeDecodeError):
            return None  # a field count that differs, or undecodable text: the record path
        if table.num_rows != block.lines:
            return None
        return table

    def process(self, block: PlainBlock) -> ChunkResult | None:
        """The block's result, or None when the record path must read it."""
        table = self._table(block)
        if table is None:
            return None
        proc = self.proc
        n = table.num_rows
        cols = [c.combine_chunks() for c in table.columns]
        out: dict[int, pa.Array | pa.Scalar] = {}
        encoded: dict[int, tuple[pa.Array, np.ndarray, np.ndarray]] = {}
        for i, run in enumerate(proc.runs):
            place = run.places[0]
            if run.index is None:
                out[place] = arrow_strings([run.cache[""][0]])[0]
                continue
            values = cols[run.index]
            if run.passthrough:
                if _spaced(values):
                    return None
                if run.col.required and pc.any(pc.equal(values, _EMPTY_TEXT)).as_py():
                    return None
                out[place] = values
            elif run.timestamps is not None:
                distinct = set(pc.unique(values).to_pylist())
                if run.col.required and "" in distinct:
                    return None
                if run.timestamps.invalid(distinct):
                    return None
                out[place] = values
            if i in self._values:
                enc = self._values[i].encode(values)
                if enc is None:
                    return None
                encoded[i] = enc
                if not run.passthrough:
                    _distinct, where, rows = enc
                    out[place] = self._values[i].outputs.take(arrow_ints(where[rows]))
        orphans = self._orphans(encoded)
        keys = [out[p] for p in proc.key_pos]
        held = np.flatnonzero(proc.keys.suspects(key_hashes(keys)))
        res = ChunkResult(read=n, loaded=n - held.size)
        if held.size:
            res.suspects = self._settle_later(table, block.first_line, held)
            keep = np.ones(n, dtype=bool)
            keep[held] = False
            orphans = [o for o in orphans if keep[o[0]]]
        numbers = pc.cast(
            arrow_ints(np.arange(block.first_line, block.first_line + n)), pa.string()
        )
        fields = [numbers, _EMPTY_TEXT, *(out[p] for p in proc.raw_pos), self._tail]
        rows = pc.binary_join_element_wise(*fields, _TAB)
        if held.size:
            rows = rows.take(arrow_ints(np.flatnonzero(keep)))
        if len(rows):
            _valid, offsets, data = rows.buffers()
            bounds = np.frombuffer(
                offsets, dtype=np.int32, count=len(rows) + 1, offset=rows.offset * 4
            )
            start, end = int(bounds[0]), int(bounds[-1])
            res.raw_text = data.slice(start, end - start).to_pybytes()
        res.orphans = [(block.first_line + row, entity, key) for row, entity, key in orphans]
        return res

    def _orphans(self, encoded) -> list[tuple[int, str, str]]:
        """(row, entity, key) of each reference to a key the warehouse does not know, in row
        order; the keys found known are remembered."""
        proc = self.proc
        found: list[tuple[int, str, str]] = []
        for i, entity in self._refs:
            distinct, where, rows = encoded[i]
            values = self._values[i]
            unsure = np.flatnonzero(~values.known[where])
            if not unsure.size:
                continue
            keys = values.outputs.take(arrow_ints(where[unsure])).to_pylist()
            ask = {k for k in keys if k}
            known = proc.known(entity, ask) if ask else set()
            unknown: dict[int, str] = {}
            for u, key in zip(unsure.tolist(), keys, strict=True):
                if key in known:
                    values.known[where[u]] = True
                elif key:
                    unknown[u] = key
            if not unknown:
                continue
            is_unknown = np.zeros(len(distinct), dtype=bool)
            is_unknown[list(unknown)] = True
            for row in np.flatnonzero(is_unknown[rows]).tolist():
                found.append((row, entity, unknown[int(rows[row])]))
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
