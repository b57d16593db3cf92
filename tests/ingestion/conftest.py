"""Fixtures of the ingestion tests: a landing folder, a loader bound to the test warehouse."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    d = tmp_path / "landing"
    d.mkdir()
    return d


@pytest.fixture
def wh(warehouse, pseudonym_key, monkeypatch):
    """The per-test warehouse with the pseudonymization key set (and no retention: the test
    extracts are dated in the past)."""
    monkeypatch.setenv("KONTINGENT_PII_RETENTION_DAYS", "100000")
    return warehouse


@pytest.fixture
def load(wh):
    from ingestion.loader import load_landing

    def run(landing: Path, **kw):
        return {r.file: r for r in load_landing(landing, url=wh.url, **kw)}

    return run


@pytest.fixture
def q(wh):
    """Run a query on the test warehouse as its owner; returns all rows."""

    def run(query: str, params=None, url: str | None = None):
        with psycopg.connect(url or wh.url) as conn:
            return conn.execute(query, params).fetchall()

    return run
