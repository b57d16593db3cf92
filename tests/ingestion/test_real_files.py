"""One test per item of the feed contract's "What real files do": each asserts exactly which
rows loaded and which went to quarantine with which reason."""

from __future__ import annotations

from ingestion_files import (
    MARK_HEADER,
    MOVEMENT_HEADER,
    ORG_HEADER,
    STUDENT_HEADER,
    mark_row,
    movement_row,
    org_row,
    quarantined,
    student_row,
    write,
)


def _students(q):
    return q(
        "select line_number, student_key, birth_year, sex from raw.students order by line_number"
    )


def test_cp1251_and_utf8_bom_load_identically(landing, load, q, wh):
    rows = [student_row("S1", "Ёлкин"), student_row("S2", "Щукина")]
    write(landing, "students_20250901.csv", STUDENT_HEADER, rows, encoding="cp1251")
    write(landing, "students_20250908.csv", STUDENT_HEADER, rows, encoding="utf-8-sig")
    res = load(landing)
    assert res["students_20250901.csv"].encoding == "cp1251"
    assert res["students_20250908.csv"].encoding == "utf-8-sig"
    assert all(r.status == "loaded" and r.rows_loaded == 2 for r in res.values())
    by_date = q(
        "select extract_date, array_agg((student_key, surname, first_name, birth_date, snils) "
        "order by line_number)::text from pii.students group by 1 order by 1"
    )
    assert len(by_date) == 2 and by_date[0][1] == by_date[1][1]
    assert "Ёлкин" in by_date[0][1]
    raw = q(
        "select extract_date, array_agg((student_key, sex, birth_year, citizenship_group) "
        "order by line_number)::text from raw.students group by 1 order by 1"
    )
    assert raw[0][1] == raw[1][1]


def test_header_in_capitals_with_spaces_and_yo(landing, load, q):
    header = [f"  {h.upper()} " for h in STUDENT_HEADER]
    header[header.index("  ОВЗ ")] = "овз"
    write(landing, "students_20250901.csv", header, [student_row("S1")])
    res = load(landing)["students_20250901.csv"]
    assert res.status == "loaded" and res.rows_loaded == 1 and res.warnings == []


def test_trailing_empty_column(landing, load, q):
    path = landing / "marks_20250902.csv"
    text = ";".join(MARK_HEADER) + ";\n" + ";".join(mark_row("M1")) + ";\n"
    text += ";".join(mark_row("M2")) + "\n"  # and one line without the trailing field
    path.write_text(text, encoding="utf-8")
    res = load(landing)["marks_20250902.csv"]
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (2, 2, 0)
    assert res.warnings == []
    assert q("select mark_id from raw.marks order by 1") == [("M1",), ("M2",)]


def test_impossible_date_required_rejects_optional_flags(landing, load, q):
    good = movement_row("E1", "S1")
    bad_required = movement_row("E2", "S1", date="31.02.2025")
    bad_optional = movement_row("E3", "S1")
    bad_optional[MOVEMENT_HEADER.index("Дата приказа")] = "31.02.2025"
    write(landing, "movements_20250902.csv", MOVEMENT_HEADER, [good, bad_required, bad_optional])
    res = load(landing)["movements_20250902.csv"]
    assert (res.rows_read, res.rows_loaded, res.rows_rejected, res.rows_flagged) == (3, 2, 1, 1)
    assert quarantined(q) == [(3, ["invalid_date"])]
    assert q("select problems from raw.quarantine") == [(["event_date:invalid_date"],)]
    assert q("select event_id, order_date, flags from raw.movements order by 1") == [
        ("E1", __import__("datetime").date(2025, 8, 30), None),
        ("E3", None, ["order_date:invalid_date"]),
    ]


def test_wrong_checksums_keep_the_row_and_flag_the_value(landing, load, q):
    write(landing, "organizations_20250901.csv", ORG_HEADER,
          [org_row("ORG1"), org_row("ORG2", inn="7707083894")])  # fmt: skip
    write(landing, "students_20250901.csv", STUDENT_HEADER,
          [student_row("S1"), student_row("S2", snils="112-233-445 96")])  # fmt: skip
    res = load(landing)
    assert res["organizations_20250901.csv"].rows_loaded == 2
    assert res["students_20250901.csv"].rows_loaded == 2
    assert q("select organization_id, inn, is_inn_valid, flags from raw.organizations "
             "order by 1") == [
        ("ORG1", "7707083893", True, None),
        ("ORG2", "7707083894", False, ["inn:invalid_checksum"]),
    ]  # fmt: skip
    assert q("select has_snils, is_snils_valid, flags from raw.students order by line_number") == [
        (True, True, None),
        (True, False, ["snils:invalid_checksum"]),
    ]
    assert q("select snils, is_snils_valid from pii.students order by line_number") == [
        ("112-233-445 95", True),
        ("112-233-445 96", False),
    ]
    assert quarantined(q, "pii") == [] and quarantined(q) == []


def test_same_student_twice_in_a_snapshot(landing, load, q):
    rows = [student_row("S1"), student_row("S2"), student_row("S1", surname="Другой")]
    write(landing, "students_20250901.csv", STUDENT_HEADER, rows)
    res = load(landing)["students_20250901.csv"]
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (3, 2, 1)
    assert quarantined(q, "pii") == [(4, ["duplicate_key"])]
    assert q("select surname from pii.students order by line_number") == [("Иванов",), ("Иванов",)]
    assert [r[0] for r in _students(q)] == [2, 3]


def test_mark_of_six_is_rejected(landing, load, q):
    write(landing, "marks_20250902.csv", MARK_HEADER,
          [mark_row("M1"), mark_row("M2", mark="6"), mark_row("M3", mark="н")])  # fmt: skip
    res = load(landing)["marks_20250902.csv"]
    assert (res.rows_loaded, res.rows_rejected) == (2, 1)
    assert quarantined(q) == [(3, ["invalid_code"])]
    assert q("select original_line from raw.quarantine") == [(";".join(mark_row("M2", mark="6")),)]
    assert q("select mark_id, mark_value from raw.marks order by 1") == [("M1", "5"), ("M3", "н")]


def test_movement_before_its_student_is_an_orphan_until_the_student_arrives(landing, load, q):
    write(landing, "organizations_20250901.csv", ORG_HEADER, [org_row("ORG1")])
    write(landing, "students_20250901.csv", STUDENT_HEADER, [student_row("S1")])
    write(landing, "movements_20250902.csv", MOVEMENT_HEADER,
          [movement_row("E1", "S1"), movement_row("E2", "S2")])  # fmt: skip
    res = load(landing)["movements_20250902.csv"]
    assert (res.rows_loaded, res.rows_rejected, res.rows_orphan) == (2, 0, 1)
    assert q("select feed, line_number, entity from raw.open_orphans") == [
        ("movements", 3, "student")
    ]
    write(landing, "students_20250903.csv", STUDENT_HEADER,
          [student_row("S1"), student_row("S2")])  # fmt: skip
    load(landing)
    assert q("select count(*) from raw.open_orphans") == [(0,)]
    assert q("select count(*) from raw.orphans where resolved_load_id is not null") == [(1,)]


def test_transfer_never_enrolled_at_the_receiving_school_loads(landing, load, q):
    write(landing, "organizations_20250901.csv", ORG_HEADER, [org_row("ORG1"), org_row("ORG2")])
    write(landing, "students_20250901.csv", STUDENT_HEADER, [student_row("S1")])
    out = movement_row("E2", "S1", kind="Отчисление", date="15.10.2025",
                       reason="перевод в другую ОО", dest="ORG2")  # fmt: skip
    write(landing, "movements_20250902.csv", MOVEMENT_HEADER, [movement_row("E1", "S1"), out])
    res = load(landing)["movements_20250902.csv"]
    assert (res.rows_loaded, res.rows_rejected, res.rows_orphan) == (2, 0, 0)
    assert q("select event_type_code, exit_reason_code, destination_organization_id "
             "from raw.movements where event_id = 'E2'") == [
        ("Отчисление", "перевод в другую ОО", "ORG2")
    ]  # fmt: skip


def test_file_cut_off_mid_line(landing, load, q):
    full = ";".join(MARK_HEADER) + "\n" + ";".join(mark_row("M1")) + "\n"
    full += ";".join(mark_row("M2")) + "\n" + ";".join(mark_row("M3"))[:25]
    (landing / "marks_20250902.csv").write_text(full, encoding="utf-8")
    res = load(landing)["marks_20250902.csv"]
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (3, 2, 1)
    assert quarantined(q) == [(4, ["truncated"])]
    assert q("select original_line from raw.quarantine") == [(";".join(mark_row("M3"))[:25],)]


def test_cut_off_inside_the_last_field_is_truncated_too(landing, load, q):
    full = ";".join(MARK_HEADER) + "\n" + ";".join(mark_row("M1")) + "\n"
    full += ";".join(mark_row("M2"))[:-2]  # "нет" cut to "н": not a yes/no any more
    (landing / "marks_20250902.csv").write_text(full, encoding="utf-8")
    res = load(landing)["marks_20250902.csv"]
    assert (res.rows_loaded, res.rows_rejected) == (1, 1)
    assert quarantined(q) == [(3, ["invalid_code", "truncated"])]


def test_unterminated_but_complete_last_line_loads(landing, load, q):
    full = ";".join(MARK_HEADER) + "\r\n" + ";".join(mark_row("M1")) + "\r\n"
    full += ";".join(mark_row("M2"))
    (landing / "marks_20250902.csv").write_text(full, encoding="utf-8")
    res = load(landing)["marks_20250902.csv"]
    assert (res.rows_loaded, res.rows_rejected) == (2, 0)


def test_same_file_sent_twice_is_skipped(landing, load, q):
    write(landing, "marks_20250902.csv", MARK_HEADER, [mark_row("M1"), mark_row("M2")])
    first = load(landing)["marks_20250902.csv"]
    second = load(landing)["marks_20250902.csv"]
    assert first.status == "loaded" and second.status == "skipped"
    assert "already loaded" in second.message
    # the same content under another name is skipped too
    (landing / "marks_20250903.csv").write_bytes((landing / "marks_20250902.csv").read_bytes())
    third = load(landing)
    assert third["marks_20250903.csv"].status == "skipped"
    assert q("select count(*) from raw.marks") == [(2,)]
    assert q("select count(*) from raw.load_log where status = 'loaded'") == [(1,)]
