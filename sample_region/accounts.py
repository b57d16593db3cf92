"""Portal accounts of the electronic diaries and journals, signed in through ESIA.

The number of accounts of each role linked to ESIA on the last extract date is fixed by
construction: the published table (10,000 students ↔ the figures below) scaled by
`students / 10,000` and rounded, so the default demo region reproduces it exactly whatever the
random draws. Besides them, some accounts are never linked (no ESIA OID, no trust level, no
logins), and some are created unlinked and linked later (the record is sent again). A class
teacher is usually also a subject teacher: two accounts with one `esia_oid`.
"""

from __future__ import annotations

import bisect
import json
import random
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate

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


#: Trust levels of ESIA accounts, in the order of the draw.
TRUST_LEVELS = ("подтверждённая", "стандартная", "упрощённая")
ROLES = tuple(role for role, _ in SEED_TABLE)
EPOCH = datetime(2000, 1, 1)
NONE = -1


def _seconds(t: datetime) -> int:
    return int((t - EPOCH).total_seconds())


def _time(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


class Accounts:
    """The region's accounts, a column per field (a few dozen bytes per account, so that a
    large region's accounts take little memory). Times are whole seconds since EPOCH; NONE
    marks a missing value; places (organization IDs, OKTMO codes) are kept once."""

    def __init__(self) -> None:
        self.account_id = array("q")
        self.role = array("b")
        self.org = array("i")  # index into places, or NONE
        self.oktmo = array("i")
        self.created = array("q")
        self.linked = array("q")
        self.oid = array("q")
        self.trust = array("b")
        self.places: list[str] = []
        self._place: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.account_id)

    def place(self, value: str | None) -> int:
        if value is None:
            return NONE
        i = self._place.get(value)
        if i is None:
            i = self._place[value] = len(self.places)
            self.places.append(value)
        return i

    def org_id(self, i: int) -> str | None:
        return self.places[self.org[i]] if self.org[i] != NONE else None

    def oktmo_of(self, i: int) -> str | None:
        return self.places[self.oktmo[i]] if self.oktmo[i] != NONE else None

    def linked_at(self, i: int) -> datetime | None:
        return _time(self.linked[i]) if self.linked[i] != NONE else None


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
) -> Accounts:
    rng = random.Random(f"{seed}:accounts")
    schools = [o for o in orgs if o.kind == "school"]
    cum_weights = list(accumulate(max(1, o.size) for o in schools))
    start = datetime.combine(first_extract, datetime.min.time())
    end = datetime.combine(last_extract, datetime.min.time()) + timedelta(hours=20)
    out = Accounts()
    oid_seq = [rng.randint(1_000_000_00, 1_099_999_99)]

    def new_oid() -> int:
        oid_seq[0] += rng.randint(1, 97)
        return oid_seq[0]

    def when(before_first: bool) -> datetime:
        lo, hi = (PORTAL_START, start) if before_first else (start, end)
        span = int((hi - lo).total_seconds())
        t = lo + timedelta(seconds=rng.randrange(max(1, span)))
        return t.replace(hour=8 + t.hour % 12)

    targets = linked_targets(students)
    teachers: list[int] = []  # linked subject teachers not yet sharing their OID
    for role_code, (role, linked_count) in enumerate(targets.items()):
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
                o = rng.choices(schools, cum_weights=cum_weights)[0]
                org_id, oktmo = o.org_id, o.oktmo
            account_id = 5_000_000 + len(out) * 3 + rng.randint(0, 2)
            created = when(rng.random() < 0.75)
            linked_at: datetime | None = None
            trust = oid = NONE
            org, place = out.place(org_id), out.place(oktmo)
            if k < linked_count:
                if rng.random() < 0.7:
                    linked_at = created + timedelta(minutes=rng.randint(5, 4000))
                else:  # linked later
                    span = max(60, int((end - created).total_seconds()))
                    linked_at = created + timedelta(seconds=rng.randrange(span))
                linked_at = min(linked_at, end)
                r = rng.random()
                trust = 0 if r < 0.85 else 1 if r < 0.98 else 2
                shared = (role == "Классный руководитель" and rng.random() < 0.85) or (
                    role == "Заведующий учебной частью" and rng.random() < 0.6
                )
                if shared and teachers:
                    partner = teachers.pop(rng.randrange(len(teachers)))
                    oid = out.oid[partner]
                    trust = out.trust[partner]
                    if out.org[partner] != NONE and role != "Управление образованием":
                        org, place = out.org[partner], out.oktmo[partner]
                else:
                    oid = new_oid()
                if role == "Учитель-предметник":
                    teachers.append(len(out))
            out.account_id.append(account_id)
            out.role.append(role_code)
            out.org.append(org)
            out.oktmo.append(place)
            out.created.append(_seconds(created))
            out.linked.append(_seconds(linked_at) if linked_at is not None else NONE)
            out.oid.append(oid)
            out.trust.append(trust)
    place_demo_staff(out, orgs, muni_oktmo)
    return out


def place_demo_staff(accounts: Accounts, orgs: list[OrgRef], muni_oktmo: list[str]) -> None:
    """Give linked accounts of the demo staff's roles their fixed OIDs, trust levels and
    places (sample_region/demo_staff.py); an account already in the right place is preferred
    (the first such account, in the order accounts were made)."""
    from sample_region.demo_staff import DEMO_STAFF

    org_by_id = {o.org_id: o for o in orgs}
    taken: set[int] = set()
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
            role = ROLES.index(want.role)
            best, best_key = None, (True, True)
            for i in range(len(accounts)):
                if accounts.role[i] != role or accounts.linked[i] == NONE or i in taken:
                    continue
                key = (accounts.org_id(i) != (org.org_id if org else None),
                       accounts.oktmo_of(i) != oktmo)  # fmt: skip
                if best is None or key < best_key:
                    best, best_key = i, key
                    if key == (False, False):
                        break
            if best is None:
                break
            taken.add(best)
            chosen.append((best, org, oktmo))
        else:
            for i, org, oktmo in chosen:
                accounts.oid[i] = int(person.esia_oid)
                accounts.trust[i] = TRUST_LEVELS.index(person.trust)
                accounts.org[i] = accounts.place(org.org_id if org else None)
                accounts.oktmo[i] = accounts.place(oktmo)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S+03:00")


class Sends:
    """The accounts' records of each extract day: account numbers (positions in `Accounts`) and
    the last login so far (seconds since EPOCH, or NONE), in the order accounts were made."""

    def __init__(self, days: int) -> None:
        self.accounts = [array("i") for _ in range(days)]
        self.logins = [array("q") for _ in range(days)]

    def on(self, idx: int) -> list[tuple[int, datetime | None]]:
        return [
            (a, _time(t) if t != NONE else None)
            for a, t in zip(self.accounts[idx], self.logins[idx], strict=True)
        ]


def account_sends(accounts: Accounts, days: list[date], seed: int) -> Sends:
    """The records to send per extract index: each account at creation, at linking, and at a
    few later logins, with the last login so far; one record per account per file."""
    rng = random.Random(f"{seed}:account-sends")
    last = len(days) - 1
    out = Sends(len(days))

    def idx_of(t: datetime) -> int:
        if t.date() < days[0]:
            return 0
        return min(last, bisect.bisect_left(days, t.date()))

    for a in range(len(accounts)):
        first = idx_of(_time(accounts.created[a]))
        sends = {first}
        linked = accounts.linked_at(a)
        if linked is not None:
            sends.add(idx_of(linked))
            for _ in range(rng.randint(0, 2)):
                sends.add(rng.randint(idx_of(linked), last))
        login: datetime | None = None
        for i in sorted(sends):
            day_end = _day_end(days[i])
            if linked is not None and linked <= day_end:
                lo = max(linked, login) if login else linked
                span = max(1, int((day_end - lo).total_seconds()))
                login = lo + timedelta(seconds=rng.randrange(span))
            out.accounts[i].append(a)
            out.logins[i].append(_seconds(login) if login is not None else NONE)
    return out


def _day_end(d: date) -> datetime:
    return datetime.combine(d, datetime.max.time()).replace(microsecond=0)


def account_line(accounts: Accounts, a: int, d: date, login: datetime | None) -> str:
    """The JSON line of account `a` as sent on extract day `d` (the day's last state)."""
    linked_at = accounts.linked_at(a)
    linked = linked_at is not None and linked_at <= _day_end(d)
    record = {
        "account_id": str(accounts.account_id[a]),
        "esia_oid": str(accounts.oid[a]) if linked else None,
        "role": ROLES[accounts.role[a]],
        "org_id": accounts.org_id(a),
        "oktmo": accounts.oktmo_of(a),
        "esia_linked_at": iso(linked_at) if linked else None,  # type: ignore[arg-type]
        "last_login_at": iso(login) if linked and login else None,
        "trust_level": TRUST_LEVELS[accounts.trust[a]] if linked else None,
    }
    return json.dumps(record, ensure_ascii=False)


def account_lines(accounts: Accounts, sends: Sends, idx: int, d: date) -> Iterator[str]:
    """The JSON lines of extract day `d` (index `idx`), one at a time."""
    for a, login in sends.on(idx):
        yield account_line(accounts, a, d, login)


def account_records(accounts: Accounts, days: list[date], seed: int) -> dict[int, list[str]]:
    """JSON lines per extract index (see account_sends)."""
    sends = account_sends(accounts, days, seed)
    return {
        i: list(account_lines(accounts, sends, i, days[i]))
        for i in range(len(days))
        if sends.accounts[i]
    }


def summary(accounts: Accounts, last_extract: date) -> dict[str, object]:
    """Accounts by role linked to ESIA on the last extract date, totals, two-role persons."""
    linked = [0] * len(ROLES)
    total = [0] * len(ROLES)
    roles_of: dict[int, int] = {}  # OID -> bit set of roles
    by_trust: dict[str, int] = {}
    end = _seconds(datetime.combine(last_extract, datetime.max.time()))
    for a in range(len(accounts)):
        role = accounts.role[a]
        total[role] += 1
        if accounts.linked[a] != NONE and accounts.linked[a] <= end:
            linked[role] += 1
            oid = accounts.oid[a]
            roles_of[oid] = roles_of.get(oid, 0) | (1 << role)
            trust = TRUST_LEVELS[accounts.trust[a]] if accounts.trust[a] != NONE else ""
            by_trust[trust] = by_trust.get(trust, 0) + 1
    return {
        "as_of": last_extract.isoformat(),
        "linked_by_role": dict(zip(ROLES, linked, strict=True)),
        "linked_by_trust_level": dict(sorted(by_trust.items())),
        "accounts_by_role": dict(zip(ROLES, total, strict=True)),
        "unlinked": sum(total) - sum(linked),
        "persons_with_two_roles": sum(1 for bits in roles_of.values() if bits & (bits - 1)),
    }
