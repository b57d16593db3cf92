"""The DAG files import cleanly, touch no database while doing so, and wire what they promise:
every dbt model of the manifest is a task of kontingent_daily, with its tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.orchestration.conftest import DAGS, base_env

CLOSED = "postgresql://nobody:nothing@127.0.0.1:9/none"  # port 9 (discard): nothing listens


@pytest.fixture(scope="module")
def structure(dbt_manifest, tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("airflow-parse")
    env = base_env(home, CLOSED, dbt_manifest)
    env.update(
        WAREHOUSE_URL=CLOSED,
        WAREHOUSE_READER_URL=CLOSED,
        WAREHOUSE_PII_URL=CLOSED,
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=CLOSED.replace("postgresql:", "postgresql+psycopg:"),
    )
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("dag_structure.py")), str(DAGS)],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    payload = proc.stdout.split("@@JSON@@", 1)[1]
    return json.loads(payload)


def test_dagbag_imports_without_errors_and_without_a_database(structure, record_property):
    assert structure["import_errors"] == {}
    assert set(structure["dags"]) == {
        "kontingent_daily",
        "kontingent_forms",
        "kontingent_maintenance",
    }
    for file, seconds in structure["parse_seconds"].items():
        record_property(f"parse_seconds[{file}]", seconds)
        print(f"parse time {file}: {seconds:.2f} s")


def _manifest_nodes(manifest_path: Path) -> dict:
    return json.loads(manifest_path.read_text())["nodes"]


def test_every_dbt_model_and_seed_is_a_task_with_its_tests(structure, dbt_manifest):
    tasks = structure["dags"]["kontingent_daily"]["tasks"]
    nodes = _manifest_nodes(dbt_manifest)
    models = {n["name"] for n in nodes.values() if n["resource_type"] == "model"}
    seeds = {n["name"] for n in nodes.values() if n["resource_type"] == "seed"}
    tested = {
        nodes[dep]["name"]
        for n in nodes.values()
        if n["resource_type"] == "test"
        for dep in n["depends_on"]["nodes"]
        if dep in nodes and len([d for d in n["depends_on"]["nodes"] if d in nodes]) == 1
    }
    assert len(models) > 40
    for model in models:
        run_ids = {f"dbt.{model}.run", f"dbt.{model}_run"}
        assert run_ids & set(tasks), f"model {model} has no task"
        if model in tested:
            test_id = f"dbt.{model}.test"
            assert test_id in tasks, f"tests of {model} have no task"
            assert f"dbt.{model}.run" in tasks[test_id]["upstream"]
    for seed in seeds:
        assert f"dbt.{seed}.seed" in tasks or f"dbt.{seed}_seed" in tasks
    # one dbt build feeds every model task; the build writes into the build schemas
    assert tasks["dbt.dbt_producer_watcher"]["upstream"] == ["prepare_build"]
    print(f"{len(models)} models, {len(seeds)} seeds, {len(tasks)} tasks in kontingent_daily")


def test_daily_wiring_and_failure_semantics(structure):
    daily = structure["dags"]["kontingent_daily"]
    tasks = daily["tasks"]
    assert daily["max_active_runs"] == 1
    assert daily["catchup"] is False
    assert "0 6 * * *" in daily["schedule"], daily["schedule"]
    chain = [
        ("claim_pipeline", "load_landing"),
        ("load_landing", "needs_build"),
        ("load_landing", "check_feed_arrival"),
        ("needs_build", "check_raw"),
        ("check_raw", "prepare_build"),
    ]
    for upstream, task in chain:
        assert upstream in tasks[task]["upstream"], (upstream, task)
    publish_upstream = set(tasks["audit_and_publish"]["upstream"])
    assert publish_upstream and all(u.startswith("dbt.") for u in publish_upstream)
    assert tasks["refresh_dashboards"]["upstream"] == ["audit_and_publish"]
    summary = tasks["run_summary"]
    assert summary["is_teardown"] and tasks["claim_pipeline"]["is_setup"]
    assert {"claim_pipeline", "refresh_dashboards", "check_feed_arrival"} <= set(
        summary["upstream"]
    )
    # transient errors are retried; every task reports a final failure
    assert tasks["load_landing"]["retries"] >= 2
    assert all(t["has_failure_callback"] for t in tasks.values())


def test_forms_and_maintenance_dags(structure):
    forms = structure["dags"]["kontingent_forms"]
    assert set(forms["tasks"]) == {"build_form_drafts"}
    maintenance = structure["dags"]["kontingent_maintenance"]
    assert set(maintenance["tasks"]) == {
        "prune_by_retention",
        "vacuum_analyze",
        "prune_task_logs",
    }
    assert maintenance["tasks"]["vacuum_analyze"]["upstream"] == ["prune_by_retention"]
