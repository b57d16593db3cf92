"""The loader's per-column caches of checked values stay bounded whatever the file's size."""

from __future__ import annotations

from ingestion_files import MARK_HEADER, mark_row

from ingestion.contracts import feeds
from ingestion.pseudonym import Pseudonymizer
from ingestion.readers import Chunk
from ingestion.validate import FEW, FeedProcessor

CHUNK = 5000
CHUNKS = 12


def _chunks():
    line = 2
    for c in range(CHUNKS):
        rows = []
        for i in range(CHUNK):
            n = c * CHUNK + i
            # every student new (as IDs in a large file), teachers and dates from a few
            row = mark_row(f"M{n}", f"S{n}", date=f"{1 + n % 28:02d}.09.2025")
            row[9] = f"T{n % 300}"
            rows.append(row)
        yield Chunk(list(range(line, line + CHUNK)), [";".join(r) for r in rows], rows)
        line += CHUNK


def test_caches_keep_few_values_and_drop_values_that_do_not_come_back():
    pseudonymize = Pseudonymizer(b"k" * 32)
    proc = FeedProcessor(feeds()["marks"], MARK_HEADER, pseudonymize, lambda _e, k: k, "1\t")
    runs = {run.col.name: run for run in proc.runs}
    largest = 0
    loaded = 0
    for chunk in _chunks():
        res = proc.process(chunk)
        loaded += res.loaded
        largest = max(largest, len(runs["student_id"].cache))
        # the outputs are those of each row's own values, whatever was cached or dropped
        first = res.raw_text.split("\n", 1)[0].split("\t")
        assert pseudonymize(chunk.rows[0][1]) in first
    assert loaded == CHUNK * CHUNKS
    assert largest <= FEW + CHUNK < CHUNK * CHUNKS
    assert len(runs["teacher_id"].cache) == 300
    assert len(runs["lesson_date"].cache) == 28
