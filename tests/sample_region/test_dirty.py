"""`--dirty` injects every documented problem at least once, and records where, in a region
simulated whole and in one simulated in parts."""

from __future__ import annotations

import csv

from region_reader import decode

from sample_region.dirty import KINDS


def test_every_problem_is_injected_and_recorded(dirty_region):
    _folder, manifest = dirty_region
    kinds = {d["kind"] for d in manifest["defects"]}
    assert kinds == set(KINDS)
    reasons = {d["reason"] for d in manifest["defects"] if d["reason"]}
    assert reasons == {"invalid_date", "duplicate_key", "invalid_code", "truncated",
                       "invalid_checksum"}  # fmt: skip
    treatments = {d["treatment"] for d in manifest["defects"]}
    assert treatments == {"accept", "reject", "flag", "orphan", "skip_duplicate_file",
                          "refuse_file"}  # fmt: skip


def test_recorded_lines_show_their_problem(dirty_region):
    folder, manifest = dirty_region
    lines_of: dict[str, list[str]] = {}
    for d in manifest["defects"]:
        name = d["file"]
        if d["line"] is None or name.endswith(".xlsx"):
            continue
        if name not in lines_of:
            text, _ = decode((folder / name).read_bytes())
            lines_of[name] = text.replace("\r\n", "\n").split("\n")
        line = lines_of[name][d["line"] - 1]
        fields = next(csv.reader([line], delimiter=";"))
        kind = d["kind"]
        if kind == "header_capitals":
            assert line == line.upper() and d["line"] == 1
        elif kind == "trailing_empty_column":
            assert line.endswith(";")
        elif kind == "mark_out_of_scale":
            assert "6" in fields
        elif kind == "impossible_date_required" or kind == "impossible_date_optional":
            assert "31.02." in line or "-02-31" in line
        elif kind == "unknown_event_type":
            assert "Перемещение" in fields
        elif kind == "truncated":
            assert d["line"] == len(lines_of[name]) and line.count(";") < 5
        elif kind == "duplicate_key" and name.endswith(".csv"):
            assert line in lines_of[name][1 : d["line"] - 1]
    empty = next(d for d in manifest["defects"] if d["kind"] == "empty_file")
    assert (folder / empty["file"]).read_bytes() == b""
    dup = next(d for d in manifest["defects"] if d["kind"] == "duplicate_file")
    original = dup["file"].replace("_98.csv", ".csv")
    assert (folder / dup["file"]).read_bytes() == (folder / original).read_bytes()
