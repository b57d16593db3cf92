"""Report dates of the correctness region and a small query helper shared by the form tests."""

from __future__ import annotations

from datetime import date

import psycopg

# the report dates the correctness region covers (its school years 2025/2026 and 2026/2027)
OO1_DATE = date(2025, 9, 20)
DOP_DATE = date(2025, 12, 31)
RESULTS_DATE = date(2026, 6, 1)  # academic year 2025/2026

FORM_DATES = {
    "oo1": OO1_DATE,
    "1dop": DOP_DATE,
    "results": RESULTS_DATE,
    "esia": date(2026, 11, 27),
}


def query(url: str, text: str, params=()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(text, params).fetchall()
