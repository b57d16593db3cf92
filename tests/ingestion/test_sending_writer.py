"""The COPY data of a load is sent from a worker thread: every piece arrives in order, and a
failure on either side reaches the loader instead of being lost in the thread."""

from __future__ import annotations

import threading

import psycopg
import pytest
from psycopg import sql

from ingestion.loader import SEND_PIECE, SEND_PIECES, SendingWriter, _copy

COPY = sql.SQL("copy scratch_rows (n, payload) from stdin")


@pytest.fixture
def conn(wh):
    with psycopg.connect(wh.url) as c:
        c.execute("create table scratch_rows (n integer not null, payload text not null)")
        c.commit()
        yield c


def _rows(first: int, count: int) -> str:
    return "".join(f"{n}\t{'x' * 90}\n" for n in range(first, first + count))


def _in_time(target, seconds: float = 60):
    """Runs target in a thread; a writer that loses its thread's error would block for ever."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = target()
        except BaseException as exc:  # handed to the test below
            outcome["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "the COPY did not end: an error in the sending thread was lost"
    return outcome


def test_every_piece_arrives_in_order(conn):
    block = 10_000  # ~1 MiB a write: the whole COPY is many times what the queue holds
    writes = 40
    assert writes * block * 96 > 4 * SEND_PIECES * SEND_PIECE
    with _copy(conn.cursor(), COPY) as copy:
        assert isinstance(copy.writer, SendingWriter)
        for w in range(writes):
            copy.write(_rows(w * block, block))
    conn.commit()
    count, lowest, highest, out_of_order = conn.execute(
        "select count(*), min(n), max(n), count(*) filter (where n <> rn - 1) "
        "from (select n, row_number() over (order by ctid) as rn from scratch_rows) as r"
    ).fetchone()
    assert (count, lowest, highest, out_of_order) == (writes * block, 0, writes * block - 1, 0)


def test_a_value_the_server_refuses_fails_the_copy(conn):
    def copy_bad():
        with _copy(conn.cursor(), COPY) as copy:
            copy.write(_rows(0, 1000) + "not a number\tx\n")
            for w in range(20):
                copy.write(_rows(1000 + w * 10_000, 10_000))

    outcome = _in_time(copy_bad)
    assert isinstance(outcome.get("error"), psycopg.errors.InvalidTextRepresentation)
    conn.rollback()
    assert conn.execute("select count(*) from scratch_rows").fetchone() == (0,)
    with _copy(conn.cursor(), COPY) as copy:  # the thread is free for the next COPY
        copy.write(_rows(0, 10))
    assert conn.execute("select count(*) from scratch_rows").fetchone() == (10,)


def test_a_connection_lost_mid_copy_reaches_the_loader(conn, wh):
    pid = conn.info.backend_pid

    def copy_until_cut():
        with _copy(conn.cursor(), COPY) as copy:
            copy.write(_rows(0, 10_000))
            with psycopg.connect(wh.url, autocommit=True) as other:
                other.execute("select pg_terminate_backend(%s)", (pid,))
            for w in range(400):  # ~40 MiB after the cut: the dead thread's queue would fill
                copy.write(_rows(10_000 + w * 1000, 1000))

    outcome = _in_time(copy_until_cut)
    assert isinstance(outcome.get("error"), psycopg.OperationalError)
    with psycopg.connect(wh.url) as other:
        assert other.execute("select count(*) from scratch_rows").fetchone() == (0,)


def test_an_error_of_the_loader_cancels_the_copy(conn):
    class Refused(Exception):
        pass

    def copy_then_fail():
        with _copy(conn.cursor(), COPY) as copy:
            copy.write(_rows(0, 50_000))
            raise Refused("the file's next block is refused")

    outcome = _in_time(copy_then_fail)
    assert isinstance(outcome.get("error"), Refused)
    conn.rollback()
    assert conn.execute("select count(*) from scratch_rows").fetchone() == (0,)


def _copy_in_child(url: str) -> None:
    with psycopg.connect(url) as c, _copy(c.cursor(), COPY) as copy:
        copy.write(_rows(0, 10_000))


def test_a_forked_child_gets_threads_of_its_own(conn, wh):
    import multiprocessing
    import os
    import signal

    with _copy(conn.cursor(), COPY) as copy:  # the parent's sending thread exists
        copy.write(_rows(0, 10))
    conn.commit()
    child = multiprocessing.get_context("fork").Process(target=_copy_in_child, args=(wh.url,))
    child.start()
    child.join(60)
    if child.is_alive():
        os.kill(child.pid, signal.SIGKILL)
        child.join()
    assert child.exitcode == 0, "the child's COPY never ended: its sending thread never ran"
    assert conn.execute("select count(*) from scratch_rows").fetchone() == (10_010,)
