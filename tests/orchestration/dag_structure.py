"""Run as a script by the tests: fill a DagBag from dags/ (with the Airflow and warehouse
databases pointed at a closed port, so any database call at import would fail) and print its
structure as JSON."""

from __future__ import annotations

import json
import sys

from airflow.dag_processing.dagbag import DagBag


def main(folder: str) -> None:
    bag = DagBag(dag_folder=folder)
    out = {
        "import_errors": {k: v[-2000:] for k, v in bag.import_errors.items()},
        "parse_seconds": {
            stat.file.rsplit("/", 1)[-1]: stat.duration.total_seconds()
            if hasattr(stat.duration, "total_seconds")
            else float(stat.duration)
            for stat in bag.dagbag_stats
        },
        "dags": {},
    }
    for dag_id, dag in bag.dags.items():
        out["dags"][dag_id] = {
            "max_active_runs": dag.max_active_runs,
            "catchup": dag.catchup,
            "schedule": repr(dag.timetable),
            "tasks": {
                t.task_id: {
                    "type": type(t).__name__,
                    "upstream": sorted(t.upstream_task_ids),
                    "trigger_rule": str(t.trigger_rule),
                    "retries": t.retries,
                    "is_teardown": bool(getattr(t, "is_teardown", False)),
                    "is_setup": bool(getattr(t, "is_setup", False)),
                    "has_failure_callback": bool(t.on_failure_callback),
                }
                for t in dag.tasks
            },
        }
    print("@@JSON@@" + json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
