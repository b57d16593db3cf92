"""Orchestration logic of the Airflow DAGs in `dags/`: the run lease that keeps two pipeline runs
apart, the run summary and alerts, and the body of every task. The DAG files only wire these
functions together; everything here also runs without Airflow (the tests call it directly).
See docs/orchestration.md."""
