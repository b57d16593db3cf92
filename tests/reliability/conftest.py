"""Fixtures of the reliability and security suite, and the tally it prints at the end.

Every test that tries something on purpose (a broken file, a killed loader, a forbidden
statement) records it with `tally.add(group, outcome)`; the terminal summary prints how many
cases of each kind ran and how they ended, so a run is its own report."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import sql
from reliability_support import TALLY, Tally

from kontingent import db
from kontingent.settings import PROJECT_ROOT, ROLE_OWNER, ROLE_PII, ROLE_READER, get_settings


@pytest.fixture(scope="session")
def tally() -> Tally:
    return TALLY


REPORT = PROJECT_ROOT / ".local" / "test-artifacts" / "reliability" / "report.md"


def pytest_terminal_summary(terminalreporter) -> None:
    """The tally on the terminal, and the same as a report file kept with the test artifacts."""
    if TALLY.groups:
        terminalreporter.section("reliability and security: cases tried")
        for line in TALLY.lines():
            terminalreporter.write_line(line)
        stats = terminalreporter.stats
        outcome = ", ".join(f"{len(stats.get(k, []))} {k}" for k in ("passed", "failed", "error"))
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(
            "# Reliability and security: cases tried\n\n"
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; tests of this run: {outcome}.\n\n"
            + "".join(f"- {line}\n" for line in TALLY.lines()),
            encoding="utf-8",
        )
        terminalreporter.write_line(f"report: {REPORT}")


@pytest.fixture
def rel_wh(warehouse, pseudonym_key, monkeypatch):
    """A fresh warehouse with the pseudonymization key set and retention off (the test
    extracts are dated in the past)."""
    monkeypatch.setenv("KONTINGENT_PII_RETENTION_DAYS", "100000")
    return warehouse


@pytest.fixture(scope="module")
def module_warehouse(warehouse_template, pseudonym_key):
    """One copy of the template for a module of many small loads; `emptied_warehouse` empties
    its loader tables before each test (much cheaper than a new copy per test)."""
    settings = get_settings()
    admin = settings.local_url(ROLE_OWNER, "postgres")
    name = f"kt_rel_{uuid.uuid4().hex[:12]}"
    db.clone_database(admin, warehouse_template, name)
    url = settings.local_url(ROLE_OWNER, name)
    with psycopg.connect(url) as conn:
        empty = [
            (schema, table)
            for schema, table in conn.execute(
                "select schemaname, tablename from pg_tables "
                "where schemaname in ('raw', 'pii') order by 1, 2"
            ).fetchall()
            if not conn.execute(
                sql.SQL("select exists (select from {})").format(sql.Identifier(schema, table))
            ).fetchone()[0]
        ]
    yield {
        "url": url,
        "reader_url": settings.local_url(ROLE_READER, name),
        "pii_url": settings.local_url(ROLE_PII, name),
        "tables": empty,
    }
    db.drop_database(admin, name)


@pytest.fixture
def emptied_warehouse(module_warehouse, monkeypatch):
    """The module's warehouse with every loader table as empty as in a new warehouse."""
    tables = module_warehouse["tables"]
    with psycopg.connect(module_warehouse["url"]) as conn:
        conn.execute(
            sql.SQL("truncate {} restart identity").format(
                sql.SQL(", ").join(sql.Identifier(s, t) for s, t in tables)
            )
        )
    monkeypatch.setenv("KONTINGENT_PII_RETENTION_DAYS", "100000")
    for var in ("WAREHOUSE_URL", "WAREHOUSE_READER_URL", "WAREHOUSE_PII_URL"):
        monkeypatch.setenv(var, module_warehouse[var.lower().removeprefix("warehouse_")])
    return module_warehouse["url"]
