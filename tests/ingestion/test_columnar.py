"""The columnar path gives what the record-by-record path gives, and declines what it must."""

from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ingestion_files import (
    FINAL_HEADER,
    MARK_HEADER,
    MOVEMENT_HEADER,
    account_record,
    mark_row,
    movement_row,
)

from ingestion import loader, readers
from ingestion.columnar import SPACES, PlainPath
from ingestion.contracts import feeds
from ingestion.pseudonym import Pseudonymizer
from ingestion.readers import CsvReader, PlainBlock
from ingestion.validate import FeedProcessor, KeyTracker, arrow_ints, arrow_strings, key_hashes

ROOT = Path(__file__).resolve().parents[2]
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
    """Everything one file's chunks give but the rows (binary from the columnar path, text
    from the record path: they are compared as stored, below): quarantine, orphans, held
    lines, counts."""
    reader = CsvReader(path)
    proc = FeedProcessor(
        feeds()[feed_name],
        reader.header,
        PSEUDONYM,
        lambda _e, keys: keys & KNOWN,
        "17\t2025-09-20",
    )
    path_ = PlainPath.of(proc) if plain else None
    quarantine, orphans, suspects = [], [], []
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
        quarantine += res.quarantine
        orphans += res.orphans
        suspects += [(s.line_no, s.raw_row, tuple(s.refs), s.flagged) for s in res.suspects]
        read += res.read
        loaded += res.loaded
        rejected += res.rejected
    if path_ is not None:
        orphans += path_.finish()
    reader.close()
    return {
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
def test_columnar_path_decides_as_the_record_path(tmp_path, small_blocks, encoding, end):
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
    tracker = KeyTracker(bits_log2=8)  # 256 bits: nearly every key is held
    keys = [f"M{i}" for i in range(3000)] + ["M17", "M2999"]
    held = np.zeros(0, dtype=bool)
    for start in range(0, len(keys), 500):
        held = np.concatenate([held, tracker.suspects(key_hashes([keys[start : start + 500]]))])
    assert held.sum() > 2500  # the filter alone would send these to the database
    again = tracker.repeated(key_hashes([keys]))
    assert set(np.flatnonzero(again)) == {17, 2999, 3000, 3001}
    tracker.close()


def test_the_duplicate_filter_is_sized_by_the_file():
    sizes = {}
    for rows in (None, 0, 1, 64, 65, 3_000_000, 10**12):
        tracker = KeyTracker.for_rows(rows)
        sizes[rows] = len(tracker.words) * 64
        tracker.close()
    assert sizes == {
        None: 2**28,
        0: 2**10,
        1: 2**10,
        64: 2**10,
        65: 2**11,
        3_000_000: 2**26,  # at least 16 bits a key
        10**12: 2**28,
    }


def test_a_small_file_gets_a_small_duplicate_filter(landing, load, monkeypatch):
    made = _sized(monkeypatch)
    lines = [";".join(mark_row(f"M{i}", "S1")) for i in range(100)]
    _write(landing / "marks_20250920.csv", MARK_HEADER, lines)
    load(landing)
    assert made == [101]  # the whole body was in the sample: its lines are known


def _sized(monkeypatch) -> list:
    from ingestion import validate

    made = []
    for_rows = validate.KeyTracker.for_rows.__func__
    monkeypatch.setattr(
        validate.KeyTracker,
        "for_rows",
        classmethod(lambda cls, n: made.append(n) or for_rows(cls, n)),
    )
    return made


def test_a_large_file_is_sized_by_its_first_lines(landing, load, monkeypatch):
    made = _sized(monkeypatch)
    lines = [";".join(mark_row(f"M{i:06d}", "S1")) for i in range(30_000)]
    _write(landing / "marks_20250920.csv", MARK_HEADER, lines)
    size = (landing / "marks_20250920.csv").stat().st_size
    assert size > loader.SAMPLE_BYTES
    load(landing)
    assert 2 * 30_000 <= made[0] <= 2 * 30_000 * 1.01  # twice the rows, not one per 12 bytes
    assert made[0] < size // len(MARK_HEADER) // 4


def test_a_file_longer_than_its_first_lines_say_misses_no_duplicate(landing, load, q, monkeypatch):
    made = _sized(monkeypatch)
    long_class = "5А" + "-" * 400  # the first lines are long, the rest short
    lines = [
        ";".join(mark_row(f"L{i}", "S1")).replace(";5А;", f";{long_class};", 1) for i in range(1000)
    ]
    lines += [";".join(mark_row(f"M{i}", "S1")) for i in range(40_000)]
    lines += [";".join(mark_row("M7", "S1", mark="3")), ";".join(mark_row("L3", "S1", mark="3"))]
    _write(landing / "marks_20250920.csv", MARK_HEADER, lines)
    res = load(landing)["marks_20250920.csv"]
    assert made[0] < 20_000  # the filter was made for fewer rows than the file holds
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (41_002, 41_000, 2)
    assert q("select line_number, reasons from raw.quarantine order by 1") == [
        (41_002, ["duplicate_key"]),
        (41_003, ["duplicate_key"]),
    ]


def test_the_loader_asks_the_database_only_for_repeated_hashes(landing, load, q, monkeypatch):
    from ingestion import validate

    monkeypatch.setattr(validate.KeyTracker, "for_rows", classmethod(lambda cls, n: cls(8)))
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


def _stored(q, feed_name: str, load_id: int) -> dict:
    feed = feeds()[feed_name]
    columns = ", ".join(
        ["line_number", "flags", *(o.name for o in feed.outputs() if o.zone == "raw")]
    )
    return {
        "rows": q(
            f"select {columns} from {feed.raw_table} where load_id = %s order by 1", (load_id,)
        ),
        "quarantine": q(
            "select line_number, reasons, problems, original_line from raw.quarantine "
            "where load_id = %s order by 1",
            (load_id,),
        ),
        "orphans": q(
            "select line_number, entity, ref_key from raw.orphans where load_id = %s "
            "order by 1, 2, 3",
            (load_id,),
        ),
    }


def _both_ways(tmp_path, load, monkeypatch, name, header, lines):
    """The file loaded through the columnar path, then the same lines (another file: its
    lines end in CR LF) record by record."""
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    _write(first / name, header, lines, "cp1251")
    columnar = load(first)[name]
    with monkeypatch.context() as m:
        m.setattr(PlainPath, "of", classmethod(lambda cls, proc: None))
        _write(second / name, header, lines, "utf-8", "\r\n")
        records = load(second)[name]
    assert columnar.status == records.status == "loaded"
    counts = ("rows_read", "rows_loaded", "rows_rejected", "rows_flagged", "rows_orphan")
    assert [getattr(columnar, c) for c in counts] == [getattr(records, c) for c in counts]
    return columnar, records


def test_both_paths_store_the_same_rows(tmp_path, small_blocks, load, q, monkeypatch):
    lines = _marks_lines(7500, seed=3)
    for line_no, defect in DEFECTS.items():
        lines[line_no - 2] = defect(lines[line_no - 2])
    lines[4000] = _field(lines[4000], 10, "")  # an optional timestamp left empty
    name = "marks_20250920.csv"
    columnar, records = _both_ways(tmp_path, load, monkeypatch, name, MARK_HEADER, lines)
    stored = _stored(q, "marks", columnar.load_id)
    assert stored == _stored(q, "marks", records.load_id)
    # rejected: a required value empty, an invalid date, a mark of 6, a field too many and
    # the two repeated keys
    assert len(stored["rows"]) == 7500 - 6
    assert stored["rows"][0][-2] == dt.datetime(2025, 9, 1, 5, 0, tzinfo=dt.UTC)  # 08:00 MSK


def test_both_paths_store_the_same_movements_and_final_marks(
    tmp_path, small_blocks, load, q, monkeypatch
):
    events = []
    for i in range(1500):
        row = movement_row(f"E{i}", f"S{i % 300}", date=f"{1 + i % 28:02d}.09.2025")
        row[8] = ["5", "", "11"][i % 3]  # grade level
        row[15] = ["нет", "да", ""][i % 3]  # deleted
        events.append(";".join(row))
    events[700] = _field(events[700], 8, "12")  # a grade level outside 1–11: flagged
    columnar, records = _both_ways(
        tmp_path / "m", load, monkeypatch, "movements_20250920.csv", MOVEMENT_HEADER, events
    )
    assert _stored(q, "movements", columnar.load_id) == _stored(q, "movements", records.load_id)
    finals = [
        f"S{i % 300};ORG1;2024/2025;{['1 четверть', 'год'][i % 2]};П{i // 300};{2 + i % 4};"
        f"{'' if i % 3 else '25.05.2025'}"
        for i in range(1200)
    ]
    columnar, records = _both_ways(
        tmp_path / "f", load, monkeypatch, "final_marks_20250920.csv", FINAL_HEADER, finals
    )
    stored = _stored(q, "final_marks", columnar.load_id)
    assert stored == _stored(q, "final_marks", records.load_id)
    assert len(stored["rows"]) == 1200


def test_the_columnar_path_does_not_load_pandas(tmp_path):
    # pyarrow imports pandas (≈ 80 MiB of the loader's memory) when given Python objects
    path = tmp_path / "marks_20250920.csv"
    _write(path, MARK_HEADER, _marks_lines(2000, seed=4))
    script = f"""
import sys
from pathlib import Path
from ingestion.columnar import PlainPath
from ingestion.contracts import feeds
from ingestion.pseudonym import Pseudonymizer
from ingestion.readers import CsvReader, PlainBlock
from ingestion.validate import FeedProcessor
reader = CsvReader(Path({str(path)!r}))
proc = FeedProcessor(
    feeds()["marks"], reader.header, Pseudonymizer(b"k"), lambda e, k: set(), "1\\t2025-09-20"
)
plain = PlainPath.of(proc)
blocks = [c for c in reader.chunks(plain=True) if isinstance(c, PlainBlock)]
taken = [plain.process(c) is not None for c in blocks]
assert taken and all(taken), taken
assert "pandas" not in sys.modules
"""
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT)


def test_values_met_are_found_again_as_the_table_grows(monkeypatch):
    from ingestion import columnar

    rnd = random.Random(5)
    values = columnar._Values(lambda v: v.upper(), "text")
    for _ in range(12):
        block = [f"s{rnd.randrange(5000)}" for _ in range(3000)]
        places = values.encode(arrow_strings(block))
        assert values.inputs.take(arrow_ints(places)).to_pylist() == block
        assert values.texts.take(arrow_ints(places)).to_pylist() == [v.upper() for v in block]
    assert len(values.inputs) == len(set(values.inputs.to_pylist())) > 4900
    assert (1 << values._bits) >= 2 * len(values.inputs)
    # two values of one hash: each still finds its own output
    monkeypatch.setattr(columnar, "key_hashes", lambda cols: np.zeros(len(cols[0]), np.uint64))
    clash = columnar._Values(lambda v: v + "!", "text")
    for block in (["a", "b"], ["b", "c", "a"]):
        places = clash.encode(arrow_strings(block))
        assert clash.texts.take(arrow_ints(places)).to_pylist() == [v + "!" for v in block]


def test_a_column_of_new_values_keeps_only_its_last_block(monkeypatch):
    from ingestion import columnar

    monkeypatch.setattr(columnar, "FEW", 500)
    ids = columnar._Values(lambda v: v, "text")
    codes = columnar._Values(lambda v: v, "text")
    for b in range(8):
        block = [f"M{b}-{i}" for i in range(300)]  # every block's values are new
        places = ids.encode(arrow_strings(block))
        assert ids.inputs.take(arrow_ints(places)).to_pylist() == block
        codes.encode(arrow_strings([f"c{i % 7}" for i in range(b * 100, b * 100 + 300)]))
    assert len(ids.inputs) <= 600  # what it held past FEW was dropped, not the whole file
    assert len(codes.inputs) == 7  # values that come back are kept


def test_a_column_of_many_values_that_come_back_keeps_them(monkeypatch):
    """Students of a large file: each block meets a share of them again (a third here), and
    the column keeps what it checked rather than checking them again in every block."""
    from ingestion import columnar

    monkeypatch.setattr(columnar, "FEW", 500)
    checked = []
    students = columnar._Values(lambda v: checked.append(v) or v, "text")
    rnd = random.Random(7)
    for _ in range(12):
        block = rnd.sample([f"S{i}" for i in range(3000)], 300)
        places = students.encode(arrow_strings(block))
        assert students.inputs.take(arrow_ints(places)).to_pylist() == block
    assert len(checked) == len(set(checked))  # each checked once
    assert len(students.inputs) == len(checked) > 600


def test_string_hashes_do_not_depend_on_the_slices(monkeypatch):
    from ingestion import validate

    words = [f"value-{i}" * (i % 5 + 1) for i in range(5000)]
    whole = validate.key_hashes([words])
    monkeypatch.setattr(validate, "HASH_BYTES", 1000)
    assert np.array_equal(validate.key_hashes([words]), whole)
    assert np.array_equal(
        validate.key_hashes([arrow_strings(words).slice(17, 3000)]), whole[17:3017]
    )


def test_json_lines_get_a_filter_for_all_their_rows(landing, load, monkeypatch):
    import json

    made = _sized(monkeypatch)
    held = []
    settle = loader.FileLoad._settle
    monkeypatch.setattr(
        loader.FileLoad,
        "_settle",
        lambda self, cur, proc: held.append(len(self.suspects)) or settle(self, cur, proc),
    )
    lines = [json.dumps(account_record(f"A{i}"), ensure_ascii=False) for i in range(3000)]
    (landing / "accounts_20250910.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = load(landing)["accounts_20250910.jsonl"]
    assert (res.rows_read, res.rows_loaded) == (3000, 3000)
    assert made[0] >= 3000  # a bound, not the first lines of a CSV body
    assert held[0] < 30  # a filter too small holds back nearly every row
