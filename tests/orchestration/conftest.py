"""Fixtures of the orchestration tests: a throw-away Airflow metadata database in the project's
cluster (migrated once per module), an AIRFLOW_HOME in a temporary folder, the dbt manifest the
DAGs render from, and a small generated region."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kontingent import db
from kontingent.settings import PROJECT_ROOT, ROLE_OWNER, ROLE_PII, ROLE_READER, get_settings

VENV_BIN = Path(sys.executable).parent
DAGS = PROJECT_ROOT / "dags"
STUDENTS = 300


@dataclass(frozen=True)
class AirflowEnv:
    home: Path
    metadata_db: str
    env: dict[str, str]

    def run(self, *args: str, extra: dict[str, str] | None = None, check: bool = True):
        proc = subprocess.run(
            [str(VENV_BIN / "airflow"), *args],
            env={**self.env, **(extra or {})},
            cwd=self.home,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"airflow {' '.join(args)} exited {proc.returncode}:\n"
                f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
            )
        return proc


def new_database(name: str, warehouse: bool) -> str:
    readers = (ROLE_READER, ROLE_PII) if warehouse else ()
    return db.scratch_database(get_settings(), name, readers, warehouse=warehouse)


def drop_database(name: str) -> None:
    db.drop_database(get_settings().local_url(ROLE_OWNER, "postgres"), name)


def base_env(home: Path, metadata_url: str, manifest: Path) -> dict[str, str]:
    from orchestration.local import isolated_env

    return isolated_env(home, metadata_url, manifest)


@pytest.fixture(scope="session")
def dbt_manifest(tmp_path_factory) -> Path:
    from orchestration.dbt import write_manifest

    return write_manifest(tmp_path_factory.mktemp("dbt-manifest") / "manifest.json")


@pytest.fixture(scope="module")
def airflow_env(pg_cluster, dbt_manifest, tmp_path_factory) -> Iterator[AirflowEnv]:
    """AIRFLOW_HOME in a temporary folder and a migrated metadata database of its own."""
    home = tmp_path_factory.mktemp("airflow-home")
    name = f"kt_airflow_test_{uuid.uuid4().hex[:10]}"
    url = new_database(name, warehouse=False)
    af = AirflowEnv(home, name, base_env(home, url, dbt_manifest))
    af.run("db", "migrate")
    yield af
    drop_database(name)


@pytest.fixture(scope="session")
def small_region(tmp_path_factory) -> Path:
    """A small generated region (one school year)."""
    out = tmp_path_factory.mktemp("small-region")
    subprocess.run(
        [
            str(VENV_BIN / "kontingent"),
            "generate",
            "--students",
            str(STUDENTS),
            "--years",
            "1",
            "--marks-per-year",
            "30",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out


def copy_landing(region: Path, target: Path) -> Path:
    shutil.copytree(region, target)
    return target
