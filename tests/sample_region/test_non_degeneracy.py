"""The correctness region contains what later tests rely on, by construction."""

from __future__ import annotations

from region_reader import feed_files, records


def test_correctness_region_is_not_degenerate(correctness):
    folder, manifest = correctness
    nd = manifest["non_degeneracy"]
    assert nd["org_pass_below_100_quality_between_0_and_100"]
    for key in ("repeater", "transfer_to_other_municipality", "arrived_elsewhere",
                "to_family_education", "lost"):  # fmt: skip
        assert nd[key], key
    classes = {r["class"] for r in manifest["trajectory_counts"]}
    assert {"repeated", "transfer_to_other_municipality", "to_family_education", "lost",
            "graduated", "continued", "reorganized"} <= classes  # fmt: skip
    assert manifest["reorganization"] and manifest["closure"]
    # the same facts, seen in the files
    events = {}
    for f in feed_files(folder, "movements"):
        for r in records(f.path):
            events[r["id события"]] = r
    live = [r for r in events.values() if r["удалена"] != "да"]
    types = {r["тип события"] for r in live}
    assert "Оставлен на повторное обучение" in types and "Восстановление" in types
    reasons = {r["причина"] for r in live}
    assert "переход на семейное образование" in reasons
    assert any(r["удалена"] == "да" for r in events.values())  # a tombstone
    by_student: dict[str, list[dict[str, str]]] = {}
    for r in live:
        by_student.setdefault(r["id обучающегося"], []).append(r)
    sid = nd["arrived_elsewhere"][0]
    announced = {r["оо назначения"] for r in by_student[sid] if r["оо назначения"]}
    arrivals = {r["id оо"] for r in by_student[sid] if r["тип события"] == "Зачисление"}
    assert announced and not announced & arrivals
    orgs = {o["org_id"]: o for o in manifest["organizations"]}
    sid = nd["transfer_to_other_municipality"][0]
    munis = {orgs[r["id оо"]]["municipality"] for r in by_student[sid]
             if r["вид программы"] in ("НОО", "ООО", "СОО")}  # fmt: skip
    assert len(munis) == 2
    # organization types, branches and statuses in the registry
    assert {o["type"] for o in manifest["organizations"]} == {
        "Общеобразовательная организация", "Дошкольная образовательная организация",
        "Профессиональная образовательная организация", "Организация дополнительного образования",
    }  # fmt: skip
    assert any(o["parent_id"] for o in manifest["organizations"])
    directions = {r["direction"] for r in manifest["additional_education"]}
    assert len(directions - {"*"}) == 6
