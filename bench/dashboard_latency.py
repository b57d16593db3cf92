"""Dashboard latency: every chart's query through Superset's chart data API, caching off.

Superset and the development sign-in provider are started on free ports against a benchmark
warehouse (read-only role), the region analyst signs in through the provider's page in Debian's
Chromium, and each chart of each dashboard is asked for its data `REPEATS` times with
`force: true` (the cache is bypassed, so every call runs the query on the warehouse). The
chart request is built from the chart's saved parameters the way the dashboards' tests build
it. Afterwards the metadata database's connection is pointed back at the project's warehouse.
"""

from __future__ import annotations

import dataclasses
import socket
import statistics
import time
from pathlib import Path

from kontingent import dashboards
from kontingent.settings import get_settings
from tests.dashboards.superset_api import (
    CHROMIUM,
    CHROMIUM_ARGS,
    chart_data,
    dashboard_charts,
    query_body,
    sign_in,
)
from tests.dashboards.superset_api import dashboards as list_dashboards

REPEATS = 5
TARGET_P95_MS = 500


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def measure(urls: dict[str, str], work: Path, repeats: int = REPEATS) -> dict:
    """`urls`: the benchmark warehouse's `WAREHOUSE_URL`, `WAREHOUSE_READER_URL` and
    `WAREHOUSE_REIDENTIFY_URL` (sign-in reads the accounts of an OID through the last)."""
    settings = get_settings()
    settings = dataclasses.replace(settings, env={**settings.env, **urls})
    run_dir = work / "superset-run"
    d = dashboards.configure(
        settings, superset_port=_free_port(), oidc_port=_free_port(), state_dir=run_dir
    )
    dashboards.init(d)
    dashboards.provision(d)
    # the development provider's analyst holds «Аналитик министерства» through the access list
    dashboards.grant_demo_analyst(d)
    timings: dict[str, list[float]] = {}
    try:
        dashboards.start_oidc_dev(d)
        dashboards.start_superset(d, workers=2, threads=4)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_context().new_page()
            page.set_default_timeout(120_000)
            sign_in(page, d, "analyst", dashboards.oidc_secrets(d)["dev_password"])
            page.wait_for_url(f"{d.superset_url}/superset/welcome/**")
            for title, dashboard_id in sorted(list_dashboards(page, d).items()):
                for chart, form_data in sorted(dashboard_charts(page, d, dashboard_id).items()):
                    body = query_body(form_data)
                    key = f"{title} / {chart}"
                    for _ in range(repeats):
                        started = time.perf_counter()
                        result = chart_data(page, d, body)["result"][0]
                        elapsed = (time.perf_counter() - started) * 1000
                        if result.get("error"):
                            raise RuntimeError(f"{key}: {result['error']}")
                        timings.setdefault(key, []).append(elapsed)
            browser.close()
    finally:
        for _line in dashboards.down(d):
            pass
        dashboards.provision(dashboards.configure(get_settings(), state_dir=run_dir))
    every = [t for values in timings.values() for t in values]
    slowest = sorted(timings.items(), key=lambda kv: -statistics.median(kv[1]))[:5]
    return {
        "charts": len(timings),
        "calls": len(every),
        "p50_ms": round(percentile(every, 0.50)),
        "p95_ms": round(percentile(every, 0.95)),
        "target_p95_ms": TARGET_P95_MS,
        "slowest_median_ms": {k: round(statistics.median(v)) for k, v in slowest},
    }
