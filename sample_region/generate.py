"""Generating a sample region: the model, then one batch of files per extract day, then the
manifest (`_manifest.json` in the landing folder; the leading underscore marks it as not a feed
file)."""

from __future__ import annotations

import random
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sample_region import accounts as acc
from sample_region import manifest as mf
from sample_region.calendar import DEFAULT_UNTIL
from sample_region.dirty import Injector
from sample_region.journal import Journal
from sample_region.model import Event, Params, Region, Student
from sample_region.writers import Landing, Spool, Style, choose_style

MANIFEST_NAME = "_manifest.json"
PARTS_PREFIX = ".parts-"  # the folder of a generation's spooled lines, removed at its end
#: Students of a region simulated at once; a larger region is simulated in parts.
PART_STUDENTS = 12_000
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
        elif p.is_dir() and p.name.startswith(PARTS_PREFIX):  # left by an interrupted run
            shutil.rmtree(p)


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
    part_students: int = PART_STUDENTS,
) -> Path:
    """Write a sample region's extract files into `out` and return the manifest's path.

    A region of more than `part_students` students is simulated in parts, groups of schools
    one at a time (see `Region.shards`), so that memory stays within one part's size; the
    parts' lines wait on disk and each day's files are written from all of them."""
    if students < 300 or years < 1:
        raise ValueError("a sample region needs at least 300 students and one school year")
    until = until or DEFAULT_UNTIL
    out = Path(out)
    _clear(out)
    params = Params(students, years, seed, until, dirty)
    base = Region(params, simulate=False)
    injector = Injector(dirty, seed) if dirty > 0 else None
    landing = Landing(out, injector)
    plan = _plan_styles(base, injector, seed)
    shards = base.shards(part_students)
    with tempfile.TemporaryDirectory(prefix=PARTS_PREFIX, dir=out) as tmp:
        spools: list[Spool] = []
        figures: dict[str, Any] | None = None
        try:
            for shard in shards:
                spool = Spool(Path(tmp), f"part-{len(spools)}")
                spools.append(spool)
                region = base if shard is None else Region(params, shard=shard)
                if shard is None:
                    region.build()
                journal = Journal(region, marks_per_year, seed)
                _spool_days(region, journal, plan, spool)
                part = mf.sections(region, journal, spool)
                spool.close()
                figures = part if figures is None else mf.combine(figures, part)
                del region, journal, part
            assert figures is not None  # a region has at least one part
            accounts = acc.build_accounts(
                students, _org_refs(base), [m.oktmo for m in base.munis], seed,
                base.first_extract, base.last_extract,
            )  # fmt: skip
            account_sends = acc.account_sends(accounts, base.extract_days, seed)
            _write_days(base, plan, spools, accounts, account_sends, landing)
            arguments = _arguments(
                students=students, years=years, seed=seed, dirty=dirty,
                marks_per_year=marks_per_year, until=until,
            )  # fmt: skip
            manifest = mf.build(
                base, mf.trajectories_of(figures, spools), arguments, landing.files,
                acc.summary(accounts, base.last_extract),
                injector.defects if injector else [],
            )  # fmt: skip
            path = out / MANIFEST_NAME
            mf.write(path, manifest)
        finally:
            for spool in spools:
                spool.close()
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


@dataclass(frozen=True)
class DayStyles:
    """How each feed's file of one extract day is written (None: no such file that day)."""

    organizations: Style | None
    organizations_xlsx: bool
    students: Style | None
    movements: Style
    marks: Style
    final_marks: Style


def _plan_styles(region: Region, injector: Injector | None, seed: int) -> list[DayStyles]:
    """The styles of every extract day's files, drawn before any line is made, so that every
    part of a region renders its lines for the same files."""
    rng = random.Random(f"{seed}:styles")
    snapshots = set(region.snapshot_idx)

    def style(quote_all: bool = False) -> Style:
        s = choose_style(rng, quote_all)
        return injector.adjust_style(s) if injector else s

    plan = []
    for idx in range(len(region.extract_days)):
        orgs, xlsx, students = None, False, None
        if idx in snapshots:
            orgs = style(True)
            xlsx = idx > 0 and rng.random() < 0.25
            students = style()
        plan.append(DayStyles(orgs, xlsx, students, style(), style(), style(True)))
    return plan


def _spool_days(region: Region, journal: Journal, plan: list[DayStyles], spool: Spool) -> None:
    """Lines of every day's students snapshot, movements (each with its defect tag: `tag<TAB>`),
    marks and final marks of the students `region` simulates, into `spool`."""
    by_idx: dict[int, list[Event]] = {}  # the events sent on each extract day
    for st in region.students:
        for ev in st.events:
            for i, _ in ev.versions:
                by_idx.setdefault(i, []).append(ev)
    registry = sorted(region.students, key=lambda s: (s.registry, s.idx))
    known = 0
    cache: dict[int, tuple[bool, str, str]] = {}
    for idx, d in enumerate(region.extract_days):
        day = plan[idx]
        s = day.students
        if s is not None:
            while known < len(registry) and registry[known].registry <= idx:
                known += 1
            lines = []
            for st in registry[:known]:
                res = st.residence_on(d)
                hit = cache.get(st.idx)
                if hit is None or hit[0] != s.iso_dates or hit[1] != res:
                    hit = (s.iso_dates, res, _student_line(st, d, s))
                    cache[st.idx] = hit
                lines.append(hit[2])
            spool.write("students", idx, lines)
        batch = by_idx.pop(idx, [])
        if batch:
            batch.sort(key=lambda ev: (ev.date, ev.student.idx, ev.eid))
            s = day.movements
            lines = []
            for ev in batch:
                overrides = next(o for i, o in ev.versions if i == idx)
                tag = ev.defect if not overrides else ""
                lines.append(f"{tag}\t{_event_line(ev, overrides, s)}")
            spool.write("movements", idx, lines)
        s = day.marks
        for lines in journal.marks(idx, d, s.date, s.seconds):
            spool.write("marks", idx, lines)
        s = day.final_marks
        for lines in journal.final_marks(idx, d, s.date):
            spool.write(
                "final_marks", idx,
                [s.join(line.split(";")) for line in lines] if s.quote_all else lines,
            )  # fmt: skip


def _write_days(
    region: Region,
    plan: list[DayStyles],
    spools: list[Spool],
    accounts: acc.Accounts,
    account_sends: acc.Sends,
    landing: Landing,
) -> None:
    """Each extract day's files, from the organizations of `region`, the lines every part left
    in its spool and the accounts' records."""
    for idx, d in enumerate(region.extract_days):
        day = plan[idx]
        if day.organizations is not None:
            s = day.organizations
            rows = _org_rows(region, d, s)
            if day.organizations_xlsx:
                landing.xlsx("organizations", d, rows)
            else:
                landing.csv("organizations", d, [s.join(r) for r in rows], s)
        if day.students is not None:
            out = landing.csv_batch("students", d, day.students)
            for spool in spools:
                for lines in spool.read("students", idx):
                    out.extend(lines)
            out.close()
        out = landing.csv_batch("movements", d, day.movements, always=False)
        for spool in spools:
            for lines in spool.read("movements", idx):
                for tagged in lines:
                    tag, line = tagged.split("\t", 1)
                    out.add(line, tag)
        out.close()
        for feed in ("marks", "final_marks"):
            out = landing.csv_batch(feed, d, getattr(day, feed), always=False)
            for spool in spools:
                for lines in spool.read(feed, idx):
                    out.extend(lines)
            out.close()
        if account_sends.accounts[idx]:
            landing.jsonl("accounts", d, acc.account_lines(accounts, account_sends, idx, d))
