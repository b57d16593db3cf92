#!/usr/bin/env bash
# Databases, login roles, schemas and privileges of Kontingent on a fresh PostgreSQL container.
#
# The same layout as kontingent/db.py creates on the local cluster (keep the two in step):
#   kontingent           the warehouse, worked in by kontingent_owner; kontingent_reader,
#                        kontingent_pii and kontingent_reidentify may connect
#   kontingent_airflow   Airflow's metadata, worked in by kontingent_airflow
#   kontingent_superset  Superset's metadata, worked in by kontingent_superset
# (the databases belong to the superuser; each working role owns what it creates inside)
# Schemas of the warehouse and who may read them besides the owner:
#   raw, staging, core: nobody;  pii: kontingent_pii;  marts, forms, dq: kontingent_reader
# kontingent_reidentify may only call pii.portal_accounts_of (the sign-in, granted with the ingestion
# schema) and pii.lost_children_of (granted by dbt with the function).
#
# The official image runs this once, on an empty data volume. It is idempotent: run it again to
# set new passwords from the environment after rotating them in .env:
#   docker compose exec postgres /docker-entrypoint-initdb.d/10-kontingent.sh
# Unlike the local cluster, the owner gets no CREATEDB (the tests need it, production does not).
set -euo pipefail

: "${KONTINGENT_OWNER_PASSWORD:?is not set}"
: "${KONTINGENT_READER_PASSWORD:?is not set}"
: "${KONTINGENT_PII_PASSWORD:?is not set}"
: "${KONTINGENT_AIRFLOW_DB_PASSWORD:?is not set}"
: "${KONTINGENT_SUPERSET_DB_PASSWORD:?is not set}"
: "${KONTINGENT_REIDENTIFY_PASSWORD:?is not set}"

psql_as_superuser() {
    psql --no-psqlrc --set ON_ERROR_STOP=1 --quiet \
        --username "${POSTGRES_USER:-postgres}" "$@"
}

# Passwords travel as psql variables and are quoted by psql (:'name'), never pasted into SQL.
psql_as_superuser --dbname postgres \
    --set owner_password="$KONTINGENT_OWNER_PASSWORD" \
    --set reader_password="$KONTINGENT_READER_PASSWORD" \
    --set pii_password="$KONTINGENT_PII_PASSWORD" \
    --set airflow_password="$KONTINGENT_AIRFLOW_DB_PASSWORD" \
    --set superset_password="$KONTINGENT_SUPERSET_DB_PASSWORD" \
    --set reidentify_password="$KONTINGENT_REIDENTIFY_PASSWORD" <<'SQL'
select format('create role %I login', r)
from unnest(array[
    'kontingent_owner', 'kontingent_reader', 'kontingent_pii',
    'kontingent_airflow', 'kontingent_superset', 'kontingent_reidentify'
]) as r
where not exists (select 1 from pg_roles where rolname = r)
\gexec

alter role kontingent_owner login password :'owner_password';
alter role kontingent_reader login password :'reader_password';
alter role kontingent_pii login password :'pii_password';
alter role kontingent_airflow login password :'airflow_password';
alter role kontingent_superset login password :'superset_password';
alter role kontingent_reidentify login password :'reidentify_password';

-- the databases belong to the superuser: the role that works in each may connect, create
-- schemas and temporary tables, but never drop, rename or re-grant the database itself
select format('create database %I', d)
from unnest(array['kontingent', 'kontingent_airflow', 'kontingent_superset']) as d
where not exists (select 1 from pg_database where datname = d)
\gexec

-- only the named roles may connect
revoke all on database kontingent from public;
revoke all on database kontingent_airflow from public;
revoke all on database kontingent_superset from public;
grant connect, create, temporary on database kontingent to kontingent_owner;
grant connect, create, temporary on database kontingent_airflow to kontingent_airflow;
grant connect, create, temporary on database kontingent_superset to kontingent_superset;
grant connect on database kontingent to kontingent_reader, kontingent_pii, kontingent_reidentify;
SQL

# Airflow and Superset keep their tables in `public` of their own database
for pair in kontingent_airflow:kontingent_airflow kontingent_superset:kontingent_superset; do
    psql_as_superuser --dbname "${pair%%:*}" <<SQL
grant usage, create on schema public to ${pair##*:};
SQL
done

psql_as_superuser --dbname kontingent <<'SQL'
set role kontingent_owner;

select format('create schema if not exists %I', s)
from unnest(array['raw', 'pii', 'staging', 'core', 'marts', 'forms', 'dq']) as s
\gexec
select format('revoke all on schema %I from public', s)
from unnest(array['raw', 'pii', 'staging', 'core', 'marts', 'forms', 'dq']) as s
\gexec

select statement
from (values
    ('pii', 'kontingent_pii'),
    ('marts', 'kontingent_reader'),
    ('forms', 'kontingent_reader'),
    ('dq', 'kontingent_reader')
) as readers (s, r)
cross join lateral (values
    (format('grant usage on schema %I to %I', s, r)),
    (format('grant select on all tables in schema %I to %I', s, r)),
    (format('alter default privileges in schema %I grant select on tables to %I', s, r))
) as statements (statement)
\gexec

revoke create on schema public from public;
reset role;
-- the schema of its one function, nothing in it to read
grant usage on schema pii to kontingent_reidentify;
SQL

echo "kontingent: databases, roles and schemas are in place"
