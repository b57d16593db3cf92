"""«Статистические формы» inside the Superset app: each person lists, builds and downloads the
forms of their own territory only, released forms come byte for byte from the archive, and the
lost-children list reaches a department for its own municipality only, every call logged.

Every request that must fail is tried by editing the URL, as a person would."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

import openpyxl
import pytest

import forms
from kontingent.settings import ROLE_READER, get_settings

REPORT_DATE = "2026-09-20"  # the ОО-1 count date of the current school year
OWN = "57701"  # the department login uo-57701 and the school 700107 are in this municipality
OTHER = "57610"


def _url(stack, path: str, **params: str) -> str:
    return f"{stack.superset_url}{path}" + (f"?{urlencode(params)}" if params else "")


def _get(page, stack, path: str, **params: str):
    return page.request.get(_url(stack, path, **params), max_redirects=0)


def _cells(path: Path) -> dict[tuple[str, str], object]:
    book = openpyxl.load_workbook(path)
    return {
        (sheet.title, cell.coordinate): cell.value
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    }


@pytest.fixture(scope="module")
def reader_url(dashboard_warehouse) -> str:
    return get_settings().local_url(ROLE_READER, dashboard_warehouse)


@pytest.fixture(scope="module")
def forms_home(stack) -> Path:
    return Path(stack.settings.env["KONTINGENT_FORMS_HOME"])


def _organizations(warehouse_owner) -> dict[str, str]:
    return dict(
        warehouse_owner.execute(
            "select organization_id, municipality_id from marts.dim_organization where is_current"
        ).fetchall()
    )


def test_anonymous_requests_are_sent_to_sign_in_or_refused(browser, stack):
    context = browser.new_context()
    try:
        for path in ("/kontingent/forms/", "/kontingent/forms/draft", "/kontingent/lost-children"):
            response = context.request.get(_url(stack, path), max_redirects=0)
            assert response.status in (302, 401), (path, response.status)
            if response.status == 302:
                assert "/login/" in response.headers["location"]
    finally:
        context.close()


def test_the_department_downloads_its_own_draft_equal_to_the_form_built_directly(
    signed_in, stack, reader_url, tmp_path, artifacts_dir, warehouse_owner
):
    page = signed_in(f"uo-{OWN}")
    page.goto(_url(stack, "/kontingent/forms/"))
    options = page.locator("select[name=territory] option").evaluate_all(
        "els => els.map(e => e.value)"
    )
    orgs = _organizations(warehouse_owner)
    expected = {f"municipality-{OWN}"} | {f"organization-{o}" for o, m in orgs.items() if m == OWN}
    assert set(options) == expected
    page.screenshot(path=str(artifacts_dir / "forms-page.png"), full_page=True)

    page.select_option("select[name=form]", "oo1")
    page.fill("input[name=date]", REPORT_DATE)
    page.select_option("select[name=territory]", f"municipality-{OWN}")
    with page.expect_download() as info:
        page.click("#build button[type=submit]")
    download = info.value
    got = tmp_path / "page.xlsx"
    download.save_as(got)
    assert download.suggested_filename.endswith(".xlsx")

    built = forms.build_form(
        "oo1",
        date.fromisoformat(REPORT_DATE),
        "municipality",
        OWN,
        url=reader_url,
        suppress_health=False,
    )
    direct = tmp_path / "direct.xlsx"
    forms.write_xlsx(built, direct)
    got_cells, direct_cells = _cells(got), _cells(direct)
    assert got_cells == direct_cells
    numbers = [v for v in got_cells.values() if isinstance(v, int | float)]
    assert sum(numbers) > 0  # a filled form, not an empty template


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"territory": f"municipality-{OTHER}"}, 403),
        ({"territory": "region"}, 403),
        ({"territory": f"municipality-{OWN}' or '1'='1"}, 400),
        ({"territory": f"municipality-{OWN}", "form": "oo1; drop table marts.agg_enrolment"}, 400),
        ({"territory": f"municipality-{OWN}", "date": "2026-09-20' --"}, 400),
        ({"territory": f"municipality-{OWN}", "period": "1'); select pg_sleep(5); --"}, 400),
        ({"territory": "../../etc/passwd"}, 400),
    ],
)
def test_the_department_cannot_reach_other_territories_or_inject(signed_in, stack, params, status):
    page = signed_in(f"uo-{OWN}")
    query = {"form": "oo1", "date": REPORT_DATE, **params}
    assert _get(page, stack, "/kontingent/forms/draft", **query).status == status


def test_the_department_cannot_take_another_municipalitys_school(signed_in, stack, warehouse_owner):
    page = signed_in(f"uo-{OWN}")
    other_school = next(o for o, m in sorted(_organizations(warehouse_owner).items()) if m == OTHER)
    response = _get(
        page,
        stack,
        "/kontingent/forms/draft",
        form="oo1",
        date=REPORT_DATE,
        territory=f"organization-{other_school}",
    )
    assert response.status == 403


def test_a_director_gets_the_school_only_with_small_health_counts_withheld(
    signed_in, stack, tmp_path, reader_url
):
    page = signed_in("director-700107")
    page.goto(_url(stack, "/kontingent/forms/"))
    options = page.locator("select[name=territory] option").evaluate_all(
        "els => els.map(e => e.value)"
    )
    assert options == ["organization-700107"]
    for territory in (f"municipality-{OWN}", "region", "organization-700108"):
        response = _get(
            page,
            stack,
            "/kontingent/forms/draft",
            form="oo1",
            date=REPORT_DATE,
            territory=territory,
        )
        assert response.status in (403, 404), territory
    response = _get(
        page,
        stack,
        "/kontingent/forms/draft",
        form="oo1",
        date=REPORT_DATE,
        territory="organization-700107",
    )
    assert response.status == 200
    got = tmp_path / "school.xlsx"
    got.write_bytes(response.body())
    withheld = forms.build_form(
        "oo1",
        date.fromisoformat(REPORT_DATE),
        "organization",
        "700107",
        url=reader_url,
        suppress_health=True,
    )
    direct = tmp_path / "direct.xlsx"
    forms.write_xlsx(withheld, direct)
    assert _cells(got) == _cells(direct)


def test_teachers_have_no_forms(signed_in, stack):
    page = signed_in("teacher-700107")
    assert _get(page, stack, "/kontingent/forms/").status == 403


def test_a_released_form_downloads_byte_for_byte_for_its_department_only(
    signed_in, stack, reader_url, forms_home
):
    built = forms.build_form(
        "oo1",
        date.fromisoformat(REPORT_DATE),
        "municipality",
        OWN,
        url=reader_url,
        suppress_health=False,
    )
    entry, _new = forms.release(built, home=forms_home.parent)
    assert entry.path.is_relative_to(forms_home)
    archived = entry.path.read_bytes()

    page = signed_in(f"uo-{OWN}")
    page.goto(_url(stack, "/kontingent/forms/"))
    links = page.locator("a.release")
    assert links.count() == 1
    with page.expect_download() as info:
        links.first.click()
    assert Path(info.value.path()).read_bytes() == archived
    assert hashlib.sha256(archived).hexdigest() == entry.sha256

    # another department does not see it, and cannot fetch it by editing the URL
    page = signed_in(f"uo-{OTHER}")
    page.goto(_url(stack, "/kontingent/forms/"))
    assert page.locator("a.release").count() == 0
    response = _get(
        page,
        stack,
        "/kontingent/forms/release",
        form="oo1",
        date=entry.report_date,
        territory=f"municipality-{OWN}",
    )
    assert response.status == 403


def test_the_department_reads_its_lost_children_and_every_call_is_logged(
    signed_in, stack, warehouse_owner, manifest
):
    def log_size() -> int:
        return warehouse_owner.execute("select count(*) from pii.reidentification_log").fetchone()[
            0
        ]

    before = log_size()
    page = signed_in(f"uo-{OWN}")
    page.goto(_url(stack, "/kontingent/lost-children", municipality=OWN))
    rows = page.locator("tr.child").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText))"
    )
    truth = Counter(
        (c["org_id"], c["exit_date"], str(c["days_since"]))
        for c in manifest["lost_children"]
        if c["municipality"] == OWN
    )
    assert truth, "the region has lost children in this municipality"
    assert Counter((r[5], r[6], r[7]) for r in rows) == truth
    assert all(r[1] and r[4] for r in rows)  # re-identified: surname and birth date
    assert log_size() == before + 1
    who, municipality, keys = warehouse_owner.execute(
        "select requested_by, municipality_id, student_keys from pii.reidentification_log "
        "order by call_id desc limit 1"
    ).fetchone()
    assert municipality == OWN
    assert f"управление образованием {OWN}" in who and "esia_" in who
    assert sorted(keys) == sorted(r[0] for r in rows)


@pytest.mark.parametrize(
    ("login", "municipality"),
    [(f"uo-{OWN}", OTHER), ("analyst", OWN), ("director-700107", OWN)],
)
def test_nobody_else_reaches_a_lost_children_list(
    signed_in, stack, warehouse_owner, login, municipality
):
    before = warehouse_owner.execute("select count(*) from pii.reidentification_log").fetchone()[0]
    page = signed_in(login)
    response = _get(page, stack, "/kontingent/lost-children", municipality=municipality)
    assert response.status == 403
    after = warehouse_owner.execute("select count(*) from pii.reidentification_log").fetchone()[0]
    assert after == before
