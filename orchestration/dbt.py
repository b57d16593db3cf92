"""dbt in Airflow through Cosmos: one task per model (and seed), each running `dbt build` on its
node so that the model's tests run in the same task; the published layer goes to the build
schemas (`marts_next`, `forms_next`) for write-audit-publish.

The DAGs render the tasks from dbt's `manifest.json` (no dbt process and no database at parse
time). `python -m orchestration.dbt` writes that manifest with `dbt parse` (`make airflow`
does it); the path is `KONTINGENT_DBT_MANIFEST`.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from kontingent.dbt_runner import DBT_PROJECT_DIR
from orchestration.config import get_config

PUBLISH_VARS = {"kontingent:publish_schema_suffix": "_next"}
PROFILE_NAME = "kontingent"
TARGET_NAME = "airflow"
PRODUCER_SUFFIX = "dbt_producer_watcher"
PRODUCER_DONE_SUFFIX = "dbt_producer_watcher_done"


class ManifestMissing(RuntimeError):
    pass


def manifest_path() -> Path:
    return get_config().dbt_manifest


def write_manifest(target: Path | None = None) -> Path:
    """`dbt parse` into the manifest's folder (no database connection is made)."""
    import subprocess

    target = target or manifest_path()
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PASSWORD": os.environ.get("DBT_PASSWORD", "unused-by-parse"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_TARGET_PATH": str(folder),
        "DBT_LOG_PATH": str(folder / "logs"),
    }
    subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "parse", "--quiet"],
        cwd=DBT_PROJECT_DIR,
        env=env,
        check=True,
    )
    produced = folder / "manifest.json"
    if produced != target:
        produced.replace(target)
    return target


def dbt_task_group(group_id: str = "dbt", **kwargs: Any):
    """The Cosmos task group of the whole dbt project, rendered from the manifest."""
    from cosmos import (
        DbtTaskGroup,
        ExecutionConfig,
        ProfileConfig,
        ProjectConfig,
        RenderConfig,
    )
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior
    from cosmos.profiles import PostgresUserPasswordProfileMapping

    manifest = manifest_path()
    if not manifest.is_file():
        raise ManifestMissing(
            f"dbt manifest {manifest} not found: run `python -m orchestration.dbt` "
            "(or `make airflow`), or set KONTINGENT_DBT_MANIFEST"
        )
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=manifest,
            project_name="kontingent",
            dbt_vars=PUBLISH_VARS,
        ),
        profile_config=ProfileConfig(
            profile_name=PROFILE_NAME,
            target_name=TARGET_NAME,
            profile_mapping=PostgresUserPasswordProfileMapping(
                conn_id=get_config().conn_id,
                profile_args={"schema": "staging", "threads": 2},
            ),
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,
            invocation_mode=InvocationMode.DBT_RUNNER,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.AFTER_EACH,
            emit_datasets=False,
        ),
        operator_args={
            "install_deps": False,
            "env": {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
            "append_env": True,
            # the model tasks read the build's progress; they do not occupy a triggerer
            "deferrable": False,
            "poke_interval": 5,
            "execution_timeout": timedelta(hours=2),
        },
        **kwargs,
    )
    _producer_first(group)
    return group


def _producer_first(group) -> None:
    """Run the model tasks of the first layer after the single `dbt build` (the producer), as
    Cosmos does for a whole-DAG dbt project: they report each model's outcome from the build
    when it succeeded or failed (`one_done`), and are skipped when it never ran."""
    from airflow.sdk import BaseOperator

    tasks = [t for t in group.children.values() if isinstance(t, BaseOperator)]
    for child in group.children.values():
        if not isinstance(child, BaseOperator):
            tasks += [t for t in child.children.values() if isinstance(t, BaseOperator)]
    producer = next(t for t in tasks if t.task_id.endswith(PRODUCER_SUFFIX))
    ids = {t.task_id for t in tasks}
    for task in tasks:
        if task is producer or task.task_id.endswith(PRODUCER_DONE_SUFFIX):
            continue
        if not (task.upstream_task_ids & ids):
            producer >> task
            task.trigger_rule = "one_done"


if __name__ == "__main__":
    print(write_manifest())
