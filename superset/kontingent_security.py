"""Sign-in through the ESIA-style OpenID Connect provider, portal roles -> Superset roles, and
the signed-in person's scope (municipality, organization) kept for row-level security.

Loaded by `superset_config.py` (same folder) inside the Superset environment; `provision.py`
uses the role names from here.

How a sign-in goes:
1. Any page without a session -> `/login/` -> straight to the provider («ЕСИА»), no button.
2. The provider authenticates the person (subject = ESIA OID, trust level) and returns; Authlib
   checks the ID token (signature, issuer, audience, nonce) and PKCE, then the claims of the
   userinfo endpoint are read (same `sub` required). Like ESIA, the provider says nothing of
   roles, organizations or municipalities.
3. Only a «подтверждённая» trust level goes on. The person's portal accounts (role, OKTMO,
   organization) are then looked up in the warehouse for that OID, through the one function
   `pii.portal_accounts_of` (security definer, the narrow role of WAREHOUSE_REIDENTIFY_URL):
   the newest version of every account with that OID, plus «Аналитик министерства» when the
   warehouse's access list grants it (`kontingent access grant`). Accounts that give access
   to analytics are kept; a person with none (students, parents, unknown OIDs) is refused
   with a Russian page saying why.
4. FAB registers or updates the user `esia_<OID>`; with AUTH_ROLES_SYNC_AT_LOGIN its Superset
   roles are recomputed from the accounts at every sign-in (union over all accounts), so a
   revoked grant or a changed account takes effect at the next sign-in.
5. The accounts are written to the table `kontingent_user_scope` of the metadata database, where
   the Jinja macros below (and so row-level security clauses) read them.

Besides, one break-glass administrator (created by `kontingent superset break-glass`) may sign
in with a password at `/login/break-glass`, for when the provider is down; nobody else can.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import (
    current_app,
    g,
    get_flashed_messages,
    redirect,
    render_template_string,
    request,
    session,
    url_for,
)
from flask_appbuilder import expose
from flask_appbuilder.security.views import AuthOAuthView
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from superset.security import SupersetSecurityManager
from werkzeug.security import check_password_hash

log = logging.getLogger(__name__)

PROVIDER = "esia"
TRUST_CONFIRMED = "подтверждённая"
# the one local user who may sign in with a password (when the provider is down); in the
# compose deployment, the administrator that deploy/superset-init.sh creates
BREAK_GLASS_USER = (os.environ.get("SUPERSET_ADMIN_USER") or "").strip() or "breakglass"

# -- roles ----------------------------------------------------------------------------------
# Superset roles of the project (created by provision.py); their scope comes from
# kontingent_user_scope through row-level security rules, one rule per role.
ROLE_REGION = "kontingent_region"  # the whole region
ROLE_MUNICIPALITY = "kontingent_municipality"  # own municipality (first 5 digits of OKTMO)
ROLE_SCHOOL = "kontingent_school"  # own organization, every dashboard, view only
ROLE_TEACHER = "kontingent_teacher"  # own organization, results dashboard only, view only
PROJECT_ROLES = (ROLE_REGION, ROLE_MUNICIPALITY, ROLE_SCHOOL, ROLE_TEACHER)

# portal role (as the accounts feed spells it) -> code (as the warehouse's dim_role spells it)
PORTAL_ROLES = {
    "Ученик": "student",
    "Родитель ученика": "parent",
    "Учитель-предметник": "subject_teacher",
    "Классный руководитель": "class_teacher",
    "Заведующий учебной частью": "head_of_studies",
    "Администратор школы": "school_administrator",
    "Директор школы": "school_director",
    "Управление образованием": "education_department",
    "Администратор системы": "system_administrator",
    "Аналитик министерства": "ministry_analyst",
}
ROLE_NAMES_RU = {code: name for name, code in PORTAL_ROLES.items()}

# portal role code -> Superset roles (AUTH_ROLES_MAPPING). A role missing here has no access.
# Gamma: explore and build charts on granted datasets; sql_lab: SQL Lab (through the read-only
# database connection); school and teacher roles view dashboards only.
ROLES_MAPPING: dict[str, list[str]] = {
    "system_administrator": ["Admin"],
    "ministry_analyst": ["Gamma", "sql_lab", ROLE_REGION],
    "education_department": ["Gamma", ROLE_MUNICIPALITY],
    "school_director": [ROLE_SCHOOL],
    "head_of_studies": [ROLE_SCHOOL],
    "school_administrator": [ROLE_SCHOOL],
    "subject_teacher": [ROLE_TEACHER],
    "class_teacher": [ROLE_TEACHER],
}

# scope level of each role code: what an account of that role may see
SCOPE_OF_ROLE = {
    "system_administrator": "region",
    "ministry_analyst": "region",
    "education_department": "municipality",
    "school_director": "organization",
    "head_of_studies": "organization",
    "school_administrator": "organization",
    "subject_teacher": "organization",
    "class_teacher": "organization",
}

_OKTMO = re.compile(r"^\d{8}(\d{3})?$")
_ORG_ID = re.compile(r"^[0-9A-Za-z_.-]{1,64}$")
_OID = re.compile(r"^[0-9A-Za-z_.-]{1,64}$")

# -- the scope table (metadata database) ----------------------------------------------------
scope_metadata = sa.MetaData()
user_scope = sa.Table(
    "kontingent_user_scope",
    scope_metadata,
    sa.Column("user_id", sa.Integer, nullable=False, index=True),
    sa.Column("esia_oid", sa.String(64), nullable=False),
    sa.Column("role", sa.String(64), nullable=False),  # portal role code
    sa.Column("scope", sa.String(16), nullable=False),  # region | municipality | organization
    sa.Column("oktmo", sa.String(11)),
    sa.Column("municipality_id", sa.String(5)),  # first 5 digits of OKTMO
    sa.Column("org_id", sa.String(64)),
    sa.Column("trust_level", sa.String(32)),
    sa.Column("signed_in_at", sa.DateTime, nullable=False, server_default=sa.func.now()),
    comment="Scope of each signed-in user, from the portal accounts at the last sign-in",
)


def ensure_scope_table(bind: Any) -> None:
    user_scope.create(bind, checkfirst=True)


class AccessDenied(Exception):
    """A person the provider authenticated but who gets no access to analytics."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def warehouse_accounts(oid: str) -> list[dict[str, Any]]:
    """The person's portal accounts as the warehouse knows them (role, OKTMO, organization),
    through `pii.portal_accounts_of`; AccessDenied when the warehouse cannot be asked."""
    url = os.environ.get("WAREHOUSE_REIDENTIFY_URL", "").strip()
    if not url:
        log.error("WAREHOUSE_REIDENTIFY_URL is not set: nobody's roles can be found")
        raise AccessDenied("warehouse", "не настроено подключение")
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            rows = conn.execute(
                "select role, oktmo, organization_id from pii.portal_accounts_of(%s) "
                "order by role, oktmo, organization_id",
                (oid,),
            ).fetchall()
    except psycopg.Error:
        log.exception("cannot look up the portal accounts of an ESIA OID")
        raise AccessDenied("warehouse", "хранилище данных недоступно") from None
    return portal_accounts([{"role": r, "oktmo": o, "org_id": g} for r, o, g in rows])


def portal_accounts(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Portal accounts (role name or code, OKTMO, organization id) checked and normalized;
    an account with a malformed OKTMO or organization id is left out."""
    accounts = []
    for item in raw:
        if not isinstance(item, dict) or not item.get("role"):
            continue
        name = str(item["role"]).strip()
        code = PORTAL_ROLES.get(name) or (name if name in ROLE_NAMES_RU else None)
        oktmo = item.get("oktmo")
        org_id = item.get("org_id")
        if oktmo is not None and not _OKTMO.match(str(oktmo)):
            log.warning("ignoring an account with a malformed OKTMO %r", oktmo)
            continue
        if org_id is not None and not _ORG_ID.match(str(org_id)):
            log.warning("ignoring an account with a malformed organization id %r", org_id)
            continue
        accounts.append(
            {
                "role": code,
                "role_name": name,
                "oktmo": str(oktmo) if oktmo else None,
                "municipality_id": str(oktmo)[:5] if oktmo else None,
                "org_id": str(org_id) if org_id else None,
            }
        )
    return accounts


def user_info_from_claims(
    claims: dict[str, Any],
    find_accounts: Callable[[str], list[dict[str, Any]]] = warehouse_accounts,
) -> dict[str, Any]:
    """FAB's user info (username, names, role_keys) and the scope rows, or AccessDenied.
    The claims give the person (OID, trust level); `find_accounts` their portal accounts."""
    oid = str(claims.get("sub") or "")
    if not _OID.match(oid):
        raise AccessDenied("claims", "нет идентификатора пользователя ЕСИА")
    trust = str(claims.get("trust_level") or "")
    if trust != TRUST_CONFIRMED:
        raise AccessDenied("trust", trust or "не указан")
    accounts = find_accounts(oid)
    allowed = [
        a for a in accounts if a["role"] in ROLES_MAPPING and _scope_complete(a, SCOPE_OF_ROLE)
    ]
    if not allowed:
        names = sorted({a["role_name"] for a in accounts}) or ["нет учётных записей"]
        raise AccessDenied("role", ", ".join(names))
    return {
        "username": f"esia_{oid}",
        "first_name": str(claims.get("given_name") or "")[:64],
        "last_name": str(claims.get("family_name") or "")[:64],
        "email": f"esia_{oid}@esia.invalid",
        "role_keys": sorted({a["role"] for a in allowed}),
        "kontingent_scope": [
            {**a, "scope": SCOPE_OF_ROLE[a["role"]], "esia_oid": oid, "trust_level": trust}
            for a in allowed
        ],
    }


def _scope_complete(account: dict[str, Any], scope_of_role: dict[str, str]) -> bool:
    """A municipal account needs its OKTMO, a school account its organization."""
    scope = scope_of_role[account["role"]]
    if scope == "municipality":
        return bool(account["municipality_id"])
    if scope == "organization":
        return bool(account["org_id"])
    return True


# -- Jinja macros for row-level security clauses ----------------------------------------------
def _current_scope_rows() -> list[Any]:
    user = getattr(g, "user", None)
    user_id = getattr(user, "id", None)
    if user_id is None:
        return []
    from superset.extensions import db

    return list(db.session.execute(sa.select(user_scope).where(user_scope.c.user_id == user_id)))


def user_municipalities() -> list[str]:
    """Municipalities (5-digit OKTMO prefixes) of the signed-in user's accounts."""
    return sorted({r.municipality_id for r in _current_scope_rows() if r.municipality_id})


def user_organizations() -> list[str]:
    """Organization ids of the signed-in user's school accounts."""
    return sorted(
        {r.org_id for r in _current_scope_rows() if r.scope == "organization" and r.org_id}
    )


def sql_list(values: list[str]) -> str:
    """A SQL list of string literals for `in (...)`; `NULL` (matches nothing) when empty.
    Values were validated at sign-in (digits, letters, `_.-`); quotes are doubled anyway."""
    if not values:
        return "NULL"
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


JINJA_MACROS = {
    "user_municipalities": user_municipalities,
    "user_organizations": user_organizations,
    "sql_list": sql_list,
}

# -- the pages of sign-in ---------------------------------------------------------------------
DENIED_TEXT = {
    "trust": (
        "Для входа нужна подтверждённая учётная запись ЕСИА.",
        "Уровень вашей учётной записи: «{detail}». Подтвердите учётную запись на портале "
        "Госуслуг и войдите снова.",
    ),
    "role": (
        "Доступ к аналитике не предоставлен.",
        "Ваши роли на портале: {detail}. Аналитическая система открыта сотрудникам "
        "министерства, органов управления образованием и школ; ученикам и родителям "
        "доступны электронный дневник и портал «Образование».",
    ),
    "warehouse": (
        "Вход временно невозможен.",
        "Не удалось получить сведения о ваших учётных записях ({detail}). Попробуйте позже "
        "или обратитесь к администратору.",
    ),
    "claims": (
        "Вход не выполнен.",
        "Поставщик входа не передал нужные сведения ({detail}). Обратитесь к администратору.",
    ),
}

PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>{{ title }} — Контингент</title>
<style>
 body{font-family:system-ui,sans-serif;background:#f5f7fa;color:#1f2d3d;margin:0}
 main{max-width:560px;margin:80px auto;background:#fff;border-radius:8px;padding:32px 36px;
      box-shadow:0 2px 10px rgba(0,0,0,.08)}
 h1{font-size:22px;margin-top:0} a.button{display:inline-block;margin:16px 12px 0 0;
 padding:10px 18px;border-radius:4px;background:#1f6feb;color:#fff;text-decoration:none}
 a.secondary{background:#e8edf3;color:#1f2d3d}
</style></head>
<body><main id="kontingent-auth-message">
<h1>{{ title }}</h1>
{% for line in lines %}<p>{{ line }}</p>{% endfor %}
{% for href, label, cls in links %}<a class="button {{ cls }}" href="{{ href }}">{{ label }}</a>
{% endfor %}
</main></body></html>"""


BREAK_GLASS_FORM = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Аварийный вход — Контингент</title></head>
<body><main id="kontingent-break-glass"
 style="max-width:420px;margin:80px auto;font-family:sans-serif">
<h1>Аварийный вход администратора</h1>
<p>Только для администратора системы, когда вход через ЕСИА недоступен. Каждый вход
записывается в журнал.</p>
{% if error %}<p role="alert" style="color:#b00020">{{ error }}</p>{% endif %}
<form method="post" autocomplete="off">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<label>Пользователь <input name="username" required></label><br>
<label>Пароль <input name="password" type="password" required></label><br>
<button type="submit">Войти</button>
</form></main></body></html>"""


def _provider_logout_url() -> str | None:
    """The provider's end-session URL that brings the browser back to Superset."""
    sm = current_app.appbuilder.sm
    remote = sm.oauth_remotes.get(PROVIDER)
    if remote is None:
        return None
    try:
        metadata = remote.load_server_metadata()
    except Exception:  # the provider is down: signing out of Superset alone still works
        log.warning("cannot read the provider's metadata for sign-out", exc_info=True)
        return None
    endpoint = metadata.get("end_session_endpoint")
    if not endpoint:
        return None
    params = {
        "client_id": remote.client_id,
        "post_logout_redirect_uri": request.host_url,
    }
    id_token = session.get("kontingent_id_token")
    if id_token:
        params["id_token_hint"] = id_token
    return f"{endpoint}?{urlencode(params)}"


class EsiaAuthOAuthView(AuthOAuthView):
    """`/login/` goes straight to the single provider; a refused person gets a Russian page
    saying why (not a redirect loop back to the provider); `/logout/` also ends the
    provider's session, so the next visit asks for the password again."""

    @expose("/login/")
    @expose("/login/<provider>")
    def login(self, provider: str | None = None):  # type: ignore[override]
        if g.user is not None and g.user.is_authenticated:
            return redirect(self._get_safe_next_url())
        denied = session.pop("kontingent_denied", None)
        if denied:
            title, body = DENIED_TEXT.get(denied.get("reason"), DENIED_TEXT["claims"])
            links = []
            logout_url = _provider_logout_url()
            if logout_url:
                links.append((logout_url, "Войти под другой учётной записью", ""))
            return (
                render_template_string(
                    PAGE, title=title, lines=[body.format(detail=denied.get("detail"))], links=links
                ),
                403,
            )
        if provider is None:
            messages = get_flashed_messages()  # e.g. "access denied" before signing in
            if session.pop("kontingent_oauth_failed", None):
                # came straight back from a failed attempt: say so instead of looping
                return (
                    render_template_string(
                        PAGE,
                        title="Вход не выполнен",
                        lines=[str(m) for m in messages] or ["Попробуйте войти ещё раз."],
                        links=[(url_for(".login", provider=PROVIDER), "Войти через ЕСИА", "")],
                    ),
                    401,
                )
            args = {"next": request.args["next"]} if request.args.get("next") else {}
            return redirect(url_for(".login", provider=PROVIDER, **args))
        return super().login(provider)

    @expose("/break-glass/", methods=["GET", "POST"])
    def break_glass(self):
        """The break-glass administrator's password sign-in; nobody else's password works."""
        if request.method == "GET":
            return render_template_string(BREAK_GLASS_FORM, csrf=generate_csrf(), error=None)
        sm = self.appbuilder.sm
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        user = sm.find_user(username=BREAK_GLASS_USER) if username == BREAK_GLASS_USER else None
        if (
            user is not None
            and user.is_active
            and user.password
            and check_password_hash(user.password, password)
        ):
            login_user(user, remember=False)
            sm.update_user_auth_stat(user, True)
            log.warning("break-glass sign-in of %s from %s", username, request.remote_addr)
            return redirect(self.appbuilder.get_url_for_index)
        if user is not None:
            sm.update_user_auth_stat(user, False)
        log.warning("break-glass sign-in refused for %r from %s", username, request.remote_addr)
        page = render_template_string(
            BREAK_GLASS_FORM, csrf=generate_csrf(), error="Неверные имя пользователя или пароль"
        )
        return page, 401

    @expose("/oauth-authorized/<provider>")
    def oauth_authorized(self, provider: str):  # type: ignore[override]
        response = super().oauth_authorized(provider)
        if not current_user.is_authenticated and "kontingent_denied" not in session:
            session["kontingent_oauth_failed"] = True  # FAB flashed why; /login/ shows it
        return response

    @expose("/logout/")
    def logout(self):  # type: ignore[override]
        target = _provider_logout_url()
        logout_user()
        session.pop("kontingent_id_token", None)
        return redirect(target or self.appbuilder.get_url_for_index)


class KontingentSecurityManager(SupersetSecurityManager):
    authoauthview = EsiaAuthOAuthView
    register_superset_auth_view = False  # EsiaAuthOAuthView serves /login/

    def oauth_user_info(self, provider: str, response: dict[str, Any] | None = None):
        if provider != PROVIDER or not response:
            return {}
        id_claims = dict(response.get("userinfo") or {})  # the checked ID token (Authlib)
        if not id_claims:
            raise ValueError("the provider returned no ID token")
        remote = self.oauth_remotes[provider]
        claims = dict(remote.userinfo(token=response))
        if claims.get("sub") != id_claims.get("sub"):
            raise ValueError("userinfo and ID token name different subjects")
        session["kontingent_id_token"] = response.get("id_token")
        try:
            return user_info_from_claims({**id_claims, **claims})
        except AccessDenied as exc:
            log.info(
                "sign-in refused for sub %s: %s (%s)", claims.get("sub"), exc.reason, exc.detail
            )
            return {"kontingent_denied": {"reason": exc.reason, "detail": exc.detail}}

    def auth_user_db(self, username: str, password: str):
        """Password sign-in (the REST API's `db` provider) for the break-glass user only."""
        if username != BREAK_GLASS_USER:
            log.warning("password sign-in refused for %r: only %s may", username, BREAK_GLASS_USER)
            return None
        return super().auth_user_db(username, password)

    def _oauth_calculate_user_roles(self, userinfo: dict[str, Any]) -> list[Any]:
        """Only the mapping of the accounts' roles: no default registration role."""
        roles = self.get_roles_from_keys(userinfo.get("role_keys", []))
        return sorted(roles, key=lambda r: r.name)

    def auth_user_oauth(self, userinfo: dict[str, Any]):
        denied = userinfo.get("kontingent_denied")
        if denied:
            session["kontingent_denied"] = denied
            return None
        if not self._oauth_calculate_user_roles(userinfo):
            log.error(
                "none of %s exists: run `kontingent superset provision`", userinfo["role_keys"]
            )
            session["kontingent_denied"] = {"reason": "claims", "detail": "роли не настроены"}
            return None
        user = super().auth_user_oauth(userinfo)
        if user is not None:
            self._store_scope(user.id, userinfo["kontingent_scope"])
        return user

    def _store_scope(self, user_id: int, rows: list[dict[str, Any]]) -> None:
        from superset.extensions import db

        ensure_scope_table(db.session.connection())
        db.session.execute(sa.delete(user_scope).where(user_scope.c.user_id == user_id))
        columns = {c.name for c in user_scope.columns} - {"user_id", "signed_in_at"}
        db.session.execute(
            sa.insert(user_scope),
            [{"user_id": user_id, **{k: r.get(k) for k in columns}} for r in rows],
        )
        db.session.commit()

    def get_rls_cache_key(self, datasource: Any) -> list[str]:
        """Cached chart data is keyed by the text of the row-level security clauses, which is
        the same for every user of a role; add the user's scope so that two municipalities
        never share a cached result."""
        keys = super().get_rls_cache_key(datasource)
        if keys:
            scope = sorted(
                f"{r.role}:{r.municipality_id or ''}:{r.org_id or ''}"
                for r in _current_scope_rows()
            )
            keys.append("scope:" + hashlib.sha256("|".join(scope).encode()).hexdigest()[:16])
        return keys
