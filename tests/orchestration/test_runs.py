"""The run lease, the run summary and the smaller steps, against a real warehouse database."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import date

import psycopg
import pytest

from orchestration import runs, steps

CLAIMER = textwrap.dedent(
    """
    import json, sys, time
    from orchestration import runs
    url, run_id, wait, hold = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    started = time.time()
    try:
        got = runs.claim("kontingent_daily", run_id, url=url, wait_seconds=wait,
                         poll_seconds=0.2, on_wait=lambda m: print("WAIT " + m, flush=True))
    except runs.PipelineBusy as exc:
        print("BUSY " + str(exc), flush=True)
        sys.exit(3)
    claimed = time.time()
    print("CLAIMED", flush=True)
    time.sleep(hold)
    released = time.time()
    runs.release(got.run_key, url=url)
    print("DONE " + json.dumps({"started": started, "claimed": claimed, "released": released}))
    """
)


def _claimer(url: str, run_id: str, wait: float, hold: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CLAIMER, url, run_id, str(wait), str(hold)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _interval(output: str) -> tuple[float, float]:
    import json

    line = next(line for line in output.splitlines() if line.startswith("DONE "))
    data = json.loads(line[5:])
    return data["claimed"], data["released"]


def test_two_runs_started_together_one_waits_for_the_other(warehouse):
    first = _claimer(warehouse.url, "run_a", wait=60, hold=3)
    # the second starts once the first holds the pipeline: on a loaded machine a process may
    # need longer to start than the first one holds it, and then nobody would wait
    assert first.stdout is not None and first.stdout.readline().strip() == "CLAIMED"
    second = _claimer(warehouse.url, "run_b", wait=60, hold=0)
    out_a, err_a = first.communicate(timeout=120)
    out_a = "CLAIMED\n" + out_a
    out_b, err_b = second.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, err_a + err_b
    intervals = sorted([_interval(out_a), _interval(out_b)])
    # never both at once: the later claim comes after the earlier release
    assert intervals[1][0] >= intervals[0][1]
    waiter = out_b if "WAIT" in out_b else out_a
    assert "another pipeline run holds the warehouse: kontingent_daily/run_" in waiter
    with psycopg.connect(warehouse.url) as conn:
        rows = conn.execute(
            "select run_id, status, waited_seconds from dq.pipeline_runs order by claimed_at"
        ).fetchall()
    assert [r[1] for r in rows] == ["success", "success"]
    assert float(rows[1][2]) >= 1  # the second one recorded its wait


def test_a_run_that_may_not_wait_exits_with_a_message(warehouse):
    holder = _claimer(warehouse.url, "run_a", wait=0, hold=600)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "CLAIMED"
        second = _claimer(warehouse.url, "run_b", wait=0, hold=0)
        out, _ = second.communicate(timeout=60)
        assert second.returncode == 3
        assert out.startswith("BUSY another pipeline run holds the warehouse: ")
        assert "kontingent_daily/run_a" in out and "did nothing" in out
    finally:
        holder.kill()
        holder.wait()
    with psycopg.connect(warehouse.url) as conn:
        keys = [r[0] for r in conn.execute("select run_key from dq.pipeline_runs").fetchall()]
    assert keys == ["kontingent_daily/run_a"]


def test_a_dead_holder_is_taken_over_after_the_lease(warehouse):
    runs.claim("kontingent_daily", "crashed", url=warehouse.url, wait_seconds=0)
    with psycopg.connect(warehouse.url, autocommit=True) as conn:
        conn.execute("update dq.pipeline_runs set claimed_at = now() - interval '13 hours'")
    got = runs.claim("kontingent_daily", "next", url=warehouse.url, wait_seconds=0, lease_hours=12)
    assert got.took_over == "kontingent_daily/crashed"
    old = runs.get_run("kontingent_daily/crashed", url=warehouse.url)
    assert old["status"] == "abandoned" and "taken for dead" in old["errors"][0]
    # the same run claiming again (a retried task) is let through at once
    again = runs.claim("kontingent_daily", "next", url=warehouse.url, wait_seconds=0)
    assert again.run_key == got.run_key


def test_summary_records_and_settles_the_status(warehouse):
    key = runs.claim("kontingent_daily", "s1", url=warehouse.url, wait_seconds=0).run_key
    runs.record(key, url=warehouse.url, files_loaded=2, rows_loaded=10, warnings="w1")
    runs.record(key, url=warehouse.url, warnings=["w2"], details={"a": 1})
    summary = runs.release(key, url=warehouse.url)
    assert summary["status"] == "success" and summary["warnings"] == ["w1", "w2"]
    assert summary["details"] == {"a": 1} and summary["duration_seconds"] >= 0
    text = runs.summary_text(summary)
    assert "files: 2 loaded" in text and "warning: w2" in text
    key = runs.claim("kontingent_daily", "s2", url=warehouse.url, wait_seconds=0).run_key
    runs.record(key, url=warehouse.url, errors="file refused whole: x.csv")
    assert runs.release(key, url=warehouse.url)["status"] == "failed"
    alert = runs.raise_alert("task_failed", "subject", "detail", url=warehouse.url)
    with psycopg.connect(warehouse.url) as conn:
        row = conn.execute(
            "select kind, subject, emailed from dq.pipeline_alerts where alert_id = %s", (alert,)
        ).fetchone()
    assert row == ("task_failed", "subject", False)


def test_alert_email_goes_to_the_configured_server(monkeypatch):
    import socket
    import threading

    received: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def smtp() -> None:
        conn, _ = server.accept()
        f = conn.makefile("rwb")

        def reply(text: str) -> None:
            f.write(text.encode() + b"\r\n")
            f.flush()

        reply("220 test")
        data = False
        for raw in f:
            line = raw.rstrip(b"\r\n")
            if data:
                if line == b".":
                    data = False
                    reply("250 queued")
                else:
                    received.append(line)
                continue
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                reply("250 test")
            elif verb == b"DATA":
                data = True
                reply("354 go")
            elif verb == b"QUIT":
                reply("221 bye")
                break
            else:
                reply("250 ok")
        conn.close()

    thread = threading.Thread(target=smtp, daemon=True)
    thread.start()
    monkeypatch.setenv("KONTINGENT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KONTINGENT_SMTP_PORT", str(port))
    monkeypatch.setenv("KONTINGENT_ALERT_EMAIL", "duty@example.org")
    from orchestration.alerts import send_email

    assert send_email("[kontingent] load failed", "the reason") is True
    thread.join(10)
    server.close()
    assert b"Subject: [kontingent] load failed" in received
    assert b"To: duty@example.org" in received and b"the reason" in received


def test_late_feeds_are_found(warehouse):
    with psycopg.connect(warehouse.url, autocommit=True) as conn:
        for feed, day in (("marks", "2026-10-01"), ("students", "2026-09-01")):
            conn.execute(
                "insert into raw.load_log (kind, feed, file_name, extract_date, status, "
                "rows_read, rows_loaded, rows_rejected) "
                "values ('file', %s, %s, %s, 'loaded', 0, 0, 0)",
                (feed, f"{feed}_{day.replace('-', '')}.csv", day),
            )
    late = {lf.feed: lf for lf in steps.late_feeds(date(2026, 10, 3), url=warehouse.url)}
    assert "marks" not in late  # two days old, within four
    assert late["students"].days == 32 and late["students"].interval == 10
    assert late["accounts"].newest is None  # never delivered, a month of data already
    assert "final_marks" not in late  # its interval (a term) has not passed
    assert steps.late_feeds(date(2026, 9, 2), url=warehouse.url) == []


def test_refresh_drops_cached_chart_data(tmp_path, warehouse):
    key = runs.claim("kontingent_daily", "r1", url=warehouse.url, wait_seconds=0).run_key
    cache = tmp_path / "cache" / "data"
    cache.mkdir(parents=True)
    for i in range(3):
        (cache / f"entry{i}").write_bytes(b"x")
    assert steps.refresh_dashboards(key, cache) == 3
    assert list(cache.iterdir()) == []
    assert steps.refresh_dashboards(key, tmp_path / "absent") == 0
    assert "dashboard cache: 3 cached chart result(s) dropped" in runs.get_run(key)["notes"]


@pytest.mark.parametrize(
    ("today", "oo1", "dop", "term_end"),
    [
        (date(2026, 9, 29), date(2025, 9, 20), date(2025, 12, 31), date(2026, 5, 31)),
        (date(2026, 9, 30), date(2026, 9, 20), date(2025, 12, 31), date(2026, 5, 31)),
        (date(2026, 11, 10), date(2026, 9, 20), date(2025, 12, 31), date(2026, 10, 31)),
        (date(2027, 1, 10), date(2026, 9, 20), date(2026, 12, 31), date(2026, 12, 31)),
    ],
)
def test_forms_fall_due_a_lag_after_their_report_dates(warehouse, today, oo1, dop, term_end):
    with psycopg.connect(warehouse.url, autocommit=True) as conn:
        conn.execute("create table marts.dim_term (term_name_ru text, end_date date)")
        conn.execute(
            "insert into marts.dim_term values ('Год', '2026-05-31'), ('1 четверть', "
            "'2026-10-31'), ('2 четверть', '2026-12-31'), ('1 полугодие', '2026-12-31')"
        )
    due = steps.due_reports(today, 10, url=warehouse.url)
    assert due[0] == steps.Report("oo1", oo1) and due[1] == steps.Report("1dop", dop)
    terms = due[2:]
    assert {r.report_date for r in terms} == {term_end}
    assert all(r.form == "results" and r.period for r in terms)
    if term_end == date(2026, 12, 31):
        assert {r.period for r in terms} == {"2 четверть", "1 полугодие"}


def test_wait_loop_polls_until_free(warehouse):
    got = runs.claim("kontingent_daily", "w1", url=warehouse.url, wait_seconds=0)
    started = time.monotonic()
    with pytest.raises(runs.PipelineBusy, match="waited"):
        runs.claim("kontingent_daily", "w2", url=warehouse.url, wait_seconds=1, poll_seconds=0.2)
    assert time.monotonic() - started >= 1
    runs.release(got.run_key, url=warehouse.url)
