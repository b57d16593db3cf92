"""Helpers of the reliability and security suite."""

from __future__ import annotations

import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
KONTINGENT = [sys.executable, "-m", "kontingent.cli"]


class Tally:
    """Cases tried, by group and outcome, printed after the run."""

    def __init__(self) -> None:
        self.groups: dict[str, Counter] = defaultdict(Counter)
        self.notes: dict[str, list[str]] = defaultdict(list)

    def add(self, group: str, outcome: str, note: str | None = None, count: int = 1) -> None:
        self.groups[group][outcome] += count
        if note:
            self.notes[group].append(note)

    def lines(self) -> list[str]:
        out = []
        for group in sorted(self.groups):
            counts = self.groups[group]
            total = sum(counts.values())
            detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            out.append(f"{group}: {total} ({detail})")
            out.extend(f"    {n}" for n in self.notes[group])
        return out


TALLY = Tally()


def query(url: str, statement: str, params=None) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(statement, params).fetchall()


def wait_for_no_other_sessions(url: str, timeout: float = 60) -> None:
    """Wait until no other server session is connected to this database (a killed client's
    session ends when the server notices the closed socket)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            n = conn.execute(
                "select count(*) from pg_stat_activity where datname = current_database() "
                "and pid <> pg_backend_pid() and backend_type = 'client backend'"
            ).fetchone()[0]
            if n == 0:
                return
            time.sleep(0.05)
    raise AssertionError("a killed client's server session did not end")


def cli_env(url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "WAREHOUSE_URL": url,
        "KONTINGENT_PII_RETENTION_DAYS": "100000",
        **extra,
    }
