"""Erasing a person's identifying data, and the retention bound on old versions of it.

`erase_person` removes every version of one person's row in `pii.students` / `pii.accounts` and
blanks the text of their quarantined lines (in `pii` and in `raw`: a quarantined mark line holds
the student's source ID), recording the erasure by pseudonymous key in `pii.erasures`. Facts in
`raw` keep their pseudonymous key, so aggregates do not change.

`apply_retention` deletes versions of personal data older than `KONTINGENT_PII_RETENTION_DAYS`
(default 400) that a newer version has replaced, and blanks quarantined personal lines older
than that. The newest version of every person stays.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psycopg

from ingestion.pseudonym import pseudonym

DEFAULT_RETENTION_DAYS = 400


def retention_days() -> int:
    value = os.environ.get("KONTINGENT_PII_RETENTION_DAYS", "").strip()
    return int(value) if value else DEFAULT_RETENTION_DAYS


@dataclass
class EraseResult:
    subject_kind: str
    subject_key: str
    pii_rows: int
    quarantine_lines: int

    @property
    def total(self) -> int:
        return self.pii_rows + self.quarantine_lines


def _blank_quarantine(conn: psycopg.Connection, needle: str) -> int:
    n = 0
    for schema in ("pii", "raw"):
        cur = conn.execute(
            f"update {schema}.quarantine set original_line = null, erased_at = now() "  # noqa: S608
            "where original_line is not null and strpos(original_line, %s) > 0",
            (needle,),
        )
        n += cur.rowcount
    return n


def erase_person(
    *,
    student_id: str | None = None,
    account_id: str | None = None,
    esia_oid: str | None = None,
    url: str | None = None,
    secret: bytes | None = None,
) -> EraseResult:
    """Erase one person's identifying data everywhere (give exactly one identifier)."""
    from ingestion import schema
    from ingestion.loader import _connect
    from ingestion.pseudonym import load_secret

    given = [
        (k, v)
        for k, v in (("student", student_id), ("account", account_id), ("esia", esia_oid))
        if v
    ]
    if len(given) != 1:
        raise ValueError("give exactly one of student_id, account_id, esia_oid")
    kind, source_id = given[0]
    source_id = source_id.strip()
    key = pseudonym(secret or load_secret(), source_id)
    with _connect(url) as conn:
        schema.apply(conn)
        with conn.transaction():
            if kind == "student":
                rows = conn.execute(
                    "delete from pii.students where student_key = %s", (key,)
                ).rowcount
            elif kind == "account":
                rows = conn.execute(
                    "delete from pii.accounts where account_key = %s", (key,)
                ).rowcount
            else:
                rows = conn.execute(
                    "delete from pii.accounts where person_key = %s", (key,)
                ).rowcount
            lines = _blank_quarantine(conn, source_id)
            conn.execute(
                "insert into pii.erasures (subject_kind, subject_key, rows_erased) "
                "values (%s, %s, %s)",
                (kind, key, rows + lines),
            )
    return EraseResult(kind, key, rows, lines)


def apply_retention(conn: psycopg.Connection, days: int | None = None) -> dict[str, int]:
    """Delete replaced versions of personal data older than the retention period."""
    days = retention_days() if days is None else days
    out: dict[str, int] = {}
    with conn.transaction():
        for table, key in (("students", "student_key"), ("accounts", "account_key")):
            cur = conn.execute(
                f"delete from pii.{table} as old "  # noqa: S608
                "where old.extract_date < current_date - %s::integer "
                f"and exists (select 1 from pii.{table} as newer where newer.{key} = old.{key} "
                "and (newer.extract_date, newer.load_id) > (old.extract_date, old.load_id))",
                (days,),
            )
            out[table] = cur.rowcount
        cur = conn.execute(
            "update pii.quarantine set original_line = null, erased_at = now() "
            "where original_line is not null "
            "and quarantined_at < now() - make_interval(days => %s)",
            (days,),
        )
        out["quarantine"] = cur.rowcount
    return out
