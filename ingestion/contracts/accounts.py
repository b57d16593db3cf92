"""accounts — Пользователи электронных дневников и журналов (delta; JSON Lines, UTF-8).

Headers are the JSON keys. The account ID and the ESIA OID go to `pii.accounts` only; `raw`
knows an account by `account_key` and the person behind it by `person_key`.
"""

from ingestion.contracts import Column, Feed, Ref

ROLES = (
    "Ученик",
    "Родитель ученика",
    "Учитель-предметник",
    "Классный руководитель",
    "Заведующий учебной частью",
    "Администратор школы",
    "Директор школы",
    "Управление образованием",
    "Администратор системы",
)
TRUST_LEVELS = ("упрощённая", "стандартная", "подтверждённая")

FEED = Feed(
    name="accounts",
    title="Пользователи электронных дневников и журналов",
    order=6,
    mode="delta",
    formats=("jsonl",),
    columns=(
        Column("account_id", "account_id", "id", required=True, pseudonym="account_key"),
        Column("esia_oid", "esia_oid", "id", pseudonym="person_key"),
        Column("role", "role", "code", required=True, codes=ROLES),
        Column("organization_id", "org_id", "id"),
        Column("oktmo", "oktmo", "oktmo"),
        Column("esia_linked_at", "esia_linked_at", "iso_timestamp"),
        Column("last_login_at", "last_login_at", "iso_timestamp"),
        Column("trust_level", "trust_level", "code", codes=TRUST_LEVELS),
    ),
    key=("account_key",),
    refs=(Ref("organization_id", "organization"),),
    has_pii_table=True,
    quarantine_zone="pii",
)
