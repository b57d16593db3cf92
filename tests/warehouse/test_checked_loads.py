"""Tests of raw history that hold within each load read only the loads no passing run has
checked: a planted duplicate line in a checked load goes unread until every load is read
again, one in a new load fails the run, and a failing run leaves the mark where it was."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg

KONTINGENT = [sys.executable, "-m", "kontingent.cli"]
MODEL = "stg_journal__mark_versions"
CHECK_ALL = json.dumps({"kontingent:check_all_loads": True})


def _kontingent(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([*KONTINGENT, *args], env=env, capture_output=True, text=True)


def _ok(args: list[str], env: dict) -> None:
    proc = _kontingent(args, env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def _test_fails(args: list[str], env: dict) -> None:
    proc = _kontingent(args, env)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "unique_in_each_load" in proc.stdout, proc.stdout[-3000:]


def _extract_day(path: Path) -> str:
    return next(part[:8] for part in path.stem.split("_") if part[:8].isdigit())


def _mark(conn: psycopg.Connection) -> int | None:
    row = conn.execute(
        "select checked_through_load from core.dbt_checked_loads where model_name = %s", (MODEL,)
    ).fetchone()
    return row[0] if row else None


def _newest_marks_load(conn: psycopg.Connection) -> int:
    return conn.execute(
        "select max(load_id) from raw.load_log where feed = 'marks' and status = 'loaded'"
    ).fetchone()[0]


def _plant_duplicate(conn: psycopg.Connection, load_id: int) -> None:
    conn.execute(
        "insert into raw.marks select * from raw.marks where load_id = %s limit 1", (load_id,)
    )
    conn.commit()


def test_history_checks_read_only_unchecked_loads(
    warehouse, correctness_region, pseudonym_key, tmp_path
):
    region, _ = correctness_region
    marks = sorted(p for p in region.iterdir() if p.name.startswith("marks_"))
    days = sorted({_extract_day(p) for p in marks})
    assert len(days) >= 3
    landing = tmp_path / "landing"
    landing.mkdir()
    env = {**os.environ, "DBT_TARGET_PATH": str(tmp_path / "dbt-target")}
    test = ["dbt", "test", "--select", MODEL]

    def deliver(day: str) -> None:
        for path in marks:
            if _extract_day(path) == day:
                shutil.copy2(path, landing / path.name)
        _ok(["load", str(landing)], env)

    deliver(days[0])
    deliver(days[1])
    _ok(["dbt", "build", "--select", MODEL], env)
    with psycopg.connect(warehouse.url) as conn:
        first_checked = _newest_marks_load(conn)
        assert _mark(conn) == first_checked
        oldest = conn.execute("select min(load_id) from raw.marks").fetchone()[0]
        _plant_duplicate(conn, oldest)

    _ok(test, env)  # the duplicate is in a load already checked: not read again
    _test_fails([*test, "--vars", CHECK_ALL], env)  # reading every load finds it
    with psycopg.connect(warehouse.url) as conn:
        assert _mark(conn) == first_checked, "a failing run does not move the mark"

    deliver(days[2])
    with psycopg.connect(warehouse.url) as conn:
        newest = _newest_marks_load(conn)
        assert newest > first_checked
        _plant_duplicate(conn, newest)
    _test_fails(test, env)  # the new load is read, and its duplicate line found
    with psycopg.connect(warehouse.url) as conn:
        assert _mark(conn) == first_checked
        conn.execute(
            "delete from raw.marks where ctid in (select max(ctid) from raw.marks "
            "where load_id = %s group by line_number having count(*) > 1)",
            (newest,),
        )
        conn.commit()
    _ok(test, env)
    with psycopg.connect(warehouse.url) as conn:
        assert _mark(conn) == newest, "a passing run checked the loads up to its start"
