"""Files refused whole, versions, tombstones, XLSX and JSON Lines, the CLI's exit codes."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from ingestion_files import (
    MARK_HEADER,
    ORG_HEADER,
    STUDENT_HEADER,
    account_record,
    mark_row,
    org_row,
    quarantined,
    write,
)

ROOT = Path(__file__).resolve().parents[2]


def test_refused_files_move_to_failed_and_the_others_load(landing, load, q):
    (landing / "marks_20250902.csv").write_bytes(b"")
    header = [h for h in MARK_HEADER if h != "Дата урока"]
    write(landing, "marks_20250903.csv", header, [mark_row("M1")[:5] + mark_row("M1")[6:]])
    write(landing, "grades_20250904.csv", MARK_HEADER, [mark_row("M2")])
    write(landing, "marks_20250905.csv", MARK_HEADER, [mark_row("M3")])
    res = load(landing)
    assert res["marks_20250902.csv"].reason == "empty_file"
    assert res["marks_20250903.csv"].reason == "missing_column"
    assert "«Дата урока»" in res["marks_20250903.csv"].message
    assert "line 1" in res["marks_20250903.csv"].message
    assert res["grades_20250904.csv"].reason == "unknown_feed"
    assert res["marks_20250905.csv"].status == "loaded"
    failed = sorted(p.name for p in (landing / "failed").iterdir())
    assert failed == [
        "grades_20250904.csv",
        "grades_20250904.csv.error.txt",
        "marks_20250902.csv",
        "marks_20250902.csv.error.txt",
        "marks_20250903.csv",
        "marks_20250903.csv.error.txt",
    ]
    assert q("select mark_id from raw.marks") == [("M3",)]
    assert q("select file_name, status, error_reason from raw.load_log order by load_id") == [
        ("marks_20250902.csv", "failed", "empty_file"),
        ("marks_20250903.csv", "failed", "missing_column"),
        ("grades_20250904.csv", "failed", "unknown_feed"),
        ("marks_20250905.csv", "loaded", None),
    ]


def test_undecodable_file_is_refused(landing, load):
    (landing / "marks_20250902.csv").write_bytes(b"\x00\x01\x02binary")
    res = load(landing)["marks_20250902.csv"]
    assert res.status == "failed" and res.reason == "undecodable"


def test_snapshot_with_header_only_is_refused(landing, load, q):
    write(landing, "students_20250901.csv", STUDENT_HEADER, [])
    write(landing, "marks_20250902.csv", MARK_HEADER, [])  # a delta may be empty
    res = load(landing)
    assert res["students_20250901.csv"].reason == "empty_file"
    assert res["marks_20250902.csv"].status == "loaded"


def test_extra_column_is_ignored_with_one_warning(landing, load, q):
    header = [*MARK_HEADER, "Комментарий"]
    write(landing, "marks_20250902.csv", header, [[*mark_row("M1"), "x"], [*mark_row("M2"), ""]])
    res = load(landing)["marks_20250902.csv"]
    assert res.rows_loaded == 2
    assert res.warnings == ["extra columns ignored: «Комментарий»"]


def test_resent_file_with_new_content_is_a_new_version_and_newest_wins(landing, load, q):
    write(landing, "marks_20250902.csv", MARK_HEADER, [mark_row("M1", mark="3"), mark_row("M2")])
    load(landing)
    corrected = mark_row("M1", mark="4")
    tomb = mark_row("M2")
    tomb[-1] = "да"
    write(landing, "marks_20250902.csv", MARK_HEADER, [corrected, tomb])
    res = load(landing)["marks_20250902.csv"]
    assert res.status == "loaded"
    assert q("select count(*) from raw.marks") == [(4,)]
    # "newest version wins" as staging reads it: order by extract date, then load
    current = q(
        "select distinct on (mark_id) mark_id, mark_value, is_deleted from raw.marks "
        "order by mark_id, extract_date desc, load_id desc, line_number desc"
    )
    assert current == [("M1", "4", False), ("M2", "5", True)]


def test_organizations_from_xlsx(landing, load, q):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([h.upper() for h in ORG_HEADER])
    row = org_row("ORG1")
    row[1] = int(row[1])  # INN typed as a number
    row[13] = dt.datetime(1990, 9, 1)
    sheet.append(row)
    bad = org_row("ORG2")
    bad[6] = "Школа-интернат"  # not in the code list
    sheet.append(bad)
    book.save(landing / "organizations_20250901.xlsx")
    res = load(landing)["organizations_20250901.xlsx"]
    assert (res.rows_loaded, res.rows_rejected) == (1, 1)
    assert q("select organization_id, inn, opened_on from raw.organizations") == [
        ("ORG1", "7707083893", dt.date(1990, 9, 1))
    ]
    assert quarantined(q) == [(3, ["invalid_code"])]


def test_accounts_from_json_lines(landing, load, q):
    good = account_record("A1")
    second = dict(good, account_id="A2", role="Классный руководитель", org_id=None)
    bad_role = dict(good, account_id="A3", role="Завхоз")
    lines = [json.dumps(good, ensure_ascii=False), json.dumps(second, ensure_ascii=False),
             "{not json", json.dumps(bad_role, ensure_ascii=False)]  # fmt: skip
    (landing / "accounts_20250910.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = load(landing)["accounts_20250910.jsonl"]
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (4, 2, 2)
    assert quarantined(q, "pii") == [(3, ["invalid_json"]), (4, ["invalid_code"])]
    persons = q("select count(distinct person_key), count(*) from raw.accounts")
    assert persons == [(1, 2)]
    assert q("select account_id, esia_oid from pii.accounts order by 1") == [
        ("A1", "1000001"),
        ("A2", "1000001"),
    ]
    cols = {r[0] for r in q("select column_name from information_schema.columns "
                             "where table_schema = 'raw' and table_name = 'accounts'")}  # fmt: skip
    assert "esia_oid" not in cols and "account_id" not in cols


def _cli(args, env, cwd):
    return subprocess.run(
        [sys.executable, "-m", "kontingent.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_exit_codes_and_json(landing, wh, tmp_path):
    import os

    env = dict(os.environ, WAREHOUSE_URL=wh.url, KONTINGENT_PII_RETENTION_DAYS="100000")
    write(landing, "marks_20250902.csv", MARK_HEADER, [mark_row("M1"), mark_row("M2", mark="9")])
    ok = _cli(["load", str(landing), "--json"], env, ROOT)
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out[0]["rows_loaded"] == 1 and out[0]["rows_rejected"] == 1
    (landing / "movements_20250903.csv").write_text("", encoding="utf-8")
    bad = _cli(["load", str(landing)], env, ROOT)
    assert bad.returncode == 1
    assert "movements_20250903.csv" in bad.stdout + bad.stderr
    no_key = dict(
        env, KONTINGENT_PSEUDONYM_KEY="", KONTINGENT_PSEUDONYM_KEY_FILE=str(tmp_path / "none")
    )
    res = _cli(["load", str(landing)], no_key, ROOT)
    assert res.returncode == 4 and "pseudonymization key" in res.stderr


def test_missing_key_stops_before_anything_loads(landing, wh, monkeypatch, tmp_path):
    from ingestion.loader import load_landing
    from ingestion.pseudonym import PseudonymKeyMissing

    monkeypatch.delenv("KONTINGENT_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("KONTINGENT_PSEUDONYM_KEY_FILE", str(tmp_path / "absent.key"))
    write(landing, "marks_20250902.csv", MARK_HEADER, [mark_row("M1")])
    with pytest.raises(PseudonymKeyMissing, match="KONTINGENT_PSEUDONYM_KEY"):
        load_landing(landing, url=wh.url)
