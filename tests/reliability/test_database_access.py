"""Access enforced by the database on a built warehouse: every forbidden statement is tried
and PostgreSQL must refuse it; personal data stays in `pii`, readable by the restricted role
alone; the published layer holds no personal columns or values (the scanner is first shown to
find values planted on purpose)."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from personal_data_scan import IDENTIFYING_COLUMN, PUBLISHED, read_needles, scan
from psycopg import errors, sql

from kontingent import db
from kontingent.settings import ROLE_OWNER, ROLE_PII, ROLE_READER, get_settings

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


def _relations(url: str) -> list[tuple[str, str, str]]:
    """(schema, name, kind) of every table, view and materialized view of the warehouse."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select n.nspname, c.relname, c.relkind::text from pg_class as c "
            "join pg_namespace as n on n.oid = c.relnamespace "
            "where c.relkind in ('r', 'p', 'v', 'm', 'f') and n.nspname <> all(%s) "
            "and n.nspname not like 'pg_temp%%' and n.nspname not like 'pg_toast%%' "
            "order by 1, 2",
            (list(SYSTEM_SCHEMAS),),
        ).fetchall()


def _refused(conn: psycopg.Connection, statement: sql.Composable | str) -> bool:
    try:
        conn.execute(statement)
    except errors.InsufficientPrivilege:
        return True
    return False


def _select(schema: str, name: str) -> sql.Composable:
    return sql.SQL("select 1 from {} limit 1").format(sql.Identifier(schema, name))


def test_the_reader_is_refused_every_internal_relation(built_warehouse, tally):
    rels = [r for r in _relations(built_warehouse.url) if r[0] not in PUBLISHED]
    schemas = {s for s, _n, _k in rels}
    assert {"raw", "pii", "staging", "core"} <= schemas
    assert len(rels) >= 30
    allowed = []
    with psycopg.connect(built_warehouse.reader_url, autocommit=True) as conn:
        for schema, name, _kind in rels:
            if not _refused(conn, _select(schema, name)):
                allowed.append(f"{schema}.{name}")
    assert allowed == []
    tally.add("access: reader, select outside the published layer", "refused", count=len(rels))


def test_the_reader_reads_the_published_layer_and_writes_nothing(built_warehouse, tally):
    rels = [r for r in _relations(built_warehouse.url) if r[0] in PUBLISHED]
    assert {s for s, _n, _k in rels} >= {"marts", "forms"}
    tried = 0
    with psycopg.connect(built_warehouse.reader_url, autocommit=True) as conn:
        for schema, name, kind in rels:
            conn.execute(_select(schema, name))  # the dashboards' reads work
            if kind not in ("r", "p"):
                continue
            rel = sql.Identifier(schema, name)
            for statement in (
                sql.SQL("insert into {} default values").format(rel),
                sql.SQL("delete from {}").format(rel),
                sql.SQL("truncate {}").format(rel),
                sql.SQL("alter table {} add column x int").format(rel),
                sql.SQL("drop table {}").format(rel),
            ):
                assert _refused(conn, statement), statement.as_string(conn)
                tried += 1
        for schema in ("marts", "forms", "dq", "raw", "pii", "public"):
            statement = sql.SQL("create table {} (x int)").format(sql.Identifier(schema, "x"))
            assert _refused(conn, statement), schema
            tried += 1
        for statement in ("create schema intruder", "create temporary table t (x int)"):
            assert _refused(conn, statement), statement
            tried += 1
    tally.add("access: reader, writes and DDL", "refused", count=tried)


def test_only_the_restricted_role_reads_personal_data(built_warehouse, tally):
    rels = _relations(built_warehouse.url)
    pii = [(s, n) for s, n, _k in rels if s == "pii"]
    assert {"students", "accounts", "quarantine"} <= {n for _s, n in pii}
    with psycopg.connect(built_warehouse.pii_url, autocommit=True) as conn:
        [(people,)] = conn.execute("select count(*) from pii.students").fetchall()
        assert people >= 1000
        for schema, name in pii:
            conn.execute(_select(schema, name))
        refused = [(s, n) for s, n, _k in rels if s != "pii"]
        for schema, name in refused:
            assert _refused(conn, _select(schema, name)), f"{schema}.{name}"
        assert _refused(conn, "insert into pii.students (student_id) values ('x')")
    # no other role, and not PUBLIC, holds any privilege on a pii relation
    with psycopg.connect(built_warehouse.url) as conn:
        holders = conn.execute(
            "select distinct c.relname, coalesce(r.rolname, 'PUBLIC'), a.privilege_type "
            "from pg_class as c join pg_namespace as n on n.oid = c.relnamespace, "
            "lateral aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) as a "
            "left join pg_roles as r on r.oid = a.grantee "
            "where n.nspname = 'pii' and c.relkind in ('r', 'p', 'v', 'm') "
            "and a.grantee <> c.relowner"
        ).fetchall()
        superusers = conn.execute(
            "select rolname from pg_roles where rolsuper and rolname <> 'postgres'"
        ).fetchall()
    assert {role for _t, role, _p in holders} == {ROLE_PII}
    assert {priv for _t, _r, priv in holders} == {"SELECT"}
    assert superusers == []
    tally.add("access: pii role", "refused outside pii or writing", count=len(refused) + 1)
    tally.add("access: pii role", "read inside pii", count=len(pii))


def test_identifying_columns_exist_in_pii_only(built_warehouse):
    with psycopg.connect(built_warehouse.url) as conn:
        cols = conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema <> all(%s) and data_type <> 'boolean'",
            (list(SYSTEM_SCHEMAS),),
        ).fetchall()
    identifying = {(s, t, c) for s, t, c in cols if IDENTIFYING_COLUMN.search(c)}
    assert {("pii", "students", "surname"), ("pii", "students", "snils"),
            ("pii", "students", "birth_date")} <= identifying  # fmt: skip
    assert sorted(f"{s}.{t}.{c}" for s, t, c in identifying if s != "pii") == []


def test_the_scanner_finds_personal_data_planted_in_the_published_layer(built_warehouse):
    needles = read_needles(built_warehouse.pii_url)
    assert len(needles.names) > 100 and needles.snils and needles.birth_dates
    settings = get_settings()
    admin = settings.local_url(ROLE_OWNER, "postgres")
    name = f"kt_planted_{uuid.uuid4().hex[:8]}"
    db.clone_database(admin, built_warehouse.dbname, name)
    url = db.with_database(built_warehouse.url, name)
    try:
        digits = next(s for s in needles.snils if s.isdigit())
        with psycopg.connect(url) as conn:
            conn.execute("create table marts.agg_planted (label text, day date, n int)")
            conn.execute(
                "insert into marts.agg_planted select %s, d::date, 1 from unnest(%s::text[]) as d",
                (needles.names[0], needles.birth_dates[:20]),
            )
            conn.execute("insert into marts.agg_planted values (%s, null, 2)", (digits,))
            conn.execute("create table forms.planted_row (student_id text, фамилия text)")
        found = scan(url, needles)
    finally:
        db.drop_database(admin, name)
    assert "marts.agg_planted.label: name value" in found
    assert "marts.agg_planted.label: SNILS value" in found
    assert any(f.startswith("marts.agg_planted.day: birth dates") for f in found)
    assert "forms.planted_row.student_id: person-level key" in found
    assert "forms.planted_row.фамилия: identifying column name" in found


def test_the_published_layer_holds_no_personal_data(built_warehouse, tally):
    needles = read_needles(built_warehouse.pii_url)
    with psycopg.connect(built_warehouse.url) as conn:
        [(columns,)] = conn.execute(
            "select count(*) from information_schema.columns where table_schema = any(%s)",
            (list(PUBLISHED),),
        ).fetchall()
    assert columns >= 50
    found = scan(built_warehouse.url, needles)
    assert found == []
    tally.add("personal data: published columns scanned", "clean", count=columns)


@pytest.mark.parametrize("role", [ROLE_READER, ROLE_PII])
def test_the_read_roles_cannot_drop_or_create_databases(built_warehouse, role):
    settings = get_settings()
    admin = settings.local_url(ROLE_OWNER, "postgres")
    victim = f"kt_victim_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(victim)))
    url = {ROLE_READER: built_warehouse.reader_url, ROLE_PII: built_warehouse.pii_url}[role]
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            drop = sql.SQL("drop database {}").format(sql.Identifier(victim))
            assert _refused(conn, drop)
            assert _refused(conn, "create database intruder")
            assert _refused(conn, "create role intruder")
    finally:
        db.drop_database(admin, victim)
