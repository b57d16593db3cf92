"""The project's settings: every value comes from the environment, with a documented default.

| variable | default | meaning |
|---|---|---|
| `KONTINGENT_HOME` | `<repo>/.local` | local state: secrets, landing folder, logs (never in git) |
| `KONTINGENT_PG_PORT` | `55432` | port of the project's own PostgreSQL cluster |
| `KONTINGENT_PG_BASE` | `.local/pg`; as root `/var/lib/kontingent/<instance>/pg` | cluster |
| `KONTINGENT_PG_BIN` | newest `/usr/lib/postgresql/*/bin` | server binaries |
| `WAREHOUSE_URL` | the local cluster's warehouse, as its owner | set it to use an external server |
| `WAREHOUSE_READER_URL` | local, read-only dashboard role | |
| `WAREHOUSE_PII_URL` | local, restricted personal-data reader | |
| `WAREHOUSE_REIDENTIFY_URL` | local, two `pii` functions only | sign-in, lost-children list |
| `AIRFLOW_DB_URL`, `SUPERSET_DB_URL` | local metadata databases | |
| `KONTINGENT_LANDING` | `.local/landing` | where extract files are dropped |
| `KONTINGENT_PSEUDONYM_KEY` | none | secret of the pseudonymous keys (wins over the file) |
| `KONTINGENT_PSEUDONYM_KEY_FILE` | `.local/pseudonym.key` | file holding that secret |

This module uses the standard library only, so that it can be read by every stage and both
virtual environments.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parents[1]

WAREHOUSE_DB = "kontingent"
AIRFLOW_DB = "kontingent_airflow"
SUPERSET_DB = "kontingent_superset"

# Roles of the warehouse, by purpose.
ROLE_OWNER = "kontingent_owner"  # owns and writes every schema (loader, dbt, checks)
ROLE_READER = "kontingent_reader"  # read-only: published marts, forms and checks (dashboards)
ROLE_PII = "kontingent_pii"  # restricted: the personal-data schema only
ROLE_AIRFLOW = "kontingent_airflow"  # owns the Airflow metadata database
ROLE_SUPERSET = "kontingent_superset"  # owns the Superset metadata database
# the Superset app: the sign-in look-up and the lost-children list (its two pii functions only)
ROLE_REIDENTIFY = "kontingent_reidentify"
LOGIN_ROLES = (ROLE_OWNER, ROLE_READER, ROLE_PII, ROLE_AIRFLOW, ROLE_SUPERSET, ROLE_REIDENTIFY)

# Schemas of the warehouse and who may read them besides the owner.
SCHEMAS = {
    "raw": (),  # every version of every loaded record, as delivered (no identifiers)
    "pii": (ROLE_PII,),  # names, SNILS, birth dates, ESIA OIDs: the restricted zone
    "staging": (),  # dbt staging and intermediate models
    "core": (),  # dbt facts and person-level dimensions (pseudonymous keys: still personal data)
    "marts": (ROLE_READER,),  # published aggregates and non-personal dimensions
    "forms": (ROLE_READER,),  # rows of the official statistical forms
    "dq": (ROLE_READER,),  # data-quality results
}

DEFAULT_PG_PORT = 55432

# Where clusters live when we run as root (a clone under /root is private to `postgres`).
ROOT_CLUSTERS = Path("/var/lib/kontingent")


def redact_url(url: str) -> str:
    """A URL fit for messages: the password replaced by ***."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


class SecretURL(str):
    """A connection URL that is the URL everywhere (connections, environment variables,
    f-strings) but whose repr() hides the password, as tracebacks, pytest's fixture and
    assertion output and dataclass reprs print values with repr()."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(redact_url(str(self)))


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


@dataclass(frozen=True)
class Settings:
    """A snapshot of the settings; `get_settings()` reads the environment each time."""

    home: Path
    pg_port: int
    pg_base_override: Path | None = None
    pg_bin_override: Path | None = None
    env: dict[str, str] = field(default_factory=dict, repr=False)

    # -- places -----------------------------------------------------------------------------
    @property
    def is_root(self) -> bool:
        return os.geteuid() == 0

    @cached_property
    def pg_base(self) -> Path:
        """The cluster folder. As root it must be reachable by the `postgres` user, which a
        clone under /root (mode 700) is not, so it lives under /var/lib/kontingent."""
        if self.pg_base_override:
            return self.pg_base_override
        if self.is_root:
            return ROOT_CLUSTERS / self.instance_id / "pg"
        return self.home / "pg"

    @cached_property
    def instance_id(self) -> str:
        """Names this checkout's local state, created with it under KONTINGENT_HOME.

        A cluster outside the home folder is found through it, so a fresh clone in the same
        path (an emptied `.local/`) never inherits a cluster whose metadata was encrypted and
        whose roles were set with secrets that no longer exist.
        """
        path = self.home / "instance-id"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256(str(PROJECT_ROOT).encode()).hexdigest()[:8]
            tmp = path.with_suffix(".tmp")
            tmp.write_text(f"{digest}-{secrets.token_hex(4)}\n")
            tmp.replace(path)
        return path.read_text().strip()

    @property
    def pg_data(self) -> Path:
        return self.pg_base / "data"

    @property
    def pg_run(self) -> Path:
        """Socket and lock folder of the server."""
        return self.pg_base / "run"

    @property
    def pg_log(self) -> Path:
        return self.pg_base / "postgresql.log"

    @property
    def pg_bin(self) -> Path | None:
        if self.pg_bin_override:
            return self.pg_bin_override
        candidates = sorted(
            Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
            key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
        )
        return candidates[-1].parent if candidates else None

    @property
    def landing_dir(self) -> Path:
        return Path(self.env.get("KONTINGENT_LANDING") or self.home / "landing")

    @property
    def secrets_file(self) -> Path:
        return self.home / "secrets.json"

    @property
    def pseudonym_key_file(self) -> Path:
        return Path(self.env.get("KONTINGENT_PSEUDONYM_KEY_FILE") or self.home / "pseudonym.key")

    # -- connections -------------------------------------------------------------------------
    @property
    def external(self) -> bool:
        """True when WAREHOUSE_URL points everything at a server we do not manage."""
        return bool(self.env.get("WAREHOUSE_URL"))

    def role_password(self, role: str) -> str:
        """The generated password of a local role (kept in .local/secrets.json, never in git)."""
        return local_secrets(self)["roles"][role]

    def local_url(self, role: str, database: str = WAREHOUSE_DB) -> SecretURL:
        password = quote(self.role_password(role), safe="")
        return SecretURL(f"postgresql://{role}:{password}@127.0.0.1:{self.pg_port}/{database}")

    @property
    def warehouse_url(self) -> str:
        return self.env.get("WAREHOUSE_URL") or self.local_url(ROLE_OWNER)

    @property
    def reader_url(self) -> str:
        return self.env.get("WAREHOUSE_READER_URL") or self.local_url(ROLE_READER)

    @property
    def pii_url(self) -> str:
        return self.env.get("WAREHOUSE_PII_URL") or self.local_url(ROLE_PII)

    @property
    def reidentify_url(self) -> str:
        return self.env.get("WAREHOUSE_REIDENTIFY_URL") or self.local_url(ROLE_REIDENTIFY)

    @property
    def airflow_db_url(self) -> str:
        return self.env.get("AIRFLOW_DB_URL") or self.local_url(ROLE_AIRFLOW, AIRFLOW_DB)

    @property
    def superset_db_url(self) -> str:
        return self.env.get("SUPERSET_DB_URL") or self.local_url(ROLE_SUPERSET, SUPERSET_DB)


def get_settings() -> Settings:
    env = {k: v for k, v in os.environ.items() if v.strip()}
    home = Path(_env("KONTINGENT_HOME") or PROJECT_ROOT / ".local")
    base = _env("KONTINGENT_PG_BASE")
    pg_bin = _env("KONTINGENT_PG_BIN")
    return Settings(
        home=home,
        pg_port=int(_env("KONTINGENT_PG_PORT") or DEFAULT_PG_PORT),
        pg_base_override=Path(base) if base else None,
        pg_bin_override=Path(pg_bin) if pg_bin else None,
        env=env,
    )


def local_secrets(settings: Settings) -> dict:
    """Read, or create on first use, the generated local secrets (role passwords).

    The file lives under KONTINGENT_HOME (git-ignored) with mode 600.
    """
    path = settings.secrets_file
    data: dict = {}
    if path.exists():
        data = json.loads(path.read_text())
    roles = data.setdefault("roles", {})
    changed = False
    for role in LOGIN_ROLES:
        if role not in roles:
            roles[role] = secrets.token_urlsafe(24)
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(path)
    return data


def ensure_pseudonym_key(settings: Settings) -> Path:
    """Create the pseudonymization secret under .local/ when neither the variable nor the file
    exists (used by `make demo` and the tests; production supplies its own)."""
    path = settings.pseudonym_key_file
    if settings.env.get("KONTINGENT_PSEUDONYM_KEY") or path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(secrets.token_hex(32) + "\n")
    return path
