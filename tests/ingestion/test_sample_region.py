"""The sample-region generator's dirty output through the loader: every row accounted for, the
rejected rows exactly the injected defects whose treatment is "reject", flagged and orphan rows
loaded and flagged, refused and duplicate files handled as the manifest says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

sample_region = pytest.importorskip("sample_region")


@pytest.fixture(params=[None, 100], ids=["whole", "in-parts"])
def dirty_region(tmp_path: Path, request):
    """A small dirty region, simulated whole and in parts of about 100 students."""
    out = tmp_path / "landing"
    parts = {"part_students": request.param} if request.param else {}
    manifest = sample_region.generate_region(
        students=300, years=1, seed=7, out=out, dirty=0.05, marks_per_year=30, **parts
    )
    return out, json.loads(Path(manifest).read_text(encoding="utf-8"))


def test_dirty_region_loads_as_the_manifest_says(dirty_region, load, q):
    landing, manifest = dirty_region
    results = load(landing)
    defects = manifest["defects"]
    for r in results.values():
        if r.status == "loaded":
            assert r.rows_read == r.rows_loaded + r.rows_rejected, r.file
    # files refused whole, and the re-sent copy skipped
    refused = {d["file"] for d in defects if d["treatment"] == "refuse_file"}
    assert refused and {f for f, r in results.items() if r.status == "failed"} == refused
    dup = {d["file"] for d in defects if d["treatment"] == "skip_duplicate_file"}
    # besides the injected copy, a snapshot with the same bytes as an earlier one (organizations
    # unchanged, written in the same style) is skipped too: it brings nothing new
    seen: set[str] = set()
    same = set()
    for f in sorted(manifest["files"], key=lambda f: (f["extract_date"], f["name"])):
        if f["sha256"] in seen and f["name"] not in dup:
            same.add(f["name"])
        seen.add(f["sha256"])
    assert dup and {f for f, r in results.items() if r.status == "skipped"} == dup | same
    # rejected rows: exactly the injected defects to reject, with their reason
    expected = {(d["file"], d["line"]): d["reason"] for d in defects if d["treatment"] == "reject"}
    got: dict[tuple[str, int], list[str]] = {}
    for schema in ("raw", "pii"):
        for file, line, reasons in q(
            f"select file_name, line_number, reasons from {schema}.quarantine"
        ):
            got[(file, line)] = reasons
    assert set(got) == set(expected)
    for key, reason in expected.items():
        assert reason in got[key], (key, got[key])
    # flagged rows are loaded and flagged
    tables = {
        "organizations": "raw.organizations",
        "students": "raw.students",
        "movements": "raw.movements",
    }
    for d in (d for d in defects if d["treatment"] == "flag"):
        rows = q(
            f"select t.flags from {tables[d['feed']]} as t join raw.load_log as l "
            "using (load_id) where l.file_name = %s and t.line_number = %s",
            (d["file"], d["line"]),
        )
        assert len(rows) == 1 and rows[0][0], d
        assert any(f.endswith(":" + d["reason"]) for f in rows[0][0]), (d, rows)
    # orphans are loaded and flagged (and resolved once the registry record arrives)
    for d in (d for d in defects if d["treatment"] == "orphan"):
        rows = q(
            "select o.entity from raw.orphans as o join raw.load_log as l using (load_id) "
            "where l.file_name = %s and o.line_number = %s",
            (d["file"], d["line"]),
        )
        assert ("student",) in rows, d
