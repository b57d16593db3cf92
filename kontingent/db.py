"""Databases, roles, schemas and privileges of the warehouse.

Three kinds of access, enforced by PostgreSQL itself:
- `kontingent_owner` owns and writes every schema (loader, dbt, checks, forms);
- `kontingent_reader` (dashboards) reads only the published schemas `marts`, `forms`, `dq`;
- `kontingent_pii` reads only the restricted personal-data schema `pii`.

The databases themselves belong to the cluster's superuser: the role that works in one gets
CONNECT, CREATE and TEMPORARY on it (and CREATE on its `public` schema where it keeps its tables,
as Airflow and Superset do), but cannot drop it, rename it or change who may connect.
"""

from __future__ import annotations

import importlib
import re
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from kontingent.settings import (
    AIRFLOW_DB,
    ROLE_AIRFLOW,
    ROLE_OWNER,
    ROLE_PII,
    ROLE_READER,
    ROLE_REIDENTIFY,
    ROLE_SUPERSET,
    SCHEMAS,
    SUPERSET_DB,
    WAREHOUSE_DB,
    Settings,
    local_secrets,
    redact_url,
)

BOOTSTRAP_LOCK = 7_205_300  # advisory lock key serializing concurrent bootstraps
WORKER_PRIVILEGES = ("CONNECT", "CREATE", "TEMPORARY")

# database -> (the role that works in it, roles that may only connect)
DATABASES = {
    WAREHOUSE_DB: (ROLE_OWNER, (ROLE_READER, ROLE_PII, ROLE_REIDENTIFY)),
    AIRFLOW_DB: (ROLE_AIRFLOW, ()),
    SUPERSET_DB: (ROLE_SUPERSET, ()),
}


def redact(url: str) -> str:
    """A URL fit for messages: the password replaced by ***."""
    return redact_url(url)


def _role_exists(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone() is not None


def _password_works(settings: Settings, role: str, password: str) -> bool:
    try:
        psycopg.connect(
            host="127.0.0.1",
            port=settings.pg_port,
            user=role,
            password=password,
            dbname="postgres",
            connect_timeout=5,
        ).close()
    except psycopg.OperationalError:
        return False
    return True


def _ensure_roles(conn: psycopg.Connection, settings: Settings) -> None:
    """Create the login roles; set a password only when the stored one does not work yet, so
    that a routine start changes no catalog row (and concurrent starts cannot collide)."""
    passwords = local_secrets(settings)["roles"]
    for role, password in passwords.items():
        if not _role_exists(conn, role):
            conn.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
        if not _password_works(settings, role, password):
            conn.execute(
                sql.SQL("alter role {} login password {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
    # the owner creates per-test copies of the warehouse (CREATE DATABASE ... TEMPLATE ...)
    if not conn.execute(
        "select rolcreatedb from pg_roles where rolname = %s", (ROLE_OWNER,)
    ).fetchone()[0]:
        conn.execute(sql.SQL("alter role {} createdb").format(sql.Identifier(ROLE_OWNER)))


def secure_database(conn: psycopg.Connection, database: str, readers: tuple[str, ...]) -> None:
    """Only the named roles (and the owner) may connect; PUBLIC may not."""
    ident = sql.Identifier(database)
    conn.execute(sql.SQL("revoke all on database {} from public").format(ident))
    for role in readers:
        if _role_exists(conn, role):
            conn.execute(
                sql.SQL("grant connect on database {} to {}").format(ident, sql.Identifier(role))
            )


def _database_dsn(superuser_dsn: str, database: str) -> str:
    return superuser_dsn.replace("dbname=postgres", f"dbname={database}")


def ensure_database(
    conn: psycopg.Connection, superuser_dsn: str, database: str, worker: str, readers=()
) -> None:
    """Create `database` (idempotently) owned by the connected superuser; `worker` gets CONNECT,
    CREATE and TEMPORARY on it and CREATE on its `public` schema; only it and `readers` connect.

    A database of an older cluster, owned by its worker, is given to the superuser: its ACL
    entries move to the new owner, so the worker's rights are granted again. Nothing is changed
    when everything is in place already."""
    row = conn.execute(
        "select pg_get_userbyid(datdba) from pg_database where datname = %s", (database,)
    ).fetchone()
    superuser = conn.execute("select current_user").fetchone()[0]
    ident = sql.Identifier(database)
    if row is None:
        conn.execute(sql.SQL("create database {}").format(ident))
    elif row[0] != superuser:
        conn.execute(
            sql.SQL("alter database {} owner to {}").format(ident, sql.Identifier(superuser))
        )
    # PUBLIC first: revoking its default CONNECT and TEMPORARY must not undo the grants below
    public_connects = conn.execute(
        "select exists (select from pg_database as d, lateral aclexplode(coalesce(d.datacl, "
        "acldefault('d', d.datdba))) as a where d.datname = %s and a.grantee = 0)",
        (database,),
    ).fetchone()[0]
    if public_connects or any(
        _role_exists(conn, role)
        and not conn.execute(
            "select has_database_privilege(%s, %s, 'CONNECT')", (role, database)
        ).fetchone()[0]
        for role in readers
    ):
        secure_database(conn, database, readers)
    missing = [
        p
        for p in WORKER_PRIVILEGES
        if not conn.execute(
            "select has_database_privilege(%s, %s, %s)", (worker, database, p)
        ).fetchone()[0]
    ]
    if missing:
        conn.execute(
            sql.SQL("grant {} on database {} to {}").format(
                sql.SQL(", ").join(sql.SQL(p) for p in missing), ident, sql.Identifier(worker)
            )
        )
    # PostgreSQL 15 gives CREATE on `public` to the database owner alone
    with psycopg.connect(_database_dsn(superuser_dsn, database), autocommit=True) as target:
        if not target.execute(
            "select has_schema_privilege(%s, 'public', 'CREATE')", (worker,)
        ).fetchone()[0]:
            target.execute(
                sql.SQL("grant usage, create on schema public to {}").format(sql.Identifier(worker))
            )
        [(anyone_creates,)] = target.execute(
            "select has_schema_privilege('public', 'public', 'CREATE')"
        ).fetchall()
        if anyone_creates:
            target.execute("revoke create on schema public from public")


def bootstrap(settings: Settings, superuser_dsn: str) -> None:
    """Create (idempotently) the roles, the three databases and the warehouse schemas."""
    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        # one bootstrap at a time: two starts at once would update the same catalog rows
        conn.execute("select pg_advisory_lock(%s)", (BOOTSTRAP_LOCK,))
        _ensure_roles(conn, settings)
        for database, (worker, readers) in DATABASES.items():
            ensure_database(conn, superuser_dsn, database, worker, readers)
        with psycopg.connect(
            _database_dsn(superuser_dsn, WAREHOUSE_DB), autocommit=True
        ) as warehouse:
            warehouse.execute(sql.SQL("set role {}").format(sql.Identifier(ROLE_OWNER)))
            prepare_warehouse(warehouse)


def grant_readers(conn: psycopg.Connection, schema: str) -> None:
    """The privileges SCHEMAS gives `schema`: PUBLIC nothing; each of its readers usage, select on
    every table and on the tables created later.

    Publication swaps a freshly built schema in under a published name and calls this in the
    same transaction, so the readers never miss a grant.
    """
    ident = sql.Identifier(schema)
    conn.execute(sql.SQL("revoke all on schema {} from public").format(ident))
    for role in SCHEMAS[schema]:
        if not _role_exists(conn, role):
            continue
        role_ident = sql.Identifier(role)
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(ident, role_ident))
        conn.execute(
            sql.SQL("grant select on all tables in schema {} to {}").format(ident, role_ident)
        )
        conn.execute(
            sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(
                ident, role_ident
            )
        )


def prepare_warehouse(conn: psycopg.Connection) -> None:
    """Schemas and privileges of a warehouse database, then each stage's own tables.

    Runs as the warehouse owner; idempotent. Grants go only to roles that exist, so an
    external server without the reader roles still works.
    """
    for schema in SCHEMAS:
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        grant_readers(conn, schema)
    # the re-identifying role may reach the schema of its one function, and read nothing there
    if _role_exists(conn, ROLE_REIDENTIFY):
        conn.execute(
            sql.SQL("grant usage on schema pii to {}").format(sql.Identifier(ROLE_REIDENTIFY))
        )
    # nobody else creates in `public`: done here where the owner role owns it (a copy of the
    # warehouse made by that role), by `ensure_database` in a database of the superuser
    [(owns_public,)] = conn.execute(
        "select pg_has_role(current_user, nspowner, 'MEMBER') from pg_namespace "
        "where nspname = 'public'"
    ).fetchall()
    if owns_public:
        conn.execute("revoke create on schema public from public")
    for module_name in ("ingestion.schema",):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        apply = getattr(module, "apply", None)
        if apply is not None:
            apply(conn)
    if not conn.autocommit:
        conn.commit()


_SAFE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def clone_database(admin_url: str, template: str, new: str) -> None:
    """Create `new` as a copy of `template` (fast: a file copy inside the server)."""
    for name in (template, new):
        if not _SAFE_NAME.match(name):
            raise ValueError(f"not a safe database name: {name!r}")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("create database {} template {}").format(
                sql.Identifier(new), sql.Identifier(template)
            )
        )
        secure_database(conn, new, DATABASES[WAREHOUSE_DB][1])


def drop_database(admin_url: str, name: str, attempts: int = 20) -> None:
    """Drop a database, ending its sessions. An autovacuum worker (a superuser process) cannot
    be ended by the owner role, so the drop is retried until the worker has moved on."""
    statement = sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for attempt in range(attempts):
            try:
                conn.execute(statement)
                return
            except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
                if attempt == attempts - 1:
                    raise
                time.sleep(0.5)


def scratch_database(
    settings: Settings,
    name: str,
    readers: tuple[str, ...] = (),
    warehouse: bool = False,
) -> str:
    """A new database `name` on the project's own cluster (an older one of that name is dropped
    first) that only the owner and `readers` may connect to; with `warehouse`, prepared as a
    warehouse (schemas, grants, each stage's tables). For tests, benchmarks and previews.
    Returns the owner's URL."""
    if not _SAFE_NAME.match(name):
        raise ValueError(f"not a safe database name: {name!r}")
    admin = settings.local_url(ROLE_OWNER, "postgres")
    drop_database(admin, name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        secure_database(conn, name, readers)
    url = settings.local_url(ROLE_OWNER, name)
    if warehouse:
        with psycopg.connect(url) as conn:
            prepare_warehouse(conn)
    return url


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))
