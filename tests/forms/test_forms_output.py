"""The written forms: XLSX in the official layout read back equal to the CSV; health cells
under 5 withheld; every control ratio caught when one of its cells is wrong (and the command
exits non-zero naming it); a released form never changes."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from forms_support import FORM_DATES, OO1_DATE, RESULTS_DATE
from openpyxl import load_workbook

import forms
from forms.build import SUPPRESSED, recheck, suppression_required
from forms.render import FIRST_DATA_COLUMN, HEADER_TOP, read_section_cells

FORMS = sorted(FORM_DATES)


# -- XLSX and CSV --------------------------------------------------------------------------------
@pytest.mark.parametrize("form", FORMS)
def test_xlsx_has_the_official_layout_and_equals_the_csv(form, build, tmp_path):
    level, code = ("organization", "700135") if form != "esia" else ("municipality", "57610")
    f = build(form, FORM_DATES[form], level, code, suppress_health=True)
    xlsx = forms.write(f, tmp_path / "form.xlsx")
    text = forms.csv_text(f)
    wb = load_workbook(xlsx)
    title = wb["Титульный лист"]
    assert title["B1"].value == f"Форма № {f.definition.code}"
    block = {title.cell(r, 1).value: title.cell(r, 2).value for r in range(7, 20)}
    assert (block["ИНН"] or "") == f.respondent["inn"]
    assert block["Код по ОКТМО"] == f.respondent["oktmo"]
    assert block["Данные по состоянию на (срез данных)"] == f"{f.cutoff:%d.%m.%Y}"
    assert wb.sheetnames[-1] == "Контроль"
    control = wb["Контроль"]
    assert control.max_row - 4 == len(f.controls)

    from_csv: dict[tuple[str, str, str], str] = {}
    for rec in csv.DictReader(io.StringIO(text)):
        from_csv[(rec["section"], rec["row"], rec["column"])] = rec["value"]
    assert len(from_csv) == len(f.values)
    for built in f.sections:
        code_s = built.section.code
        ws = wb[f"Раздел {code_s}"]
        assert ws.freeze_panes == f"C{HEADER_TOP + 3}"
        assert ws.page_setup.orientation == "landscape"
        assert ws.print_title_rows and ws.print_area
        assert f"{f.cutoff:%d.%m.%Y}" in ws["A4"].value
        codes = [ws.cell(HEADER_TOP + 2, c).value for c in range(1, ws.max_column + 1)]
        assert codes == ["1", "2", *[c.code for c in built.section.columns]]
        cells = read_section_cells(xlsx, code_s)
        for r, row in enumerate(built.rows, start=HEADER_TOP + 3):
            assert ws.cell(r, 1).value == row.label and ws.cell(r, 2).value == row.code
            for k, col in enumerate(built.section.columns):
                value = cells[(row.code, col.code)]
                shown = "" if value is None else value
                if isinstance(shown, float) and shown.is_integer():
                    shown = int(shown)
                assert str(shown) == from_csv[(code_s, row.code, col.code)]
                cell = ws.cell(r, FIRST_DATA_COLUMN + k)
                if value == "x":
                    assert cell.fill.fgColor.rgb.endswith("D9D9D9")


def test_x_cells_are_marked(build):
    f = build("results", RESULTS_DATE, "organization", "700107")
    assert all(f.values[("1", "02", c.code)] == "x" for c in f.sections[0].section.columns)
    oo1 = build("oo1", OO1_DATE)
    assert oo1.values[("3", "02", "8")] == "x"


# -- suppression ---------------------------------------------------------------------------------
def test_health_cells_under_five_are_withheld(build, territories):
    checked = 0
    for orgs in territories.values():
        for org in orgs:
            full = build("oo1", OO1_DATE, "organization", org)
            shown = build("oo1", OO1_DATE, "organization", org, suppress_health=True)
            for key, value in full.values.items():
                health = full.is_health(key)
                if health and isinstance(value, int) and 0 < value < 5:
                    assert shown.shown(key) == SUPPRESSED
                    checked += 1
                elif not health:
                    assert shown.shown(key) == value
            # no withheld cell can be recovered from a sum
            for c in shown.controls:
                if "=" in c.expression and "<" not in c.expression:
                    hidden = [k for k in set(c.cells) if k in shown.suppressed]
                    assert len(hidden) != 1, (org, c.control_id, c.instance)
    assert checked, "the region has organizations with 1–4 students with ОВЗ in some grade"


def test_suppression_depends_on_who_looks():
    assert not suppression_required("region", None, "organization", "700107")
    assert not suppression_required("municipality", "57610", "municipality", "57610")
    assert not suppression_required("municipality", "57610", "organization", "700128", "57610")
    assert suppression_required("municipality", "57613", "municipality", "57610")
    assert suppression_required("organization", "700107", "organization", "700107")


# -- control ratios ------------------------------------------------------------------------------
def _break(f, result):
    """Make one cell of a control instance wrong, as a bad source record would."""
    left = next(k for k in result.cells if f.values[k] not in (None, "x"))
    f.values[left] = f.values[left] + 1000 if "<" not in result.expression else 10**9
    return left


@pytest.mark.parametrize("form", FORMS)
def test_each_control_ratio_catches_a_wrong_cell(form, build):
    import copy

    level, code = ("organization", "700107") if form == "results" else ("region", None)
    base = build(form, FORM_DATES[form], level, code)
    seen = set()
    for result in base.controls:
        if result.control_id in seen or result.ok is not True:
            continue
        seen.add(result.control_id)
        f = copy.copy(base)
        f.values = dict(base.values)
        cell = _break(f, result)
        names = {v.control_id for v in recheck(f)}
        assert result.control_id in names, (result.control_id, cell)
    ids = {c.id for s in base.definition.sections for c in s.controls}
    applicable = {c.control_id for c in base.controls if c.ok}
    assert seen == applicable and applicable, ids - applicable


def test_a_broken_definition_fails_the_build_naming_the_ratio(built_warehouse, tmp_path):
    raw = yaml.safe_load(forms.find_definition("oo1", OO1_DATE).path.read_text())
    rows = raw["sections"][0]["rows"]
    rows[1]["where"] = {"locality": "rural"}  # «в городской местности» counting rural schools
    path = tmp_path / "oo1_2025.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    env = {
        **os.environ,
        "WAREHOUSE_READER_URL": built_warehouse.reader_url,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    out = tmp_path / "oo1.xlsx"
    proc = subprocess.run(
        [sys.executable, "-m", "kontingent.cli", "forms", "build", "--form", "oo1",
         "--date", OO1_DATE.isoformat(), "--definition", str(path), "--out", str(out)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert "control 1.2 violated" in proc.stderr
    assert "разд. 1 стр. 02" in proc.stderr
    with pytest.raises(forms.ControlViolation, match=r"1\.2 "):
        forms.build_form(
            "oo1", OO1_DATE, "region", definition=forms.load_definition(path),
            url=built_warehouse.reader_url, strict=True,
        )  # fmt: skip


# -- drafts and releases -------------------------------------------------------------------------
def test_a_release_never_changes(build, tmp_path):
    import copy

    home = tmp_path / "home"
    f = build("esia", FORM_DATES["esia"], "municipality", "57610")
    slug, day = "municipality-57610", FORM_DATES["esia"].isoformat()
    entry, new = forms.release(f, home=home)
    assert new and entry.path == home / f"forms/archive/esia/{day}/{slug}.xlsx"
    original = entry.path.read_bytes()
    assert forms.archive.sha256(entry.path) == entry.sha256
    assert (entry.path.parent / "SHA256SUMS").read_text().startswith(entry.sha256)

    # the same figures again: nothing new
    again, new = forms.release(f, home=home)
    assert not new and again.version == 1

    # a late record (one more student account linked to ESIA) changes the rebuilt form
    late = copy.copy(f)
    late.values = dict(f.values)
    for row in ("01", "02"):
        late.values[("1", row, "3")] += 1
        linked, total = late.values[("1", row, "3")], late.values[("1", row, "4")]
        late.values[("1", row, "5")] = round(100 * linked / total, 1)
    assert recheck(late) == []
    draft = forms.write(late, forms.draft_path(late, home=home))
    assert draft == home / f"forms/drafts/esia/{day}/{slug}.xlsx"
    second, new = forms.release(late, home=home)
    assert new and second.version == 2 and second.path.name == f"{slug}.v2.xlsx"
    assert entry.path.read_bytes() == original
    first = forms.download("esia", day, slug, version=1, home=home)
    assert first.path.read_bytes() == original and first.sha256 == entry.sha256
    assert forms.download("esia", day, slug, home=home).version == 2
    assert not os.access(entry.path, os.W_OK) or os.geteuid() == 0


def test_a_form_with_a_violated_ratio_or_withheld_cells_is_not_released(build, tmp_path):
    import copy

    f = build("oo1", OO1_DATE)
    bad = copy.copy(f)
    bad.values = dict(f.values)
    bad.values[("1", "07", "3")] = 10**9
    recheck(bad)
    with pytest.raises(forms.ControlViolation):
        forms.release(bad, home=tmp_path)
    with pytest.raises(ValueError, match="without suppression"):
        forms.release(build("oo1", OO1_DATE, suppress_health=True), home=tmp_path)
    assert not (tmp_path / "forms" / "archive" / "oo1").exists() or not any(
        (tmp_path / "forms" / "archive" / "oo1").rglob("*.xlsx")
    )
