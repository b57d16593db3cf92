"""A region simulated in parts: groups of schools one at a time, their lines spooled to disk
and each day's files written from all parts. The files are one region's: IDs unique across
parts, every event's student in the registry, students of several parts in the same files, and
the merged figures those of the parts' students."""

from __future__ import annotations

from collections import Counter

import pytest
from region_reader import PARTED, feed_files, records

from sample_region.model import Params, Region
from sample_region.writers import Spool


def test_the_parts_share_out_the_schools():
    base = Region(Params(PARTED["students"], PARTED["years"], PARTED["seed"], PARTED["until"]),
                  simulate=False)  # fmt: skip
    shards = base.shards(PARTED["part_students"])
    assert len(shards) >= 3
    schools = [o.org_id for o in base.orgs if o.kind == "school"]
    assert sorted(i for s in shards for i in s.schools) == sorted(schools)  # each in one part
    muni_of = {o.org_id: o.muni.code for o in base.orgs}
    parts_of_muni = Counter(m for s in shards for m in {muni_of[i] for i in s.schools})
    assert max(parts_of_muni.values()) > 1  # a municipality larger than a part is split
    assert base.shards(10_000) == [None]


def test_ids_are_unique_across_parts_and_every_event_has_its_student(parted):
    folder, manifest = parted
    last = feed_files(folder, "students")[-1]
    sids = [r["id обучающегося"] for r in records(last.path)]
    assert len(sids) == len(set(sids)) == manifest["counts"]["students_in_registry"]
    events: dict[str, str] = {}
    for f in feed_files(folder, "movements"):
        for r in records(f.path):
            assert events.setdefault(r["id события"], r["id обучающегося"]) == r["id обучающегося"]
    assert set(events.values()) <= set(sids)
    # a mark is sent again when it changes: an ID never belongs to two students' marks
    owners: dict[str, str] = {}
    for f in feed_files(folder, "marks"):
        for r in records(f.path):
            assert owners.setdefault(r["id отметки"], r["id обучающегося"]) == r["id обучающегося"]
    assert len(owners) > 10_000


def test_every_part_reaches_the_files_and_the_special_cases_hold(parted):
    folder, manifest = parted
    # students of every municipality's schools are enrolled on the first count date
    first_year = manifest["school_years"][0]
    muni_of = {o["org_id"]: o["municipality"] for o in manifest["organizations"]}
    by_muni = Counter(
        muni_of[r["org_id"]] for r in manifest["enrolment"] if r["school_year"] == first_year
    )
    assert set(by_muni) == {m["code"] for m in manifest["municipalities"]}
    nd = manifest["non_degeneracy"]
    for key in ("repeater", "transfer_to_other_municipality", "to_family_education", "lost"):
        assert nd[key], key
    assert manifest["reorganization"] and manifest["closure"]
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # the spool is removed


def test_the_spool_gives_back_each_days_lines_in_order_in_chunks(tmp_path):
    spool = Spool(tmp_path, "part-0")
    lines = [f"{i};" + "ё" * (i % 7) for i in range(20_000)]
    spool.write("marks", 0, lines[:7_000])
    spool.write("marks", 0, lines[7_000:])  # the same day again: one span
    spool.write("marks", 2, ["last"])
    for chunk in (1, 100, 1 << 22):
        got = [line for part in spool.read("marks", 0, chunk) for line in part]
        assert got == lines, chunk
    assert [line for part in spool.read("marks", 2, 1) for line in part] == ["last"]
    assert list(spool.read("marks", 1)) == [] and list(spool.read("students", 0)) == []
    with pytest.raises(ValueError, match="after a later day"):
        spool.write("marks", 0, ["late"])
    spool.close()
