"""Forms are built from the warehouse of the correctness region (`built_warehouse`), read
through the dashboards' read-only role, as the command line does."""

from __future__ import annotations

from datetime import date

import pytest
from forms_support import query

import forms


@pytest.fixture(scope="session")
def build(built_warehouse):
    """build(form, on, level, code=None, **options) against the built warehouse, memoized."""
    cache: dict[tuple, forms.Form] = {}

    def _build(form: str, on: date, level: str = "region", code: str | None = None, **options):
        options.setdefault("suppress_health", False)
        key = (form, on, level, code, tuple(sorted(options.items())))
        if key not in cache:
            cache[key] = forms.build_form(
                form, on, level, code, url=built_warehouse.reader_url, **options
            )
        return cache[key]

    return _build


@pytest.fixture(scope="session")
def territories(built_warehouse) -> dict[str, list[str]]:
    """municipality -> its head organizations (branches report with them), and all units."""
    rows = query(
        built_warehouse.reader_url,
        """
        select distinct on (organization_id) organization_id, municipality_id, is_branch
        from marts.dim_organization
        order by organization_id, is_current desc, valid_from desc
        """,
    )
    out: dict[str, list[str]] = {}
    for org, muni, is_branch in rows:
        if not is_branch:
            out.setdefault(muni, []).append(org)
    return out
