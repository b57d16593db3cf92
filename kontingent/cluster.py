"""The project's own PostgreSQL cluster: start, stop, report.

The cluster runs as the current user, or as `postgres` through `runuser` when we are root
(initdb refuses root). Its folder (`Settings.pg_base`) holds `data/`, the socket folder `run/`
and `postgresql.log`. Setting WAREHOUSE_URL skips all of this: the server is then someone else's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from kontingent import db
from kontingent.settings import ROOT_CLUSTERS, Settings, get_settings

SUPERUSER = "postgres"

# Server settings passed at every start, so a changed port takes effect on the next `up`.
SERVER_OPTIONS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "200",
    "shared_buffers": "256MB",
    "max_wal_size": "2GB",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
}


class ClusterError(RuntimeError):
    """A failure with a message for people."""


def _as_server_user(settings: Settings, argv: list[str]) -> list[str]:
    return ["runuser", "-u", SUPERUSER, "--", *argv] if settings.is_root else argv


def _run(
    settings: Settings, argv: list[str], check: bool = True, **kw
) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        _as_server_user(settings, argv), capture_output=True, text=True, check=False, **kw
    )
    if check and proc.returncode != 0:
        raise ClusterError(
            f"{Path(argv[0]).name} failed (exit {proc.returncode}): "
            f"{(proc.stderr or proc.stdout).strip()}"
        )
    return proc


def _binaries(settings: Settings) -> Path:
    """Find the server binaries, installing the Debian package when root."""
    if settings.pg_bin and (settings.pg_bin / "pg_ctl").exists():
        return settings.pg_bin
    if settings.is_root and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for argv in (
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", "postgresql", "postgresql-contrib"],
        ):
            proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
            if proc.returncode != 0:
                raise ClusterError(f"could not install PostgreSQL: {proc.stderr.strip()[-500:]}")
        # the package starts a system cluster on 5432; ours is separate and needs none of it
        subprocess.run(["service", "postgresql", "stop"], capture_output=True, check=False)
        settings = get_settings()
        if settings.pg_bin and (settings.pg_bin / "pg_ctl").exists():
            return settings.pg_bin
    raise ClusterError(
        "PostgreSQL server binaries were not found (looked in /usr/lib/postgresql/*/bin). "
        "Install them with `sudo apt-get install postgresql`, or set KONTINGENT_PG_BIN, "
        "or point WAREHOUSE_URL at an existing server."
    )


def _pid_is_live_server(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
        return b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except (ValueError, IndexError, ProcessLookupError, FileNotFoundError, PermissionError):
        return False


def _prune_orphan_clusters(settings: Settings) -> list[Path]:
    """Remove stopped clusters under ROOT_CLUSTERS whose checkout is gone or was re-cloned.

    Each instance folder records the home folder that owns it; a folder is an orphan when that
    home no longer names it in its `instance-id` file. Running servers are never touched.
    """
    removed = []
    ours = settings.pg_base.parent
    for folder in sorted(ROOT_CLUSTERS.iterdir()) if ROOT_CLUSTERS.is_dir() else []:
        if folder == ours or not folder.is_dir():
            continue
        try:
            home = Path((folder / "owner").read_text().strip())
            if (home / "instance-id").read_text().strip() == folder.name:
                continue
        except (FileNotFoundError, NotADirectoryError):
            pass
        if _pid_is_live_server(folder / "pg" / "data" / "postmaster.pid"):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _prepare_folders(settings: Settings) -> None:
    base = settings.pg_base
    if settings.is_root and base.parent.parent == ROOT_CLUSTERS:
        _prune_orphan_clusters(settings)
        base.mkdir(parents=True, exist_ok=True)
        (base.parent / "owner").write_text(f"{settings.home.resolve()}\n")
    base.mkdir(parents=True, exist_ok=True)
    settings.pg_run.mkdir(exist_ok=True)
    if settings.is_root:
        shutil.chown(base, SUPERUSER, SUPERUSER)
        shutil.chown(settings.pg_run, SUPERUSER, SUPERUSER)
        os.chmod(base, 0o700)
        probe = subprocess.run(
            ["runuser", "-u", SUPERUSER, "--", "test", "-w", str(base)], check=False
        )
        if probe.returncode != 0:
            raise ClusterError(
                f"the cluster folder {base} is not reachable by the postgres user "
                "(a parent folder is private); set KONTINGENT_PG_BASE to a folder it can reach"
            )
    else:
        os.chmod(base, 0o700)


def _is_running(settings: Settings, pg_bin: Path) -> bool:
    if not (settings.pg_data / "PG_VERSION").exists():
        return False
    proc = _run(
        settings, [str(pg_bin / "pg_ctl"), "status", "-D", str(settings.pg_data)], check=False
    )
    return proc.returncode == 0


def _clear_stale_pid(settings: Settings) -> bool:
    """After a crash the pid file may name a dead process (or a reused pid of someone else)."""
    pid_file = settings.pg_data / "postmaster.pid"
    if not pid_file.exists() or _pid_is_live_server(pid_file):
        return False  # nothing to clear, or a live server: leave it alone
    pid_file.unlink()
    return True


def _initdb(settings: Settings, pg_bin: Path) -> None:
    _run(
        settings,
        [
            str(pg_bin / "initdb"),
            "-D",
            str(settings.pg_data),
            "-U",
            SUPERUSER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-instructions",
        ],
    )


def _start(settings: Settings, pg_bin: Path) -> None:
    options = [f"-c {k}={v}" for k, v in SERVER_OPTIONS.items()]
    options += [f"-c port={settings.pg_port}", f"-c unix_socket_directories={settings.pg_run}"]
    argv = [
        str(pg_bin / "pg_ctl"),
        "start",
        "-D",
        str(settings.pg_data),
        "-l",
        str(settings.pg_log),
        "-w",
        "-t",
        "60",
        "-o",
        " ".join(options),
    ]
    last = ""
    for _attempt in range(10):
        proc = _run(settings, argv, check=False)
        if proc.returncode == 0:
            return
        last = (proc.stderr or proc.stdout).strip()
        # after a killed postmaster, its children may hold shared memory for a moment
        time.sleep(1)
    tail = settings.pg_log.read_text(errors="replace")[-1500:] if settings.pg_log.exists() else ""
    raise ClusterError(f"PostgreSQL did not start: {last}\n{tail}")


def superuser_dsn(settings: Settings, database: str = "postgres") -> str:
    """Connection string for the local superuser over the private socket."""
    return f"host={settings.pg_run} port={settings.pg_port} user={SUPERUSER} dbname={database}"


def up(settings: Settings | None = None) -> Iterator[str]:
    """Start the cluster if needed and make sure databases, roles and schemas exist."""
    settings = settings or get_settings()
    if settings.external:
        yield "WAREHOUSE_URL is set: using that server, the local cluster is not started."
        return
    pg_bin = _binaries(settings)
    _prepare_folders(settings)
    if not (settings.pg_data / "PG_VERSION").exists():
        yield f"initializing a new cluster in {settings.pg_data}"
        _initdb(settings, pg_bin)
    if _is_running(settings, pg_bin):
        yield f"PostgreSQL already running on 127.0.0.1:{settings.pg_port}"
    else:
        if _clear_stale_pid(settings):
            yield "removed a stale pid file left by a crash"
        _start(settings, pg_bin)
        yield f"PostgreSQL started on 127.0.0.1:{settings.pg_port} (data: {settings.pg_data})"
    db.bootstrap(settings, superuser_dsn(settings))
    yield "databases, roles and schemas are in place"


def down(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.external:
        return "WAREHOUSE_URL is set: the local cluster is not managed."
    pg_bin = settings.pg_bin
    if pg_bin is None or not _is_running(settings, pg_bin):
        return "PostgreSQL is not running"
    _run(
        settings,
        [
            str(pg_bin / "pg_ctl"),
            "stop",
            "-D",
            str(settings.pg_data),
            "-m",
            "fast",
            "-w",
            "-t",
            "60",
        ],
    )
    return "PostgreSQL stopped"


def status(settings: Settings | None = None) -> tuple[bool, list[str]]:
    settings = settings or get_settings()
    if settings.external:
        return True, [
            "WAREHOUSE_URL is set: the warehouse is on an external server.",
            f"warehouse: {db.redact(settings.warehouse_url)}",
        ]
    pg_bin = settings.pg_bin
    running = bool(pg_bin) and _is_running(settings, pg_bin)
    lines = [
        f"PostgreSQL: {'running' if running else 'stopped'} on 127.0.0.1:{settings.pg_port}",
        f"data directory: {settings.pg_data}",
        f"log: {settings.pg_log}",
        f"binaries: {pg_bin or 'not installed'}",
    ]
    if running:
        lines.append(
            f"warehouse: {db.redact(settings.warehouse_url)}  (full URL: kontingent db url)"
        )
    return running, lines
