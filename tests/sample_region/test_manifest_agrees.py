"""The manifest agrees with an independent count over the files: enrolment by grade level on
20 September, movements by type and school year, accounts by role; for a region simulated
whole and one simulated in parts (whose figures are merged)."""

from __future__ import annotations

from collections import Counter
from datetime import date

from region_reader import feed_files, parse_date, read_jsonl, records

EXITS = {"Отчисление", "Выпуск"}
STARTS = {"Зачисление", "Восстановление"}
RANK = {"Отчисление": 0, "Выпуск": 0, "Зачисление": 1, "Восстановление": 1,
        "Перевод в следующий класс": 2, "Оставлен на повторное обучение": 2}  # fmt: skip


def _events(folder):
    """Final version of every event (later files replace earlier ones), tombstones dropped."""
    latest: dict[str, dict[str, str]] = {}
    for f in feed_files(folder, "movements"):
        for r in records(f.path):
            latest[r["id события"]] = r
    return [r for r in latest.values() if r["удалена"] != "да"]


def _school_year(d: date) -> str:
    y = d.year if d.month >= 9 else d.year - 1
    return f"{y}/{y + 1}"


def test_movements_by_type_and_year(region):
    folder, manifest = region
    counted = Counter(
        (_school_year(parse_date(r["дата события"])), r["тип события"], r["вид программы"])
        for r in _events(folder)
    )
    claimed = {
        (m["school_year"], m["type"], m["program"]): m["count"] for m in manifest["movements"]
    }
    assert counted == claimed


def test_enrolment_by_grade_on_20_september(region):
    folder, manifest = region
    by_student: dict[str, list[dict[str, str]]] = {}
    for r in _events(folder):
        if r["вид программы"] != "ДОП":
            by_student.setdefault(r["id обучающегося"], []).append(r)
    sexes = {}
    for f in feed_files(folder, "students"):
        for r in records(f.path):
            sexes[r["id обучающегося"]] = r["пол"]
    for year in manifest["school_years"]:
        d = date(int(year[:4]), 9, 20)
        counted: Counter = Counter()
        for sid, events in by_student.items():
            state = None
            for r in sorted(events, key=lambda r: (parse_date(r["дата события"]),
                                                   RANK[r["тип события"]])):  # fmt: skip
                if parse_date(r["дата события"]) > d:
                    break
                state = None if r["тип события"] in EXITS else r
            if state is not None:
                grade = int(state["параллель"]) if state["параллель"] else None
                counted[(state["id оо"], state["вид программы"], grade, sexes[sid])] += 1
        claimed = Counter()
        for row in manifest["enrolment"]:
            if row["school_year"] == year:
                claimed[(row["org_id"], row["program"], row["grade"], row["sex"])] += row["count"]
        assert counted == claimed, year
        assert sum(counted.values()) > 1000


def test_accounts_by_role_linked_on_the_last_extract(region):
    folder, manifest = region
    last: dict[str, dict] = {}
    for f in feed_files(folder, "accounts"):
        for obj in read_jsonl(f.path):
            last[obj["account_id"]] = obj
    end = manifest["last_extract"]
    linked = Counter(
        a["role"] for a in last.values() if a["esia_linked_at"] and a["esia_linked_at"][:10] <= end
    )
    assert dict(linked) == {k: v for k, v in manifest["accounts"]["linked_by_role"].items() if v}
    assert manifest["accounts"]["unlinked"] > 0
    roles_by_oid: dict[str, set[str]] = {}
    for a in last.values():
        if a["esia_oid"]:
            roles_by_oid.setdefault(a["esia_oid"], set()).add(a["role"])
    two = sum(1 for roles in roles_by_oid.values() if len(roles) > 1)
    assert two == manifest["accounts"]["persons_with_two_roles"] > 0
