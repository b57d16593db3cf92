"""The hand-written edge region, loaded by `kontingent load` and built by `kontingent dbt build`
(the trajectories and what they stand on) in a database of its own, once per test run."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import edge_region
import pytest

from kontingent import db
from kontingent.settings import ROLE_OWNER, ROLE_PII, ROLE_READER, get_settings


@dataclass(frozen=True)
class EdgeWarehouse:
    dbname: str
    url: str
    reader_url: str
    pii_url: str
    cases: dict[str, edge_region.Case]


def _run(argv: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[2:5])} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )


@pytest.fixture(scope="session")
def edge_warehouse(warehouse_template, pseudonym_key, tmp_path_factory) -> Iterator[EdgeWarehouse]:
    settings = get_settings()
    name = f"kt_edges_{os.getpid()}"
    admin = settings.local_url(ROLE_OWNER, "postgres")
    db.drop_database(admin, name)
    db.clone_database(admin, warehouse_template, name)
    landing = tmp_path_factory.mktemp("edge-landing")
    built = EdgeWarehouse(
        dbname=name,
        url=settings.local_url(ROLE_OWNER, name),
        reader_url=settings.local_url(ROLE_READER, name),
        pii_url=settings.local_url(ROLE_PII, name),
        cases=edge_region.write(Path(landing)),
    )
    env = {
        **os.environ,
        "WAREHOUSE_URL": built.url,
        "WAREHOUSE_READER_URL": built.reader_url,
        "WAREHOUSE_PII_URL": built.pii_url,
        "DBT_TARGET_PATH": str(tmp_path_factory.mktemp("edge-dbt-target")),
    }
    kontingent = [sys.executable, "-m", "kontingent.cli"]
    _run([*kontingent, "load", str(landing), "--json"], env)
    # the trajectories, what they stand on, and the trajectories' own tests (not the tests of
    # every model upstream: the warehouse's suites check those)
    selection = [
        "+path:models/trajectories,resource_type:model",
        "+path:models/trajectories,resource_type:seed",
        "path:models/trajectories,resource_type:test",
        "path:tests/trajectories",
    ]
    build = ["dbt", "build", "--indirect-selection", "empty", "--select", *selection]
    _run([*kontingent, *build], env)
    yield built
    db.drop_database(admin, name)
