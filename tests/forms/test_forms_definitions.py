"""Definitions are data: every file validates against the schema, each form has its sections,
the date rules resolve as the forms require, and the control notation evaluates as written.
No database needed."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

import forms
from forms.controls import evaluate
from forms.definition import DEFINITION_SCHEMA, load_definition, validate


@pytest.mark.parametrize("path", forms.definition_files(), ids=lambda p: p.stem)
def test_every_definition_validates(path):
    definition = load_definition(path)
    assert path.stem == f"{definition.form}_{definition.edition}", "file named <form>_<edition>"
    for section in definition.sections:
        assert section.controls, f"section {section.code} has control ratios"
        for row in section.rows:
            for col in section.columns:
                assert (row.measure or col.measure) is not None


def test_the_four_forms_exist():
    assert set(forms.available()) == {"oo1", "1dop", "results", "esia"}
    assert DEFINITION_SCHEMA["required"]


def _raw(form="oo1"):
    return yaml.safe_load((forms.definition_files()[0].parent / f"{form}_2025.yaml").read_text())


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d.pop("sections"),
        lambda d: d["sections"][0]["rows"].append(d["sections"][0]["rows"][0]),
        lambda d: d["sections"][0]["columns"][0].update(code="2"),
        lambda d: d["sections"][0]["rows"][0].pop("measure"),
        lambda d: d["sections"][0]["controls"][0].pop("each_row"),
        lambda d: d.update(levels=["district"]),
    ],
    ids=["no-sections", "duplicate-row", "column-2", "no-measure", "empty-control", "level"],
)
def test_a_broken_definition_is_refused(breakage):
    raw = _raw()
    breakage(raw)
    with pytest.raises(forms.DefinitionError):
        validate(raw)


def test_report_dates_follow_each_rule():
    oo1 = forms.find_definition("oo1", date(2026, 10, 1))
    assert oo1.resolve_dates(date(2026, 10, 1))["report_date"] == date(2026, 9, 20)
    assert oo1.resolve_dates(date(2026, 9, 19))["report_date"] == date(2025, 9, 20)
    assert oo1.resolve_dates(date(2026, 9, 20))["age_date"] == date(2027, 1, 1)
    dop = forms.find_definition("1dop", date(2025, 12, 31))
    assert dop.resolve_dates(date(2025, 6, 1))["report_year"] == 2025
    assert dop.resolve_dates(date(2025, 6, 1))["age_date"] == date(2026, 1, 1)
    results = forms.find_definition("results", date(2026, 6, 1))
    params = results.resolve_dates(date(2026, 6, 1), "1 четверть")
    assert (params["academic_year"], params["period"]) == ("2025/2026", "1 четверть")
    assert results.resolve_dates(date(2025, 10, 1))["academic_year"] == "2025/2026"


def test_a_new_edition_is_a_new_file(tmp_path, monkeypatch):
    import shutil

    from forms import definition as module

    for path in forms.definition_files():
        shutil.copy(path, tmp_path / path.name)
    raw = _raw()
    raw["edition"] = 2027
    raw["title"] = "Новая редакция"
    (tmp_path / "oo1_2027.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True))
    monkeypatch.setattr(module, "DEFINITIONS_DIR", tmp_path)
    assert forms.available()["oo1"] == [2025, 2027]
    assert forms.find_definition("oo1", date(2026, 9, 20)).edition == 2025
    assert forms.find_definition("oo1", date(2027, 9, 20)).title == "Новая редакция"


def _section(definition, code):
    return definition.section(code)


def test_control_notation():
    oo1 = forms.find_definition("oo1", date(2025, 9, 20))
    s1 = oo1.section("1")
    rows = [r.code for r in s1.rows]
    values = {("1", r, c.code): 0 for r in rows for c in s1.columns}
    for c in s1.columns[1:]:
        values[("1", "04", c.code)] = 10
        values[("1", "05", c.code)] = 4
        values[("1", "06", c.code)] = 6
        values[("1", "07", c.code)] = 5
    values[("1", "04", "3")] = 110
    values[("1", "05", "3")] = 44
    values[("1", "06", "3")] = 66
    values[("1", "07", "3")] = 55
    results = evaluate([s1], {"1": rows}, values)
    assert results and all(r.ok for r in results)
    values[("1", "07", "5")] = 11  # more girls than students in grade 2
    bad = [r for r in evaluate([s1], {"1": rows}, values) if r.ok is False]
    assert {r.control_id for r in bad} == {"1.1", "1.4"}
    assert any(("1", "07", "5") in r.cells for r in bad)
