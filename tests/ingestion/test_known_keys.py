"""The orphan check's lookup of keys the warehouse already knows (`raw.known_keys`)."""

from __future__ import annotations

import psycopg
from psycopg import sql

from ingestion.loader import KnownKeys

KNOWN = [f"{i:032x}" for i in range(20_000)]


def _fill(url: str) -> None:
    with (
        psycopg.connect(url) as conn,
        conn.cursor().copy("copy raw.known_keys (entity, key, first_load_id) from stdin") as copy,
    ):
        for key in KNOWN:
            copy.write_row(("student", key, 1))
        copy.write_row(("organization", KNOWN[0], 1))


def test_known_keys_answers_exactly_the_known_ones_on_every_call(wh):
    _fill(wh.url)
    unknown = {f"{i:032x}" for i in range(30_000, 30_100)}
    with KnownKeys(wh.url) as known:
        # more calls than a driver or the server needs before reusing a prepared plan
        for call in range(15):
            asked = set(KNOWN[call * 1000 : call * 1000 + 1000]) | unknown
            assert known("student", asked) == set(KNOWN[call * 1000 : call * 1000 + 1000])
        assert known("organization", {KNOWN[0], KNOWN[1]}) == {KNOWN[0]}
        assert known("student", set()) == set()


def test_known_keys_lookup_is_planned_for_each_call(wh):
    """A plan reused across calls is made once, when the table may still be small: a sequential
    scan comparing every row with every element of the array (a parameter array is not hashed),
    seconds per chunk once a region's students are known. Each call is planned with its own
    array, and even a reused plan reaches the keys through the index or a hash."""
    _fill(wh.url)
    with KnownKeys(wh.url) as known:
        for call in range(15):
            known("student", set(KNOWN[call * 100 : call * 100 + 100]))
        assert known.conn is not None
        prepared = known.conn.execute("select count(*) from pg_prepared_statements").fetchone()
        assert prepared == (0,)
    lookup = KnownKeys.LOOKUP.replace("%s", "$1", 1).replace("%s", "$2", 1)
    with psycopg.connect(wh.url, autocommit=True) as conn:
        conn.execute("set plan_cache_mode = force_generic_plan")
        conn.execute(f"prepare lookup (text[], text) as {lookup}")
        keys = sql.Literal(KNOWN[:5000]).as_string(conn)
        plan = [r[0] for r in conn.execute(f"explain execute lookup({keys}, 'student')")]
    assert not [line for line in plan if "Filter" in line and "ANY" in line.upper()], plan
    assert any("Index" in line or "Hash" in line for line in plan), plan
