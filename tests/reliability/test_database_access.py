"""Access enforced by the database on a built warehouse: every forbidden statement is tried
and PostgreSQL must refuse it; personal data stays in `pii`, readable by the restricted role
alone; the published layer holds no personal columns and no schema but `pii` holds personal
values (the scanner is first shown to find values planted on purpose); the databases belong to
the cluster's superuser, so the roles working in them cannot drop them."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from personal_data_scan import IDENTIFYING_COLUMN, PUBLISHED, read_needles, scan_database
from psycopg import errors, sql

from kontingent import cluster, db
from kontingent.settings import (
    AIRFLOW_DB,
    ROLE_AIRFLOW,
    ROLE_OWNER,
    ROLE_PII,
    ROLE_READER,
    ROLE_REIDENTIFY,
    ROLE_SUPERSET,
    SUPERSET_DB,
    WAREHOUSE_DB,
    get_settings,
)

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


def test_the_superset_app_role_may_only_call_its_two_functions(built_warehouse, tally):
    """`kontingent_reidentify` (the Superset app: the sign-in's look-up of a person's accounts
    and the forms page's lost-children list) reads no relation at all, in `pii` or anywhere;
    of the restricted zone's functions it may call exactly `pii.portal_accounts_of` and
    `pii.lost_children_of`, which logs the call."""
    url = get_settings().local_url(ROLE_REIDENTIFY, built_warehouse.dbname)
    rels = _relations(built_warehouse.url)
    with psycopg.connect(built_warehouse.url) as conn:
        callable_ = conn.execute(
            "select p.proname from pg_proc as p join pg_namespace as n on n.oid = p.pronamespace "
            "where n.nspname = 'pii' and has_function_privilege(%s, p.oid, 'EXECUTE') "
            "order by 1",
            (ROLE_REIDENTIFY,),
        ).fetchall()
    assert [name for (name,) in callable_] == ["lost_children_of", "portal_accounts_of"]
    with psycopg.connect(url, autocommit=True) as conn:
        for schema, name, _kind in rels:
            assert _refused(conn, _select(schema, name)), f"{schema}.{name}"
        assert _refused(
            conn,
            "insert into pii.reidentification_log (requested_by, "
            "municipality_id, student_keys) values ('x', '00000', '{}')",
        )
        lost = conn.execute(
            "select count(*) from pii.lost_children_of('57701', 'reliability suite')"
        ).fetchone()[0]
    with psycopg.connect(built_warehouse.url, autocommit=True) as conn:
        (logged,) = conn.execute(
            "select count(*) from pii.reidentification_log where requested_by = "
            "'reliability suite' and database_role = %s",
            (ROLE_REIDENTIFY,),
        ).fetchone()
        conn.execute(
            "delete from pii.reidentification_log where requested_by = 'reliability suite'"
        )
    assert lost > 0 and logged == 1
    tally.add("access: forms page role", "refused every relation", count=len(rels) + 1)


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


def test_the_scanner_finds_personal_data_planted_in_the_warehouse(built_warehouse, tally):
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
            # the published layer: values, identifying column names, person-level keys
            conn.execute("create table marts.agg_planted (label text, day date, n int)")
            conn.execute(
                "insert into marts.agg_planted select %s, d::date, 1 from unnest(%s::text[]) as d",
                (needles.names[0], needles.birth_dates[:20]),
            )
            conn.execute("insert into marts.agg_planted values (%s, null, 2)", (digits,))
            conn.execute("create table forms.planted_row (student_id text, фамилия text)")
            # internal schemas: values only (pseudonymous keys belong there)
            conn.execute(
                "update raw.load_log set warnings = array['ok', %s] "
                "where load_id = (select min(load_id) from raw.load_log)",
                (needles.names[1],),
            )
            conn.execute("create table core.planted (student_key text, surname text, born date)")
            conn.execute(
                "insert into core.planted select md5(d), %s, d::date from unnest(%s::text[]) as d",
                (needles.names[2], needles.birth_dates[-10:]),
            )
            conn.execute("create table staging.planted_text (note text)")
            conn.execute(
                "insert into staging.planted_text values (%s), ('x 123-456-789 01')",
                (needles.birth_dates_ru[0],),
            )
            # a view shows what its sources hold: one reading pii is found by its sources
            conn.execute("create view staging.planted_view as select surname from pii.students")
        found = scan_database(url, needles).findings
    finally:
        db.drop_database(admin, name)
    planted = {
        "marts.agg_planted.label: name value",
        "marts.agg_planted.label: SNILS value",
        "forms.planted_row.student_id: person-level key",
        "forms.planted_row.фамилия: identifying column name",
        "raw.load_log.warnings: name value",
        "core.planted.surname: name value",
        "staging.planted_text.note: birth date value",
        "staging.planted_text.note: SNILS value",
        "staging.planted_view: view reads pii.students",
    }
    assert planted <= set(found)
    assert any(f.startswith("marts.agg_planted.day: birth dates") for f in found)
    assert any(f.startswith("core.planted.born: birth dates") for f in found)
    # column names are judged in the published layer only
    assert not any(
        f.startswith(("core.planted.student_key", "core.planted.surname: ident")) for f in found
    )
    assert len(found) == len(planted) + 2, found
    tally.add("personal data: planted in the warehouse", "found", count=len(found))


def test_no_schema_outside_pii_holds_personal_data(built_warehouse, tally):
    needles = read_needles(built_warehouse.pii_url)
    with psycopg.connect(built_warehouse.url) as conn:
        [(columns,)] = conn.execute(
            "select count(*) from information_schema.columns where table_schema = any(%s)",
            (list(PUBLISHED),),
        ).fetchall()
    assert columns >= 50
    out = scan_database(built_warehouse.url, needles)
    assert {"raw", "staging", "core", *PUBLISHED} <= set(out.schemas)
    assert "pii" not in out.schemas
    assert out.tables >= 150 and out.columns >= 800
    assert out.findings == []
    tally.add("personal data: published columns named", "clean", count=columns)
    tally.add(
        "personal data: warehouse relations scanned outside pii",
        "clean",
        note=f"{out.tables} tables and materialized views ({out.columns} columns read), "
        f"{out.views} views by their sources; schemas {', '.join(out.schemas)}",
        count=out.tables + out.views,
    )


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


def _database_state(su_dsn: str, database: str) -> tuple:
    """Owner, privileges and row version of a database, and of its `public` schema."""
    with psycopg.connect(su_dsn) as conn:
        row = conn.execute(
            "select pg_get_userbyid(datdba), datacl::text[], xmin::text from pg_database "
            "where datname = %s",
            (database,),
        ).fetchone()
    with psycopg.connect(su_dsn.replace("dbname=postgres", f"dbname={database}")) as conn:
        schema = conn.execute(
            "select nspacl::text[], xmin::text from pg_namespace where nspname = 'public'"
        ).fetchone()
    return (*row, *schema)


def _database_privileges(conn: psycopg.Connection, database: str) -> set[tuple[str, str]]:
    return set(
        conn.execute(
            "select coalesce(r.rolname, 'PUBLIC'), a.privilege_type from pg_database as d, "
            "lateral aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) as a "
            "left join pg_roles as r on r.oid = a.grantee where d.datname = %s",
            (database,),
        ).fetchall()
    )


WORKING = {WAREHOUSE_DB: ROLE_OWNER, AIRFLOW_DB: ROLE_AIRFLOW, SUPERSET_DB: ROLE_SUPERSET}


@pytest.mark.parametrize("database", [WAREHOUSE_DB, AIRFLOW_DB, SUPERSET_DB])
def test_the_working_role_cannot_drop_its_database(pg_cluster, database, tally):
    """`kontingent db up` gives each database to the superuser; the role working in it keeps
    CONNECT, CREATE and TEMPORARY (and CREATE on `public`: Airflow's and Superset's migrations
    create their tables there) but cannot drop, rename or reconfigure it."""
    worker = db.DATABASES[database][0]
    assert worker == WORKING[database]
    settings = get_settings()
    with psycopg.connect(settings.local_url(worker, "postgres"), autocommit=True) as conn:
        owner, member = conn.execute(
            "select pg_get_userbyid(datdba), pg_has_role(current_user, datdba, 'MEMBER') "
            "from pg_database where datname = %s",
            (database,),
        ).fetchone()
        # checked before anything is tried: a role owning the database would really drop it
        assert (owner, member) == ("postgres", False)
        privileges = _database_privileges(conn, database)
        readers = {(r, "CONNECT") for r in db.DATABASES[database][1]}
        assert {(r, p) for r, p in privileges if r != "postgres"} == {
            (worker, "CONNECT"),
            (worker, "CREATE"),
            (worker, "TEMPORARY"),
        } | readers
        ident = sql.Identifier(database)
        statements = [
            sql.SQL("drop database {}").format(ident),
            sql.SQL("alter database {} rename to {}").format(ident, sql.Identifier("kt_renamed")),
            sql.SQL("alter database {} owner to {}").format(ident, sql.Identifier(worker)),
            sql.SQL("alter database {} connection limit 0").format(ident),
            sql.SQL("alter database {} set default_transaction_read_only = on").format(ident),
            sql.SQL("comment on database {} is 'x'").format(ident),
        ]
        for statement in statements:
            assert _refused(conn, statement), statement.as_string(conn)
    # what the role does in its database still works (rolled back)
    with psycopg.connect(settings.local_url(worker, database)) as conn:
        conn.execute("create schema kt_probe")
        conn.execute("create table kt_probe.t (x int)")
        conn.execute("create table public.kt_probe (x int)")
        conn.execute("create temporary table kt_probe_temp (x int)")
        conn.rollback()
    tally.add("access: working roles, their own database", "refused", count=len(statements))


def test_an_older_database_is_handed_to_the_superuser_once(pg_cluster, tally):
    """A database made by an earlier `db up` belonged to its role; `ensure_database` gives it to
    the superuser and grants the role's rights again; a second run changes nothing."""
    settings = get_settings()
    su_dsn = cluster.superuser_dsn(settings)
    admin = settings.local_url(ROLE_OWNER, "postgres")
    name = f"kt_handover_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        db.secure_database(conn, name, (ROLE_READER, ROLE_PII))
    try:
        with psycopg.connect(su_dsn, autocommit=True) as conn:
            db.ensure_database(conn, su_dsn, name, ROLE_OWNER, (ROLE_READER, ROLE_PII))
            first = _database_state(su_dsn, name)
            db.ensure_database(conn, su_dsn, name, ROLE_OWNER, (ROLE_READER, ROLE_PII))
            assert _database_state(su_dsn, name) == first  # same row versions: nothing written
            privileges = _database_privileges(conn, name)
        assert first[0] == "postgres"
        assert {(r, p) for r, p in privileges if r != "postgres"} == {
            (ROLE_OWNER, "CONNECT"),
            (ROLE_OWNER, "CREATE"),
            (ROLE_OWNER, "TEMPORARY"),
            (ROLE_READER, "CONNECT"),
            (ROLE_PII, "CONNECT"),
        }
        with psycopg.connect(admin, autocommit=True) as conn:
            assert _refused(conn, sql.SQL("drop database {}").format(sql.Identifier(name)))
        # the owner role prepares a warehouse in it, and the reader reads the published layer
        url = settings.local_url(ROLE_OWNER, name)
        with psycopg.connect(url) as conn:
            db.prepare_warehouse(conn)
            conn.execute("create table marts.t as select 1 as x")
            conn.commit()
        with psycopg.connect(settings.local_url(ROLE_READER, name)) as conn:
            assert conn.execute("select x from marts.t").fetchall() == [(1,)]
    finally:
        with psycopg.connect(su_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )
    tally.add("access: working roles, their own database", "refused", count=1)
