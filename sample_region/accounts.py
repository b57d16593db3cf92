"""Portal accounts of the electronic diaries and journals, signed in through ESIA.

The number of accounts of each role linked to ESIA on the last extract date is fixed by
construction: the published table (10,000 students ↔ the figures below) scaled by
`students / 10,000` and rounded, so the default demo region reproduces it exactly whatever the
random draws. Besides them, some accounts are never linked (no ESIA OID, no trust level, no
logins), and some are created unlinked and linked later (the record is sent again). A class
teacher is usually also a subject teacher: two accounts with one `esia_oid`.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

#: Accounts linked to ESIA by role, for a region of BASE_STUDENTS students.
SEED_TABLE = (
    ("Ученик", 6176),
    ("Родитель ученика", 5149),
    ("Учитель-предметник", 4518),
    ("Классный руководитель", 3705),
    ("Заведующий учебной частью", 537),
    ("Администратор школы", 220),
    ("Директор школы", 165),
    ("Управление образованием", 39),
    ("Администратор системы", 10),
)
BASE_STUDENTS = 10_000
#: Share of extra, never-linked accounts per role.
UNLINKED_SHARE = {"Ученик": 0.09, "Родитель ученика": 0.12}
PORTAL_START = datetime(2015, 9, 1, 9, 0)


def linked_targets(students: int) -> dict[str, int]:
    """Accounts linked to ESIA on the last extract date, by role."""
    return {role: round(n * students / BASE_STUDENTS) for role, n in SEED_TABLE}


@dataclass(slots=True)
class Account:
    account_id: str
    role: str
    org_id: str | None
    oktmo: str | None
    created: datetime
    linked: datetime | None = None
    esia_oid: str | None = None
    trust: str | None = None
    sends: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class OrgRef:
    org_id: str
    oktmo: str
    size: int
    kind: str


def build_accounts(
    students: int,
    orgs: list[OrgRef],
    muni_oktmo: list[str],
    seed: int,
    first_extract: date,
    last_extract: date,
) -> list[Account]:
    rng = random.Random(f"{seed}:accounts")
    schools = [o for o in orgs if o.kind == "school"]
    weights = [max(1, o.size) for o in schools]
    start = datetime.combine(first_extract, datetime.min.time())
    end = datetime.combine(last_extract, datetime.min.time()) + timedelta(hours=20)
    out: list[Account] = []
    oid_seq = [rng.randint(1_000_000_00, 1_099_999_99)]

    def new_oid() -> str:
        oid_seq[0] += rng.randint(1, 97)
        return str(oid_seq[0])

    def when(before_first: bool) -> datetime:
        lo, hi = (PORTAL_START, start) if before_first else (start, end)
        span = int((hi - lo).total_seconds())
        t = lo + timedelta(seconds=rng.randrange(max(1, span)))
        return t.replace(hour=8 + t.hour % 12)

    targets = linked_targets(students)
    teachers: list[Account] = []
    for role, linked_count in targets.items():
        unlinked = round(linked_count * UNLINKED_SHARE.get(role, 0.03))
        for k in range(linked_count + unlinked):
            if role == "Управление образованием":
                org_id, oktmo = None, muni_oktmo[k % len(muni_oktmo)]
            elif role == "Администратор системы":
                org_id, oktmo = None, None
            elif role in ("Директор школы", "Администратор школы"):
                o = orgs[k % len(orgs)]
                org_id, oktmo = o.org_id, o.oktmo
            else:
                o = rng.choices(schools, weights)[0]
                org_id, oktmo = o.org_id, o.oktmo
            acc = Account(
                account_id=str(5_000_000 + len(out) * 3 + rng.randint(0, 2)),
                role=role,
                org_id=org_id,
                oktmo=oktmo,
                created=when(rng.random() < 0.75),
            )
            if k < linked_count:
                if rng.random() < 0.7:
                    acc.linked = acc.created + timedelta(minutes=rng.randint(5, 4000))
                else:  # linked later
                    span = max(60, int((end - acc.created).total_seconds()))
                    acc.linked = acc.created + timedelta(seconds=rng.randrange(span))
                acc.linked = min(acc.linked, end)
                r = rng.random()
                acc.trust = (
                    "подтверждённая" if r < 0.85 else "стандартная" if r < 0.98 else ("упрощённая")
                )
                shared = None
                if (role == "Классный руководитель" and rng.random() < 0.85) or (
                    role == "Заведующий учебной частью" and rng.random() < 0.6
                ):
                    shared = teachers
                if shared:
                    partner = shared.pop(rng.randrange(len(shared)))
                    acc.esia_oid = partner.esia_oid
                    acc.trust = partner.trust
                    if partner.org_id and role != "Управление образованием":
                        acc.org_id, acc.oktmo = partner.org_id, partner.oktmo
                else:
                    acc.esia_oid = new_oid()
                if role == "Учитель-предметник":
                    teachers.append(acc)
            out.append(acc)
    place_demo_staff(out, orgs, muni_oktmo)
    return out


def place_demo_staff(accounts: list[Account], orgs: list[OrgRef], muni_oktmo: list[str]) -> None:
    """Give linked accounts of the demo staff's roles their fixed OIDs, trust levels and
    places (sample_region/demo_staff.py); an account already in the right place is preferred."""
    from sample_region.demo_staff import DEMO_STAFF

    org_by_id = {o.org_id: o for o in orgs}
    taken: set[str] = set()
    for person in DEMO_STAFF:
        if any(
            (a.org_id and a.org_id not in org_by_id) or (a.oktmo and a.oktmo not in muni_oktmo)
            for a in person.accounts
        ):
            continue
        chosen = []
        for want in person.accounts:
            org = org_by_id.get(want.org_id) if want.org_id else None
            oktmo = org.oktmo if org else want.oktmo
            candidates = [
                a
                for a in accounts
                if a.role == want.role and a.linked is not None and a.account_id not in taken
            ]
            if not candidates:
                break
            best = min(
                candidates,
                key=lambda a: (a.org_id != (org.org_id if org else None), a.oktmo != oktmo),
            )
            taken.add(best.account_id)
            chosen.append((best, org, oktmo))
        else:
            for acc, org, oktmo in chosen:
                acc.esia_oid = person.esia_oid
                acc.trust = person.trust
                acc.org_id = org.org_id if org else None
                acc.oktmo = oktmo


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S+03:00")


def account_sends(
    accounts: list[Account], days: list[date], seed: int
) -> dict[int, list[tuple[Account, datetime | None]]]:
    """The records to send per extract index: each account at creation, at linking, and at a
    few later logins, as (account, last login so far); one record per account per file."""
    import bisect

    rng = random.Random(f"{seed}:account-sends")
    last = len(days) - 1
    per_day: dict[int, list[tuple[Account, datetime | None]]] = {}

    def idx_of(t: datetime) -> int:
        if t.date() < days[0]:
            return 0
        return min(last, bisect.bisect_left(days, t.date()))

    for acc in accounts:
        first = idx_of(acc.created)
        sends = {first}
        if acc.linked is not None:
            sends.add(idx_of(acc.linked))
            for _ in range(rng.randint(0, 2)):
                sends.add(rng.randint(idx_of(acc.linked), last))
        login: datetime | None = None
        for i in sorted(sends):
            day_end = _day_end(days[i])
            if acc.linked is not None and acc.linked <= day_end:
                lo = max(acc.linked, login) if login else acc.linked
                span = max(1, int((day_end - lo).total_seconds()))
                login = lo + timedelta(seconds=rng.randrange(span))
            per_day.setdefault(i, []).append((acc, login))
            acc.sends.append(i)
    return dict(sorted(per_day.items()))


def _day_end(d: date) -> datetime:
    return datetime.combine(d, datetime.max.time()).replace(microsecond=0)


def account_line(acc: Account, d: date, login: datetime | None) -> str:
    """The JSON line of an account as sent on extract day `d` (the day's last state)."""
    linked = acc.linked is not None and acc.linked <= _day_end(d)
    record = {
        "account_id": acc.account_id,
        "esia_oid": acc.esia_oid if linked else None,
        "role": acc.role,
        "org_id": acc.org_id,
        "oktmo": acc.oktmo,
        "esia_linked_at": iso(acc.linked) if linked else None,  # type: ignore[arg-type]
        "last_login_at": iso(login) if linked and login else None,
        "trust_level": acc.trust if linked else None,
    }
    return json.dumps(record, ensure_ascii=False)


def account_records(accounts: list[Account], days: list[date], seed: int) -> dict[int, list[str]]:
    """JSON lines per extract index (see account_sends)."""
    return {
        i: [account_line(acc, days[i], login) for acc, login in sends]
        for i, sends in account_sends(accounts, days, seed).items()
    }


def summary(accounts: list[Account], last_extract: date) -> dict[str, object]:
    """Accounts by role linked to ESIA on the last extract date, totals, two-role persons."""
    linked: dict[str, int] = {role: 0 for role, _ in SEED_TABLE}
    total: dict[str, int] = {role: 0 for role, _ in SEED_TABLE}
    by_oid: dict[str, set[str]] = {}
    by_trust: dict[str, int] = {}
    for acc in accounts:
        total[acc.role] += 1
        if acc.linked is not None and acc.linked.date() <= last_extract:
            linked[acc.role] += 1
            by_oid.setdefault(acc.esia_oid or "", set()).add(acc.role)
            by_trust[acc.trust or ""] = by_trust.get(acc.trust or "", 0) + 1
    return {
        "as_of": last_extract.isoformat(),
        "linked_by_role": linked,
        "linked_by_trust_level": dict(sorted(by_trust.items())),
        "accounts_by_role": total,
        "unlinked": sum(total.values()) - sum(linked.values()),
        "persons_with_two_roles": sum(1 for roles in by_oid.values() if len(roles) > 1),
    }
