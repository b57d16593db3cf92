#!/usr/bin/env bash
# Backups of the warehouse and both metadata databases, run by the `backup` service.
#
#   docker compose run --rm backup              back up now (from cron or a systemd timer)
#   docker compose run --rm backup drill [DIR]  restore the newest (or the named) backup into a
#                                               scratch database and compare its marts and forms
#                                               with the live warehouse, table by table
#
# A backup is /backups/<timestamp>/<database>.dump (pg_dump custom format, for pg_restore), the
# roles without their passwords (roles.sql) and SHA256SUMS. Backups older than KEEP_DAYS go.
# The drill is meaningful when no load ran since the backup: schedule it right after one.
# Restore procedures: docs/operations.md.
set -euo pipefail
umask 077  # the dumps hold personal data

DATABASES=(kontingent kontingent_airflow kontingent_superset)
DRILL_DB=kontingent_restore_drill

backup() {
    local keep_days="${KEEP_DAYS:-14}" stamp target work
    stamp="$(date +%Y%m%d-%H%M%S)"
    target="/backups/${stamp}"
    work="/backups/.${stamp}.partial"
    mkdir -p "$work"
    for database in "${DATABASES[@]}"; do
        echo "== pg_dump ${database}"
        pg_dump --format=custom --compress=6 --file="${work}/${database}.dump" "$database"
    done
    pg_dumpall --globals-only --no-role-passwords --file="${work}/roles.sql"
    (cd "$work" && sha256sum -- *.dump roles.sql > SHA256SUMS)
    mv "$work" "$target"
    echo "backup written to ${target}"
    find /backups -mindepth 1 -maxdepth 1 -type d -name '20*' -mtime +"$keep_days" \
        -exec rm -rf -- {} +
    find /backups -mindepth 1 -maxdepth 1 -type d -name '.*.partial' -mtime +1 \
        -exec rm -rf -- {} +
}

# One line per table of the published schemas: its name, row count and a digest of its rows.
fingerprint() {
    psql --no-psqlrc --quiet --tuples-only --no-align --dbname="$1" <<'SQL'
select format(
    'select %L || '' '' || count(*) || '' '' || coalesce(md5(string_agg(t::text, '','' order by t::text)), ''-'') from %I.%I as t',
    table_schema || '.' || table_name, table_schema, table_name
)
from information_schema.tables
where table_schema in ('marts', 'forms') and table_type = 'BASE TABLE'
order by table_schema, table_name
\gexec
SQL
}

drill() {
    local source="${1:-}"
    if [ -z "$source" ]; then
        source="$(find /backups -mindepth 1 -maxdepth 1 -type d -name '20*' | sort | tail -n 1)"
    fi
    [ -f "${source}/kontingent.dump" ] || { echo "no backup at '${source}'" >&2; exit 2; }
    (cd "$source" && sha256sum --check --quiet SHA256SUMS)
    echo "== restoring ${source}/kontingent.dump into ${DRILL_DB}"
    dropdb --if-exists --force "$DRILL_DB"
    createdb --owner=kontingent_owner "$DRILL_DB"
    pg_restore --exit-on-error --dbname="$DRILL_DB" "${source}/kontingent.dump"
    fingerprint kontingent > /tmp/live.txt
    fingerprint "$DRILL_DB" > /tmp/restored.txt
    dropdb --force "$DRILL_DB"
    if diff -u /tmp/live.txt /tmp/restored.txt; then
        echo "restore drill passed: $(wc -l < /tmp/live.txt) tables of marts and forms match"
    else
        echo "restore drill FAILED: the restored marts differ from the live ones (above)" >&2
        exit 1
    fi
}

case "${1:-backup}" in
    backup) backup ;;
    drill) drill "${2:-}" ;;
    *) echo "usage: backup.sh [backup | drill [BACKUP_DIR]]" >&2; exit 2 ;;
esac
