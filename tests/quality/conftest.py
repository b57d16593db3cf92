"""Fixtures of the data-quality tests: copies of the built warehouse to break, and a private copy
of the GX project so results and Data Docs of a test never land in the checkout."""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from kontingent import db
from kontingent.settings import ROLE_OWNER, ROLE_PII, ROLE_READER, Settings, get_settings
from quality.project import PROJECT_DIR


@dataclass(frozen=True)
class Copy:
    """A throw-away copy of the built warehouse."""

    dbname: str
    url: str
    reader_url: str
    settings: Settings

    def execute(self, *statements: str) -> None:
        with psycopg.connect(self.url) as conn:
            for statement in statements:
                conn.execute(statement)

    def scalar(self, query: str):
        with psycopg.connect(self.url) as conn:
            return conn.execute(query).fetchone()[0]


@pytest.fixture(scope="session")
def gx_project(tmp_path_factory) -> Path:
    """The committed GX project, copied: runs write their results and Data Docs there."""
    target = tmp_path_factory.mktemp("gx") / "expectations"
    shutil.copytree(PROJECT_DIR, target, ignore=shutil.ignore_patterns("uncommitted"))
    return target


def _copies(built_warehouse) -> Iterator[Callable[[], Copy]]:
    base = get_settings()
    admin = base.local_url(ROLE_OWNER, "postgres")
    made: list[str] = []

    def make() -> Copy:
        name = f"kt_dq_{uuid.uuid4().hex[:12]}"
        db.clone_database(admin, built_warehouse.dbname, name)
        made.append(name)
        url = base.local_url(ROLE_OWNER, name)
        env = {
            **base.env,
            "WAREHOUSE_URL": url,
            "WAREHOUSE_READER_URL": base.local_url(ROLE_READER, name),
            "WAREHOUSE_PII_URL": base.local_url(ROLE_PII, name),
        }
        return Copy(
            dbname=name,
            url=url,
            reader_url=base.local_url(ROLE_READER, name),
            settings=dataclasses.replace(base, env=env),
        )

    try:
        yield make
    finally:
        for name in made:
            db.drop_database(admin, name)


@pytest.fixture
def warehouse_copy(built_warehouse) -> Iterator[Callable[[], Copy]]:
    """A factory of copies of the built warehouse (each dropped after the test)."""
    yield from _copies(built_warehouse)


@pytest.fixture(scope="module")
def warehouse_copy_module(built_warehouse) -> Iterator[Callable[[], Copy]]:
    """The same, for copies a whole module shares."""
    yield from _copies(built_warehouse)
