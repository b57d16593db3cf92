"""Background servers of this checkout (Superset, the sign-in provider, Airflow): started in a
session of their own with a pid file and a log in a state folder, found again by the pid file,
stopped with their whole process group. Standard library only."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


class ProcessError(RuntimeError):
    """A server did not start: the message says why and where its log is."""


def pid_file(state_dir: Path, name: str) -> Path:
    return state_dir / f"{name}.pid"


def log_file(state_dir: Path, name: str) -> Path:
    return state_dir / f"{name}.log"


def tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def read_pid(state_dir: Path, name: str) -> int | None:
    """The pid of a live process started under this name, forgetting a dead one."""
    path = pid_file(state_dir, name)
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


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - loopback URL
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start(
    state_dir: Path,
    name: str,
    cmd: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    ready_url: str,
    timeout: float,
    error: type[Exception] = ProcessError,
) -> str:
    """Start `cmd` unless it already answers at `ready_url`; wait until it does."""
    pid = read_pid(state_dir, name)
    if pid and http_ok(ready_url):
        return f"{name}: already running (pid {pid})"
    if pid:
        stop(state_dir, name)
    if http_ok(ready_url):
        raise error(f"{name}: something else already answers at {ready_url}")
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_file(state_dir, name)
    started = time.monotonic()
    with open(log_path, "ab") as log:
        log.write(f"\n== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}\n".encode())
        log.flush()
        process = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    pid_file(state_dir, name).write_text(f"{process.pid}\n")
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            pid_file(state_dir, name).unlink(missing_ok=True)
            raise error(
                f"{name} stopped at start (exit {process.returncode}); {log_path}:\n"
                + tail(log_path)
            )
        if http_ok(ready_url):
            took = time.monotonic() - started
            return f"{name}: {ready_url} ready in {took:.1f} s (pid {process.pid})"
        time.sleep(0.25)
    stop(state_dir, name)
    raise error(f"{name} did not answer within {timeout:.0f} s; see {log_path}")


def stop(state_dir: Path, name: str, timeout: float = 15.0) -> str:
    pid = read_pid(state_dir, name)
    if pid is None:
        return f"{name}: not running"
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)  # the process group: workers and children too
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
    pid_file(state_dir, name).unlink(missing_ok=True)
    return f"{name}: stopped (pid {pid})"
