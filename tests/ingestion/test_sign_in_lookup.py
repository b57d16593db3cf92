"""The sign-in's look-up in the restricted zone: `pii.portal_accounts_of(oid)` gives the newest
version of every portal account with that ESIA OID, plus «Аналитик министерства» from the access
list; the narrow sign-in role can call it and read nothing; erasure and revocation take the
person's access away."""

from __future__ import annotations

import json

import psycopg
import pytest

from kontingent import access
from kontingent.settings import ROLE_REIDENTIFY, get_settings

OID = "2000000001"
OTHER = "2000000002"


def _account(account_id, oid, role, org_id=None, oktmo="57701000", trust="подтверждённая"):
    return {
        "account_id": account_id,
        "esia_oid": oid,
        "role": role,
        "org_id": org_id,
        "oktmo": oktmo,
        "esia_linked_at": "2025-09-01T08:00:00+03:00" if oid else None,
        "last_login_at": None,
        "trust_level": trust if oid else None,
    }


def _write(landing, day: str, records) -> None:
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    (landing / f"accounts_{day}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def lookup(wh):
    url = get_settings().local_url(ROLE_REIDENTIFY, wh.dbname)

    def run(oid: str) -> list[tuple]:
        with psycopg.connect(url) as conn:
            return conn.execute(
                "select role, oktmo, organization_id, trust_level "
                "from pii.portal_accounts_of(%s) order by 1, 3",
                (oid,),
            ).fetchall()

    return run


def test_newest_versions_of_the_persons_accounts(landing, load, lookup):
    _write(landing, "20250901", [
        _account("A1", OID, "Учитель-предметник", "ORG1"),
        _account("A2", OID, "Классный руководитель", "ORG1"),
        _account("A3", None, "Директор школы", "ORG2"),  # not linked yet
        _account("A4", OID, "Директор школы", "ORG3"),
        _account("A5", OTHER, "Управление образованием", oktmo="57610151"),
    ])  # fmt: skip
    _write(landing, "20250915", [
        _account("A2", OID, "Классный руководитель", "ORG9"),  # moved school
        _account("A3", OID, "Директор школы", "ORG2"),  # linked now
        _account("A4", OTHER, "Директор школы", "ORG3"),  # re-linked to another person
    ])  # fmt: skip
    results = load(landing)
    assert all(r.status == "loaded" for r in results.values()), results

    assert lookup(OID) == [
        ("Директор школы", "57701000", "ORG2", "подтверждённая"),
        ("Классный руководитель", "57701000", "ORG9", "подтверждённая"),
        ("Учитель-предметник", "57701000", "ORG1", "подтверждённая"),
    ]
    assert lookup(OTHER) == [
        ("Директор школы", "57701000", "ORG3", "подтверждённая"),
        ("Управление образованием", "57610151", None, "подтверждённая"),
    ]
    assert lookup("9999999999") == []


def test_the_access_list_grants_and_revokes_the_region_analyst(landing, load, lookup, wh):
    _write(landing, "20250901", [_account("A1", OID, "Учитель-предметник", "ORG1")])
    load(landing)
    analyst = ("Аналитик министерства", None, None, None)

    assert access.grant("3000000001", "Иванов И. И.", "приказ 12", url=wh.url) is True
    assert access.grant("3000000001", "Иванов И. И.", url=wh.url) is False  # held already
    assert lookup("3000000001") == [analyst]  # not a portal account at all
    assert access.grant(OID, "Иванов И. И.", url=wh.url) is True
    assert lookup(OID) == [
        analyst,
        ("Учитель-предметник", "57701000", "ORG1", "подтверждённая"),
    ]

    assert access.revoke(OID, "Петров П. П.", url=wh.url) is True
    assert access.revoke(OID, "Петров П. П.", url=wh.url) is False
    assert lookup(OID) == [("Учитель-предметник", "57701000", "ORG1", "подтверждённая")]
    assert [g.esia_oid for g in access.grants(url=wh.url)] == ["3000000001"]
    history = {g.esia_oid: g for g in access.grants(url=wh.url, include_revoked=True)}
    assert history[OID].revoked_by == "Петров П. П." and history[OID].revoked_at is not None
    assert access.grant(OID, "Иванов И. И.", url=wh.url) is True  # granted again
    assert analyst in lookup(OID)

    with pytest.raises(access.AccessError):
        access.grant("1' or '1'='1", "Иванов И. И.", url=wh.url)
    with pytest.raises(access.AccessError):
        access.grant(OID, " ", url=wh.url)


def test_erasing_the_person_ends_their_access(landing, load, lookup, wh):
    from ingestion.erase import erase_person

    _write(landing, "20250901", [_account("A1", OID, "Директор школы", "ORG1")])
    load(landing)
    assert len(lookup(OID)) == 1
    erase_person(esia_oid=OID, url=wh.url)
    assert lookup(OID) == []


def test_the_sign_in_role_calls_the_function_and_reads_nothing(landing, load, wh):
    _write(landing, "20250901", [_account("A1", OID, "Директор школы", "ORG1")])
    load(landing)
    url = get_settings().local_url(ROLE_REIDENTIFY, wh.dbname)
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("pii.accounts", "raw.accounts", "pii.analyst_access", "raw.load_log"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select 1 from {table} limit 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("insert into pii.analyst_access (esia_oid, granted_by) values ('1', 'x')")
        assert (
            conn.execute("select count(*) from pii.portal_accounts_of(%s)", (OID,)).fetchone()[0]
            == 1
        )
    # the reader of the marts may not call it
    with (
        psycopg.connect(wh.reader_url, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("select * from pii.portal_accounts_of(%s)", (OID,))
