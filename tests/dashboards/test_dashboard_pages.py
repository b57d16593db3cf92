"""Each dashboard in real Chromium, as the municipal department's user (the region analyst for
the region's own dashboard) signed in through the provider's login page: every chart renders
at least one data point, none shows an error or «Нет данных», and every chart data request the
page makes succeeds. A screenshot of each dashboard is kept in .local/test-artifacts/dashboards/."""

from __future__ import annotations

import pytest
import superset_api as api

pytestmark = pytest.mark.slow

LOGIN = "uo-57701"
WAIT_MS = 180_000  # a limit for a loaded machine, not a timing assertion
CHART = "[data-test='chart-grid-component']"
SLICE = "[data-test='slice-container']"
DATA_POINT = f"{SLICE} canvas, {SLICE} td, {SLICE} .header-line"


DASHBOARDS = {  # key: title, who opens it
    "enrolment": ("Контингент обучающихся", LOGIN),
    "results": ("Успеваемость и качество знаний", LOGIN),
    "accounts": ("Пользователи СЭДиЖ и ЕСИА", LOGIN),
    "quality": ("Качество данных", LOGIN),
    "trajectories": ("Движение контингента и траектории", LOGIN),
    # the region's own dashboard: the department has none of it
    "region_trajectories": ("Траектории по региону: когорты и типы организаций", "analyst"),
}


@pytest.mark.parametrize("key", list(DASHBOARDS))
def test_dashboard_renders_every_chart(signed_in, stack, artifacts_dir, key):
    title, login = DASHBOARDS[key]
    page = signed_in(login)
    board_id = api.dashboards(page, stack)[title]
    expected = len(api.dashboard_charts(page, stack, board_id))
    responses = []

    def keep(response):
        if "/api/v1/chart/data" in response.url:
            responses.append(response)

    page.on("response", keep)
    try:
        page.goto(f"{stack.superset_url}/superset/dashboard/{board_id}/")
        page.get_by_text(title).first.wait_for()
        charts = page.locator(CHART)
        page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length === n",
            arg=[CHART, expected],
            timeout=WAIT_MS,
        )
        # every chart has finished loading and drawn something
        page.wait_for_function(
            """([sel, point]) => [...document.querySelectorAll(sel)].every(
                 c => !c.querySelector('[data-test="loading-indicator"]')
                      && c.querySelector(point))""",
            arg=[CHART, DATA_POINT],
            timeout=WAIT_MS,
        )
        page.wait_for_load_state("networkidle")
        page.screenshot(
            path=str(artifacts_dir / f"dashboard-{key}.png"),
            full_page=True,
        )
        assert charts.count() == expected
        for i in range(expected):
            chart = charts.nth(i)
            text = chart.inner_text()
            assert "Нет данных" not in text and "Не было получено данных" not in text, text
            assert (
                chart.locator(f"[data-test='error-tooltip'], {SLICE} [role='alert']").count() == 0
            ), text
            assert chart.locator(DATA_POINT).count() > 0, text
        assert len(responses) >= expected
        for response in responses:
            assert response.status == 200, (response.url, response.text()[:500])
            for result in response.json()["result"]:
                assert not result.get("error"), result["error"]
    finally:
        page.remove_listener("response", keep)
