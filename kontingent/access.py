"""The warehouse's access list: who holds «Аналитик министерства», the analytics portal's own
role (whole region). The accounts feed carries the nine roles of the journals' portal; this one
is granted here by a system administrator, by ESIA OID, and read at sign-in by
`pii.portal_accounts_of` (see superset/kontingent_security.py). The list lives in the restricted
zone (`pii.analyst_access`): an OID is personal data.

A grant is kept with who gave it and why; a revocation keeps the row with who revoked it and
when, so the list is also its own history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import psycopg

from kontingent.settings import get_settings

_OID = re.compile(r"^[0-9A-Za-z_.-]{1,64}$")


class AccessError(ValueError):
    """A malformed request: the message says what."""


@dataclass(frozen=True)
class Grant:
    esia_oid: str
    granted_by: str
    granted_at: datetime
    reason: str | None
    revoked_by: str | None
    revoked_at: datetime | None


def _check(esia_oid: str, who: str) -> str:
    oid = (esia_oid or "").strip()
    if not _OID.match(oid):
        raise AccessError("an ESIA OID is 1 to 64 letters, digits, '_', '.' or '-'")
    if not (who or "").strip():
        raise AccessError("say who grants or revokes (--by)")
    return oid


def _connect(url: str | None) -> psycopg.Connection:
    from ingestion import schema

    conn = psycopg.connect(url or get_settings().warehouse_url)
    schema.apply(conn)
    return conn


def grant(
    esia_oid: str, granted_by: str, reason: str | None = None, url: str | None = None
) -> bool:
    """Grant the region analyst's role; False when it was held already."""
    oid = _check(esia_oid, granted_by)
    with _connect(url) as conn:
        row = conn.execute(
            """
            insert into pii.analyst_access (esia_oid, granted_by, reason)
            values (%s, %s, %s)
            on conflict (esia_oid) do update
                set granted_by = excluded.granted_by, granted_at = now(),
                    reason = excluded.reason, revoked_by = null, revoked_at = null
                where pii.analyst_access.revoked_at is not null
            returning esia_oid
            """,
            (oid, granted_by.strip(), reason),
        ).fetchone()
    return row is not None


def revoke(esia_oid: str, revoked_by: str, url: str | None = None) -> bool:
    """Revoke it; False when the person did not hold it."""
    oid = _check(esia_oid, revoked_by)
    with _connect(url) as conn:
        cur = conn.execute(
            "update pii.analyst_access set revoked_by = %s, revoked_at = now() "
            "where esia_oid = %s and revoked_at is null",
            (revoked_by.strip(), oid),
        )
    return cur.rowcount == 1


def grants(url: str | None = None, include_revoked: bool = False) -> list[Grant]:
    with _connect(url) as conn:
        rows = conn.execute(
            "select esia_oid, granted_by, granted_at, reason, revoked_by, revoked_at "
            "from pii.analyst_access "
            + ("" if include_revoked else "where revoked_at is null ")
            + "order by granted_at, esia_oid"
        ).fetchall()
    return [Grant(*row) for row in rows]
