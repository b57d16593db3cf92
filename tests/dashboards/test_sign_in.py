"""Sign-in through the ESIA-style OpenID Connect provider, in real headless Chromium.

Each test opens Superset in a fresh browser profile, is sent to the provider's own login page,
types a demo person's login and password there, and checks where it lands and what Superset
made of the person's claims (roles through Superset's API, scope in the metadata database)."""

from __future__ import annotations

import pytest

from kontingent import access
from kontingent.settings import ROLE_OWNER, get_settings
from tests.dashboards.superset_api import sign_in

pytestmark = pytest.mark.slow

OIDS = {  # superset/oidc-dev/people.json
    "analyst": "1000000001",
    "uo-57701": "1000000003",
    "director-700107": "1000000005",
    "teacher-700107": "1000000008",
    "student": "1000000009",
    "parent": "1000000010",
    "uo-simplified": "1000000011",
}


def _my_roles(page, stack) -> dict:
    response = page.request.get(f"{stack.superset_url}/api/v1/me/roles/")
    assert response.status == 200, response.text()
    return response.json()["result"]["roles"]


def _user_row(metadata_db, login: str):
    """The Superset user of a demo person and its sign-in record (None when there is none)."""
    return metadata_db.execute(
        "select id, login_count, last_login from ab_user where username = %s",
        (f"esia_{OIDS[login]}",),
    ).fetchone()


def _scope_rows(metadata_db, login: str) -> list[tuple]:
    return metadata_db.execute(
        """
        select s.role, s.scope, s.oktmo, s.municipality_id, s.org_id, s.trust_level
        from kontingent_user_scope as s
        join ab_user as u on u.id = s.user_id
        where u.username = %s
        order by s.role
        """,
        (f"esia_{OIDS[login]}",),
    ).fetchall()


def test_anonymous_visitor_is_sent_to_the_provider(page, stack):
    page.goto(f"{stack.superset_url}/dashboard/list/")
    page.wait_for_url(f"{stack.issuer}/interaction/**")
    assert page.locator("form input#password").count() == 1
    assert "ЕСИА" in page.locator("header").inner_text()
    response = page.request.get(f"{stack.superset_url}/api/v1/me/")
    assert response.status == 401


def test_analyst_signs_in_and_sees_superset_in_russian(
    page, stack, demo_password, metadata_db, artifacts_dir
):
    sign_in(page, stack, "analyst", demo_password)

    page.wait_for_url(f"{stack.superset_url}/superset/welcome/**")
    # the home page, in Russian although the browser asks for English
    page.get_by_text("Смотреть все").first.wait_for()  # the lists have loaded
    body = page.locator("body").inner_text()
    assert "Главная" in body and "Дашборды" in body
    assert "Dashboards" not in body and "View All" not in body
    page.screenshot(path=str(artifacts_dir / "analyst-welcome.png"), full_page=False)

    me = page.request.get(f"{stack.superset_url}/api/v1/me/").json()["result"]
    assert me["username"] == f"esia_{OIDS['analyst']}"
    assert (me["first_name"], me["last_name"]) == ("Анна", "Аналитикова")
    assert set(_my_roles(page, stack)) == {"Gamma", "sql_lab", "kontingent_region"}
    assert _scope_rows(metadata_db, "analyst") == [
        ("ministry_analyst", "region", None, None, None, "подтверждённая")
    ]


def test_department_user_gets_its_municipality_from_the_warehouse(
    page, stack, demo_password, metadata_db
):
    sign_in(page, stack, "uo-57701", demo_password)
    page.wait_for_url(f"{stack.superset_url}/superset/welcome/**")

    assert set(_my_roles(page, stack)) == {"Gamma", "kontingent_municipality"}
    assert _scope_rows(metadata_db, "uo-57701") == [
        ("education_department", "municipality", "57701000", "57701", None, "подтверждённая")
    ]


def test_school_roles_map_to_their_organization(browser, stack, demo_password, metadata_db):
    for login, roles, scope in (
        (
            "director-700107",
            {"kontingent_school"},
            [("school_director", "organization", "57701000", "57701", "700107", "подтверждённая")],
        ),
        (  # one person, two accounts: the union of both
            "teacher-700107",
            {"kontingent_teacher"},
            [
                ("class_teacher", "organization", "57701000", "57701", "700107", "подтверждённая"),
                (
                    "subject_teacher",
                    "organization",
                    "57701000",
                    "57701",
                    "700107",
                    "подтверждённая",
                ),
            ],
        ),
    ):
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        try:
            sign_in(page, stack, login, demo_password)
            page.wait_for_url(f"{stack.superset_url}/superset/welcome/**")
            assert set(_my_roles(page, stack)) == roles, login
            assert _scope_rows(metadata_db, login) == scope, login
        finally:
            context.close()


@pytest.mark.parametrize(
    ("login", "message"),
    [
        ("student", "Доступ к аналитике не предоставлен"),
        ("parent", "Доступ к аналитике не предоставлен"),
        ("uo-simplified", "подтверждённая учётная запись ЕСИА"),
    ],
    ids=["student", "parent", "simplified-esia-account"],
)
def test_people_without_analytics_access_are_refused(
    page, stack, demo_password, metadata_db, artifacts_dir, login, message
):
    before = _user_row(metadata_db, login)  # None on a fresh metadata database
    sign_in(page, stack, login, demo_password)

    page.wait_for_url(f"{stack.superset_url}/login/**")
    text = page.locator("#kontingent-auth-message").inner_text()
    assert message in text
    page.screenshot(path=str(artifacts_dir / f"refused-{login}.png"))
    assert page.request.get(f"{stack.superset_url}/api/v1/me/").status == 401
    # refused before Superset made a user or recorded a sign-in
    assert _user_row(metadata_db, login) == before
    # and no way around it: the app's pages still send the person back to sign in
    page.goto(f"{stack.superset_url}/superset/welcome/")
    assert not page.url.startswith(f"{stack.superset_url}/superset/welcome")


def test_wrong_password_stays_on_the_login_page(page, stack, demo_password):
    sign_in(page, stack, "analyst", demo_password + "-wrong")

    assert page.url.startswith(f"{stack.issuer}/interaction/")
    assert page.get_by_role("alert").inner_text() == "Неверные логин или пароль"
    assert page.input_value("#login") == "analyst"
    assert page.request.get(f"{stack.superset_url}/api/v1/me/").status == 401


def test_sign_out_ends_the_provider_session_too(page, stack, demo_password):
    sign_in(page, stack, "analyst", demo_password)
    page.wait_for_url(f"{stack.superset_url}/superset/welcome/**")

    page.goto(f"{stack.superset_url}/logout/")
    page.wait_for_url(f"{stack.issuer}/session/end**")
    page.get_by_role("button", name="Выйти").click()
    page.wait_for_load_state("load")
    assert page.request.get(f"{stack.superset_url}/api/v1/me/").status == 401

    # the next visit asks for the password again instead of signing straight back in
    page.goto(f"{stack.superset_url}/")
    page.wait_for_url(f"{stack.issuer}/interaction/**")
    assert page.locator("input#password").count() == 1


def test_the_provider_vouches_for_the_person_only(page, stack):
    """Like ESIA, the provider offers no role, organization or OKTMO claim: scope comes from
    the warehouse."""
    config = page.request.get(f"{stack.issuer}/.well-known/openid-configuration").json()
    claims = set(config["claims_supported"])
    assert "trust_level" in claims and "sub" in claims
    assert not claims & {"role", "roles", "oktmo", "org_id", "accounts"}


def test_the_access_list_decides_the_analyst_at_every_sign_in(
    browser, stack, demo_password, dashboard_warehouse
):
    """The analyst holds no portal account: revoking the grant in the warehouse's access list
    refuses the next sign-in; granting it again lets the person back in."""
    url = get_settings().local_url(ROLE_OWNER, dashboard_warehouse)
    oid = OIDS["analyst"]

    def attempt():
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        try:
            sign_in(page, stack, "analyst", demo_password)
            page.wait_for_load_state("load")
            if page.url.startswith(f"{stack.superset_url}/superset/welcome"):
                return "in", set(_my_roles(page, stack))
            return "refused", page.locator("#kontingent-auth-message").inner_text()
        finally:
            context.close()

    assert access.revoke(oid, "tests", url=url) is True
    try:
        outcome, text = attempt()
        assert outcome == "refused"
        assert "Доступ к аналитике не предоставлен" in text and "нет учётных записей" in text
    finally:
        assert access.grant(oid, "tests", "restored", url=url) is True
    assert attempt() == ("in", {"Gamma", "sql_lab", "kontingent_region"})
