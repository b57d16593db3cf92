"""Run dbt on the warehouse of the current settings: the connection goes to dbt through DBT_*
environment variables, which `dbt_project/profiles.yml` reads with env_var()."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from kontingent.settings import PROJECT_ROOT, Settings, get_settings

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


def dbt_env(settings: Settings | None = None, target: str | None = None) -> dict[str, str]:
    """DBT_* variables for the warehouse URL of these settings (owner role)."""
    settings = settings or get_settings()
    url = urlsplit(settings.warehouse_url)
    env = {
        "DBT_HOST": url.hostname or "127.0.0.1",
        "DBT_PORT": str(url.port or 5432),
        "DBT_USER": unquote(url.username or ""),
        "DBT_PASSWORD": unquote(url.password or ""),
        "DBT_DBNAME": url.path.lstrip("/"),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if target:
        env["DBT_TARGET"] = target
    return env


def dbt_executable() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def run_dbt(
    args: list[str],
    settings: Settings | None = None,
    capture: bool = False,
    target_path: Path | None = None,
) -> subprocess.CompletedProcess:
    """`dbt <args>` in the project folder; raises CalledProcessError on failure."""
    env = {**os.environ, **dbt_env(settings)}
    if target_path is not None:
        env["DBT_TARGET_PATH"] = str(target_path)
        env["DBT_LOG_PATH"] = str(target_path / "logs")
    return subprocess.run(
        [dbt_executable(), *args],
        cwd=DBT_PROJECT_DIR,
        env=env,
        check=True,
        text=True,
        capture_output=capture,
    )
