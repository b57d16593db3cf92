"""Shared fixtures: one running cluster, one prepared template warehouse per test session, and a
fresh copy of it (`CREATE DATABASE … TEMPLATE …`) for every test that writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kontingent import cluster, db
from kontingent.settings import ROLE_OWNER, ROLE_PII, ROLE_READER, get_settings

TEMPLATE_PREFIX = "kt_test_template"


@dataclass(frozen=True)
class Warehouse:
    """A throw-away warehouse database and its URLs for the three roles."""

    dbname: str
    url: str
    reader_url: str
    pii_url: str


def _local_only() -> None:
    if os.environ.get("WAREHOUSE_URL"):
        pytest.skip("the test fixtures manage databases of the project's own cluster")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[None]:
    """The project's own cluster, started if it is not running (left running afterwards)."""
    _local_only()
    for _line in cluster.up():
        pass
    yield


@pytest.fixture(scope="session")
def warehouse_template(pg_cluster) -> Iterator[str]:
    """A prepared warehouse database (schemas, grants, stage tables) to copy from."""
    settings = get_settings()
    name = f"{TEMPLATE_PREFIX}_{os.getpid()}"
    db.scratch_database(settings, name, (ROLE_READER, ROLE_PII), warehouse=True)
    yield name
    db.drop_database(settings.local_url(ROLE_OWNER, "postgres"), name)


@pytest.fixture
def warehouse(warehouse_template, monkeypatch) -> Iterator[Warehouse]:
    """A fresh copy of the template; WAREHOUSE_*URL point at it for the test's duration."""
    settings = get_settings()
    name = f"kt_test_{uuid.uuid4().hex[:12]}"
    admin = settings.local_url(ROLE_OWNER, "postgres")
    db.clone_database(admin, warehouse_template, name)
    wh = Warehouse(
        dbname=name,
        url=settings.local_url(ROLE_OWNER, name),
        reader_url=settings.local_url(ROLE_READER, name),
        pii_url=settings.local_url(ROLE_PII, name),
    )
    monkeypatch.setenv("WAREHOUSE_URL", wh.url)
    monkeypatch.setenv("WAREHOUSE_READER_URL", wh.reader_url)
    monkeypatch.setenv("WAREHOUSE_PII_URL", wh.pii_url)
    yield wh
    db.drop_database(admin, name)


@pytest.fixture(scope="session")
def pseudonym_key() -> Iterator[str]:
    """A test-only pseudonymization secret, set in the environment for the whole session."""
    key = uuid.uuid4().hex + uuid.uuid4().hex
    old = os.environ.get("KONTINGENT_PSEUDONYM_KEY")
    os.environ["KONTINGENT_PSEUDONYM_KEY"] = key
    yield key
    if old is None:
        os.environ.pop("KONTINGENT_PSEUDONYM_KEY", None)
    else:
        os.environ["KONTINGENT_PSEUDONYM_KEY"] = old


@dataclass(frozen=True)
class BuiltWarehouse(Warehouse):
    """A warehouse built from the clean correctness region: loaded and transformed by dbt."""

    manifest: dict
    landing: Path


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[:3])} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
            f"{proc.stderr[-3000:]}"
        )
    return proc


@pytest.fixture(scope="session")
def correctness_region(tmp_path_factory) -> tuple[Path, dict]:
    """The generator's correctness region (clean) and its ground-truth manifest."""
    from sample_region import generate_correctness_region

    out = tmp_path_factory.mktemp("correctness-region")
    manifest = generate_correctness_region(out)
    return out, json.loads(manifest.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def built_warehouse(
    correctness_region, warehouse_template, pseudonym_key, tmp_path_factory
) -> Iterator[BuiltWarehouse]:
    """The correctness region loaded by `kontingent load` and built by `kontingent dbt build`,
    in a database of its own. Read-only for tests: a test that writes clones it first
    (`kontingent.db.clone_database`, with no open connection to it)."""
    region, manifest = correctness_region
    settings = get_settings()
    name = f"kt_built_{os.getpid()}"
    admin = settings.local_url(ROLE_OWNER, "postgres")
    db.drop_database(admin, name)
    db.clone_database(admin, warehouse_template, name)
    built = BuiltWarehouse(
        dbname=name,
        url=settings.local_url(ROLE_OWNER, name),
        reader_url=settings.local_url(ROLE_READER, name),
        pii_url=settings.local_url(ROLE_PII, name),
        manifest=manifest,
        landing=region,
    )
    landing = tmp_path_factory.mktemp("built-landing")
    shutil.copytree(region, landing, dirs_exist_ok=True)
    env = {
        **os.environ,
        "WAREHOUSE_URL": built.url,
        "WAREHOUSE_READER_URL": built.reader_url,
        "WAREHOUSE_PII_URL": built.pii_url,
        "DBT_TARGET_PATH": str(tmp_path_factory.mktemp("dbt-target")),
    }
    kontingent = [sys.executable, "-m", "kontingent.cli"]
    _run([*kontingent, "load", str(landing), "--json"], env)
    _run([*kontingent, "dbt", "build"], env)
    yield built
    db.drop_database(admin, name)
