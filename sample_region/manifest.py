"""The ground-truth manifest: every figure computed from the model's own state (never by reading
the written files back), so that it is an independent second way to each published number."""

from __future__ import annotations

import heapq
import json
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

from sample_region import migration
from sample_region.calendar import count_date, school_year_of, year_label
from sample_region.dirty import KINDS
from sample_region.journal import Journal
from sample_region.model import CLASS_ORDER, TRAJECTORY_CLASSES, Region, Spell, Student
from sample_region.writers import Spool

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


def _general_spells(region: Region, st: Student) -> list[Spell]:
    return [sp for sp in region.main_spells(st) if sp.program in GENERAL]


def _trajectory(
    region: Region, st: Student, spells: list[Spell], y: int
) -> tuple[str, Spell] | None:
    """A general-education student's class in school year `y`, and the last general-education
    spell of the year (its organization and municipality: where the student counts in the
    yearly statuses by territory); None when not in general education that year."""
    lo = date(y, 9, 1)
    hi = min(date(y + 1, 9, 1), region.last_extract + timedelta(days=1))
    during = [sp for sp in spells if sp.start < hi and (sp.end is None or sp.end > lo)]
    if not during:
        return None
    return region.trajectory_class(st, y), max(during, key=lambda sp: sp.start)


def trajectory_counts(region: Region) -> list[dict[str, Any]]:
    """Students per school year × trajectory class."""
    counts: Counter[tuple[str, str]] = Counter()
    for st in region.students:
        spells = _general_spells(region, st)
        if not spells:
            continue
        for y in range(region.first_year, region.last_year + 1):
            found = _trajectory(region, st, spells, y)
            if found is not None:
                counts[(year_label(y), found[0])] += 1
    order = {c: i for i, c in enumerate(CLASS_ORDER)}
    return [
        {"school_year": y, "class": c, "count": n}
        for (y, c), n in sorted(counts.items(), key=lambda kv: (kv[0][0], order[kv[0][1]]))
    ]


def trajectories(region: Region) -> Iterator[dict[str, Any]]:
    """Each general-education student's class per school year, by school year and student ID
    (made as they are written: one row per student and year)."""
    by_sid = sorted(region.students, key=lambda st: st.sid)
    for y in range(region.first_year, region.last_year + 1):
        for st in by_sid:
            spells = _general_spells(region, st)
            found = _trajectory(region, st, spells, y) if spells else None
            if found is None:
                continue
            cls, last = found
            yield {
                "student_id": st.sid,
                "school_year": year_label(y),
                "class": cls,
                "org_id": last.org,
                "municipality": region.org_by_id[last.org].muni.code,
            }


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


def sections(region: Region, journal: Journal, spool: Spool) -> dict[str, Any]:
    """The figures of the students `region` simulates (a part of a region or all of it); each
    school year's trajectories go to `spool` (one line per student: `student ID<TAB>JSON`, in
    student ID order) rather than memory."""
    by_year: dict[str, list[str]] = {}
    for row in trajectories(region):
        by_year.setdefault(row["school_year"], []).append(
            f"{row['student_id']}\t{json.dumps(row, ensure_ascii=False)}"
        )
    years = [year_label(y) for y in range(region.first_year, region.last_year + 1)]
    for i, y in enumerate(years):
        spool.write("trajectories", i, by_year.pop(y, []))
    moves, reasons = movements(region)
    return {
        "students_in_registry": len(region.students),
        "enrolment": enrolment(region),
        "movements": moves,
        "exit_reasons": reasons,
        "trajectory_counts": trajectory_counts(region),
        "transfer_outcomes": migration.transfer_outcomes(region),
        "flows": migration.flows(region),
        "cohorts": migration.cohorts(region),
        "mobility": migration.mobility(region),
        "lost_children": migration.lost_children(region),
        "attestation": attestation(journal),
        "current_marks": current_marks(journal),
        "additional_education": additional_education(region),
        "cases": {k: list(v) for k, v in region.cases.items()},
        "school_years": years,
    }


def _summed(
    parts: list[dict[str, Any]], name: str, values: tuple[str, ...], order: Any
) -> list[dict[str, Any]]:
    """Rows of section `name` from every part, the `values` summed over rows whose other
    fields are equal, sorted by `order(row)`."""
    rows: dict[tuple, dict[str, Any]] = {}
    for part in parts:
        for row in part[name]:
            key = tuple((k, v) for k, v in row.items() if k not in values)
            have = rows.get(key)
            if have is None:
                rows[key] = dict(row)
            else:
                for v in values:
                    have[v] += row[v]
    return sorted(rows.values(), key=order)


def _rates(row: dict[str, Any]) -> dict[str, Any]:
    subject = row["subject_to_attestation"]
    row["pass_rate"] = round(100 * row["passed"] / subject, 4)
    row["quality_rate"] = round(100 * row["quality"] / subject, 4)
    return row


def _lines(chunks: Iterator[list[str]]) -> Iterator[str]:
    for chunk in chunks:
        yield from chunk


def _trajectories(spools: list[Spool], years: list[str]) -> Iterator[dict[str, Any]]:
    """Every part's trajectories by school year and student ID, one row at a time."""
    for i in range(len(years)):
        # small chunks: one of each part is held while the runs are merged
        runs = [_lines(spool.read("trajectories", i, chunk=1 << 16)) for spool in spools]
        for line in heapq.merge(*runs, key=lambda line: line.split("\t", 1)[0]):
            yield json.loads(line.split("\t", 1)[1])


def trajectories_of(figures: dict[str, Any], spools: list[Spool]) -> dict[str, Any]:
    """`figures` with the trajectories every part left in its spool."""
    return figures | {"trajectories": _trajectories(spools, figures["school_years"])}


def combine(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The figures of two parts of a region (or of the parts seen so far and one more) as one:
    each student is in one part, so counts of students add up."""
    parts = [a, b]
    class_order = {c: i for i, c in enumerate(CLASS_ORDER)}
    cases: dict[str, list[str]] = {}
    for part in parts:
        for kind, sids in part["cases"].items():
            cases.setdefault(kind, []).extend(sids)
    return {
        "students_in_registry": a["students_in_registry"] + b["students_in_registry"],
        "enrolment": _summed(parts, "enrolment", ("count",), lambda r: (
            r["school_year"], r["org_id"], r["program"], r["grade"] or 0, r["sex"])),
        "movements": _summed(parts, "movements", ("count",), lambda r: (
            r["school_year"], r["type"], r["program"])),
        "exit_reasons": _summed(parts, "exit_reasons", ("count",), lambda r: (
            r["school_year"], r["reason"], r["program"])),
        "trajectory_counts": _summed(parts, "trajectory_counts", ("count",), lambda r: (
            r["school_year"], class_order[r["class"]])),
        "transfer_outcomes": _summed(parts, "transfer_outcomes", ("count",), lambda r: (
            r["school_year"], r["municipality"], r["kind"], r["outcome"])),
        "flows": _summed(parts, "flows", ("count",), lambda r: (
            r["school_year"], r["source"], r["target"])),
        "cohorts": _summed(parts, "cohorts", ("count",), lambda r: (
            r["cohort_year"], r["entry_grade"], r["school_year"], r["status"], r["grade"] or 0)),
        "mobility": _summed(parts, "mobility", ("enrolled", "mobile", "stable"), lambda r: (
            r["school_year"], r["org_id"])),
        "lost_children": sorted((r for p in parts for r in p["lost_children"]),
                                key=lambda r: (r["exit_date"], r["student_id"])),
        "attestation": [_rates(r) for r in _summed(parts, "attestation", (
            "subject_to_attestation", "passed", "quality", "excellent", "good", "one_fail",
            "pass_rate", "quality_rate", "numeric_final_marks", "numeric_final_sum",
        ), lambda r: (r["school_year"], r["org_id"], r["grade"], r["period"]))],
        "current_marks": _summed(parts, "current_marks", (
            "marks", "numeric", "numeric_sum", "weighted_sum", "weight_total", "deleted",
        ), lambda r: (r["org_id"], r["school_year"])),
        "additional_education": _summed(parts, "additional_education", (
            "enrolments", "children"), lambda r: (r["school_year"], r["direction"])),
        "cases": cases,
        "school_years": a["school_years"],
    }  # fmt: skip


def build(
    region: Region,
    figures: dict[str, Any],
    arguments: dict[str, Any],
    files: list[dict[str, object]],
    accounts_summary: dict[str, object],
    defects: list[dict[str, object]],
) -> dict[str, Any]:
    """The manifest: the region's territory and organizations from `region`, its students'
    figures from `figures` (see `sections` and `merge`)."""
    att = figures["attestation"]
    cases = {k: sorted(set(v)) for k, v in sorted(figures["cases"].items())}
    reorg = region.reorg
    closure = region.closure
    return {
        "format": FORMAT,
        "arguments": arguments,
        "school_years": figures["school_years"],
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
            "students_in_registry": figures["students_in_registry"],
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
        "enrolment": figures["enrolment"],
        "movements": figures["movements"],
        "exit_reasons": figures["exit_reasons"],
        "trajectory_classes": [{"class": c, "meaning": m} for c, m in TRAJECTORY_CLASSES],
        "trajectory_counts": figures["trajectory_counts"],
        "trajectories": figures["trajectories"],
        "transfer_outcomes": figures["transfer_outcomes"],
        "flows": figures["flows"],
        "cohorts": figures["cohorts"],
        "mobility": figures["mobility"],
        "lost_children": figures["lost_children"],
        "accounts": accounts_summary,
        "attestation": att,
        "current_marks": figures["current_marks"],
        "additional_education": figures["additional_education"],
        "cases": cases,
        "non_degeneracy": non_degeneracy(att, cases),
        "defect_kinds": [
            {"kind": k, "treatment": t, "reason": r, "meaning": m} for k, (t, r, m) in KINDS.items()
        ],
        "defects": defects,
        "files": files,
    }


def write(path: Path, manifest: dict[str, Any]) -> None:
    """The manifest as `json.dumps(manifest, ensure_ascii=False, indent=1)` would give it, written
    a value at a time; a value that is an iterator (not a list) is written an item at a time."""
    with path.open("w", encoding="utf-8") as f:
        f.write("{")
        first = True
        for key, value in manifest.items():
            f.write(("\n " if first else ",\n ") + json.dumps(key, ensure_ascii=False) + ": ")
            first = False
            if isinstance(value, Iterator):
                _write_items(f, value)
            else:
                f.write(_dumps(value, 1))
        f.write("\n}\n" if not first else "}\n")


def _dumps(value: Any, level: int) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1).replace("\n", "\n" + " " * level)


def _write_items(f: TextIO, items: Iterator[Any]) -> None:
    """A list at the manifest's second level, one item at a time."""
    first = True
    for item in items:
        f.write(("[\n  " if first else ",\n  ") + _dumps(item, 2))
        first = False
    f.write("[]" if first else "\n ]")
