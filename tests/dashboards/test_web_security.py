"""The Superset app as a web application: anonymous requests are sent to sign in or refused,
the session cookie carries its protective flags, and no default credential opens it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from kontingent import dashboards

CONFIG = Path(__file__).resolve().parents[2] / "superset" / "superset_config.py"


@pytest.mark.parametrize(
    "path",
    [
        "/superset/welcome/",
        "/dashboard/list/",
        "/sqllab/",
        "/explore/",
        "/kontingent/forms/",
        "/kontingent/lost-children?municipality=57701",
    ],
)
def test_anonymous_pages_are_sent_to_sign_in(browser, stack, path):
    context = browser.new_context()
    try:
        response = context.request.get(f"{stack.superset_url}{path}", max_redirects=0)
        assert response.status in (302, 401), response.status
        if response.status == 302:
            assert "/login/" in response.headers["location"]
    finally:
        context.close()


@pytest.mark.parametrize(
    "path", ["/api/v1/chart/", "/api/v1/dataset/", "/api/v1/database/", "/api/v1/sqllab/"]
)
def test_anonymous_api_calls_get_401(browser, stack, path):
    context = browser.new_context()
    try:
        assert context.request.get(f"{stack.superset_url}{path}").status == 401
    finally:
        context.close()


def test_the_session_cookie_is_http_only_and_same_site(signed_in, stack):
    page = signed_in("analyst")
    cookies = {c["name"]: c for c in page.context.cookies(stack.superset_url)}
    session = cookies["session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    assert session["secure"] is False  # served over plain HTTP on the loopback here


@pytest.mark.parametrize(
    ("public_url", "secure"),
    [("https://dashboards.example.ru", True), ("http://127.0.0.1:8088", False), ("", False)],
)
def test_cookies_are_https_only_when_served_over_https(public_url, secure):
    env = {
        **os.environ,
        "SUPERSET_PUBLIC_URL": public_url,
        "SUPERSET_SECRET_KEY": "only-for-this-check",
        "SUPERSET_DB_URL": "postgresql://nobody@127.0.0.1:1/none",
    }
    code = (
        "import json, runpy, sys; ns = runpy.run_path(sys.argv[1]); "
        "print(json.dumps([ns['SESSION_COOKIE_SECURE'], ns['SESSION_COOKIE_HTTPONLY'], "
        "ns['SESSION_COOKIE_SAMESITE']]))"
    )
    proc = subprocess.run(
        [str(dashboards.SUPERSET_VENV / "bin" / "python"), "-c", code, str(CONFIG)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [secure, True, "Lax"]


@pytest.mark.parametrize(
    ("username", "password"), [("admin", "admin"), ("admin", "general"), ("superset", "superset")]
)
def test_no_default_credentials_open_the_app(browser, stack, username, password):
    context = browser.new_context()
    try:
        response = context.request.post(
            f"{stack.superset_url}/api/v1/security/login",
            data={"username": username, "password": password, "provider": "db"},
        )
        assert response.status in (400, 401, 404, 405), response.status
        # and the session that follows is still anonymous
        assert context.request.get(f"{stack.superset_url}/api/v1/dashboard/").status == 401
    finally:
        context.close()


def test_only_the_break_glass_administrator_signs_in_with_a_password(browser, stack):
    """`kontingent superset break-glass` makes the one local user with a password; it signs in
    at /break-glass/ as an administrator, a wrong password or any other name is refused, and a
    new password replaces the old one."""
    user, password = dashboards.break_glass(stack)
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    try:

        def submit(username: str, secret: str):
            page.goto(f"{stack.superset_url}/break-glass/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", secret)
            with page.expect_navigation():
                page.click("button[type=submit]")

        for username, secret in (
            (user, password + "x"),
            ("esia_1000000001", password),
            ("admin", password),
        ):
            submit(username, secret)
            assert page.get_by_role("alert").inner_text() == "Неверные имя пользователя или пароль"
            assert page.request.get(f"{stack.superset_url}/api/v1/me/").status == 401

        submit(user, password)
        page.wait_for_url(f"{stack.superset_url}/superset/welcome/**")
        roles = page.request.get(f"{stack.superset_url}/api/v1/me/roles/").json()["result"]
        assert set(roles["roles"]) == {"Admin"}
    finally:
        context.close()

    # the REST API's password sign-in: the break-glass user only
    api = browser.new_context()
    try:
        login = f"{stack.superset_url}/api/v1/security/login"
        ok = api.request.post(
            login, data={"username": user, "password": password, "provider": "db"}
        )
        assert ok.status == 200 and ok.json()["access_token"]
        _new_user, new_password = dashboards.break_glass(stack)
        old = api.request.post(
            login, data={"username": user, "password": password, "provider": "db"}
        )
        assert old.status == 401
        new = api.request.post(
            login, data={"username": user, "password": new_password, "provider": "db"}
        )
        assert new.status == 200
    finally:
        api.close()
