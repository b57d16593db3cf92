"""Migration figures of the manifest, from the model's own events (final versions, tombstoned
events dropped): transfer outcomes, flows between organizations, cohort survival, mobility and
the children lost between schools. The rules are the project's (docs/trajectories.md), written
here a second time over the generator's objects, never over the files or the warehouse.

- An exit (`Отчисление` / `Выпуск` of a main program) is matched to the same student's first
  entry (`Зачисление` / `Восстановление` of a main program) on or after its date within
  `MATCH_WINDOW_DAYS` days not counting 1 June – 31 August; the window has closed when that
  many such days have passed by the last extract date.
- The figures cover the school years of the region (the history before them holds current
  spells only).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from sample_region.calendar import (
    age_on,
    count_date,
    school_year_of,
    summer_excluded_days,
    year_label,
)
from sample_region.model import (
    ADMIT,
    EXIT,
    GRADUATE,
    MATCH_WINDOW_DAYS,
    R_FAMILY,
    R_MOVED,
    R_TRANSFER,
    RESTORE,
    Event,
    Region,
    Student,
    event_sort_key,
)

GENERAL = ("НОО", "ООО", "СОО")
EXITS = (EXIT, GRADUATE)
ENTRIES = (ADMIT, RESTORE)
OUTSIDE, NOT_ENROLLED, PENDING = "outside_region", "not_enrolled", "pending"
MOBILITY_GAP_DAYS = 10


def _main_events(st: Student) -> list[Event]:
    return sorted(
        (e for e in st.events if e.program != "ДОП" and not e.cancelled), key=event_sort_key
    )


def _arrival(events: list[Event], ex: Event) -> Event | None:
    """The first entry on or after the exit's date within the window."""
    for e in events:
        if e.type in ENTRIES and e.date >= ex.date:
            if summer_excluded_days(ex.date, e.date) <= MATCH_WINDOW_DAYS:
                return e
            return None
    return None


def _closed(region: Region, d: date) -> bool:
    return summer_excluded_days(d, region.last_extract) >= MATCH_WINDOW_DAYS


def _secondary_done(events: list[Event], d: date) -> bool:
    return any(e.type == GRADUATE and e.program == "СОО" and e.grade == 11 and e.date <= d
               for e in events)  # fmt: skip


def _outcome(region: Region, ex: Event, arrival: Event | None) -> str:
    if arrival is not None:
        if arrival.org == ex.org:
            return "returned"
        if not ex.dest:
            return "arrived_unannounced"
        return "arrived_where_announced" if arrival.org == ex.dest else "arrived_elsewhere"
    return "did_not_arrive" if _closed(region, ex.date) else PENDING


def _reorganization_exit(region: Region, ex: Event) -> bool:
    org = region.org_by_id[ex.org]
    return org.final_status == "реорганизована" and org.closed == ex.date


def transfer_outcomes(region: Region) -> list[dict[str, Any]]:
    """Exits to follow up (reason `перевод в другую ОО`, or any exit from school or college of
    a child under 18 without secondary general education) by school year × municipality left
    × kind (announced transfer, reorganization, other exit) × outcome."""
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for st in region.students:
        events = _main_events(st)
        for ex in events:
            if ex.type not in EXITS or ex.program == "ДО":
                continue
            if school_year_of(ex.date) < region.first_year:
                continue
            minor = age_on(st.birth, ex.date) < 18 and not _secondary_done(events, ex.date)
            if ex.reason != R_TRANSFER and not minor:
                continue
            if _reorganization_exit(region, ex):
                kind = "reorganization"
            elif ex.reason == R_TRANSFER:
                kind = "announced_transfer"
            else:
                kind = "other_exit"
            muni = region.org_by_id[ex.org].muni.code
            outcome = _outcome(region, ex, _arrival(events, ex))
            counts[(year_label(school_year_of(ex.date)), muni, kind, outcome)] += 1
    return [
        {"school_year": y, "municipality": m, "kind": k, "outcome": o, "count": n}
        for (y, m, k, o), n in sorted(counts.items())
    ]


def flows(region: Region) -> list[dict[str, Any]]:
    """Moves between organizations by school year: each exit from a main program to the
    organization of its matched entry (a return to the same organization is no move), to
    `outside_region` (`смена места жительства`, admitted nowhere), `not_enrolled` (window closed)
    or `pending`; each entry no exit is matched to from `outside_region` (a student the region
    has never had, entering a grade above the first) or `not_enrolled`."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for st in region.students:
        events = _main_events(st)
        matched: set[int] = set()
        for ex in events:
            if ex.type not in EXITS:
                continue
            arrival = _arrival(events, ex)
            if arrival is not None:
                matched.add(id(arrival))
            if school_year_of(ex.date) < region.first_year:
                continue
            if arrival is not None:
                if arrival.org == ex.org:
                    continue
                target = arrival.org
            elif ex.reason == R_MOVED:
                target = OUTSIDE
            else:
                target = NOT_ENROLLED if _closed(region, ex.date) else PENDING
            counts[(year_label(school_year_of(ex.date)), ex.org, target)] += 1
        for en in events:
            if en.type not in ENTRIES or id(en) in matched:
                continue
            if school_year_of(en.date) < region.first_year:
                continue
            newcomer = not any(e.date < en.date for e in events)
            first_time = en.program == "ДО" or (en.program == "НОО" and en.grade == 1)
            source = OUTSIDE if newcomer and not first_time else NOT_ENROLLED
            counts[(year_label(school_year_of(en.date)), source, en.org)] += 1
    return [
        {"school_year": y, "source": s, "target": t, "count": n}
        for (y, s, t), n in sorted(counts.items())
    ]


def _status_on(events: list[Event], spells: list[Any], d: date) -> tuple[str, int | None]:
    for sp in spells:
        if sp.covers(d) and sp.program in GENERAL:
            return "general_education", sp.grade
    for sp in spells:
        if sp.covers(d) and sp.program == "СПО":
            return "vocational", None
    exits = [e for e in events if e.type in EXITS and e.date <= d]
    last = exits[-1] if exits else None
    if last is None:
        return NOT_ENROLLED, None
    if last.reason == R_MOVED:
        return "left_region", None
    if last.reason == R_FAMILY:
        return "family_education", None
    if last.type == GRADUATE and last.program == "СОО" and last.grade == 11:
        return "graduated", None
    return NOT_ENROLLED, None


def cohorts(region: Region) -> list[dict[str, Any]]:
    """Cohorts entering grade 1, 5 or 10 (in that grade on 20 September of a year, and not in
    it on 20 September of the year before), and where each member is on 20 September of that
    and every later year: in general education (by grade), in a college, left the region, in
    family education, graduated, or not enrolled."""
    counts: Counter[tuple[str, int, str, str, int | None]] = Counter()
    years = [y for y in range(region.first_year, region.last_year + 1)
             if count_date(y) <= region.last_extract]  # fmt: skip
    for st in region.students:
        events = _main_events(st)
        spells = region.main_spells(st)
        for y0 in years:
            here = _status_on(events, spells, count_date(y0))
            before = _status_on(events, spells, count_date(y0 - 1))
            if here[0] != "general_education" or here[1] not in (1, 5, 10) or before == here:
                continue
            for y in years:
                if y < y0:
                    continue
                status, grade = _status_on(events, spells, count_date(y))
                counts[(year_label(y0), here[1], year_label(y), status, grade)] += 1  # type: ignore[index]
    return [
        {"cohort_year": c, "entry_grade": g0, "school_year": y, "status": s, "grade": g,
         "count": n}
        for (c, g0, y, s, g), n in sorted(counts.items(), key=lambda kv: (
            kv[0][0], kv[0][1], kv[0][2], kv[0][3], kv[0][4] or 0))
    ]  # fmt: skip


def mobility(region: Region) -> list[dict[str, Any]]:
    """Per general-education organization and school year: students enrolled at any time in
    the school year (1 September – 31 May), those who entered or left after 20 September
    (a gap of more than 10 days: an exit and a return within 10 days is no move; a year-end
    exit whose entry elsewhere is after 31 May is a summer move; moving with a reorganized
    organization is no move) and those who stayed (enrolled
    on 20 September and did not leave)."""
    out = []
    for y in range(region.first_year, region.last_year + 1):
        cd = count_date(y)
        if cd > region.last_extract:
            continue
        lo = date(y, 9, 1)
        summer = date(y + 1, 6, 1)
        hi = min(summer, region.last_extract + timedelta(days=1))
        enrolled: dict[str, set[int]] = {}
        on_cd: dict[str, set[int]] = {}
        leavers: dict[str, set[int]] = {}
        entrants: dict[str, set[int]] = {}
        for st in region.students:
            spells = [sp for sp in region.main_spells(st) if sp.program in GENERAL]
            for sp in spells:
                if sp.start < hi and (sp.end is None or sp.end > lo):
                    enrolled.setdefault(sp.org, set()).add(st.idx)
                if sp.covers(cd):
                    on_cd.setdefault(sp.org, set()).add(st.idx)
            events = _main_events(st)
            reorganized = {
                id(a) for x in events
                if x.type in EXITS and _reorganization_exit(region, x)
                and (a := _arrival(events, x)) is not None
            }  # fmt: skip
            for e in events:
                if e.program not in GENERAL or not (cd < e.date < hi):
                    continue
                if e.type in EXITS:
                    if _reorganization_exit(region, e):
                        continue
                    back = any(x.type in ENTRIES and x.org == e.org
                               and 0 <= (x.date - e.date).days <= MOBILITY_GAP_DAYS
                               for x in events)  # fmt: skip
                    arrival = _arrival(events, e)
                    if back or (arrival is not None and arrival.date >= summer):
                        continue
                    leavers.setdefault(e.org, set()).add(st.idx)
                elif e.type in ENTRIES:
                    if id(e) in reorganized:
                        continue
                    short = any(x.type in EXITS and x.org == e.org
                                and 0 <= (e.date - x.date).days <= MOBILITY_GAP_DAYS
                                for x in events)  # fmt: skip
                    if not short:
                        entrants.setdefault(e.org, set()).add(st.idx)
        for org in sorted(enrolled):
            mobile = leavers.get(org, set()) | entrants.get(org, set())
            stable = on_cd.get(org, set()) - leavers.get(org, set())
            out.append(
                {
                    "school_year": year_label(y),
                    "org_id": org,
                    "enrolled": len(enrolled[org]),
                    "mobile": len(mobile),
                    "stable": len(stable),
                }
            )
    return out


def lost_children(region: Region) -> list[dict[str, Any]]:
    """Children lost between schools on the last extract date: the simulation's `lost`
    students (never admitted again), with the organization they left, the exit date and the
    days since then."""
    out = []
    for st in region.students:
        if not any("lost" in facts for facts in st.facts.values()):
            continue
        events = _main_events(st)
        last = [e for e in events if e.type in EXITS][-1]
        if any(e.type in ENTRIES and e.date >= last.date for e in events):
            continue
        out.append(
            {
                "student_id": st.sid,
                "org_id": last.org,
                "municipality": region.org_by_id[last.org].muni.code,
                "exit_date": last.date.isoformat(),
                "days_since": (region.last_extract - last.date).days,
            }
        )
    out.sort(key=lambda r: (r["exit_date"], r["student_id"]))
    return out
