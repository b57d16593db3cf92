"""kontingent_daily end to end with `airflow dags test` on a small generated region, against the
project's PostgreSQL and a real Airflow metadata database:

1. a backfill over two extract dates (a run for an early date, then a run for the rest)
   publishes the same `marts`, `forms` and `core` as the direct path over all the files
   (`kontingent load`, then `kontingent dbt build` straight into the published schemas);
2. the second run loads exactly the files after the first run's date;
3. a run on the same landing folder loads nothing, is green and leaves the publication alone;
4. a file refused whole turns the run red with the reason in the run summary, and the previous
   publication stays;
5. a run started while another run holds the pipeline exits with a message and does nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from orchestration import runs
from tests.orchestration.conftest import (
    AirflowEnv,
    copy_landing,
    drop_database,
    new_database,
)

pytestmark = pytest.mark.slow

FIRST_UNTIL = date(2026, 10, 30)  # after the first final marks: no published table is empty
LAST_EXTRACT = date(2026, 11, 27)  # the generator's default last extract date
COMPARED_SCHEMAS = ("marts", "forms", "core")


def layer_digest(url: str, schemas=COMPARED_SCHEMAS) -> dict[str, tuple[int, str]]:
    """Every table of the schemas: its row count and an md5 over its sorted rows."""
    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema = any(%s) and table_type = 'BASE TABLE' "
            "and table_name not like 'dbt_%%' order by 1, 2",
            (list(schemas),),
        ).fetchall()
        for schema, table in tables:
            count, digest = conn.execute(
                f"select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), '')) "
                f'from "{schema}"."{table}" as t'
            ).fetchone()
            out[f"{schema}.{table}"] = (count, digest)
    return out


def stored_test_failures(url: str) -> set[str]:
    """dbt's stored test failures (in core) are part of the build, not of the data compared."""
    with psycopg.connect(url, autocommit=True) as conn:
        return {
            f"{s}.{t}"
            for s, t in conn.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema = 'core' and (table_name like 'assert_%%' "
                "or table_name like 'not_null_%%' or table_name like 'unique_%%' "
                "or table_name like 'accepted_values_%%' or table_name like 'relationships_%%')"
            ).fetchall()
        }


def publications(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("select count(*) from dq.publications").fetchone()[0]


def pipeline_run(url: str, dag_run_id: str) -> dict:
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute(
            "select * from dq.pipeline_runs where run_id = %s", (dag_run_id,)
        ).fetchone()


def latest_run(url: str) -> dict:
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute(
            "select * from dq.pipeline_runs order by claimed_at desc limit 1"
        ).fetchone()


@dataclass
class DagRun:
    returncode: int
    output: str
    row: dict | None
    digest: dict[str, tuple[int, str]]
    publications: int
    loaded_files: int


@dataclass
class Scenario:
    cli_digest: dict[str, tuple[int, str]]
    cli_test_tables: set[str]
    landing: Path
    runs: dict[str, DagRun] = field(default_factory=dict)
    files_after_first: int = 0
    files_until_first: int = 0
    url: str = ""


def _loaded_files(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "select count(*) from raw.load_log where status = 'loaded' and kind = 'file'"
        ).fetchone()[0]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kontingent.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def scenario(airflow_env: AirflowEnv, small_region, pseudonym_key, tmp_path_factory):
    """The direct path in one warehouse, then the DAG runs in another."""
    tag = uuid.uuid4().hex[:8]
    cli_db, dag_db = f"kt_orch_cli_{tag}", f"kt_orch_dag_{tag}"
    cli_url = new_database(cli_db, warehouse=True)
    dag_url = new_database(dag_db, warehouse=True)
    try:
        # -- the direct path -----------------------------------------------------------------
        cli_landing = copy_landing(small_region, tmp_path_factory.mktemp("cli") / "landing")
        env = {
            **airflow_env.env,
            "WAREHOUSE_URL": cli_url,
            "KONTINGENT_PSEUDONYM_KEY": pseudonym_key,
            "DBT_TARGET_PATH": str(tmp_path_factory.mktemp("cli-dbt-target")),
        }
        for args in (("load", str(cli_landing), "--json"), ("dbt", "build", "--quiet")):
            proc = _cli(env, *args)
            assert proc.returncode == 0, f"kontingent {args[0]}: {proc.stdout[-3000:]}"
        # -- the DAG ---------------------------------------------------------------------------
        landing = copy_landing(small_region, tmp_path_factory.mktemp("dag") / "landing")
        dag_env = {
            "AIRFLOW_CONN_KONTINGENT_WAREHOUSE": dag_url,
            "KONTINGENT_PSEUDONYM_KEY": pseudonym_key,
            "KONTINGENT_LANDING": str(landing),
        }
        sc = Scenario(layer_digest(cli_url), stored_test_failures(cli_url), landing, url=dag_url)
        dated = [p for p in landing.iterdir() if p.name[:1] != "_"]
        sc.files_until_first = sum(1 for p in dated if _extract_date(p) <= FIRST_UNTIL)
        sc.files_after_first = len(dated) - sc.files_until_first

        def run(label: str, *args: str, extra: dict | None = None) -> None:
            proc = airflow_env.run(
                "dags",
                "test",
                "kontingent_daily",
                *args,
                extra={**dag_env, **(extra or {})},
                check=False,
            )
            output = proc.stdout + proc.stderr
            sc.runs[label] = DagRun(
                proc.returncode,
                output,
                latest_run(dag_url),
                layer_digest(dag_url),
                publications(dag_url),
                _loaded_files(dag_url),
            )

        run("first", FIRST_UNTIL.isoformat())
        run("rest")  # a run for now: every file
        run("again")
        # a poisoned file: a marks extract whose header names none of the contract's columns
        (landing / "marks_20261127_2.csv").write_text("what;ever\n1;2\n", encoding="utf-8")
        run("poisoned")
        # another run holds the pipeline: this one must not wait and must not load
        (landing / "marks_20261127_3.csv").write_text("what;ever\n1;2\n", encoding="utf-8")
        holder = _hold_pipeline(dag_url)
        try:
            run("busy", extra={"KONTINGENT_RUN_WAIT_SECONDS": "0"})
        finally:
            holder.kill()
            holder.wait()
            with psycopg.connect(dag_url, autocommit=True) as conn:
                conn.execute("delete from dq.pipeline_runs where dag_id = 'someone_else'")
        sc.runs["busy"].row = latest_run(dag_url)
        yield sc
    finally:
        drop_database(cli_db)
        drop_database(dag_db)


def _extract_date(path: Path) -> date:
    stamp = path.name.split("_")[-1][:8] if path.name.split("_")[-1][:8].isdigit() else ""
    if not stamp:
        stamp = next(part[:8] for part in path.name.split("_") if part[:8].isdigit())
    return date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]))


def _hold_pipeline(url: str) -> subprocess.Popen:
    """Another process claims the pipeline and keeps it until killed."""
    code = (
        "import sys, time\n"
        "from orchestration import runs\n"
        "runs.claim('someone_else', 'manual_1', url=sys.argv[1], wait_seconds=0)\n"
        "print('held', flush=True)\n"
        "time.sleep(3600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, url],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "WAREHOUSE_URL": url},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _explain(run: DagRun) -> str:
    tail = "\n".join(line for line in run.output.splitlines() if "ERROR" in line or "error" in line)
    return f"rc {run.returncode}; summary {run.row}\n{tail[-3000:]}"


def test_backfill_publishes_the_same_warehouse_as_the_direct_path(scenario):
    first, rest = scenario.runs["first"], scenario.runs["rest"]
    for run in (first, rest):
        assert run.returncode == 0 and run.row["status"] == "success", _explain(run)
        assert run.row["published"] is True
    # without a date, `airflow dags test` runs for now: every file so far
    assert first.row["data_until"] == FIRST_UNTIL and rest.row["data_until"] >= LAST_EXTRACT
    ignore = scenario.cli_test_tables | stored_test_failures(scenario.url)
    expected = {k: v for k, v in scenario.cli_digest.items() if k not in ignore}
    got = {k: v for k, v in rest.digest.items() if k not in ignore}
    assert set(got) == set(expected)
    differing = sorted(k for k in expected if got[k] != expected[k])
    assert not differing, differing
    assert sum(n for n, _ in expected.values() if n) > 1000  # a warehouse, not empty tables
    assert expected["marts.agg_enrolment"][0] > 0


def test_each_run_loads_only_its_new_files_and_summarizes(scenario):
    first, rest = scenario.runs["first"], scenario.runs["rest"]
    # a file whose content was loaded before (under another name) counts as already loaded
    assert first.row["files_loaded"] + first.row["files_skipped"] == scenario.files_until_first
    assert first.row["files_loaded"] == first.loaded_files > 0
    assert rest.row["files_loaded"] + rest.row["files_skipped"] == (
        scenario.files_until_first + scenario.files_after_first
    )
    assert rest.row["files_loaded"] == rest.loaded_files - first.loaded_files > 0
    assert rest.row["files_loaded"] <= scenario.files_after_first
    assert rest.row["rows_loaded"] > 0 and rest.row["rows_rejected"] == 0
    for run in (first, rest):
        assert "checks, 0 blocking failed" in run.row["raw_checks"]
        assert "checks, 0 blocking failed" in run.row["marts_checks"]
        assert run.row["finished_at"] > run.row["claimed_at"]
        assert run.row["errors"] == []
        assert "run kontingent_daily/" in run.output and "published: yes" in run.output


def test_a_second_run_on_the_same_folder_loads_nothing_and_is_green(scenario):
    rest, again = scenario.runs["rest"], scenario.runs["again"]
    assert again.returncode == 0 and again.row["status"] == "success", _explain(again)
    assert again.row["files_loaded"] == 0
    assert again.row["files_skipped"] == scenario.files_until_first + scenario.files_after_first
    assert again.row["published"] is False
    assert any("nothing loaded since the last publication" in n for n in again.row["notes"])
    assert again.digest == rest.digest and again.publications == rest.publications


def test_a_file_refused_whole_turns_the_run_red_and_keeps_the_publication(scenario):
    again, poisoned = scenario.runs["again"], scenario.runs["poisoned"]
    assert poisoned.returncode != 0 or poisoned.row["status"] == "failed"
    assert poisoned.row["status"] == "failed"
    assert poisoned.row["files_failed"] == 1 and poisoned.row["files_loaded"] == 0
    assert any(
        e.startswith("file refused whole: marks_20261127_2.csv (") for e in poisoned.row["errors"]
    ), poisoned.row["errors"]
    (refused,) = [f for f in poisoned.row["details"]["files"] if f["status"] == "failed"]
    assert refused["file"] == "marks_20261127_2.csv" and refused["reason"]
    assert poisoned.row["published"] is None
    assert poisoned.publications == again.publications
    assert poisoned.digest == again.digest
    assert (scenario.landing / "failed" / "marks_20261127_2.csv").exists()
    with psycopg.connect(scenario.url, autocommit=True) as conn:
        alerts = conn.execute(
            "select task_id, detail from dq.pipeline_alerts where kind = 'task_failed'"
        ).fetchall()
    assert any(t == "load_landing" and "marks_20261127_2.csv" in d for t, d in alerts), alerts


def test_a_run_started_while_another_holds_the_pipeline_exits_with_a_message(scenario):
    poisoned, busy = scenario.runs["poisoned"], scenario.runs["busy"]
    assert "another pipeline run holds the warehouse: someone_else/manual_1" in busy.output
    assert busy.loaded_files == poisoned.loaded_files
    assert (scenario.landing / "marks_20261127_3.csv").exists()  # not even looked at
    assert busy.digest == poisoned.digest
    # the busy run never claimed, so the newest run row is still the poisoned one
    assert busy.row["run_key"] == poisoned.row["run_key"]


def test_run_keys_are_released(scenario):
    with psycopg.connect(scenario.url, autocommit=True) as conn:
        running = conn.execute(
            "select count(*) from dq.pipeline_runs where status = 'running'"
        ).fetchone()[0]
    assert running == 0
    # and the next claim goes through at once
    got = runs.claim("kontingent_daily", "check", url=scenario.url, wait_seconds=0)
    runs.release(got.run_key, url=scenario.url)
    shutil.rmtree(scenario.landing / "failed", ignore_errors=True)


def _api(url: str, token: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 - a loopback URL
        url,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def test_the_web_ui_shows_each_run_green_or_red(scenario, airflow_env):
    """What `make demo` starts: Airflow in the background on the same metadata database; its
    API (the one the web UI reads) shows each run with the state the run summary gave."""
    from orchestration import local

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**airflow_env.env, **local.api_env(port)}
    try:
        lines = local.up(env)
        assert any("ready in" in line for line in lines), lines
        base = local.url_of(env)
        assert _api(f"{base}/api/v2/dags")[0] == 401  # anonymous callers are refused
        password = local.admin_password(env)
        assert password, "the admin password is generated at start"
        for guess in ("admin", "airflow", ""):  # no default credential
            body = {"username": "admin", "password": guess}
            assert _api(f"{base}/auth/token", body=body)[0] in (400, 401, 403, 422), guess
        status, body = _api(f"{base}/auth/token", body={"username": "admin", "password": password})
        assert status in (200, 201), status
        token = body["access_token"]
        status, errors = _api(f"{base}/api/v2/importErrors", token)
        assert status == 200 and errors["total_entries"] == 0, errors
        status, listed = _api(f"{base}/api/v2/dags/kontingent_daily/dagRuns?limit=100", token)
        assert status == 200
        states = {r["dag_run_id"]: r["state"] for r in listed["dag_runs"]}
        expected = {"first": "success", "rest": "success", "again": "success"}
        expected["poisoned"] = "failed"
        for label, state in expected.items():
            run_id = scenario.runs[label].row["run_id"]
            assert states.get(run_id) == state, (label, run_id, states)
        assert local.status(env)[0]
    finally:
        stopped = local.down(env)
    assert "stopped" in stopped, stopped
    assert not local.status(env)[0]


def test_run_outputs_summaries_and_task_logs_name_no_one(scenario, airflow_env):
    """What a data engineer reads about the runs (each run's output with its task logs, the
    run summaries and alerts in `dq`, Airflow's log folder) holds none of the loaded people's
    names, SNILS or birth dates."""
    from urllib.parse import urlsplit

    from kontingent.settings import ROLE_PII, get_settings
    from tests.reliability.personal_data_scan import read_needles, scan_files, scan_text

    dbname = urlsplit(scenario.url).path.lstrip("/")
    needles = read_needles(get_settings().local_url(ROLE_PII, dbname))
    assert len(needles.names) > 100 and needles.snils and needles.birth_dates
    findings = []
    for label, run in scenario.runs.items():
        findings += scan_text(f"run {label}", run.output, needles)
    with psycopg.connect(scenario.url, autocommit=True) as conn:
        for table in ("pipeline_runs", "pipeline_alerts"):
            rows = conn.execute(f"select row_to_json(t)::text from dq.{table} as t").fetchall()
            assert rows, table
            findings += scan_text(f"dq.{table}", "\n".join(r[0] for r in rows), needles)
    logs = scan_files([airflow_env.home / "logs"], needles)
    findings += logs.findings
    assert sum(len(r.output) for r in scenario.runs.values()) > 100_000
    assert not findings, findings[:20]


def test_form_drafts_are_built_for_every_territory_and_rebuilt_on_late_records(
    scenario, tmp_path, monkeypatch
):
    from kontingent.settings import ROLE_READER, get_settings
    from orchestration import steps

    monkeypatch.setenv("WAREHOUSE_URL", scenario.url)
    dbname = scenario.url.rsplit("/", 1)[1]
    reader = get_settings().local_url(ROLE_READER, dbname)
    monkeypatch.setenv("WAREHOUSE_READER_URL", reader)
    territories = steps.territories(url=reader)
    assert territories[0] == ("region", None) and len(territories) > 1
    report = steps.Report("oo1", date(2026, 9, 20))
    first = steps.build_drafts(report, home=tmp_path)
    assert len(first.written) == len(territories) and not first.unchanged
    assert first.violations == []
    drafts = sorted((tmp_path / "forms" / "drafts" / "oo1" / "2026-09-20").glob("*.xlsx"))
    assert len(drafts) == len(territories)
    again = steps.build_drafts(report, home=tmp_path)
    assert again.written == [] and len(again.unchanged) == len(territories)
    # late records about the report date: one more student in each row of one municipality
    with psycopg.connect(scenario.url, autocommit=True) as conn:
        municipality = conn.execute(
            "select min(territory_id) from forms.oo1_classes_students "
            "where count_date = '2026-09-20' and level = 'municipality' and students > 0"
        ).fetchone()[0]
        changed = conn.execute(
            "update forms.oo1_classes_students set students = students + 1 "
            "where count_date = '2026-09-20' and (level = 'region' "
            "or (level = 'municipality' and territory_id = %s))",
            (municipality,),
        ).rowcount
    assert changed > 0
    late = steps.build_drafts(report, home=tmp_path)
    assert sorted(late.written) == sorted(
        w for w in first.written if w.endswith((" region", f"municipality-{municipality}"))
    )
    assert len(late.written) == 2 and len(late.unchanged) == len(territories) - 2


def test_maintenance_prunes_by_retention_and_vacuums(scenario):
    from orchestration import steps

    with psycopg.connect(scenario.url, autocommit=True) as conn:
        conn.execute(
            "update dq.pipeline_runs set claimed_at = claimed_at - interval '500 days' "
            "where run_id = %s",
            (scenario.runs["first"].row["run_id"],),
        )
        before = conn.execute("select count(*) from dq.pipeline_runs").fetchone()[0]
    out = steps.prune(400, url=scenario.url)
    assert out["pipeline_runs"] == 1
    with psycopg.connect(scenario.url, autocommit=True) as conn:
        after = conn.execute("select count(*) from dq.pipeline_runs").fetchone()[0]
        published = conn.execute("select count(*) from dq.publication_current").fetchone()[0]
    assert after == before - 1 and published == 1
    done = steps.vacuum_analyze(url=scenario.url)
    assert "raw.marks" in done and "core.fct_mark" in done
