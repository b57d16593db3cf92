"""Generating a sample region: the model, then one batch of files per extract day, then the
manifest (`_manifest.json` in the landing folder; the leading underscore marks it as not a feed
file)."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sample_region import accounts as acc
from sample_region import manifest as mf
from sample_region.calendar import DEFAULT_UNTIL
from sample_region.dirty import Injector
from sample_region.journal import Journal
from sample_region.model import Event, Params, Region, Student
from sample_region.writers import Landing, Style, choose_style

MANIFEST_NAME = "_manifest.json"
DEFAULT_SEED = 20250901
FEED_FILE = re.compile(r"^[a-z_]+_\d{8}(_\d{2})?\.(csv|xlsx|jsonl)$")

#: A small region for correctness tests: fast, yet with every special case (asserted in tests).
CORRECTNESS_PROFILE: dict[str, Any] = {
    "students": 1200,
    "years": 2,
    "seed": 7,
    "marks_per_year": 40,
    "until": DEFAULT_UNTIL,
}


def _arguments(**kw: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in kw.items()}


def _clear(out: Path) -> None:
    """Remove the files of an earlier generation (feed files and the manifest) from `out`."""
    if not out.exists():
        return
    for p in out.iterdir():
        if p.is_file() and (FEED_FILE.match(p.name) or p.name == MANIFEST_NAME):
            p.unlink()


def _org_refs(region: Region) -> list[acc.OrgRef]:
    return [acc.OrgRef(o.org_id, o.oktmo, o.size, o.kind) for o in region.orgs]


def generate_accounts(
    students: int, years: int, seed: int, out: Path, until: date | None = None
) -> dict[str, object]:
    """Only the accounts feed of a region (its organizations, no students): fast, for tests of
    the role table. Returns the accounts summary."""
    until = until or DEFAULT_UNTIL
    region = Region(Params(students, years, seed, until), simulate=False)
    out = Path(out)
    _clear(out)
    landing = Landing(out)
    accounts = acc.build_accounts(
        students, _org_refs(region), [m.oktmo for m in region.munis], seed,
        region.first_extract, region.last_extract,
    )  # fmt: skip
    for idx, lines in acc.account_records(accounts, region.extract_days, seed).items():
        landing.jsonl("accounts", region.extract_days[idx], lines)
    return acc.summary(accounts, region.last_extract)


def generate_region(
    students: int = 10_000,
    years: int = 2,
    seed: int = DEFAULT_SEED,
    out: Path = Path(".local/landing"),
    dirty: float = 0.0,
    marks_per_year: int = 300,
    until: date | None = None,
) -> Path:
    """Write a sample region's extract files into `out` and return the manifest's path."""
    if students < 300 or years < 1:
        raise ValueError("a sample region needs at least 300 students and one school year")
    until = until or DEFAULT_UNTIL
    out = Path(out)
    _clear(out)
    region = Region(Params(students, years, seed, until, dirty))
    journal = Journal(region, marks_per_year, seed)
    accounts = acc.build_accounts(
        students, _org_refs(region), [m.oktmo for m in region.munis], seed,
        region.first_extract, region.last_extract,
    )  # fmt: skip
    account_sends = acc.account_sends(accounts, region.extract_days, seed)
    injector = Injector(dirty, seed) if dirty > 0 else None
    landing = Landing(out, injector)
    _write_days(region, journal, account_sends, landing, seed)
    arguments = _arguments(
        students=students, years=years, seed=seed, dirty=dirty,
        marks_per_year=marks_per_year, until=until,
    )  # fmt: skip
    manifest = mf.build(
        region, journal, arguments, landing.files,
        acc.summary(accounts, region.last_extract),
        injector.defects if injector else [],
    )  # fmt: skip
    path = out / MANIFEST_NAME
    mf.write(path, manifest)
    return path


def generate_correctness_region(out: Path, dirty: float = 0.0) -> Path:
    """The small correctness region (see CORRECTNESS_PROFILE)."""
    return generate_region(out=out, dirty=dirty, **CORRECTNESS_PROFILE)


# -- one batch per extract day ------------------------------------------------------------------
def _org_rows(region: Region, d: date, style: Style) -> list[list[str]]:
    rows = []
    for o in region.orgs:
        status, closed = o.status_on(d)
        rows.append(
            [
                o.org_id,
                o.inn,
                o.kpp,
                o.ogrn,
                o.full_name,
                o.short_name,
                o.type_label,
                o.ownership,
                o.oktmo,
                o.muni.name,
                "городская" if o.urban else "сельская",
                o.parent_id,
                status,
                style.date(o.opened),
                style.date(closed),
            ]
        )
    return rows


def _student_line(st: Student, d: date, style: Style) -> str:
    return ";".join(
        (
            st.sid,
            st.snils,
            st.last,
            st.first,
            st.middle,
            style.date(st.birth),
            st.sex,
            st.citizenship,
            "да" if st.ovz else "нет",
            "да" if st.disabled else "нет",
            st.residence_on(d),
        )
    )


def _event_line(ev: Event, overrides: Mapping[str, object], style: Style) -> str:
    def get(name: str) -> Any:
        return overrides.get(name, getattr(ev, name))

    grade = get("grade")
    return ";".join(
        (ev.eid, ev.student.sid, ev.org, ev.type, style.date(ev.date), ev.program, ev.direction,
         ev.code, "" if grade is None else str(grade), get("cls"), ev.form, ev.reason, ev.dest,
         get("order_no"), style.date(ev.order_date), "да" if overrides.get("deleted") else "нет")
    )  # fmt: skip


def _write_days(
    region: Region,
    journal: Journal,
    account_sends: dict[int, list[tuple[acc.Account, datetime | None]]],
    landing: Landing,
    seed: int,
) -> None:
    rng = random.Random(f"{seed}:styles")
    days = region.extract_days
    snapshots = set(region.snapshot_idx)
    by_idx: dict[int, list[Event]] = {}  # the events sent on each extract day
    for st in region.students:
        for ev in st.events:
            for i, _ in ev.versions:
                by_idx.setdefault(i, []).append(ev)
    registry = sorted(region.students, key=lambda s: (s.registry, s.idx))
    known = 0
    cache: dict[int, tuple[bool, str, str]] = {}
    injector = landing.injector

    def style(quote_all: bool = False) -> Style:
        s = choose_style(rng, quote_all)
        return injector.adjust_style(s) if injector else s

    for idx, d in enumerate(days):
        if idx in snapshots:
            s = style(True)
            rows = _org_rows(region, d, s)
            if idx > 0 and rng.random() < 0.25:
                landing.xlsx("organizations", d, rows)
            else:
                landing.csv("organizations", d, [s.join(r) for r in rows], s)
            while known < len(registry) and registry[known].registry <= idx:
                known += 1
            s = style()
            out = landing.csv_batch("students", d, s)
            for st in registry[:known]:
                res = st.residence_on(d)
                hit = cache.get(st.idx)
                if hit is None or hit[0] != s.iso_dates or hit[1] != res:
                    hit = (s.iso_dates, res, _student_line(st, d, s))
                    cache[st.idx] = hit
                out.add(hit[2])
            out.close()
        batch = by_idx.pop(idx, [])
        if batch:
            batch.sort(key=lambda ev: (ev.date, ev.student.idx, ev.eid))
            s = style()
            out = landing.csv_batch("movements", d, s)
            for ev in batch:
                overrides = next(o for i, o in ev.versions if i == idx)
                out.add(_event_line(ev, overrides, s), ev.defect if not overrides else "")
            out.close()
        s = style()
        out = landing.csv_batch("marks", d, s, always=False)
        for lines in journal.marks(idx, d, s.date, s.seconds):
            out.extend(lines)
        out.close()
        s = style(True)
        out = landing.csv_batch("final_marks", d, s, always=False)
        for lines in journal.final_marks(idx, d, s.date):
            out.extend([s.join(line.split(";")) for line in lines] if s.quote_all else lines)
        out.close()
        sends = account_sends.pop(idx, None)
        if sends:
            landing.jsonl("accounts", d, (acc.account_line(a, d, login) for a, login in sends))
