"""Superset's REST API as a signed-in browser profile calls it: the dashboards, their charts
and each chart's query through the chart data API (`POST /api/v1/chart/data`), built from the
chart's saved parameters the way the dashboard builds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Debian's Chromium (never a downloaded browser), headless
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def sign_in(page, stack, login: str, password: str) -> None:
    """From Superset's front door to the provider's own login page, and submit it."""
    page.goto(f"{stack.superset_url}/")
    page.wait_for_url(f"{stack.issuer}/interaction/**")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")


def dashboards(page, stack) -> dict[str, int]:
    """{title: id} of the dashboards the signed-in person may see."""
    response = page.request.get(f"{stack.superset_url}/api/v1/dashboard/?q=(page_size:100)")
    assert response.status == 200, response.text()
    return {d["dashboard_title"]: d["id"] for d in response.json()["result"]}


def dashboard_charts(page, stack, dashboard_id: int) -> dict[str, dict]:
    """{chart title: form data} of one dashboard."""
    response = page.request.get(f"{stack.superset_url}/api/v1/dashboard/{dashboard_id}/charts")
    assert response.status == 200, response.text()
    return {c["slice_name"]: c["form_data"] for c in response.json()["result"]}


def query_body(form_data: dict, where: list[str] = (), **query: Any) -> dict:
    """The chart data request of a chart: its columns (x axis, groups), metrics and saved
    filters, plus `where` (as the dashboard's native filters would add)."""
    if form_data.get("query_mode") == "raw":
        columns, metrics = list(form_data["all_columns"]), []
    elif form_data.get("viz_type") == "sankey_v2":
        columns, metrics = [form_data["source"], form_data["target"]], [form_data["metric"]]
    else:
        columns = [form_data["x_axis"]] if form_data.get("x_axis") else []
        columns += form_data.get("groupby") or []
        metrics = form_data.get("metrics") or [form_data["metric"]]
    metrics = list(metrics)
    clauses = [f["sqlExpression"] for f in form_data.get("adhoc_filters", [])] + list(where)
    dataset_id = int(str(form_data["datasource"]).split("__")[0])
    return {
        "datasource": {"id": dataset_id, "type": "table"},
        "force": True,
        "queries": [
            {
                "columns": columns,
                "metrics": metrics,
                "extras": {"where": " and ".join(f"({c})" for c in clauses)} if clauses else {},
                "row_limit": 10000,
                **query,
            }
        ],
        "result_format": "json",
        "result_type": "full",
    }


def chart_data(page, stack, body: dict, expect: int = 200) -> dict:
    response = page.request.post(f"{stack.superset_url}/api/v1/chart/data", data=body)
    assert response.status == expect, response.text()[:2000]
    return response.json()


def rows(page, stack, form_data: dict, where: list[str] = ()) -> list[dict]:
    """The rows a chart shows (no error, at least one row)."""
    result = chart_data(page, stack, query_body(form_data, where))["result"][0]
    assert not result.get("error"), result["error"]
    return result["data"]
