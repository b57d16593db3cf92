"""The columnar path gives what the record-by-record path gives, and declines what it must."""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest
from ingestion_files import FINAL_HEADER, MARK_HEADER, MOVEMENT_HEADER, mark_row, movement_row

from ingestion import loader, readers
from ingestion.columnar import SPACES, PlainPath
from ingestion.contracts import feeds
from ingestion.pseudonym import Pseudonymizer
from ingestion.readers import CsvReader, PlainBlock
from ingestion.validate import FeedProcessor, KeyTracker, key_hashes

PSEUDONYM = Pseudonymizer(b"k" * 32)
# what the warehouse knows: the organizations and every student but S0, S37, S74, ...
KNOWN = {PSEUDONYM(f"S{i}") for i in range(400) if i % 37} | {f"ORG{i}" for i in range(5)}


def _marks_lines(rows: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    lines = []
    for i in range(rows):
        row = mark_row(f"M{i}", f"S{rnd.randrange(400)}", mark=rnd.choice("2345нбу"))
        row[2] = f"ORG{rnd.randrange(5)}"
        row[5] = f"{1 + i % 28:02d}.09.2025"
        row[10] = f"{row[5]} {8 + i % 9:02d}:{i % 60:02d}"
        row[8] = rnd.choice(["1", "2", "3", ""])
        row[9] = rnd.choice(["T1", "T2", "", "T3"])
        lines.append(";".join(row))
    return lines


# one defect each, at its line of the file (the columnar path must decline its block, or, for
# a repeated key, hand the line on to be settled at the end)
DEFECTS = {
    300: lambda r: r.replace(";5А;", "; 5А;"),  # a space around a value
    900: lambda r: r.replace(";Математика;", ";;"),  # a required value empty
    1500: lambda r: _field(r, 5, "31.02.2025"),  # a required date invalid
    2100: lambda r: _field(r, 6, "6"),  # a mark outside the scale
    2700: lambda r: _field(r, 8, "x"),  # an optional number invalid: flagged
    3300: lambda r: _field(r, 10, "02.09.2025 25:00"),  # an invalid timestamp: flagged
    3900: lambda r: r + ";extra",  # a field too many
    4500: lambda r: _field(r, 3, '"5;А"'),  # a quoted field
    5100: lambda r: _field(r, 0, "M7"),  # a key seen earlier (in a clean block)
    5700: lambda r: _field(r, 0, "M5697"),  # the key of the line before
    6300: lambda r: _field(r, 1, "S999"),  # a student the warehouse does not know: an orphan
    6900: lambda r: _field(r, 4, "Литература\\Чтение"),  # a backslash (COPY escape)
}


def _field(line: str, k: int, value: str) -> str:
    cells = line.split(";")
    cells[k] = value
    return ";".join(cells)


def _write(path, header, lines, encoding="utf-8", end="\n"):
    path.write_bytes(end.join([";".join(header), *lines, ""]).encode(encoding))


def _run(path, feed_name, plain: bool):
    """Everything one file's chunks give: COPY text, quarantine, orphans, held lines."""
    reader = CsvReader(path)
    proc = FeedProcessor(
        feeds()[feed_name],
        reader.header,
        PSEUDONYM,
        lambda _e, keys: keys & KNOWN,
        "17\t2025-09-20",
    )
    path_ = PlainPath.of(proc) if plain else None
    raw, quarantine, orphans, suspects = [], [], [], []
    taken = declined = 0
    read = loaded = rejected = 0
    for chunk in reader.chunks(plain=plain):
        res = None
        if isinstance(chunk, PlainBlock):
            res = path_.process(chunk)
            if res is None:
                declined += 1
                chunk = chunk.chunk()
            else:
                taken += 1
        if res is None:
            res = proc.process(chunk)
        text = res.raw_text
        raw.append(text.decode() if isinstance(text, bytes) else text)
        quarantine += res.quarantine
        orphans += res.orphans
        suspects += [(s.line_no, s.raw_row, tuple(s.refs), s.flagged) for s in res.suspects]
        read += res.read
        loaded += res.loaded
        rejected += res.rejected
    reader.close()
    return {
        "raw": "".join(raw),
        "quarantine": sorted(quarantine),
        "orphans": sorted(orphans),
        "suspects": suspects,
        "counts": (read, loaded, rejected),
    }, (taken, declined)


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(readers, "PLAIN_BLOCK_BYTES", 16 << 10)  # ≈ 170 lines a block


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251"])
@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_columnar_path_gives_the_record_paths_output(tmp_path, small_blocks, encoding, end):
    lines = _marks_lines(7500, seed=1)
    for line_no, defect in DEFECTS.items():
        lines[line_no - 2] = defect(lines[line_no - 2])
    path = tmp_path / "marks_20250920.csv"
    _write(path, MARK_HEADER, lines, encoding, end)
    columnar, (taken, declined) = _run(path, "marks", plain=True)
    records, _ = _run(path, "marks", plain=False)
    assert columnar == records
    # the blocks of the first seven defects were declined; a quote or a backslash makes a
    # block not plain (read record by record from the start); a repeated key and an orphan
    # are no defect of the block: the columnar path takes those
    assert declined == 7
    assert taken >= 20
    assert [s[0] for s in columnar["suspects"]] == [5100, 5700]
    assert (6300, "student", PSEUDONYM("S999")) in columnar["orphans"]
    read, loaded, rejected = columnar["counts"]
    assert read == 7500 == loaded + rejected + len(columnar["suspects"])


def test_a_clean_file_goes_all_columnar_with_orphans_and_repeats(tmp_path, small_blocks):
    lines = _marks_lines(3000, seed=2)
    lines[2000] = _field(lines[2000], 0, "M10")
    path = tmp_path / "marks_20250920.csv"
    _write(path, MARK_HEADER, lines)
    columnar, (taken, declined) = _run(path, "marks", plain=True)
    records, _ = _run(path, "marks", plain=False)
    assert columnar == records
    assert declined == 0 and taken >= 15
    assert len(columnar["orphans"]) > 0  # S0, S37, ...: refs to unknown students
    assert [s[0] for s in columnar["suspects"]] == [2002]


@pytest.mark.parametrize(
    ("feed", "header", "lines"),
    [
        (
            "movements",
            MOVEMENT_HEADER,
            [";".join(movement_row(f"E{i}", f"S{i % 300}", date="02.09.2025")) for i in range(900)],
        ),
        (
            "final_marks",
            FINAL_HEADER,
            [
                f"S{i % 300};ORG1;2024/2025;{['1 четверть', 'год'][i % 2]};П{i // 300};{2 + i % 4};"
                f"{'' if i % 3 else '25.05.2025'}"
                for i in range(1200)
            ],
        ),
    ],
)
def test_other_delta_feeds_agree_too(tmp_path, small_blocks, feed, header, lines):
    path = tmp_path / f"{feed}_20250920.csv"
    _write(path, header, lines)
    columnar, (taken, _declined) = _run(path, feed, plain=True)
    records, _ = _run(path, feed, plain=False)
    assert columnar == records
    assert taken > 0


def test_feeds_with_restricted_columns_or_checksums_have_no_columnar_path():
    for name in ("students", "organizations", "accounts"):
        feed = feeds()[name]
        header = [c.header for c in feed.columns]
        proc = FeedProcessor(feed, header, Pseudonymizer(b"k" * 32), lambda _e, k: k, "1\t")
        assert PlainPath.of(proc) is None, name
    proc = FeedProcessor(feeds()["marks"], MARK_HEADER, Pseudonymizer(b"k"), lambda _e, k: k, "")
    proc.hold_all = True  # replay: every line is settled against the database
    assert PlainPath.of(proc) is None


def test_the_spaces_declined_are_those_str_strip_removes():
    every = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert set(SPACES) == every and len(SPACES) == len(every)


def test_held_keys_are_settled_by_their_hash_count():
    tracker = KeyTracker(bits_log2=6)  # 64 bits: nearly every key is held
    keys = [f"M{i}" for i in range(3000)] + ["M17", "M2999"]
    held = np.zeros(0, dtype=bool)
    for start in range(0, len(keys), 500):
        held = np.concatenate([held, tracker.suspects(key_hashes([keys[start : start + 500]]))])
    assert held.sum() > 2500  # the filter alone would send these to the database
    again = tracker.repeated(key_hashes([keys]))
    assert set(np.flatnonzero(again)) == {17, 2999, 3000, 3001}
    tracker.close()


def test_the_loader_asks_the_database_only_for_repeated_hashes(landing, load, q, monkeypatch):
    from ingestion import validate

    monkeypatch.setattr(validate, "KeyTracker", lambda: KeyTracker(bits_log2=6))
    asked = []
    seen = loader.FileLoad._seen
    monkeypatch.setattr(
        loader.FileLoad,
        "_seen",
        lambda self, cur, s, k: asked.append(len(s)) or seen(self, cur, s, k),
    )
    lines = [";".join(mark_row(f"M{i}", "S1")) for i in range(2000)]
    lines.append(";".join(mark_row("M5", "S1", mark="3")))  # a repeated key
    _write(landing / "marks_20250920.csv", MARK_HEADER, lines)
    res = load(landing)["marks_20250920.csv"]
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (2001, 2000, 1)
    # only the repeated key's rows (the first one may not have been held), of some 2,000 held
    assert len(asked) == 1 and asked[0] <= 2
    assert q("select line_number, reasons from raw.quarantine") == [(2002, ["duplicate_key"])]
    assert q("select mark_value from raw.marks where mark_id = 'M5'") == [("5",)]
