"""The dashboards stack for browser tests: the development OpenID Connect provider and Superset,
started once per session on free ports with their own run folder, and Debian's Chromium driven
by Playwright. Everything started here is stopped at the end."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from kontingent import dashboards
from kontingent.settings import get_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Screenshots and logs a person can look at after the run (git-ignored)."""
    path = get_settings().home / "test-artifacts" / "dashboards"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def stack(pg_cluster, artifacts_dir) -> Iterator[dashboards.Dashboards]:
    """Superset and the provider, initialized (db upgrade, init, provisioning) when needed."""
    if not (dashboards.SUPERSET_VENV / "bin" / "gunicorn").exists():
        pytest.fail("the dashboards environment is missing: run `make venvs`")
    run_dir = artifacts_dir / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    d = dashboards.configure(
        get_settings(), superset_port=_free_port(), oidc_port=_free_port(), state_dir=run_dir
    )
    assert d.runs_oidc_dev, "unset OIDC_ISSUER: the tests start their own provider"
    dashboards.init(d)
    try:
        dashboards.start_oidc_dev(d)
        dashboards.start_superset(d)
        yield d
    finally:
        for _line in dashboards.down(d):
            pass


@pytest.fixture(scope="session")
def demo_password(stack) -> str:
    return dashboards.oidc_secrets(stack)["dev_password"]


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run `make system-deps` as root")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser profile (no cookies) per test; English browser language on purpose, so
    that Russian on screen comes from Superset's own default."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def metadata_db(stack) -> Iterator[psycopg.Connection]:
    with psycopg.connect(get_settings().superset_db_url, autocommit=True) as conn:
        yield conn
