"""Superset configuration of the Kontingent dashboards (read through SUPERSET_CONFIG_PATH).

Everything that differs between machines comes from the environment; nothing secret is written
here. `kontingent superset up` sets these variables from the project's settings; the Docker
deployment sets them in docker-compose.yml.

| variable | default | meaning |
|---|---|---|
| `SUPERSET_DB_URL` | (required) | Superset's metadata database (PostgreSQL) |
| `SUPERSET_SECRET_KEY` | generated once (1) | signs sessions, encrypts stored database passwords |
| `SUPERSET_HOME` | `<KONTINGENT_HOME>/superset` | local state: caches, uploads |
| `KONTINGENT_HOME` | `<repo>/.local` | the project's local state |
| `OIDC_ISSUER` | `http://127.0.0.1:9000` | the OpenID Connect provider («ЕСИА») |
| `OIDC_CLIENT_ID` | `kontingent-superset` | Superset's client at the provider |
| `OIDC_CLIENT_SECRET` | (required to sign in) | its secret |
| `OIDC_SCOPE` | `openid profile kontingent` | scopes asked for |
| `SUPERSET_PROXY_FIX` | `false` | `true` behind a reverse proxy that sets X-Forwarded-* |
| `SUPERSET_PUBLIC_URL` | none | the address people use; `https://…` makes cookies HTTPS-only |

(1) into `<KONTINGENT_HOME>/superset/secret_key`, mode 600, when the variable is not set.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

from flask_appbuilder.security.manager import AUTH_OAUTH

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # kontingent_security.py lives beside this file

import kontingent_forms_page  # noqa: E402
import kontingent_security  # noqa: E402

log = logging.getLogger(__name__)


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


KONTINGENT_HOME = Path(_env("KONTINGENT_HOME") or HERE.parent / ".local")
STATE_DIR = Path(_env("SUPERSET_HOME") or KONTINGENT_HOME / "superset")
DATA_DIR = str(STATE_DIR)


def _secret_key() -> str:
    """SUPERSET_SECRET_KEY, or a key generated once under the local state folder (mode 600).
    Changing it makes the stored database passwords unreadable: keep it."""
    from_env = _env("SUPERSET_SECRET_KEY")
    if from_env:
        return from_env
    path = KONTINGENT_HOME / "superset" / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(secrets.token_urlsafe(48) + "\n")
        tmp.replace(path)
    return path.read_text().strip()


# -- metadata database and secret ---------------------------------------------------------------
SQLALCHEMY_DATABASE_URI = _env("SUPERSET_DB_URL")
if not SQLALCHEMY_DATABASE_URI:
    raise RuntimeError(
        "SUPERSET_DB_URL is not set: start Superset with `kontingent superset up`, "
        "or set it to the metadata database (postgresql://…/kontingent_superset)"
    )
SECRET_KEY = _secret_key()
SQLALCHEMY_TRACK_MODIFICATIONS = False

# -- language: Russian first --------------------------------------------------------------------
BABEL_DEFAULT_LOCALE = "ru"
LANGUAGES = {
    "ru": {"flag": "ru", "name": "Русский"},
    "en": {"flag": "us", "name": "English"},
}
DEFAULT_TIMEZONE = "Europe/Moscow"

# -- caching without Redis: files under the local state folder ----------------------------------
_CACHE_DIR = STATE_DIR / "cache"
CACHE_DEFAULT_TIMEOUT = int(timedelta(hours=12).total_seconds())
CACHE_CONFIG = {
    "CACHE_TYPE": "FileSystemCache",
    "CACHE_DIR": str(_CACHE_DIR / "objects"),
    "CACHE_DEFAULT_TIMEOUT": CACHE_DEFAULT_TIMEOUT,
    "CACHE_KEY_PREFIX": "kontingent_",
}
# chart data: refreshed loads change the marts, so keep results for an hour only
DATA_CACHE_CONFIG = {
    "CACHE_TYPE": "FileSystemCache",
    "CACHE_DIR": str(_CACHE_DIR / "data"),
    "CACHE_DEFAULT_TIMEOUT": int(timedelta(hours=1).total_seconds()),
    "CACHE_KEY_PREFIX": "kontingent_data_",
}
# filter state and explore form data stay in the metadata database (Superset's default)
RATELIMIT_STORAGE_URI = "memory://"

# -- features -----------------------------------------------------------------------------------
# Native dashboard filters are always on in Superset 6. Jinja templates are needed by the
# row-level security clauses (scope of the signed-in user); DASHBOARD_RBAC lets a dashboard be
# limited to roles (the teachers' results dashboard).
FEATURE_FLAGS = {
    "ENABLE_TEMPLATE_PROCESSING": True,
    "DASHBOARD_RBAC": True,
    "ALERT_REPORTS": False,
}
JINJA_CONTEXT_ADDONS = dict(kontingent_security.JINJA_MACROS)

# -- sign-in: OpenID Connect only («ЕСИА») -------------------------------------------------------
OIDC_ISSUER = (_env("OIDC_ISSUER") or "http://127.0.0.1:9000").rstrip("/")
_client_secret = _env("OIDC_CLIENT_SECRET")
if not _client_secret:
    log.warning("OIDC_CLIENT_SECRET is not set: nobody can sign in")

AUTH_TYPE = AUTH_OAUTH
CUSTOM_SECURITY_MANAGER = kontingent_security.KontingentSecurityManager
# «Статистические формы» (/kontingent/forms/) and a department's lost-children list
BLUEPRINTS = [kontingent_forms_page.blueprint]
AUTH_USER_REGISTRATION = True  # a person the provider vouches for gets a user at first sign-in
AUTH_USER_REGISTRATION_ROLE = None  # roles come from the portal accounts only
AUTH_ROLES_SYNC_AT_LOGIN = True  # ... and are recomputed at every sign-in
AUTH_ROLES_MAPPING = kontingent_security.ROLES_MAPPING
# the REST API's password sign-in stays open for the break-glass administrator alone: the
# security manager refuses a password for every other name
AUTH_API_LOGIN_ALLOW_MULTIPLE_PROVIDERS = True
OAUTH_PROVIDERS = [
    {
        "name": kontingent_security.PROVIDER,
        "icon": "fa-id-card",
        "token_key": "access_token",
        "remote_app": {
            "client_id": _env("OIDC_CLIENT_ID", "kontingent-superset"),
            "client_secret": _client_secret or "",
            "server_metadata_url": f"{OIDC_ISSUER}/.well-known/openid-configuration",
            "client_kwargs": {
                "scope": _env("OIDC_SCOPE", "openid profile kontingent"),
                "code_challenge_method": "S256",
                "timeout": 10,
            },
        },
    }
]
PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
# the session cookie: never readable by page scripts, not sent with cross-site requests other
# than top-level navigation (the return from the provider), HTTPS-only when served over HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = (_env("SUPERSET_PUBLIC_URL") or "").startswith("https://")
ENABLE_PROXY_FIX = (_env("SUPERSET_PROXY_FIX") or "false").lower() in ("1", "true", "yes")
