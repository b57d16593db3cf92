"""Settings come from the environment: WAREHOUSE_URL points everything at another database."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg

from kontingent import db
from kontingent.settings import get_settings


def _db_url(env: dict) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "kontingent.cli", "db", "url"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_warehouse_url_is_honoured(warehouse):
    """A second database of the cluster, named by WAREHOUSE_URL, is what `db url` gives."""
    env = {**os.environ, "WAREHOUSE_URL": warehouse.url}
    url = _db_url(env)
    assert url == warehouse.url
    with psycopg.connect(url) as conn:
        assert conn.execute("select current_database()").fetchone()[0] == warehouse.dbname


def test_default_url_is_the_local_warehouse(pg_cluster):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAREHOUSE_")}
    url = _db_url(env)
    settings = get_settings()
    assert url.endswith(f"@127.0.0.1:{settings.pg_port}/kontingent")
    with psycopg.connect(url) as conn:
        assert conn.execute("select current_database()").fetchone()[0] == "kontingent"


def test_external_warehouse_skips_the_local_cluster(warehouse):
    env = {**os.environ, "WAREHOUSE_URL": warehouse.url}
    out = subprocess.run(
        [sys.executable, "-m", "kontingent.cli", "db", "up"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "not started" in out.stdout


def test_redact_hides_the_password():
    assert db.redact("postgresql://u:s3cr%40t@h:1/d") == "postgresql://u:***@h:1/d"
