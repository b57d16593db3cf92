"""Shared fixtures: one running cluster, one prepared template warehouse per test session, and a
fresh copy of it (`CREATE DATABASE … TEMPLATE …`) for every test that writes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
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
    admin = settings.local_url(ROLE_OWNER, "postgres")
    db.drop_database(admin, name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
        db.secure_database(conn, name, (ROLE_READER, ROLE_PII))
    with psycopg.connect(settings.local_url(ROLE_OWNER, name)) as conn:
        db.prepare_warehouse(conn)
    yield name
    db.drop_database(admin, name)


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
