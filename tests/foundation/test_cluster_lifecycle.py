"""The project's own cluster survives what people do to it: start twice, stop twice, and start
after its postmaster was killed. Runs a second, private cluster so the shared one is untouched."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
KONTINGENT = [sys.executable, "-m", "kontingent.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def private_cluster():
    """Environment for a throw-away cluster: its own folder, port and secrets."""
    # /tmp itself is world-traversable, so the postgres user can reach the folder when we are root
    top = Path(tempfile.mkdtemp(prefix="kontingent-lifecycle-", dir="/tmp"))
    top.chmod(0o755)
    env = {
        **os.environ,
        "KONTINGENT_HOME": str(top / "home"),
        "KONTINGENT_PG_BASE": str(top / "pg"),
        "KONTINGENT_PG_PORT": str(_free_port()),
    }
    for name in ("WAREHOUSE_URL", "WAREHOUSE_READER_URL", "WAREHOUSE_PII_URL"):
        env.pop(name, None)
    yield env, top
    subprocess.run([*KONTINGENT, "db", "down"], env=env, capture_output=True, check=False)
    shutil.rmtree(top, ignore_errors=True)


def kontingent(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*KONTINGENT, *args], env=env, capture_output=True, text=True, cwd=ROOT, check=False
    )


def _postmaster_pid(top: Path) -> int:
    return int((top / "pg" / "data" / "postmaster.pid").read_text().splitlines()[0])


def _query(env: dict) -> str:
    url = kontingent(env, "db", "url").stdout.strip()
    with psycopg.connect(url, connect_timeout=5) as conn:
        return conn.execute("select current_database() || ':' || current_user").fetchone()[0]


def test_up_up_down_down_and_up_after_a_killed_postmaster(private_cluster):
    env, top = private_cluster

    first = kontingent(env, "db", "up")
    assert first.returncode == 0, first.stderr
    assert "initializing a new cluster" in first.stdout
    assert "started" in first.stdout
    assert _query(env) == "kontingent:kontingent_owner"

    again = kontingent(env, "db", "up")
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout

    status = kontingent(env, "db", "status")
    assert status.returncode == 0
    assert str(top / "pg" / "data") in status.stdout

    down = kontingent(env, "db", "down")
    assert down.returncode == 0 and "stopped" in down.stdout
    down_again = kontingent(env, "db", "down")
    assert down_again.returncode == 0 and "not running" in down_again.stdout
    stopped = kontingent(env, "db", "status")
    assert stopped.returncode == 3 and "stopped" in stopped.stdout
    with pytest.raises(psycopg.OperationalError):
        _query(env)

    assert kontingent(env, "db", "up").returncode == 0
    pid = _postmaster_pid(top)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists(), "the postmaster survived SIGKILL"
    assert (top / "pg" / "data" / "postmaster.pid").exists(), "a crash leaves its pid file"

    after_crash = kontingent(env, "db", "up")
    assert after_crash.returncode == 0, after_crash.stderr + after_crash.stdout
    assert "started" in after_crash.stdout
    assert _postmaster_pid(top) != pid
    assert _query(env) == "kontingent:kontingent_owner"
