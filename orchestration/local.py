"""Airflow for local use: `python -m orchestration.local` (what `make airflow` runs).

Sets the environment from the project's settings — `AIRFLOW_HOME` under `.local/airflow`, the
metadata database `kontingent_airflow` of the project's cluster (role `kontingent_airflow`),
the warehouse connection `AIRFLOW_CONN_KONTINGENT_WAREHOUSE`, examples and Cosmos telemetry
off — writes the dbt manifest, migrates the metadata database and hands over to
`airflow standalone` (api-server, scheduler, DAG processor, triggerer) on port 8080. The
generated admin password is in `$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated`.

Passwords travel in the environment of the Airflow processes only, never in a file of the
repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kontingent.settings import PROJECT_ROOT, get_settings
from orchestration.config import DEFAULT_CONN_ID


def airflow_env(home: Path | None = None) -> dict[str, str]:
    settings = get_settings()
    home = home or Path(os.environ.get("AIRFLOW_HOME") or settings.home / "airflow")
    venv_bin = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(PROJECT_ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__COSMOS__ENABLE_TELEMETRY="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=settings.airflow_db_url.replace(
            "postgresql://", "postgresql+psycopg://", 1
        ),
        PATH=f"{venv_bin}:{env.get('PATH', '/usr/bin:/bin')}",
    )
    env.setdefault(f"AIRFLOW_CONN_{DEFAULT_CONN_ID.upper()}", settings.warehouse_url)
    env.setdefault("KONTINGENT_DBT_MANIFEST", str(home / "dbt" / "manifest.json"))
    return env


def main() -> None:
    from orchestration.dbt import write_manifest

    env = airflow_env()
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    os.environ.update(env)
    print(f"dbt manifest: {write_manifest(Path(env['KONTINGENT_DBT_MANIFEST']))}")
    subprocess.run(["airflow", "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    home = env["AIRFLOW_HOME"]
    print(
        "Airflow: http://127.0.0.1:8080 (user admin; password in "
        f"{home}/simple_auth_manager_passwords.json.generated)"
    )
    os.execvpe("airflow", ["airflow", "standalone"], env)  # noqa: S606


if __name__ == "__main__":
    main()
