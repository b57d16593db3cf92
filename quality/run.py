"""Run a layer's checkpoints and record every result.

`run_check("raw")` audits the landing side; `run_check("marts")` audits the published layer as
dashboards see it, and `run_check("marts", build=True)` audits the build schemas that
`quality.publish` is about to swap in. Each run gets a UUID; its results go to `dq` and the GX
validation store, and Data Docs are rebuilt under `expectations/uncommitted/data_docs/`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from kontingent.settings import Settings, get_settings
from quality import LAYERS
from quality.checks import checkpoint_name
from quality.project import (
    DATASOURCE,
    PROJECT_DIR,
    PUBLISHED_SEARCH_PATH,
    connection_env,
    get_context,
    gx_url,
)
from quality.store import CheckRun, Result, ensure_tables, observed_text, save_run

BUILD_SUFFIX = "_next"
BUILD_SEARCH_PATH = tuple(s + BUILD_SUFFIX for s in PUBLISHED_SEARCH_PATH)

# observed values that cannot carry a value of a checked column
_SAFE_OBSERVED = {
    "unexpected_rows_expectation",
    "expect_table_row_count_to_be_between",
    "expect_table_columns_to_match_set",
    "expect_column_values_to_be_of_type",
}


def audited_schemas(layer: str, build: bool) -> list[str]:
    if layer == "raw":
        return ["raw"]
    return list(BUILD_SEARCH_PATH if build else PUBLISHED_SEARCH_PATH)


def run_check(
    layer: str,
    *,
    build: bool = False,
    settings: Settings | None = None,
    project_dir: Path = PROJECT_DIR,
    data_docs: bool = True,
    suites: list[str] | None = None,
) -> CheckRun:
    """Run the layer's checkpoints (`<layer>` and `<layer>_personal`), save the results in `dq`,
    rebuild Data Docs; the caller decides what a failure means (see `CheckRun.is_success`).

    `suites` narrows a run to some suites of the layer (each with its checkpoint's result
    format), for a quick look at one table; a narrowed run is never a publication's audit.
    """
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}: choose {' or '.join(LAYERS)}")
    if build and layer != "marts":
        raise ValueError("only the marts layer has build schemas")
    settings = settings or get_settings()
    schemas = audited_schemas(layer, build)
    run = CheckRun(
        run_id=str(uuid.uuid4()),
        layer=layer,
        audited_schemas=schemas,
        started_at=datetime.now(UTC),
        is_partial=suites is not None,
    )
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        ensure_tables(conn)
        save_run(conn, run)  # a crash mid-run leaves a visible, unfinished run
    search_path = tuple(schemas) if layer == "marts" else PUBLISHED_SEARCH_PATH
    with connection_env(gx_url(settings.warehouse_url, search_path)):
        context = get_context(project_dir)
        try:
            for personal in (False, True):
                name = checkpoint_name(layer, personal)
                if name not in {c.name for c in context.checkpoints.all()}:
                    continue  # a layer may have no personal checks
                checkpoint = context.checkpoints.get(name)
                if suites is None:
                    outcome = checkpoint.run(run_id=_run_identifier(run))
                    suite_results = list(outcome.run_results.values())
                else:
                    suite_results = [
                        definition.run(
                            result_format=checkpoint.result_format,
                            run_id=_run_identifier(run),
                        )
                        for definition in checkpoint.validation_definitions
                        if definition.name in suites
                    ]
                run.results += _results(suite_results, layer, name, personal)
            if data_docs:
                sites = context.build_data_docs()
                run.data_docs_path = _site_path(sites)
        finally:
            _dispose(context)
    run.finished_at = datetime.now(UTC)
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        save_run(conn, run)
    return run


def _run_identifier(run: CheckRun) -> Any:
    from great_expectations.core.run_identifier import RunIdentifier

    label = f"{run.layer}-{'-'.join(run.audited_schemas)}-{run.run_id[:8]}"
    return RunIdentifier(run_name=label, run_time=run.started_at)


def _results(suite_results: list[Any], layer: str, checkpoint: str, personal: bool) -> list[Result]:
    results: list[Result] = []
    for suite_result in suite_results:
        suite = suite_result.suite_name
        for evr in suite_result.results:
            config = evr.expectation_config
            meta = config.meta or {}
            result = evr.result or {}
            is_personal = bool(meta.get("personal", personal))
            observed = result.get("observed_value")
            if is_personal and config.type not in _SAFE_OBSERVED:
                observed = None
            results.append(
                Result(
                    check_name=meta.get("check", f"{suite}.{config.type}"),
                    layer=layer,
                    checkpoint_name=checkpoint,
                    suite_name=suite,
                    expectation_type=config.type,
                    severity="blocking"
                    if str(config.severity) in ("critical", "FailureSeverity.CRITICAL")
                    else "warning",
                    is_personal=is_personal,
                    is_success=bool(evr.success),
                    observed_value=observed_text(observed),
                    element_count=result.get("element_count"),
                    unexpected_count=_unexpected_count(config.type, result),
                    unexpected_percent=result.get("unexpected_percent"),
                    error=_error(evr.exception_info, is_personal),
                    description=config.description,
                )
            )
    return results


def _unexpected_count(expectation_type: str, result: dict) -> int | None:
    if expectation_type == "unexpected_rows_expectation":
        value = result.get("observed_value")
        return int(value) if isinstance(value, int) else None
    return result.get("unexpected_count")


def _error(info: Any, personal: bool) -> str | None:
    """The first line of an exception's message; withheld for personal checks (a database
    error can quote the value it choked on)."""
    if not info:
        return None
    infos = [info] if "raised_exception" in info else list(info.values())
    for item in infos:
        item = item if isinstance(item, dict) else getattr(item, "to_json_dict", dict)()
        if item.get("raised_exception"):
            if personal:
                return "the check raised an error (message withheld: personal data)"
            message = str(item.get("exception_message") or "error").strip().splitlines()
            return (message[0] if message else "error")[:500]
    return None


def _site_path(sites: Any) -> str | None:
    if not sites:
        return None
    url = next(iter(sites.values()))
    return str(url).removeprefix("file://")


def _dispose(context: Any) -> None:
    """Close GX's pooled connections: a warehouse is copied with CREATE DATABASE … TEMPLATE,
    which needs nobody connected to it."""
    try:
        source = context.data_sources.get(DATASOURCE)
        source.get_engine().dispose()
    except Exception:  # noqa: S110 - best effort on the way out
        pass
