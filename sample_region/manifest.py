"""The ground-truth manifest: every figure computed from the model's own state (never by reading
the written files back), so that it is an independent second way to each published number."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sample_region import migration
from sample_region.calendar import count_date, school_year_of, year_label
from sample_region.dirty import KINDS
from sample_region.journal import Journal
from sample_region.model import CLASS_ORDER, TRAJECTORY_CLASSES, Region

FORMAT = "kontingent-sample-region/1"
GENERAL = ("НОО", "ООО", "СОО")


def enrolment(region: Region) -> list[dict[str, Any]]:
    """Students enrolled in a main program on 20 September of each year, by organization ×
    program × grade level × sex (start ≤ D < exit)."""
    rows: Counter[tuple[str, str, str, int, str]] = Counter()
    for y in range(region.first_year, region.last_year + 1):
        d = count_date(y)
        if d > region.last_extract:
            continue
        for st in region.students:
            for sp in region.main_spells(st):
                if sp.covers(d):
                    rows[(year_label(y), sp.org, sp.program, sp.grade or 0, st.sex)] += 1
    return [
        {
            "school_year": y,
            "date": count_date(int(y[:4])).isoformat(),
            "org_id": org,
            "program": prog,
            "grade": grade or None,
            "sex": sex,
            "count": n,
        }
        for (y, org, prog, grade, sex), n in sorted(rows.items())
    ]


def movements(region: Region) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Events in force (final versions, tombstones dropped) by school year × type × program,
    and exits by school year × reason × program."""
    by_type: Counter[tuple[str, str, str]] = Counter()
    by_reason: Counter[tuple[str, str, str]] = Counter()
    for st in region.students:
        for ev in st.events:
            if ev.cancelled:
                continue
            y = year_label(school_year_of(ev.date))
            by_type[(y, ev.type, ev.program)] += 1
            if ev.reason:
                by_reason[(y, ev.reason, ev.program)] += 1
    return (
        [{"school_year": y, "type": t, "program": p, "count": n}
         for (y, t, p), n in sorted(by_type.items())],
        [{"school_year": y, "reason": r, "program": p, "count": n}
         for (y, r, p), n in sorted(by_reason.items())],
    )  # fmt: skip


def trajectories(region: Region) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each general-education student's class per school year, and the counts."""
    rows: list[dict[str, Any]] = []
    counts: Counter[tuple[str, str]] = Counter()
    for st in region.students:
        spells = [sp for sp in region.main_spells(st) if sp.program in GENERAL]
        if not spells:
            continue
        for y in range(region.first_year, region.last_year + 1):
            lo = date(y, 9, 1)
            hi = min(date(y + 1, 9, 1), region.last_extract + timedelta(days=1))
            during = [sp for sp in spells if sp.start < hi and (sp.end is None or sp.end > lo)]
            if not during:
                continue
            cls = region.trajectory_class(st, y)
            # the organization of the last general-education spell of the year, and its
            # municipality: where the student counts in the yearly statuses by territory
            last = max(during, key=lambda sp: sp.start)
            rows.append(
                {
                    "student_id": st.sid,
                    "school_year": year_label(y),
                    "class": cls,
                    "org_id": last.org,
                    "municipality": region.org_by_id[last.org].muni.code,
                }
            )
            counts[(year_label(y), cls)] += 1
    rows.sort(key=lambda r: (r["school_year"], r["student_id"]))
    order = {c: i for i, c in enumerate(CLASS_ORDER)}
    return rows, [
        {"school_year": y, "class": c, "count": n}
        for (y, c), n in sorted(counts.items(), key=lambda kv: (kv[0][0], order[kv[0][1]]))
    ]


def additional_education(region: Region) -> list[dict[str, Any]]:
    """On 20 September: additional-program enrolments and distinct children by направленность
    (`direction` = `*`: distinct children in any program)."""
    out = []
    for y in range(region.first_year, region.last_year + 1):
        d = count_date(y)
        if d > region.last_extract:
            continue
        enrol: Counter[str] = Counter()
        children: dict[str, set[int]] = {}
        for st in region.students:
            for sp in region.dop_spells(st):
                if sp.covers(d):
                    enrol[sp.direction] += 1
                    children.setdefault(sp.direction, set()).add(st.idx)
                    children.setdefault("*", set()).add(st.idx)
        for direction in sorted(children):
            out.append(
                {
                    "school_year": year_label(y),
                    "date": d.isoformat(),
                    "direction": direction,
                    "enrolments": sum(enrol.values()) if direction == "*" else enrol[direction],
                    "children": len(children[direction]),
                }
            )
    return out


def attestation(journal: Journal) -> list[dict[str, Any]]:
    rows = []
    for (y, org, grade, period), a in sorted(journal.attestation.items()):
        if not a.subject:
            continue
        rows.append(
            {
                "school_year": year_label(y),
                "org_id": org,
                "grade": grade,
                "period": period,
                "subject_to_attestation": a.subject,
                "passed": a.passed,
                "quality": a.quality,
                "excellent": a.excellent,
                "good": a.good,
                "one_fail": a.one_fail,
                "pass_rate": round(100 * a.passed / a.subject, 4),
                "quality_rate": round(100 * a.quality / a.subject, 4),
                "numeric_final_marks": a.n_num,
                "numeric_final_sum": a.sum_num,
            }
        )
    return rows


def current_marks(journal: Journal) -> list[dict[str, Any]]:
    return [
        {"org_id": org, "school_year": year_label(y), "marks": s[0], "numeric": s[1],
         "numeric_sum": s[2], "weighted_sum": s[3], "weight_total": s[4], "deleted": s[5]}
        for (org, y), s in sorted(journal.current.items())
    ]  # fmt: skip


def organizations(region: Region) -> list[dict[str, Any]]:
    return [
        {
            "org_id": o.org_id,
            "type": o.type_label,
            "ownership": o.ownership,
            "municipality": o.muni.code,
            "oktmo": o.oktmo,
            "rural": not o.urban,
            "parent_id": o.parent_id or None,
            "grades": list(o.grades) or None,
            "status": o.status_on(region.last_extract)[0],
            "closed": o.closed.isoformat() if o.closed else None,
        }
        for o in region.orgs
    ]


def non_degeneracy(att: list[dict[str, Any]], cases: dict[str, list[str]]) -> dict[str, Any]:
    """The facts later tests rely on: an organization with a pass rate below 100 % and a quality
    rate strictly between 0 and 100 % (all grades, one period), and the special cases."""
    per_org: dict[tuple[str, str, str], list[int]] = {}
    for r in att:
        key = (r["school_year"], r["org_id"], r["period"])
        acc = per_org.setdefault(key, [0, 0, 0])
        acc[0] += r["subject_to_attestation"]
        acc[1] += r["passed"]
        acc[2] += r["quality"]
    orgs = [
        {"school_year": y, "org_id": o, "period": p}
        for (y, o, p), (s, ps, q) in sorted(per_org.items())
        if ps < s and 0 < q < s
    ]
    return {
        "org_pass_below_100_quality_between_0_and_100": orgs[:20],
        "repeater": cases.get("repeater", [])[:20],
        "transfer_to_other_municipality": cases.get("transfer_to_other_municipality", [])[:20],
        "arrived_elsewhere": cases.get("arrived_elsewhere", [])[:20],
        "to_family_education": cases.get("to_family_education", [])[:20],
        "lost": cases.get("lost", [])[:20],
    }


def build(
    region: Region,
    journal: Journal,
    arguments: dict[str, Any],
    files: list[dict[str, object]],
    accounts_summary: dict[str, object],
    defects: list[dict[str, object]],
) -> dict[str, Any]:
    moves, reasons = movements(region)
    traj_rows, traj_counts = trajectories(region)
    att = attestation(journal)
    cases = {k: sorted(set(v)) for k, v in sorted(region.cases.items())}
    reorg = region.reorg
    closure = region.closure
    return {
        "format": FORMAT,
        "arguments": arguments,
        "school_years": [year_label(y) for y in range(region.first_year, region.last_year + 1)],
        "first_extract": region.first_extract.isoformat(),
        "last_extract": region.last_extract.isoformat(),
        "conventions": {
            "enrolled_on": "start <= D < exit date; grade level = `Параллель` of the latest "
            "event on or before D in the spell",
            "count_date": "20 September of each school year",
            "matching_window_days": 30,
            "matching_window_excludes": "1 June - 31 August",
            "line_numbers": "physical lines, header = line 1",
        },
        "counts": {
            "students_in_registry": len(region.students),
            "organizations": len(region.orgs),
            "municipalities": len(region.munis),
            "files": len(files),
        },
        "municipalities": [
            {"code": m.code, "oktmo": m.oktmo, "name": m.name, "urban": m.urban}
            for m in region.munis
        ],
        "organizations": organizations(region),
        "reorganization": (
            {
                "org_id": reorg[0].org_id,
                "successor_id": reorg[1].org_id,
                "date": reorg[2].isoformat(),
            }
            if reorg
            else None
        ),
        "closure": (
            {"org_id": closure[0].org_id, "date": closure[1].isoformat()} if closure else None
        ),
        "enrolment": enrolment(region),
        "movements": moves,
        "exit_reasons": reasons,
        "trajectory_classes": [{"class": c, "meaning": m} for c, m in TRAJECTORY_CLASSES],
        "trajectory_counts": traj_counts,
        "trajectories": traj_rows,
        "transfer_outcomes": migration.transfer_outcomes(region),
        "flows": migration.flows(region),
        "cohorts": migration.cohorts(region),
        "mobility": migration.mobility(region),
        "lost_children": migration.lost_children(region),
        "accounts": accounts_summary,
        "attestation": att,
        "current_marks": current_marks(journal),
        "additional_education": additional_education(region),
        "cases": cases,
        "non_degeneracy": non_degeneracy(att, cases),
        "defect_kinds": [
            {"kind": k, "treatment": t, "reason": r, "meaning": m} for k, (t, r, m) in KINDS.items()
        ],
        "defects": defects,
        "files": files,
    }


def write(path: Path, manifest: dict[str, Any]) -> None:
    text = json.dumps(manifest, ensure_ascii=False, indent=1)
    path.write_text(text + "\n", encoding="utf-8")
