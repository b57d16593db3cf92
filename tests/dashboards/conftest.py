"""The dashboards stack for browser tests: the development OpenID Connect provider and Superset,
started once per session on free ports with their own run folder, and Debian's Chromium driven
by Playwright. Superset reads a copy of the session's built warehouse (the correctness region,
with one real run of the raw-layer checks for the data-quality dashboard) through the read-only
role. Everything started here is stopped at the end, and the metadata database's warehouse
connection is put back to the project's own warehouse."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from kontingent import dashboards, db
from kontingent.settings import ROLE_OWNER, ROLE_PII, ROLE_READER, ROLE_REIDENTIFY, get_settings
from tests.dashboards.superset_api import CHROMIUM, CHROMIUM_ARGS, sign_in


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
def dashboard_warehouse(built_warehouse, pseudonym_key) -> Iterator[str]:
    """A copy of the built warehouse with the raw layer's checks run once (the `dq` schema the
    data-quality dashboard reads); its name."""
    settings = get_settings()
    name = f"kt_dash_{os.getpid()}"
    admin = settings.local_url(ROLE_OWNER, "postgres")
    db.drop_database(admin, name)
    db.clone_database(admin, built_warehouse.dbname, name)
    env = {
        **os.environ,
        "WAREHOUSE_URL": settings.local_url(ROLE_OWNER, name),
        "WAREHOUSE_READER_URL": settings.local_url(ROLE_READER, name),
        "WAREHOUSE_PII_URL": settings.local_url(ROLE_PII, name),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "kontingent.cli", "check", "raw"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    # the development provider's analyst holds «Аналитик министерства» through the access list,
    # as `kontingent superset up` grants it on the demo warehouse
    d = dashboards.configure(dataclasses.replace(settings, env={**settings.env, **env}))
    dashboards.grant_demo_analyst(d)
    yield name
    db.drop_database(admin, name)


@pytest.fixture(scope="session")
def stack(pg_cluster, artifacts_dir, dashboard_warehouse) -> Iterator[dashboards.Dashboards]:
    """Superset and the provider, initialized (db upgrade, init) when needed and provisioned
    with the warehouse connection on the test warehouse."""
    if not (dashboards.SUPERSET_VENV / "bin" / "gunicorn").exists():
        pytest.fail("the dashboards environment is missing: run `make venvs`")
    run_dir = artifacts_dir / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    settings = get_settings()
    reader_url = settings.local_url(ROLE_READER, dashboard_warehouse)
    reidentify_url = settings.local_url(ROLE_REIDENTIFY, dashboard_warehouse)
    forms_home = artifacts_dir / "forms"
    shutil.rmtree(forms_home, ignore_errors=True)
    settings = dataclasses.replace(
        settings,
        env={
            **settings.env,
            "WAREHOUSE_READER_URL": reader_url,
            "WAREHOUSE_REIDENTIFY_URL": reidentify_url,
            "KONTINGENT_FORMS_HOME": str(forms_home),
        },
    )
    d = dashboards.configure(
        settings, superset_port=_free_port(), oidc_port=_free_port(), state_dir=run_dir
    )
    assert d.runs_oidc_dev, "unset OIDC_ISSUER: the tests start their own provider"
    dashboards.init(d)
    try:
        dashboards.provision(d)
        dashboards.start_oidc_dev(d)
        dashboards.start_superset(d)
        yield d
    finally:
        for _line in dashboards.down(d):
            pass
        # the metadata database is the project's own: point it back at the project's warehouse
        dashboards.provision(dashboards.configure(get_settings(), state_dir=run_dir))


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


@pytest.fixture(scope="session")
def warehouse_owner(stack, dashboard_warehouse) -> Iterator[psycopg.Connection]:
    """The test warehouse as its owner: the independent side of every figure (core facts)."""
    url = get_settings().local_url(ROLE_OWNER, dashboard_warehouse)
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def manifest(built_warehouse) -> dict:
    """The generator's ground truth of the correctness region."""
    return built_warehouse.manifest


@pytest.fixture(scope="session")
def signed_in(browser, stack, demo_password) -> Iterator:
    """`signed_in(login)`: a page of a browser profile signed in as that demo person (one per
    person for the session)."""
    contexts: dict = {}

    def open_as(login: str):
        if login not in contexts:
            context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
            context.set_default_timeout(60_000)
            page = context.new_page()
            sign_in(page, stack, login, demo_password)
            page.wait_for_url(f"{stack.superset_url}/superset/welcome/**")
            contexts[login] = (context, page)
        return contexts[login][1]

    yield open_as
    for context, _page in contexts.values():
        context.close()
