"""The database itself enforces who reads what: the dashboard reader sees only published
schemas and cannot write; personal data is readable by the restricted role alone."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from kontingent.settings import AIRFLOW_DB, ROLE_READER, get_settings


@pytest.fixture
def seeded(warehouse):
    with psycopg.connect(warehouse.url) as conn:
        conn.execute("create table marts.t (x int)")
        conn.execute("insert into marts.t values (1)")
        conn.execute("create table raw.t (x int)")
        conn.execute("create table pii.t (surname text)")
        conn.execute("insert into pii.t values ('Иванова')")
    return warehouse


def _fails(url: str, statement: str, error=errors.InsufficientPrivilege) -> None:
    with psycopg.connect(url) as conn, pytest.raises(error):
        conn.execute(statement)


def test_reader_reads_published_marts_only(seeded):
    with psycopg.connect(seeded.reader_url) as conn:
        assert conn.execute("select x from marts.t").fetchall() == [(1,)]
    _fails(seeded.reader_url, "insert into marts.t values (2)")
    _fails(seeded.reader_url, "update marts.t set x = 3")
    _fails(seeded.reader_url, "create table marts.mine (x int)")
    _fails(seeded.reader_url, "select * from pii.t")
    _fails(seeded.reader_url, "select * from raw.t")


def test_personal_data_is_readable_by_the_restricted_role_alone(seeded):
    with psycopg.connect(seeded.pii_url) as conn:
        assert conn.execute("select surname from pii.t").fetchall() == [("Иванова",)]
    _fails(seeded.pii_url, "insert into pii.t values ('x')")
    _fails(seeded.pii_url, "select * from marts.t")
    _fails(seeded.pii_url, "select * from raw.t")


def test_reader_cannot_enter_the_metadata_databases(pg_cluster):
    url = get_settings().local_url(ROLE_READER, AIRFLOW_DB)
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(url).close()


def test_owner_writes_everywhere(seeded):
    with psycopg.connect(seeded.url) as conn:
        for schema in ("raw", "pii", "staging", "marts", "forms", "dq"):
            conn.execute(f"create table {schema}.w (x int)")
            conn.execute(f"insert into {schema}.w values (1)")
