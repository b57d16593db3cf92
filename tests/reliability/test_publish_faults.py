"""dbt killed in the middle of a build: the published layer the dashboards read stays exactly
as it was (write-audit-publish builds into `marts_next`/`forms_next` and swaps only after a
passing audit)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
import uuid

import psutil
import psycopg
from psycopg import sql
from reliability_support import KONTINGENT, ROOT, cli_env

from kontingent import db
from kontingent.settings import ROLE_OWNER, get_settings

SEED = int(os.environ.get("KONTINGENT_FAULT_SEED", "20251128"))
PUBLISHED = ("marts", "forms")
BUILD = ("marts_next", "forms_next")


def _tables(conn: psycopg.Connection, schemas) -> list[tuple[str, str]]:
    return conn.execute(
        "select schemaname, tablename from pg_tables where schemaname = any(%s) order by 1, 2",
        (list(schemas),),
    ).fetchall()


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Row count and a digest of the sorted rows of every published table."""
    out = {}
    with psycopg.connect(url) as conn:
        for schema, table in _tables(conn, PUBLISHED):
            rel = sql.Identifier(schema, table)
            out[f"{schema}.{table}"] = conn.execute(
                sql.SQL(
                    "select count(*), coalesce(md5(string_agg(t::text, '|' order by t::text)), '') "
                    "from {} as t"
                ).format(rel)
            ).fetchone()
        publications = conn.execute(
            "select count(*) from pg_tables where schemaname = 'dq' and tablename = 'publications'"
        ).fetchone()[0]
        if publications:
            out["dq.publications"] = conn.execute(
                "select count(*), '' from dq.publications"
            ).fetchone()
    return out


def _dbt_processes(parent: int) -> list[psutil.Process]:
    try:
        children = psutil.Process(parent).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    out = []
    for child in children:
        try:
            if any("dbt" in os.path.basename(part) for part in child.cmdline()[:2]):
                out.append(child)
        except psutil.NoSuchProcess:
            continue
    return out


def test_dbt_killed_mid_build_leaves_the_published_layer_untouched(
    built_warehouse, tmp_path, tally
):
    settings = get_settings()
    admin = settings.local_url(ROLE_OWNER, "postgres")
    name = f"kt_wap_{uuid.uuid4().hex[:8]}"
    db.clone_database(admin, built_warehouse.dbname, name)
    url = db.with_database(built_warehouse.url, name)
    reader_url = db.with_database(built_warehouse.reader_url, name)
    try:
        before = fingerprint(url)
        assert len([k for k in before if k.startswith("marts.")]) >= 5
        assert all(n > 0 for key, (n, _d) in before.items() if key.startswith("marts.agg_"))
        target = random.Random(SEED).randint(1, 8)
        env = cli_env(
            url,
            DBT_TARGET_PATH=str(tmp_path / "target"),
            DBT_LOG_PATH=str(tmp_path / "logs"),
        )
        proc = subprocess.Popen(
            [*KONTINGENT, "publish"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        built = killed = 0
        deadline = time.monotonic() + 900
        with psycopg.connect(url, autocommit=True) as conn:
            while proc.poll() is None and time.monotonic() < deadline:
                built = len(_tables(conn, BUILD))
                if built >= target:
                    for dbt in _dbt_processes(proc.pid):
                        dbt.send_signal(signal.SIGKILL)
                        killed += 1
                    if killed:
                        break
                time.sleep(0.1)
        out, err = proc.communicate(timeout=300)
        assert killed, f"dbt was not seen building {target} published tables ({built} seen)"
        assert proc.returncode == 1, (out[-2000:], err[-2000:])
        assert "not published: dbt build failed" in out + err
        assert fingerprint(url) == before
        # the dashboards still read every published table, and none of the half-built ones
        with psycopg.connect(url) as conn:
            published = _tables(conn, PUBLISHED)
            half_built = _tables(conn, BUILD)
        assert half_built, "the killed build left no tables to refuse"
        with psycopg.connect(reader_url, autocommit=True) as conn:
            for schema, table in published:
                conn.execute(sql.SQL("select 1 from {}").format(sql.Identifier(schema, table)))
            for schema, table in half_built:
                try:
                    conn.execute(sql.SQL("select 1 from {}").format(sql.Identifier(schema, table)))
                except psycopg.errors.InsufficientPrivilege:
                    continue
                raise AssertionError(f"the reader can read the half-built {schema}.{table}")
    finally:
        db.drop_database(admin, name)
    tally.add(
        "faults: dbt killed mid-build",
        "published layer unchanged",
        f"killed with {built} build tables written; {len(before)} published tables compared",
    )
