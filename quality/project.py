"""The Great Expectations file project in `expectations/`, written from `quality.checks`.

`build_project()` is idempotent: it adds or updates the data source, assets, batch definitions,
suites, validation definitions and checkpoints, and leaves files whose content did not change
untouched, so the committed JSON only changes when a check changes. Run it after editing
`quality/checks.py`:

    python -m quality.project

The data source's connection string is `${KONTINGENT_DQ_URL}`: GX substitutes it from the
environment at run time (`quality.run` sets it from the warehouse settings), so no URL or
password is ever written into the project.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from kontingent.settings import PROJECT_ROOT
from quality import LAYERS
from quality.checks import (
    SUMMARY_COUNTED,
    SUMMARY_LISTED,
    Check,
    catalogue,
    checkpoint_name,
    checks_of,
    suite_name,
)

PROJECT_DIR = PROJECT_ROOT / "expectations"
DATASOURCE = "warehouse"
URL_VARIABLE = "KONTINGENT_DQ_URL"
BATCH = "whole table"

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


PUBLISHED_SEARCH_PATH = ("marts", "forms")


def gx_url(warehouse_url: str, search_path: tuple[str, ...] = PUBLISHED_SEARCH_PATH) -> str:
    """The warehouse URL for SQLAlchemy (psycopg 3), with the schemas unqualified names mean."""
    parts = urlsplit(warehouse_url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-csearch_path={','.join(search_path)}"))
    scheme = "postgresql+psycopg"
    return urlunsplit(parts._replace(scheme=scheme, query=urlencode(query)))


@contextmanager
def connection_env(url: str) -> Iterator[None]:
    """KONTINGENT_DQ_URL for the duration of a block (GX reads it when it connects)."""
    old = os.environ.get(URL_VARIABLE)
    os.environ[URL_VARIABLE] = url
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(URL_VARIABLE, None)
        else:
            os.environ[URL_VARIABLE] = old


def get_context(project_dir: Path = PROJECT_DIR) -> Any:
    import great_expectations as gx

    context = gx.get_context(mode="file", context_root_dir=str(project_dir))
    return context


def _expectation(check: Check) -> Any:
    import great_expectations.expectations as gxe

    cls = getattr(gxe, check.expectation)
    return cls(
        **check.kwargs,
        severity="critical" if check.blocking else "warning",
        description=check.description,
        meta={"check": check.name, "severity": check.severity, "personal": check.personal},
    )


def _suite_fingerprint(suite: Any) -> list[dict]:
    out = []
    for exp in suite.expectations:
        config = exp.configuration.to_json_dict()
        config.pop("id", None)
        out.append(config)
    return sorted(out, key=lambda c: c["meta"]["check"])


def build_project(project_dir: Path = PROJECT_DIR, warehouse_url: str | None = None) -> list[str]:
    """Write every asset, suite, validation definition and checkpoint; returns what changed.

    GX tests the connection and every table while adding assets, so this needs a built
    warehouse (the current settings' one by default).
    """
    import great_expectations as gx

    from kontingent.settings import get_settings

    changed: list[str] = []
    with connection_env(gx_url(warehouse_url or get_settings().warehouse_url)):
        context = get_context(project_dir)
        try:
            source = context.data_sources.get(DATASOURCE)
        except (KeyError, ValueError):
            source = context.data_sources.add_postgres(
                name=DATASOURCE, connection_string="${" + URL_VARIABLE + "}"
            )
            changed.append(f"data source {DATASOURCE}")
        assets, _checks = catalogue()
        for asset in assets:
            existing = {a.name: a for a in source.assets}.get(asset.name)
            wanted = (
                {"query": asset.query}
                if asset.query
                else {"table_name": asset.table, "schema_name": asset.schema}
            )
            have = {k: getattr(existing, k, None) for k in wanted}
            have = {k: v if isinstance(v, str) else None for k, v in have.items()}
            if existing is not None and have == wanted:
                gx_asset = existing
            else:
                if existing is not None:
                    source.delete_asset(asset.name)
                gx_asset = (
                    source.add_query_asset(name=asset.name, query=asset.query)
                    if asset.query
                    else source.add_table_asset(
                        name=asset.name, table_name=asset.table, schema_name=asset.schema
                    )
                )
                changed.append(f"asset {asset.name}")
            if BATCH not in {b.name for b in gx_asset.batch_definitions}:
                gx_asset.add_batch_definition_whole_table(BATCH)
                changed.append(f"batch definition {asset.name}")

        for layer in LAYERS:
            by_suite: dict[str, list[Check]] = {}
            for check in checks_of(layer):
                by_suite.setdefault(suite_name(check), []).append(check)
            definitions: dict[bool, list[Any]] = {False: [], True: []}
            for name, suite_checks in by_suite.items():
                suite = gx.ExpectationSuite(
                    name=name, expectations=[_expectation(c) for c in suite_checks]
                )
                try:
                    current = context.suites.get(name)
                except Exception:  # GX raises its own not-found errors
                    current = None
                if current is None or _suite_fingerprint(current) != _suite_fingerprint(suite):
                    if current is not None:
                        context.suites.delete(name)
                    suite = context.suites.add(suite)
                    changed.append(f"suite {name}")
                else:
                    suite = current
                asset_name = suite_checks[0].asset
                batch = source.get_asset(asset_name).get_batch_definition(BATCH)
                definition = context.validation_definitions.add_or_update(
                    gx.ValidationDefinition(name=name, data=batch, suite=suite)
                )
                definitions[suite_checks[0].personal].append(definition)
            for personal, defs in definitions.items():
                if not defs:
                    continue
                context.checkpoints.add_or_update(
                    gx.Checkpoint(
                        name=checkpoint_name(layer, personal),
                        validation_definitions=sorted(defs, key=lambda d: d.name),
                        result_format=SUMMARY_COUNTED if personal else SUMMARY_LISTED,
                        actions=[],
                    )
                )
        _remove_stale(context, {suite_name(c) for c in catalogue()[1]}, changed)
    _pin_config(project_dir)
    return changed


def _remove_stale(context: Any, suites: set[str], changed: list[str]) -> None:
    for definition in list(context.validation_definitions.all()):
        if definition.name not in suites:
            context.validation_definitions.delete(definition.name)
            changed.append(f"removed validation definition {definition.name}")
    for suite in list(context.suites.all()):
        if suite.name not in suites:
            context.suites.delete(suite.name)
            changed.append(f"removed suite {suite.name}")


def _pin_config(project_dir: Path) -> None:
    """No usage statistics leave the machine."""
    config = project_dir / "great_expectations.yml"
    text = config.read_text()
    if "analytics_enabled: false" not in text:
        text = text.replace("analytics_enabled:\n", "analytics_enabled: false\n")
        text = text.replace("analytics_enabled: true\n", "analytics_enabled: false\n")
        config.write_text(text)


def main() -> None:
    changed = build_project()
    print("\n".join(changed) if changed else "the project is up to date")


if __name__ == "__main__":
    main()
