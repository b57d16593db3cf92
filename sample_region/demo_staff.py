"""The demo staff: people of the sample region who sign in to the demo dashboards.

ESIA (and the development provider standing in for it, superset/oidc-dev/people.json) knows a
person by OID and trust level only; the portal's accounts, which the accounts feed carries, say
what role that person has in which organization or municipality. For the demo logins to find
their roles in the warehouse the way a real sign-in does, the generator gives existing linked
accounts of the right role these fixed OIDs (10 digits, outside the 9-digit range of generated
ones) and places them in the named organization or municipality. The counts by role do not
change; a person whose organization or municipality the region lacks is left out.

«Аналитик министерства» is not a portal role: the demo analyst (OID 1000000001) is granted it in
the warehouse's access list (`kontingent access grant`), not here.
"""

from __future__ import annotations

from dataclasses import dataclass

CONFIRMED = "подтверждённая"
SIMPLIFIED = "упрощённая"


@dataclass(frozen=True)
class DemoAccount:
    role: str
    org_id: str | None = None  # school roles: the organization (its OKTMO comes with it)
    oktmo: str | None = None  # the education department: its municipality's OKTMO


@dataclass(frozen=True)
class DemoPerson:
    login: str
    esia_oid: str
    trust: str
    accounts: tuple[DemoAccount, ...]


SCHOOL = "700107"
DEMO_STAFF = (
    DemoPerson("admin", "1000000002", CONFIRMED, (DemoAccount("Администратор системы"),)),
    DemoPerson(
        "uo-57701",
        "1000000003",
        CONFIRMED,
        (DemoAccount("Управление образованием", oktmo="57701000"),),
    ),
    DemoPerson(
        "uo-57610",
        "1000000004",
        CONFIRMED,
        (DemoAccount("Управление образованием", oktmo="57610151"),),
    ),
    DemoPerson(
        "director-700107", "1000000005", CONFIRMED, (DemoAccount("Директор школы", SCHOOL),)
    ),
    DemoPerson(
        "zavuch-700107",
        "1000000006",
        CONFIRMED,
        (DemoAccount("Заведующий учебной частью", SCHOOL),),
    ),
    DemoPerson(
        "schooladmin-700107", "1000000007", CONFIRMED, (DemoAccount("Администратор школы", SCHOOL),)
    ),
    DemoPerson(
        "teacher-700107",
        "1000000008",
        CONFIRMED,
        (DemoAccount("Учитель-предметник", SCHOOL), DemoAccount("Классный руководитель", SCHOOL)),
    ),
    DemoPerson("student", "1000000009", CONFIRMED, (DemoAccount("Ученик", SCHOOL),)),
    DemoPerson("parent", "1000000010", CONFIRMED, (DemoAccount("Родитель ученика", SCHOOL),)),
    DemoPerson(
        "uo-simplified",
        "1000000011",
        SIMPLIFIED,
        (DemoAccount("Управление образованием", oktmo="57701000"),),
    ),
)
DEMO_ANALYST_OID = "1000000001"
