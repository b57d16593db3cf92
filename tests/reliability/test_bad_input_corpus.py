"""Every broken file of the corpus either loads its good rows and quarantines the rest with the
expected reasons, or is refused whole with a clear message; in both cases nothing is lost: each
non-blank line of the file is a loaded row or a quarantined line, kept whole, or the file is
kept whole in `failed/`."""

from __future__ import annotations

import re

import psycopg
import pytest
from corpus_cases import Case, cases
from psycopg import sql

CASES = cases()
PARAMS = [
    pytest.param(
        c,
        id=c.name,
        marks=[pytest.mark.xfail(strict=True, reason=c.expect["known_defect"])]
        if c.expect.get("known_defect")
        else [],
    )
    for c in CASES
]
FEEDS = ("organizations", "students", "movements", "marks", "final_marks", "accounts")
PII_FEEDS = ("students", "accounts")


def _quarantine_table(feed: str) -> str:
    return "pii.quarantine" if feed in PII_FEEDS else "raw.quarantine"


def _decoded_lines(data: bytes, encoding: str) -> list[str]:
    text = data.decode(encoding).replace("\r\n", "\n")
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    return lines


def _rows_left_anywhere(conn: psycopg.Connection) -> dict[str, int]:
    """Row counts of every table of `raw` and `pii` but the load log (the non-empty ones)."""
    tables = conn.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('raw', 'pii') and table_type = 'BASE TABLE' "
        "and table_name <> 'load_log' order by 1, 2"
    ).fetchall()
    counts = {}
    for schema, table in tables:
        n = conn.execute(
            sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))
        ).fetchone()[0]
        if n:
            counts[f"{schema}.{table}"] = n
    return counts


def _check_refused(case: Case, result, landing, data: bytes, url: str, before: dict) -> None:
    exp = case.expect
    assert result.status == "failed", result.message
    assert result.reason == exp["reason"], result.message
    assert exp["message"] in result.message
    assert exp["as"] in result.message  # the message names the file
    kept = landing / "failed" / exp["as"]
    assert kept.read_bytes() == data, "the refused file must be kept whole"
    assert exp["message"] in (landing / "failed" / (exp["as"] + ".error.txt")).read_text()
    assert not (landing / exp["as"]).exists()
    with psycopg.connect(url) as conn:
        assert _rows_left_anywhere(conn) == before
        log = conn.execute("select status, error_reason, file_name from raw.load_log").fetchall()
    assert log == [("failed", exp["reason"], exp["as"])]


def _check_loaded(case: Case, result, data: bytes, url: str) -> None:
    exp = case.expect
    feed = case.feed
    quarantined = {int(k): sorted(v) for k, v in (exp.get("quarantined") or {}).items()}
    flags = {int(k): sorted(v) for k, v in (exp.get("flags") or {}).items()}
    assert result.status == "loaded", result.message
    got = (result.rows_read, result.rows_loaded, result.rows_rejected, result.rows_flagged)
    want = (exp["rows_read"], exp["rows_loaded"], len(quarantined), len(flags))
    assert got == want, "read, loaded, rejected, flagged"
    assert result.rows_read == result.rows_loaded + result.rows_rejected
    assert result.blank_lines == exp.get("blank_lines", 0)
    assert result.rows_orphan == exp.get("orphans", 0)
    if "encoding" in exp:
        assert result.encoding == exp["encoding"]
    for fragment in exp.get("warnings", []):
        assert any(fragment in w for w in result.warnings), (fragment, result.warnings)
    raw = sql.Identifier("raw", feed)
    qtable = sql.Identifier(*_quarantine_table(feed).split("."))
    lid = result.load_id
    with psycopg.connect(url) as conn:
        loaded = conn.execute(
            sql.SQL("select line_number, flags from {} where load_id = %s").format(raw), (lid,)
        ).fetchall()
        q_rows = conn.execute(
            sql.SQL(
                "select line_number, reasons, original_line, file_name from {} where load_id = %s"
            ).format(qtable),
            (lid,),
        ).fetchall()
        log = conn.execute(
            "select status, rows_read, rows_loaded, rows_rejected from raw.load_log "
            "where load_id = %s",
            (lid,),
        ).fetchone()
        if feed in PII_FEEDS:
            pii_rows = conn.execute(
                sql.SQL("select count(*) from {} where load_id = %s").format(
                    sql.Identifier("pii", feed)
                ),
                (lid,),
            ).fetchone()[0]
            assert pii_rows == exp["rows_loaded"]
        for line, columns in (exp.get("values") or {}).items():
            for column, value in columns.items():
                row = conn.execute(
                    sql.SQL(
                        "select {}::text from {} where load_id = %s and line_number = %s"
                    ).format(sql.Identifier(column), raw),
                    (lid, int(line)),
                ).fetchall()
                assert row == [(None if value is None else str(value),)], (line, column)
        for line, columns in (exp.get("value_lengths") or {}).items():
            for column, length in columns.items():
                row = conn.execute(
                    sql.SQL(
                        "select length({}) from {} where load_id = %s and line_number = %s"
                    ).format(sql.Identifier(column), raw),
                    (lid, int(line)),
                ).fetchall()
                assert row == [(length,)], (line, column)
    assert log == ("loaded", exp["rows_read"], exp["rows_loaded"], len(quarantined))
    loaded_lines = {ln for ln, _f in loaded}
    assert len(loaded_lines) == len(loaded) == exp["rows_loaded"]
    assert {ln: sorted(reasons) for ln, reasons, _o, _n in q_rows} == quarantined
    assert len(q_rows) == len(quarantined)
    assert {ln: sorted(f) for ln, f in loaded if f} == flags
    assert not loaded_lines & set(quarantined)
    assert all(name == exp["as"] for *_x, name in q_rows)
    if result.encoding == "xlsx":
        return
    # nothing lost: every non-blank line of the file is a loaded row or a quarantined line,
    # and a quarantined line is kept whole
    lines = _decoded_lines(data, result.encoding)
    text = "\n".join(lines)
    for _ln, _reasons, original, _name in q_rows:
        assert original and original in text, "a quarantined line must be kept whole"
    if not exp.get("multiline_records"):
        first = 1 if exp["as"].endswith(".jsonl") else 2
        blank = re.compile(r"^[\s;]*$")
        non_blank = {n for n, line in enumerate(lines[first - 1 :], first) if not blank.match(line)}
        assert loaded_lines | set(quarantined) == non_blank


@pytest.mark.parametrize("case", PARAMS)
def test_broken_file_loads_its_good_rows_or_is_refused_whole(
    case, emptied_warehouse, tmp_path, tally
):
    from ingestion.loader import load_landing

    url = emptied_warehouse
    exp = case.expect
    if exp.get("known_defect"):
        tally.add("bad-input corpus: known defects (xfail)", case.feed, f"{case.name}")
    landing = tmp_path / "landing"
    landing.mkdir()
    data = case.data()
    (landing / exp["as"]).write_bytes(data)
    with psycopg.connect(url) as conn:
        before = _rows_left_anywhere(conn)
    results = load_landing(landing, url=url)
    assert [r.file for r in results] == [exp["as"]]
    if case.outcome == "refused":
        _check_refused(case, results[0], landing, data, url, before)
    else:
        _check_loaded(case, results[0], data, url)
    if exp.get("also_as"):
        (landing / exp["also_as"]).write_bytes(data)
        again = {r.file: r for r in load_landing(landing, url=url)}
        assert again[exp["as"]].status == "skipped"
        assert again[exp["also_as"]].status == "skipped"
        assert "already loaded" in again[exp["also_as"]].message
        with psycopg.connect(url) as conn:
            n = conn.execute(
                sql.SQL("select count(*) from {}").format(sql.Identifier("raw", case.feed))
            ).fetchone()[0]
        assert n == exp["rows_loaded"]
    level = "row-level" if case.row_level else "file-level"
    tally.add("bad-input corpus: files", f"{case.outcome}, {level}")
    for reasons in (exp.get("quarantined") or {}).values():
        for reason in reasons:
            tally.add("bad-input corpus: lines quarantined, by reason", reason)
    for found in (exp.get("flags") or {}).values():
        for flag in found:
            tally.add("bad-input corpus: values flagged, by reason", flag.split(":")[1])


def test_the_corpus_covers_every_feed_and_kind_of_damage():
    """At least 40 files, 30 of them row-level, every feed, every reason code of the contract
    and each kind of refusal."""
    assert len(CASES) >= 40
    assert sum(c.row_level for c in CASES) >= 30
    assert {c.feed for c in CASES} >= set(FEEDS)
    quarantined = {
        r for c in CASES for rs in (c.expect.get("quarantined") or {}).values() for r in rs
    }
    flagged = {
        f.split(":")[1] for c in CASES for fs in (c.expect.get("flags") or {}).values() for f in fs
    }
    from ingestion.checks import REASONS

    assert quarantined | flagged == set(REASONS)
    assert {"invalid_checksum", "invalid_format", "invalid_code", "invalid_number",
            "invalid_date"} <= flagged  # fmt: skip
    refusals = {c.expect["reason"] for c in CASES if c.outcome == "refused"}
    assert refusals == {"undecodable", "empty_file", "missing_column", "unknown_feed",
                        "bad_file_name"}  # fmt: skip
    formats = {c.expect["as"].rsplit(".", 1)[1] for c in CASES}
    assert {"csv", "xlsx", "jsonl"} <= formats
    for c in CASES:
        assert c.expect.get("about"), c.name
