"""A loader killed mid-file, two loaders at once, mangled input, replay after a fix."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingestion_files import MARK_HEADER, STUDENT_HEADER, mark_row, quarantined, student_row, write

ROOT = Path(__file__).resolve().parents[2]
KONTINGENT = ROOT / ".venv" / "bin" / "kontingent"


def _big_marks(path: Path, rows: int, bad_every: int = 1000) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(";".join(MARK_HEADER) + "\n")
        for i in range(rows):
            mark = "7" if i % bad_every == 0 else str(2 + i % 4)
            f.write(";".join(mark_row(f"M{i}", f"S{i % 5000}", mark=mark)) + "\n")


def _env(wh) -> dict[str, str]:
    return dict(os.environ, WAREHOUSE_URL=wh.url, KONTINGENT_PII_RETENTION_DAYS="100000")


def _wait_no_loader(wh, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(wh.url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            n = conn.execute(
                "select count(*) from pg_stat_activity where datname = current_database() "
                "and application_name = 'kontingent-load'"
            ).fetchone()[0]
            if n == 0:
                return
            time.sleep(0.1)
    raise AssertionError("the killed loader's server session did not end")


@pytest.mark.slow
def test_loader_killed_mid_copy_leaves_nothing_and_the_rerun_completes(landing, wh, q):
    rows = 400_000
    _big_marks(landing / "marks_20250902.csv", rows)
    proc = subprocess.Popen(
        [str(KONTINGENT), "load", str(landing), "--json"],
        env=_env(wh),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen = 0
    deadline = time.monotonic() + 120
    with psycopg.connect(wh.url, autocommit=True) as conn:
        while time.monotonic() < deadline and proc.poll() is None:
            row = conn.execute(
                "select tuples_processed from pg_stat_progress_copy "
                "where datname = current_database()"
            ).fetchone()
            if row and row[0] > 0:
                seen = row[0]
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
    proc.wait(timeout=30)
    assert seen > 0, "the COPY was never seen in progress"
    assert proc.returncode == -signal.SIGKILL
    _wait_no_loader(wh)
    assert q("select count(*) from raw.marks") == [(0,)]
    assert q("select count(*) from raw.quarantine") == [(0,)]
    assert q("select count(*) from raw.load_log") == [(0,)]
    rerun = subprocess.run(
        [str(KONTINGENT), "load", str(landing), "--json"],
        env=_env(wh),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert q("select rows_read, rows_loaded, rows_rejected from raw.load_log") == [
        (rows, rows - rows // 1000, rows // 1000)
    ]
    assert q("select count(*) from raw.marks") == [(rows - rows // 1000,)]
    assert q("select count(*) from raw.quarantine") == [(rows // 1000,)]


def test_two_loaders_at_once_load_each_file_once(landing, wh, q, tmp_path):
    _big_marks(landing / "marks_20250902.csv", 60_000)
    write(landing, "students_20250901.csv", STUDENT_HEADER, [student_row("S1")])
    other = tmp_path / "other_landing"  # another folder holding the same content
    other.mkdir()
    (other / "marks_20250902.csv").write_bytes((landing / "marks_20250902.csv").read_bytes())
    cmds = [[str(KONTINGENT), "load", str(d), "--json"] for d in (landing, landing, other)]
    procs = [
        subprocess.Popen(c, env=_env(wh), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
        for c in cmds
    ]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    codes = [p.returncode for p in procs]
    assert set(codes) <= {0, 3}, outs
    busy = [err for (out, err), code in zip(outs, codes, strict=True) if code == 3]
    assert all("another loader is already loading" in err for err in busy)
    loaded = q("select sha256, count(*) from raw.load_log where status = 'loaded' group by 1")
    assert len(loaded) == 2 and all(n == 1 for _sha, n in loaded)
    assert q("select count(*) from raw.marks") == [(60_000 - 60,)]


FIELD = st.one_of(
    st.text(alphabet=st.sampled_from(list('ab5;"\n\r\t\\ ,.ЁёЖж-')), max_size=12),
    st.sampled_from(["31.02.2025", "да", "", "02.09.2025 10:15", "M1"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(st.lists(FIELD, min_size=0, max_size=14), max_size=25),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1251"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    final_newline=st.booleans(),
)
def test_csv_reader_on_mangled_input_never_crashes_and_accounts_for_every_line(
    tmp_path_factory, lines, encoding, newline, final_newline
):
    from ingestion.checks import _unescape
    from ingestion.contracts import get_feed
    from ingestion.readers import CsvReader, FileRefused
    from ingestion.validate import FeedProcessor, HeaderError

    body = newline.join([";".join(MARK_HEADER)] + [";".join(f) for f in lines])
    if final_newline:
        body += newline
    path = tmp_path_factory.mktemp("mangled") / "marks_20250902.csv"
    path.write_bytes(body.encode(encoding, errors="replace"))
    physical = path.read_bytes().decode(encoding).replace("\r\n", "\n")
    n_physical = physical.count("\n") + (0 if physical.endswith("\n") else 1)
    try:
        reader = CsvReader(path)
    except FileRefused:
        return
    try:
        proc = FeedProcessor(
            get_feed("marks"), reader.header, str.upper, lambda _e, _k: set(), "1\t2025-09-02"
        )
    except HeaderError:
        reader.close()
        return
    seen_lines = 1  # the header
    read = loaded = rejected = held = 0
    starts = []
    for chunk in reader.chunks():
        for ln, text in [(r[0], r[1]) for r in chunk.rejects] + list(
            zip(chunk.line_nos, chunk.lines, strict=True)
        ):
            starts.append(ln)
            seen_lines += _unescape(text).count("\n") + 1
        seen_lines += chunk.blank_lines
        res = proc.process(chunk)
        read += res.read
        loaded += res.loaded
        rejected += res.rejected
        held += len(res.suspects)
    reader.close()
    assert seen_lines == n_physical
    assert read == loaded + rejected + held
    assert len(starts) == len(set(starts))


def test_replay_after_a_contract_fix(landing, load, q, wh, monkeypatch):
    from ingestion import contracts
    from ingestion.quarantine import replay

    rows = [mark_row("M1"), mark_row("M2", mark="6"), mark_row("M1", mark="4")]
    rows.append(mark_row("M3", date="31.02.2025"))
    write(landing, "marks_20250902.csv", MARK_HEADER, rows)
    first = load(landing)["marks_20250902.csv"]
    assert quarantined(q) == [(3, ["invalid_code"]), (4, ["duplicate_key"]), (5, ["invalid_date"])]
    # the contract learns a new mark code
    feed = contracts.feeds()["marks"]
    cols = tuple(
        dataclasses.replace(c, codes=(*c.codes, "6")) if c.name == "mark_value" else c
        for c in feed.columns
    )
    monkeypatch.setitem(contracts.FEEDS, "marks", dataclasses.replace(feed, columns=cols))
    results = replay(url=wh.url)
    assert [(r.retried, r.loaded, r.still_rejected) for r in results] == [(2, 1, 1)]
    assert q("select load_id, line_number, mark_value from raw.marks where mark_id = 'M2'") == [
        (first.load_id, 3, "6")
    ]
    open_rows = q("select line_number, reasons from raw.quarantine where resolved_load_id is null "
                  "order by 1")  # fmt: skip
    assert open_rows == [(4, ["duplicate_key"]), (5, ["invalid_date"])]
    assert q("select rows_replayed from raw.load_log where load_id = %s", (first.load_id,)) == [
        (1,)
    ]
    assert replay(url=wh.url)[0].loaded == 0  # idempotent: nothing new passes
