"""Faults during a load: the loader killed at random points of a large file, the database
stopped under it, the disk full when the quarantine is written. Each time nothing partial is
left, the rerun completes and the counts reconcile with the ones the files were written with."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from fault_files import Expected, write_marks, write_registry
from reliability_support import KONTINGENT, ROOT, cli_env, query, wait_for_no_other_sessions

from kontingent import cluster
from kontingent.settings import ROLE_OWNER, get_settings

MARK_ROWS = 12_000  # about a second of loading
KILL_TRIALS = 10
SEED = int(os.environ.get("KONTINGENT_FAULT_SEED", "20251128"))
FEED_TABLES = ("raw.organizations", "raw.students", "pii.students", "raw.marks")


def consistency_problems(url: str) -> list[str]:
    """What a half-done load would leave: a load-log row still `loading`, rows of a load that
    is not logged as loaded, or a loaded file whose rows do not add up to its log."""
    problems = []
    with psycopg.connect(url) as conn:
        loading = conn.execute(
            "select count(*) from raw.load_log where status not in ('loaded', 'failed')"
        ).fetchone()[0]
        if loading:
            problems.append(f"{loading} load-log row(s) neither loaded nor failed")
        for table in (*FEED_TABLES, "raw.quarantine", "pii.quarantine", "raw.orphans"):
            stray = conn.execute(
                f"select count(*) from {table} where load_id not in "
                "(select load_id from raw.load_log where status = 'loaded')"
            ).fetchone()[0]
            if stray:
                problems.append(f"{table}: {stray} row(s) of a load not logged as loaded")
        logged = conn.execute(
            "select load_id, feed, rows_loaded, rows_rejected from raw.load_log "
            "where status = 'loaded' and kind = 'file'"
        ).fetchall()
        for load_id, feed, rows_loaded, rows_rejected in logged:
            n = conn.execute(
                f"select count(*) from raw.{feed} where load_id = %s",
                (load_id,),
            ).fetchone()[0]
            q = conn.execute(
                "select (select count(*) from raw.quarantine where load_id = %(id)s) + "
                "(select count(*) from pii.quarantine where load_id = %(id)s)",
                {"id": load_id},
            ).fetchone()[0]
            if (n, q) != (rows_loaded, rows_rejected):
                problems.append(
                    f"load {load_id} ({feed}): {n} rows and {q} quarantined, "
                    f"log says {rows_loaded} and {rows_rejected}"
                )
    return problems


def reconcile(url: str, file_name: str, expected: Expected) -> None:
    [(load_id, read, loaded, rejected, orphans)] = query(
        url,
        "select load_id, rows_read, rows_loaded, rows_rejected, rows_orphan from raw.load_log "
        "where file_name = %s and status = 'loaded'",
        (file_name,),
    )
    assert (read, loaded, rejected, orphans) == (
        expected.rows,
        expected.loaded,
        expected.rejected,
        expected.orphans,
    )
    [(n,)] = query(url, "select count(*) from raw.marks where load_id = %s", (load_id,))
    [(q,)] = query(url, "select count(*) from raw.quarantine where load_id = %s", (load_id,))
    assert (n, q) == (expected.loaded, expected.rejected)


def _load_in_child(landing: str, url: str) -> None:
    from ingestion.loader import load_landing

    load_landing(Path(landing), url=url)


def _copy_progress(conn: psycopg.Connection) -> int | None:
    row = conn.execute(
        "select tuples_processed from pg_stat_progress_copy where datname = current_database() "
        "and relid = 'raw.marks'::regclass"
    ).fetchone()
    return None if row is None else int(row[0])


def _kill_at(proc, url: str, plan: tuple[str, float], deadline: float) -> str:
    """Kill the loader at the planned point; say where it was."""
    kind, value = plan
    if kind == "after start":
        time.sleep(value)
        os.kill(proc.pid, signal.SIGKILL)
        return f"{value * 1000:.0f} ms after start"
    target = int(value * MARK_ROWS)
    seen_copy = False
    with psycopg.connect(url, autocommit=True) as conn:
        while proc.is_alive() and time.monotonic() < deadline:
            done = _copy_progress(conn)
            if kind == "copy" and done is not None and done >= target:
                os.kill(proc.pid, signal.SIGKILL)
                return f"in the COPY, {done} of {MARK_ROWS} rows sent"
            if done is not None:
                seen_copy = True
            elif seen_copy and kind == "after copy":
                os.kill(proc.pid, signal.SIGKILL)
                return "after the COPY (quarantine, orphans, log, commit)"
            time.sleep(0.005)
    if proc.is_alive():
        os.kill(proc.pid, signal.SIGKILL)
        return "at the time limit"
    return "too late: the load had finished"


def test_loader_killed_at_random_points_leaves_nothing_partial(rel_wh, tmp_path, tally):
    """Ten SIGKILLs at random points of a large marks file; after each one nothing partial is
    in the warehouse, the rerun loads the file and its counts reconcile."""
    from ingestion.loader import load_landing

    rng = random.Random(SEED)
    landing = tmp_path / "landing"
    landing.mkdir()
    write_registry(landing)
    assert all(r.status == "loaded" for r in load_landing(landing, url=rel_wh.url))
    plans = [("after start", rng.uniform(0.0, 0.3)), ("after copy", 0.0)]
    plans += [("copy", rng.random()) for _ in range(KILL_TRIALS - len(plans))]
    rng.shuffle(plans)
    fork = multiprocessing.get_context("fork")
    total = 0
    for trial, plan in enumerate(plans, 1):
        name = f"marks_202509{trial:02d}.csv"
        expected = write_marks(landing / name, MARK_ROWS, prefix=f"T{trial}-")
        proc = fork.Process(target=_load_in_child, args=(str(landing), rel_wh.url))
        proc.start()
        where = _kill_at(proc, rel_wh.url, plan, time.monotonic() + 120)
        proc.join(30)
        wait_for_no_other_sessions(rel_wh.url)
        assert consistency_problems(rel_wh.url) == [], f"trial {trial}, killed {where}"
        [(committed,)] = query(
            rel_wh.url,
            "select count(*) from raw.load_log where file_name = %s and status = 'loaded'",
            (name,),
        )
        results = {r.file: r for r in load_landing(landing, url=rel_wh.url)}
        assert results[name].status == ("skipped" if committed else "loaded")
        assert consistency_problems(rel_wh.url) == []
        reconcile(rel_wh.url, name, expected)
        total += expected.loaded
        outcome = "committed before the kill" if committed else "rolled back, rerun loaded"
        tally.add("faults: loader SIGKILL", outcome, f"trial {trial}: killed {where}; {outcome}")
    [(n,)] = query(rel_wh.url, "select count(*) from raw.marks")
    assert n == total


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def spare_cluster(monkeypatch, pg_cluster):
    """A throw-away PostgreSQL cluster of its own (folder and port), for faults that stop the
    server; the project's cluster is not touched."""
    port = _free_port()
    assert port != get_settings().pg_port
    parent = Path(tempfile.mkdtemp(prefix="kt-spare-", dir="/var/tmp"))
    parent.chmod(0o755)  # the server runs as `postgres` when the tests run as root
    monkeypatch.setenv("KONTINGENT_PG_BASE", str(parent / "pg"))
    monkeypatch.setenv("KONTINGENT_PG_PORT", str(port))
    for var in ("WAREHOUSE_URL", "WAREHOUSE_READER_URL", "WAREHOUSE_PII_URL"):
        monkeypatch.delenv(var, raising=False)
    settings = get_settings()
    for _line in cluster.up(settings):
        pass
    yield settings
    try:
        cluster.down(settings)
    finally:
        subprocess.run(["rm", "-rf", str(parent)], check=False)


def test_database_stopped_mid_load_then_rerun_completes(
    spare_cluster, pseudonym_key, tmp_path, tally
):
    settings = spare_cluster
    url = settings.local_url(ROLE_OWNER)
    landing = tmp_path / "landing"
    landing.mkdir()
    write_registry(landing)
    rows = 3 * MARK_ROWS  # one run only: a larger file makes the COPY easy to catch
    expected = write_marks(landing / "marks_20250902.csv", rows, prefix="M")
    env = cli_env(url)
    proc = subprocess.Popen(
        [*KONTINGENT, "load", str(landing), "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    target = random.Random(SEED).randint(1, rows // 2)
    stopped_at = None
    deadline = time.monotonic() + 180
    with psycopg.connect(url, autocommit=True) as conn:
        while proc.poll() is None and time.monotonic() < deadline:
            done = _copy_progress(conn)
            if done is not None and done >= target:
                stopped_at = done
                break
            time.sleep(0.005)
    assert stopped_at is not None, "the COPY of the marks file was never seen in progress"
    cluster.down(settings)  # pg_ctl stop -m fast: sessions are ended, transactions rolled back
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode not in (0, None)
    assert "Traceback" not in err and "the load stopped" in err, err[-2000:]
    for _line in cluster.up(settings):
        pass
    assert consistency_problems(url) == []
    assert query(url, "select count(*) from raw.marks") == [(0,)]
    rerun = subprocess.run(
        [*KONTINGENT, "load", str(landing), "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert consistency_problems(url) == []
    reconcile(url, "marks_20250902.csv", expected)
    tally.add(
        "faults: database fast shutdown",
        "rolled back, rerun loaded",
        f"stopped with {stopped_at} of {rows} rows sent; exit {proc.returncode}",
    )


DISK_FULL = """
create function raw.simulate_disk_full() returns trigger language plpgsql as $$
begin
    raise exception using errcode = '53100',
        message = 'could not extend file "base/16384/16385": No space left on device';
end $$;
create trigger simulate_disk_full before insert on raw.quarantine
    for each statement execute function raw.simulate_disk_full();
"""


def test_disk_full_on_the_quarantine_write_is_clear_and_loses_nothing(rel_wh, tmp_path, tally):
    landing = tmp_path / "landing"
    landing.mkdir()
    write_registry(landing)
    expected = write_marks(landing / "marks_20250902.csv", 2_000, prefix="M")
    assert expected.rejected > 0  # the file has lines for the quarantine
    original = (landing / "marks_20250902.csv").read_bytes()
    with psycopg.connect(rel_wh.url) as conn:
        conn.execute(DISK_FULL)
    env = cli_env(rel_wh.url)
    run = subprocess.run(
        [*KONTINGENT, "load", str(landing), "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 5, (run.returncode, run.stderr[-2000:])
    assert "Traceback" not in run.stderr and "╭" not in run.stderr
    assert "No space left on device" in run.stderr and "53100" in run.stderr
    assert "run `kontingent load` again" in run.stderr
    # the registry files before it are loaded; nothing of the marks file is
    assert query(rel_wh.url, "select feed, status from raw.load_log order by load_id") == [
        ("organizations", "loaded"),
        ("students", "loaded"),
    ]
    assert query(rel_wh.url, "select count(*) from raw.marks") == [(0,)]
    assert consistency_problems(rel_wh.url) == []
    assert (landing / "marks_20250902.csv").read_bytes() == original
    assert not (landing / "failed").exists()
    # room again: the rerun loads the file whole
    with psycopg.connect(rel_wh.url) as conn:
        conn.execute("drop trigger simulate_disk_full on raw.quarantine")
    rerun = subprocess.run(
        [*KONTINGENT, "load", str(landing), "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    reconcile(rel_wh.url, "marks_20250902.csv", expected)
    tally.add("faults: disk full on the quarantine write", "rolled back, rerun loaded")
