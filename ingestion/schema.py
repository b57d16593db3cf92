"""Tables of the landing side of the warehouse, derived from the feed contracts.

`apply(conn)` is idempotent (CREATE … IF NOT EXISTS, ADD COLUMN IF NOT EXISTS): the warehouse
preparation calls it, and so does every load, so a new contract column appears by itself.

raw.<feed>          every version of every record, with the load that brought it; no names,
                    SNILS, birth dates or source IDs of persons (pseudonymous keys instead)
pii.<feed>          students and accounts: the identifying columns, every version
raw.quarantine      rejected lines of organizations, movements, marks, final marks
pii.quarantine      rejected lines of students and accounts (they hold personal data)
raw.load_log        one row per file load (and per replay)
raw.orphans         rows referring to a student or organization not known when loaded
raw.known_keys      every student key and organization ID ever loaded (for the orphan checks)
pii.erasures        who was erased when (pseudonymous key only)
pii.age_on(key, d)  age in full years on d, security definer: no later step reads pii tables
pii.analyst_access  persons granted «Аналитик министерства» (the analytics portal's own role)
pii.portal_accounts_of(oid)
                    the sign-in's one look-up: role, OKTMO, organization of every current
                    account of an ESIA OID, plus the access list; security definer
"""

from __future__ import annotations

import hashlib

import psycopg
from psycopg import sql

from ingestion.contracts import feeds

LOCK_KEY = 7_205_311  # advisory lock: one DDL run at a time

_FIXED = """
create table if not exists raw.load_log (
    load_id bigint generated always as identity primary key,
    kind text not null default 'file',
    feed text,
    file_name text not null,
    file_path text,
    extract_date date,
    file_seq integer,
    sha256 text,
    size_bytes bigint,
    encoding text,
    header text[],
    status text not null,
    error_reason text,
    error_line integer,
    error text,
    rows_read bigint,
    rows_loaded bigint,
    rows_rejected bigint,
    rows_flagged bigint,
    rows_orphan bigint,
    blank_lines bigint,
    rows_replayed bigint not null default 0,
    warnings text[],
    replay_of bigint[],
    loader text,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    seconds numeric(12, 3),
    constraint load_log_rows_reconcile
        check (status <> 'loaded' or rows_read = rows_loaded + rows_rejected)
);
create unique index if not exists load_log_sha256_once
    on raw.load_log (sha256) where status = 'loaded' and kind = 'file';
create index if not exists load_log_file_name on raw.load_log (file_name);

create table if not exists raw.orphans (
    load_id bigint not null,
    feed text not null,
    line_number integer not null,
    entity text not null,
    ref_key text not null,
    resolved_load_id bigint,
    resolved_at timestamptz
);
create index if not exists orphans_open on raw.orphans (entity, ref_key)
    where resolved_load_id is null;

create table if not exists raw.known_keys (
    entity text not null,
    key text not null,
    first_load_id bigint not null,
    primary key (entity, key)
);

create or replace view raw.open_orphans as
select o.load_id, o.feed, o.line_number, o.entity, o.ref_key, l.file_name, l.extract_date
from raw.orphans as o
left join raw.load_log as l using (load_id)
where o.resolved_load_id is null;

create table if not exists pii.erasures (
    erasure_id bigint generated always as identity primary key,
    erased_at timestamptz not null default now(),
    subject_kind text not null,
    subject_key text not null,
    rows_erased bigint not null
);
"""

_QUARANTINE = """
create table if not exists {schema}.quarantine (
    quarantine_id bigint generated always as identity primary key,
    load_id bigint not null,
    feed text not null,
    file_name text not null,
    line_number integer not null,
    reasons text[] not null,
    problems text[] not null default '{{}}',
    original_line text,
    quarantined_at timestamptz not null default now(),
    resolved_load_id bigint,
    resolved_at timestamptz,
    erased_at timestamptz
);
create index if not exists quarantine_open on {schema}.quarantine (feed, load_id)
    where resolved_load_id is null;
"""

_AGE = """
create or replace function pii.age_on(p_student_key text, p_on date)
returns integer
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
    select extract(year from age(p_on, s.birth_date))::integer
    from pii.students as s
    where s.student_key = p_student_key and s.birth_date is not null
    order by s.extract_date desc, s.load_id desc, s.line_number
    limit 1
$$;
comment on function pii.age_on(text, date) is
    'Age in full years of a student (pseudonymous key) on a date, from the newest version of the '
    'birth date; null when unknown or erased. Security definer: callers need no access to pii.';

create or replace function pii.ages_on(p_on date)
returns table (student_key text, age integer)
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
    select distinct on (s.student_key)
        s.student_key, extract(year from age(p_on, s.birth_date))::integer
    from pii.students as s
    where s.birth_date is not null
    order by s.student_key, s.extract_date desc, s.load_id desc, s.line_number
$$;
comment on function pii.ages_on(date) is
    'Age in full years of every student on a date (set-based form of pii.age_on).';
revoke all on function pii.age_on(text, date) from public;
revoke all on function pii.ages_on(date) from public;
"""


_SIGN_IN = """
create table if not exists pii.analyst_access (
    esia_oid text primary key,
    granted_by text not null,
    granted_at timestamptz not null default now(),
    reason text,
    revoked_by text,
    revoked_at timestamptz
);
comment on table pii.analyst_access is
    'Persons granted «Аналитик министерства» (whole region) by a system administrator: the '
    'analytics portal''s own role, which the accounts feed does not carry (restricted).';
create index if not exists accounts_esia_oid on pii.accounts (esia_oid);

create or replace function pii.portal_accounts_of(p_esia_oid text)
returns table (role text, oktmo text, organization_id text, trust_level text)
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
    with candidates as (
        select distinct a.account_key
        from pii.accounts as a
        where a.esia_oid = p_esia_oid
    ),
    identified as (  -- the newest identifying version of the account still names this person
        select c.account_key
        from candidates as c
        cross join lateral (
            select a.esia_oid
            from pii.accounts as a
            inner join raw.load_log as l on l.load_id = a.load_id and l.status = 'loaded'
            where a.account_key = c.account_key
            order by a.extract_date desc, a.load_id desc, a.line_number
            limit 1
        ) as newest
        where newest.esia_oid = p_esia_oid
    ),
    current_accounts as (  -- the newest version of each, as staging reads it
        select distinct on (r.account_key) r.role, r.oktmo, r.organization_id, r.trust_level
        from raw.accounts as r
        inner join identified as i on i.account_key = r.account_key
        inner join raw.load_log as l on l.load_id = r.load_id and l.status = 'loaded'
        order by r.account_key, r.extract_date desc, r.load_id desc, r.line_number
    )
    select role, oktmo, organization_id, trust_level
    from current_accounts
    union all
    select 'Аналитик министерства', null, null, null
    from pii.analyst_access as g
    where g.esia_oid = p_esia_oid and g.revoked_at is null
$$;
comment on function pii.portal_accounts_of(text) is
    'Portal accounts of one ESIA OID (role, OKTMO, organization, trust level; newest versions) '
    'and «Аналитик министерства» when the access list grants it: what the sign-in needs to set '
    'a person''s roles and scope. Security definer; EXECUTE for the sign-in role only.';
revoke all on function pii.portal_accounts_of(text) from public;
do $grant$
begin
    if exists (select 1 from pg_roles where rolname = 'kontingent_reidentify') then
        execute 'grant execute on function pii.portal_accounts_of(text) to kontingent_reidentify';
    end if;
end
$grant$;
"""


def _feed_tables() -> list[sql.Composable]:
    stmts: list[sql.Composable] = []
    for feed in feeds().values():
        outputs = feed.outputs()
        for zone in ("raw", "pii"):
            cols = [o for o in outputs if o.zone == zone]
            if zone == "pii" and not feed.has_pii_table:
                continue
            table = sql.Identifier(zone, feed.name)
            stmts.append(
                sql.SQL(
                    "create table if not exists {} (load_id bigint not null, "
                    "extract_date date not null, line_number integer not null)"
                ).format(table)
            )
            for o in cols:
                stmts.append(
                    sql.SQL("alter table {} add column if not exists {} {}").format(
                        table, sql.Identifier(o.name), sql.SQL(o.sql_type)
                    )
                )
            if zone == "raw":
                stmts.append(
                    sql.SQL("alter table {} add column if not exists flags text[]").format(table)
                )
            stmts.append(
                sql.SQL("create index if not exists {} on {} using brin (load_id)").format(
                    sql.Identifier(f"{feed.name}_load_brin"), table
                )
            )
            if zone == "pii":
                # the newest version of one person is the first entry of its key (the order
                # of `pii.age_on` and the sign-in lookup), not a sort of all its versions
                key = feed.key_columns_in_pii()[0]
                stmts.append(
                    sql.SQL(
                        "create index if not exists {} on {} "
                        "({}, extract_date desc, load_id desc, line_number)"
                    ).format(
                        sql.Identifier(f"{feed.name}_{key}_newest"), table, sql.Identifier(key)
                    )
                )
                stmts.append(
                    sql.SQL("drop index if exists {}").format(
                        sql.Identifier("pii", f"{feed.name}_{key}")
                    )
                )
            stmts.append(
                sql.SQL("comment on table {} is {}").format(
                    table,
                    sql.Literal(
                        f"{feed.title} ({feed.mode}): "
                        + (
                            "every version of every record, as loaded (no identifiers)"
                            if zone == "raw"
                            else "identifying columns, every version (restricted)"
                        )
                    ),
                )
            )
    return stmts


def _statements(conn: psycopg.Connection) -> list[str]:
    parts = [_FIXED, _QUARANTINE.format(schema="raw"), _QUARANTINE.format(schema="pii")]
    parts += [stmt.as_string(conn) for stmt in _feed_tables()]
    parts.append(_AGE)
    parts.append(_SIGN_IN)
    return parts


def apply(conn: psycopg.Connection) -> None:
    """Create or complete the ingestion tables (idempotent; safe to run concurrently).

    The DDL's fingerprint is kept in `raw.ingestion_schema`: when it matches, nothing runs, so
    a loader starting while another one loads takes no lock on the tables being loaded.
    """
    statements = _statements(conn)
    fingerprint = hashlib.sha256("\n".join(statements).encode()).hexdigest()
    with conn.transaction():
        exists = conn.execute("select to_regclass('raw.ingestion_schema')").fetchone()[0]
        if exists:
            row = conn.execute("select fingerprint from raw.ingestion_schema").fetchone()
            if row and row[0] == fingerprint:
                return
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(
            "create table if not exists raw.ingestion_schema (fingerprint text not null, "
            "applied_at timestamptz not null default now())"
        )
        row = conn.execute("select fingerprint from raw.ingestion_schema").fetchone()
        if row and row[0] == fingerprint:
            return
        for stmt in statements:
            conn.execute(stmt)
        conn.execute("delete from raw.ingestion_schema")
        conn.execute("insert into raw.ingestion_schema (fingerprint) values (%s)", (fingerprint,))
