"""The dashboards as code: what provisioning makes, what every chart returns through the chart
data API, and each published figure against a second, independent computation (the generator's
manifest of the correctness region, or SQL on the warehouse's core facts as its owner).

Charts are queried as the dashboard queries them: their saved parameters, plus the values the
dashboard's native filters start with where that matters (e.g. one report date)."""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import superset_api as api

from kontingent import dashboards

pytestmark = pytest.mark.slow

ENROLMENT = "Контингент обучающихся"
RESULTS = "Успеваемость и качество знаний"
ACCOUNTS = "Пользователи СЭДиЖ и ЕСИА"
QUALITY = "Качество данных"
TRAJECTORIES = "Движение контингента и траектории"
REGION_TRAJECTORIES = "Траектории по региону: когорты и типы организаций"
ALL_DASHBOARDS = {ENROLMENT, RESULTS, ACCOUNTS, QUALITY, TRAJECTORIES}  # a department's
REGION_DASHBOARDS = ALL_DASHBOARDS | {REGION_TRAJECTORIES}  # the region analyst's
MUNICIPALITY = "57701"  # the demo department uo-57701 (superset/oidc-dev/people.json)
SCHOOL = "700107"  # the demo director-700107
CHARTS = 54  # charts on the dashboards (each on one)
REGION_ONLY_CHARTS = 5  # the region analyst's own dashboard
UNSCOPED_CHARTS = 4 + 11  # «Данные на» of the four others; all of the data-quality dashboard
ORG_TYPES = {
    "Общеобразовательная организация": "general",
    "Дошкольная образовательная организация": "preschool",
    "Профессиональная образовательная организация": "vocational",
    "Организация дополнительного образования": "additional",
}
FLOW_NODES = ("outside_region", "not_enrolled", "pending")


def test_the_yaml_assets_are_what_the_script_writes():
    """superset/build_assets.py writes the datasets, charts and dashboards: the committed YAML
    must be its output (run `python superset/build_assets.py` after a change)."""
    sys.path.insert(0, str(dashboards.SUPERSET_DIR))
    try:
        import build_assets
    finally:
        sys.path.remove(str(dashboards.SUPERSET_DIR))
    files = build_assets.render()
    assets = dashboards.SUPERSET_DIR / "assets"
    on_disk = {
        p.relative_to(assets).as_posix()
        for kind in ("datasets", "charts", "dashboards")
        for p in (assets / kind).rglob("*.yaml")
    }
    assert on_disk == set(files)
    for name, text in files.items():
        assert (assets / name).read_text(encoding="utf-8") == text, name


def _snapshot(metadata_db) -> dict[str, list]:
    out = {}
    for table in ("dbs", "tables", "slices", "dashboards"):
        out[table] = sorted(str(u) for (u,) in metadata_db.execute(f"select uuid from {table}"))
    out["rls"] = metadata_db.execute(
        """
        select f.name, f.clause, f.group_key, r.name, count(t.table_id)
        from row_level_security_filters as f
        join rls_filter_roles as fr on fr.rls_filter_id = f.id
        join ab_role as r on r.id = fr.role_id
        left join rls_filter_tables as t on t.rls_filter_id = f.id
        group by 1, 2, 3, 4 order by 1
        """
    ).fetchall()
    return out


def test_provisioning_twice_gives_the_same_assets(stack, metadata_db):
    before = _snapshot(metadata_db)
    dashboards.provision(stack)
    after = _snapshot(metadata_db)

    assert after == before
    assert len(after["dashboards"]) == len(REGION_DASHBOARDS)
    assert len(after["slices"]) == CHARTS
    assert len(after["tables"]) == 21
    assert [r[3] for r in after["rls"]] == [
        "kontingent_municipality",
        "kontingent_region",
        "kontingent_school",
        "kontingent_teacher",
    ]
    # the warehouse is read through the read-only role
    (uri,) = metadata_db.execute(
        "select sqlalchemy_uri from dbs where database_name = 'Хранилище «Контингент»'"
    ).fetchone()
    assert uri.startswith("postgresql://kontingent_reader:")


def test_every_chart_returns_data_for_the_analyst(signed_in, stack):
    page = signed_in("analyst")
    boards = api.dashboards(page, stack)
    assert set(boards) == REGION_DASHBOARDS
    counted = 0
    for title, board_id in boards.items():
        charts = api.dashboard_charts(page, stack, board_id)
        assert charts, title
        for name, form_data in charts.items():
            assert api.rows(page, stack, form_data), f"{title}: {name}"
            counted += 1
    assert counted == CHARTS


def _manifest_municipality(manifest) -> dict[str, str]:
    return {o["org_id"]: o["municipality"] for o in manifest["organizations"]}


def test_enrolment_matches_the_manifest(signed_in, stack, manifest):
    """On each count date of the manifest, for the region (analyst) and for one municipality
    (its department): main programs, by municipality, additional education."""
    municipality_of = _manifest_municipality(manifest)
    names = {m["code"]: m["name"] for m in manifest["municipalities"]}
    for date in sorted({e["date"] for e in manifest["enrolment"]}):
        expected: dict[str, int] = defaultdict(int)
        for e in manifest["enrolment"]:
            if e["date"] == date:
                expected[municipality_of[e["org_id"]]] += e["count"]
        additional = next(
            a["enrolments"]
            for a in manifest["additional_education"]
            if a["date"] == date and a["direction"] == "*"
        )
        on_date = [f"report_date = '{date}'"]
        for login, scope in (("analyst", None), (f"uo-{MUNICIPALITY}", MUNICIPALITY)):
            page = signed_in(login)
            charts = api.dashboard_charts(page, stack, api.dashboards(page, stack)[ENROLMENT])
            total = api.rows(page, stack, charts["Обучающихся по основным программам"], on_date)
            by_muni = api.rows(page, stack, charts["Обучающиеся по муниципалитетам"], on_date)
            want = {names[k]: v for k, v in expected.items() if scope in (None, k)}
            assert {r["municipality_name"]: r["students"] for r in by_muni} == want, login
            assert total == [{"students": sum(want.values())}], login
            if scope is None:
                extra = api.rows(
                    page, stack, charts["Зачислений в дополнительное образование"], on_date
                )
                assert extra == [{"students": additional}]
        assert sum(expected.values()) > expected[MUNICIPALITY] > 0


def test_results_match_the_manifest(signed_in, stack, manifest):
    """Pass and quality rates of the year by municipality, recomputed from the manifest's
    per-school attestation counts."""
    municipality_of = _manifest_municipality(manifest)
    names = {m["code"]: m["name"] for m in manifest["municipalities"]}
    year = manifest["school_years"][0]
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for a in manifest["attestation"]:
        if a["school_year"] == year and a["period"] == "Год":
            s = sums[names[municipality_of[a["org_id"]]]]
            s[0] += a["subject_to_attestation"]
            s[1] += a["passed"]
            s[2] += a["quality"]
    page = signed_in("analyst")
    charts = api.dashboard_charts(page, stack, api.dashboards(page, stack)[RESULTS])
    got = api.rows(
        page,
        stack,
        charts["Успеваемость и качество по муниципалитетам"],
        [f"academic_year = '{year}'", "term_name_ru = 'Год'"],
    )
    assert len(got) == len(sums) == 3
    for row in got:
        attested, passed, quality = sums[row["municipality_name"]]
        assert row["students_attested"] == attested
        assert row["pass_rate"] == pytest.approx(round(100 * passed / attested, 2))
        assert row["quality_rate"] == pytest.approx(round(100 * quality / attested, 2))


def test_mean_mark_and_attendance_match_the_sources(signed_in, stack, manifest, warehouse_owner):
    """Mean current mark against the manifest's mark sums; absence rate by month against the
    journal's facts in `core`."""
    page = signed_in("analyst")
    charts = api.dashboard_charts(page, stack, api.dashboards(page, stack)[RESULTS])
    for year in manifest["school_years"]:
        marks = [c for c in manifest["current_marks"] if c["school_year"] == year]
        want = round(sum(c["numeric_sum"] for c in marks) / sum(c["numeric"] for c in marks), 2)
        got = api.rows(
            page, stack, charts["Средний балл текущих отметок"], [f"academic_year = '{year}'"]
        )
        assert got == [{"mean_mark": pytest.approx(want)}], year

    months = warehouse_owner.execute(
        """
        select date_trunc('month', lesson_date)::date,
               round(100.0 * count(*) filter (where is_attendance) / count(*), 2)
        from core.fct_mark group by 1 order by 1
        """
    ).fetchall()
    got = api.rows(page, stack, charts["Доля пропусков уроков по месяцам"])
    by_month = {
        datetime.fromtimestamp(r["month_start_date"] / 1000, UTC).date(): Decimal(
            str(r["absence_rate"])
        )
        for r in got
    }
    assert len(months) > 6
    assert by_month == dict(months)


def test_accounts_match_the_manifest(signed_in, stack, manifest):
    month = manifest["accounts"]["as_of"][:7]
    page = signed_in("analyst")
    charts = api.dashboard_charts(page, stack, api.dashboards(page, stack)[ACCOUNTS])
    got = api.rows(page, stack, charts["Учётные записи по ролям"], [f"month = '{month}'"])
    by_role = {r["role_name_ru"]: (r["accounts"], r["accounts_linked_to_esia"]) for r in got}
    want = {
        role: (count, manifest["accounts"]["linked_by_role"].get(role, 0))
        for role, count in manifest["accounts"]["accounts_by_role"].items()
    }
    assert by_role == want
    # trust levels of the linked accounts, summed over roles
    got = api.rows(page, stack, charts["Связанные с ЕСИА учётные записи по уровню доверия"])
    by_trust: dict[str, int] = defaultdict(int)
    for r in got:
        by_trust[r["trust_level_ru"]] += r["accounts_linked_to_esia"]
    want_trust = {
        k or "не указан": v for k, v in manifest["accounts"]["linked_by_trust_level"].items()
    }
    assert dict(by_trust) == want_trust
    assert want_trust.get("подтверждённая", 0) > 0


def test_quality_dashboard_matches_the_dq_tables(signed_in, stack, warehouse_owner):
    page = signed_in("analyst")
    charts = api.dashboard_charts(page, stack, api.dashboards(page, stack)[QUALITY])
    (runs,) = warehouse_owner.execute("select count(*) from dq.check_runs").fetchone()
    assert api.rows(page, stack, charts["Запусков проверок"]) == [{"runs": runs}]
    want = dict(
        warehouse_owner.execute(
            """
            with newest as (
                select distinct on (layer, audited_schemas) run_id from dq.check_runs
                where finished_at is not null
                order by layer, audited_schemas, started_at desc
            )
            select r.severity, count(*) from dq.check_results as r
            join newest using (run_id) group by 1
            """
        ).fetchall()
    )
    got = api.rows(page, stack, charts["Проверки последнего запуска по важности и результату"])
    severity = {"блокирующая": "blocking", "предупреждение": "warning"}
    totals: dict[str, int] = defaultdict(int)
    for r in got:
        totals[severity[r["severity_ru"]]] += r["checks"]
    assert totals == want


def test_quality_dashboard_shows_loads_rejections_and_freshness(signed_in, stack, warehouse_owner):
    """Loads, quarantined lines and feed freshness, counted a second way from `raw` itself
    (which the dashboards' role cannot read)."""
    page = signed_in("analyst")
    charts = api.dashboard_charts(page, stack, api.dashboards(page, stack)[QUALITY])
    want_rows = {
        feed: (loaded, rejected)
        for feed, loaded, rejected in warehouse_owner.execute(
            "select coalesce(feed, 'не определён'), sum(coalesce(rows_loaded, 0)), "
            "sum(coalesce(rows_rejected, 0)) from raw.load_log where kind = 'file' group by 1"
        ).fetchall()
    }
    got = api.rows(page, stack, charts["Загружено и отклонено строк по потокам"])
    assert {r["feed"]: (r["rows_loaded"], r["rows_rejected"]) for r in got} == want_rows
    assert sum(loaded for loaded, _ in want_rows.values()) > 10_000

    quarantined = dict(
        ((feed, reason), lines)
        for feed, reason, lines in warehouse_owner.execute(
            "select q.feed, reason, count(*) from raw.quarantine as q, unnest(q.reasons) as reason "
            "group by 1, 2"
        ).fetchall()
    )
    got = api.rows(page, stack, charts["Строки в карантине по потоку и причине"])
    shown = {(r["feed"], r["reason"]): r["lines"] for r in got if r["lines"]}
    assert shown == quarantined
    quiet = {r["feed"] for r in got if not r["lines"]}
    assert quiet == {f for f in want_rows if f not in {k[0] for k in quarantined}}

    newest = {
        feed: day.isoformat()
        for feed, day in warehouse_owner.execute(
            "select feed, max(extract_date) from raw.load_log "
            "where kind = 'file' and status = 'loaded' group by feed"
        ).fetchall()
    }
    got = api.rows(page, stack, charts["Свежесть потоков"])
    assert {r["feed"]: r["newest_extract"] for r in got} == newest
    assert min(r["days_behind"] for r in got) == 0


def test_trajectories_match_the_manifest(signed_in, stack, manifest, warehouse_owner):
    """Yearly statuses against the manifest's trajectory counts; lost children and flows
    between municipalities against SQL on the trajectory facts in `core`."""
    page = signed_in("analyst")
    charts = api.dashboard_charts(page, stack, api.dashboards(page, stack)[TRAJECTORIES])
    for year in manifest["school_years"]:
        body = api.query_body(charts["Годовые статусы траекторий"], [f"academic_year = '{year}'"])
        body["queries"][0]["columns"].append("status")
        got = api.chart_data(page, stack, body)["result"][0]["data"]
        want = {
            t["class"]: t["count"]
            for t in manifest["trajectory_counts"]
            if t["school_year"] == year
        }
        assert {r["status"]: r["students"] for r in got if r["status"] in want} == want, year
    (lost,) = warehouse_owner.execute("select count(*) from core.fct_lost_child").fetchone()
    got = api.rows(page, stack, charts["Потерянных детей"])
    assert got == [{"students": lost}]
    assert lost > 0


def _school_year(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    start = year if mon >= 9 else year - 1
    return f"{start}/{start + 1}"


def test_arrivals_and_departures_match_the_manifest(signed_in, stack, manifest):
    """Arrivals (admissions, restorations) and departures (expulsions, graduations) of main
    programs, month by month, add up in each school year to the manifest's events by type."""
    page = signed_in("analyst")
    charts = api.dashboard_charts(page, stack, api.dashboards(page, stack)[TRAJECTORIES])
    got: Counter = Counter()
    for r in api.rows(page, stack, charts["Прибытие и выбытие по месяцам (основные программы)"]):
        got[(_school_year(r["month"]), "arrivals")] += r["arrivals"]
        got[(_school_year(r["month"]), "departures")] += r["departures"]
    kinds = {
        "Зачисление": "arrivals",
        "Восстановление": "arrivals",
        "Отчисление": "departures",
        "Выпуск": "departures",
    }
    want: Counter = Counter()
    for m in manifest["movements"]:
        if m["type"] in kinds and m["program"] != "ДОП":
            want[(m["school_year"], kinds[m["type"]])] += m["count"]
    assert +got == +want
    assert len({month for month in got}) > 2


def test_region_trajectories_match_the_manifest(signed_in, stack, manifest):
    """The region analyst's dashboard: flows between organization types against the manifest's
    organization-level flows mapped to types; cohort survival cell by cell against the
    manifest's cohorts, with each share of its cohort."""
    page = signed_in("analyst")
    charts = api.dashboard_charts(page, stack, api.dashboards(page, stack)[REGION_TRAJECTORIES])
    orgs = {o["org_id"]: ORG_TYPES[o["type"]] for o in manifest["organizations"]}
    want: Counter = Counter()
    for r in manifest["flows"]:
        source = r["source"] if r["source"] in FLOW_NODES else orgs[r["source"]]
        target = r["target"] if r["target"] in FLOW_NODES else orgs[r["target"]]
        if source != target:
            want[(r["school_year"], source, target)] += r["count"]
    body = api.query_body(charts["Потоки обучающихся между типами организаций"])
    body["queries"][0]["columns"] = ["academic_year", "source_id", "target_id"]
    data = api.chart_data(page, stack, body)["result"][0]["data"]
    got = Counter({(r["academic_year"], r["source_id"], r["target_id"]): r["students"]
                   for r in data})  # fmt: skip
    assert got == want
    assert any(s not in FLOW_NODES and t not in FLOW_NODES for _, s, t in want)
    (total,) = api.rows(page, stack, charts["Переходов между типами организаций"])
    assert total["students"] == sum(want.values())

    table = charts["Выживаемость когорт: где обучающиеся на 20 сентября"]
    body = api.query_body(table)
    body["queries"][0]["columns"] = [
        "cohort_year", "entry_grade_level", "academic_year", "status", "grade_level"
    ]  # fmt: skip
    data = api.chart_data(page, stack, body)["result"][0]["data"]
    got = Counter({(r["cohort_year"], r["entry_grade_level"], r["academic_year"], r["status"],
                    r["grade_level"]): r["students"] for r in data})  # fmt: skip
    want = Counter({(c["cohort_year"], c["entry_grade"], c["school_year"], c["status"],
                     c["grade"]): c["count"] for c in manifest["cohorts"]})  # fmt: skip
    assert got == want
    sizes: Counter = Counter()
    in_general: Counter = Counter()
    for (cohort, grade, year, status, _), n in want.items():
        sizes[(cohort, grade, year)] += n
        if status == "general_education":
            in_general[(cohort, grade, year)] += n
    line = charts["Доля когорты в общем образовании по годам"]
    body = api.query_body(line)
    body["queries"][0]["columns"] = ["cohort_year", "entry_grade_level", "academic_year"]
    data = api.chart_data(page, stack, body)["result"][0]["data"]
    got_share = {(r["cohort_year"], r["entry_grade_level"], r["academic_year"]):
                 Decimal(str(r["share_percent"])) for r in data}  # fmt: skip
    assert got_share == {k: round(Decimal(100 * n) / sizes[k], 2) for k, n in in_general.items()}


def test_region_only_dashboard_is_the_analysts_alone(signed_in, stack):
    """Cohorts and type flows are region-wide counts: a department neither sees the dashboard
    nor may query its datasets, whatever request it builds."""
    analyst = signed_in("analyst")
    charts = api.dashboard_charts(
        analyst, stack, api.dashboards(analyst, stack)[REGION_TRAJECTORIES]
    )
    for login in (f"uo-{MUNICIPALITY}", f"director-{SCHOOL}"):
        page = signed_in(login)
        assert REGION_TRAJECTORIES not in api.dashboards(page, stack)
        for name, form_data in charts.items():
            if name == "Данные на":
                continue
            api.chart_data(page, stack, api.query_body(form_data), expect=403)


# -- access ---------------------------------------------------------------------------------
def _enrolment_total(page, stack, where=()) -> int:
    charts = api.dashboard_charts(page, stack, api.dashboards(page, stack)[ENROLMENT])
    form_data = charts["Обучающихся по основным программам"]
    data = api.rows(page, stack, form_data, ["report_date = '2026-10-23'", *where])
    return data[0]["students"]


def test_municipal_user_sees_only_its_municipality(signed_in, stack, warehouse_owner):
    """Every chart of every dashboard the department sees holds its municipality's rows only;
    its totals equal SQL on core facts restricted to the municipality, not the region's."""
    page = signed_in(f"uo-{MUNICIPALITY}")
    boards = api.dashboards(page, stack)
    assert set(boards) == ALL_DASHBOARDS
    checked = 0
    for title, board_id in boards.items():
        for name, form_data in api.dashboard_charts(page, stack, board_id).items():
            if title == QUALITY or name == "Данные на":  # region-wide technical data
                assert api.rows(page, stack, form_data), f"{title}: {name}"
                continue
            query = api.query_body(form_data)
            query["queries"][0]["columns"].append("municipality_id")
            result = api.chart_data(page, stack, query)["result"][0]
            assert {r["municipality_id"] for r in result["data"]} == {MUNICIPALITY}, name
            checked += 1
    assert checked == CHARTS - REGION_ONLY_CHARTS - UNSCOPED_CHARTS

    sql = """
        select count(distinct e.student_id) filter (where o.municipality_id = %s),
               count(distinct e.student_id)
        from core.fct_enrolment_on_count_date as e
        join marts.dim_organization as o
          on o.organization_id = e.organization_id
         and e.count_date >= o.valid_from and e.count_date < o.valid_to
        where e.count_date = '2026-10-23' and e.is_main_program
    """
    mine, region = warehouse_owner.execute(sql, (MUNICIPALITY,)).fetchone()
    assert _enrolment_total(page, stack) == mine
    assert _enrolment_total(signed_in("analyst"), stack) == region
    assert 0 < mine < region


def test_municipal_user_cannot_widen_its_query(signed_in, stack):
    """Editing the chart's request: another municipality's filter, an attempt to break out
    of the WHERE clause, an ad-hoc SQL metric grouped by municipality: never another's rows."""
    page = signed_in(f"uo-{MUNICIPALITY}")
    charts = api.dashboard_charts(page, stack, api.dashboards(page, stack)[ENROLMENT])
    form_data = charts["Обучающихся по основным программам"]

    other = api.chart_data(page, stack, api.query_body(form_data, ["municipality_id = '57610'"]))
    assert other["result"][0]["data"] in ([], [{"students": None}])

    # a WHERE break-out defeats the chart's own filters, never the row-level security
    breakout = api.query_body(form_data, ["1 = 1) or (1 = 1"])
    breakout["queries"][0]["columns"] = ["municipality_id"]
    response = page.request.post(f"{stack.superset_url}/api/v1/chart/data", data=breakout)
    if response.status == 200:
        data = response.json()["result"][0]["data"]
        assert {r["municipality_id"] for r in data} == {MUNICIPALITY}
    else:
        assert response.status in (400, 403, 422)

    by_org = api.query_body(form_data, [])
    by_org["queries"][0]["columns"] = ["municipality_id"]
    by_org["queries"][0]["metrics"] = [
        {"expressionType": "SQL", "sqlExpression": "sum(students)", "label": "s"}
    ]
    data = api.chart_data(page, stack, by_org)["result"][0]["data"]
    assert {r["municipality_id"] for r in data} == {MUNICIPALITY}


def test_director_sees_one_school(signed_in, stack):
    page = signed_in(f"director-{SCHOOL}")
    boards = api.dashboards(page, stack)
    assert set(boards) == {ENROLMENT, RESULTS}
    charts = api.dashboard_charts(page, stack, boards[ENROLMENT])
    body = api.query_body(charts["Обучающиеся по организациям"])
    body["queries"][0]["columns"].append("organization_id")
    data = api.chart_data(page, stack, body)["result"][0]["data"]
    assert {r["organization_id"] for r in data} == {SCHOOL}
    # the accounts dataset has no organization: a school role is not given it at all
    analyst = signed_in("analyst")
    accounts = api.dashboard_charts(analyst, stack, api.dashboards(analyst, stack)[ACCOUNTS])
    api.chart_data(page, stack, api.query_body(accounts["Учётные записи по ролям"]), expect=403)


def test_teacher_sees_the_results_dashboard_only(signed_in, stack):
    page = signed_in(f"teacher-{SCHOOL}")
    assert set(api.dashboards(page, stack)) == {RESULTS}


def test_sql_lab_only_for_the_region_analyst(signed_in, stack):
    """The department cannot open SQL Lab or run SQL; the analyst can, through the read-only
    role, which cannot read the raw or personal-data schemas."""
    analyst = signed_in("analyst")
    response = analyst.request.get(f"{stack.superset_url}/api/v1/database/")
    assert response.status == 200
    database_id = response.json()["result"][0]["id"]

    def execute(page, sql: str):
        token = page.request.get(f"{stack.superset_url}/api/v1/security/csrf_token/")
        headers = {"Referer": f"{stack.superset_url}/sqllab/"}
        if token.status == 200:
            headers["X-CSRFToken"] = token.json()["result"]
        return page.request.post(
            f"{stack.superset_url}/api/v1/sqllab/execute/",
            data={"database_id": database_id, "sql": sql, "runAsync": False, "schema": "marts"},
            headers=headers,
        )

    ok = execute(analyst, "select count(*) as n from marts.dim_municipality")
    assert ok.status == 200, ok.text()
    for sql in ("select count(*) from raw.load_log", "select count(*) from pii.students"):
        refused = execute(analyst, sql)
        assert refused.status != 200 and "permission denied" in refused.text(), sql

    department = signed_in(f"uo-{MUNICIPALITY}")
    assert execute(department, "select 1").status in (401, 403)
    page = department.context.new_page()
    try:
        response = page.goto(f"{stack.superset_url}/sqllab/")
        assert response.status == 403
        assert "SQL Lab" not in page.title()
    finally:
        page.close()
    ok = analyst.request.get(f"{stack.superset_url}/sqllab/")
    assert ok.status == 200


def test_anonymous_api_calls_are_refused(browser, stack, signed_in):
    analyst = signed_in("analyst")
    charts = api.dashboard_charts(analyst, stack, api.dashboards(analyst, stack)[ENROLMENT])
    form_data = charts["Обучающихся по основным программам"]
    context = browser.new_context()
    try:
        response = context.request.post(
            f"{stack.superset_url}/api/v1/chart/data", data=api.query_body(form_data)
        )
        assert response.status == 401
        assert context.request.get(f"{stack.superset_url}/api/v1/dashboard/").status == 401
    finally:
        context.close()
