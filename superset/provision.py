"""Provision Superset from this folder: the project's roles, the sign-in scope table and every
YAML asset of `assets/` (database, datasets, charts, dashboards). Idempotent: roles are
re-synced and assets are matched by UUID and overwritten.

Run inside the Superset environment with SUPERSET_CONFIG_PATH pointing at superset_config.py
and WAREHOUSE_READER_URL set: `kontingent superset provision` does that; the Docker image's
init script runs `python superset/provision.py`.

The assets are imported with the same importer as `superset import-directory --overwrite`, but
in this process: the database URI (with the reader's password) is put into the YAML in memory
only, and an invalid bundle fails the command instead of being logged and skipped.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ASSETS = HERE / "assets"
sys.path.insert(0, str(HERE))

import kontingent_security as ks  # noqa: E402

# What the view-only roles (school, teacher) may do: read dashboards and charts and the state
# of the filters they set. No exploring, no SQL, no writing.
VIEWER_PERMISSIONS = {
    ("menu_access", "Home"),
    ("menu_access", "Dashboards"),
    ("can_read", "Dashboard"),
    ("can_read", "Chart"),
    ("can_read", "DashboardFilterStateRestApi"),
    ("can_write", "DashboardFilterStateRestApi"),
    ("can_read", "DashboardPermalinkRestApi"),
    ("can_write", "DashboardPermalinkRestApi"),
    ("can_dashboard", "Superset"),
    ("can_dashboard_permalink", "Superset"),
    ("can_explore_json", "Superset"),
    ("can_language_pack", "Superset"),
    ("can_log", "Superset"),
    ("can_get", "MenuApi"),
    ("can_get", "Datasource"),
    ("can_list", "AsyncEventsRestApi"),
    ("can_read", "CurrentUserRestApi"),
    ("can_userinfo", "UserOAuthModelView"),
    ("can_read", "Theme"),
    ("can_read", "AvailableDomains"),
    ("can_recent_activity", "Log"),
    ("can_time_range", "Api"),
    ("can_query", "Api"),
    ("can_query_form_data", "Api"),
}


def _ensure_roles(sm) -> list[str]:
    lines = []
    for name in ks.PROJECT_ROLES:
        role = sm.find_role(name) or sm.add_role(name)
        if name in (ks.ROLE_SCHOOL, ks.ROLE_TEACHER):
            wanted = []
            for permission, view in sorted(VIEWER_PERMISSIONS):
                pvm = sm.find_permission_view_menu(permission, view)
                if pvm is None:
                    lines.append(f"warning: no permission {permission} on {view} in this Superset")
                else:
                    wanted.append(pvm)
            role.permissions = wanted
        lines.append(f"role {name}: {len(role.permissions)} permissions")
    return lines


def _default_to_newest(native_filter: dict, reader_url: str) -> None:
    """Start a single-value filter (report date, academic year, month) on the newest value in
    the warehouse now: Superset's own "first item" default is shown but not applied to the
    charts on load. Provisioning runs after each published load, so the default follows."""
    import sqlalchemy as sa

    (target,) = native_filter["targets"]
    dataset = yaml.safe_load(
        next(
            p.read_text(encoding="utf-8")
            for p in (ASSETS / "datasets").rglob("*.yaml")
            if yaml.safe_load(p.read_text(encoding="utf-8"))["uuid"] == target["datasetUuid"]
        )
    )
    column = target["column"]["name"]
    engine = sa.create_engine(reader_url)
    try:
        with engine.connect() as conn:
            newest = conn.execute(
                sa.text(f'select max("{column}") from ({dataset["sql"]}) as t')  # noqa: S608
            ).scalar()
    except sa.exc.DBAPIError as exc:  # a warehouse not built yet: no default
        print(f"warning: no default for the filter {native_filter['name']}: {exc.orig}")
        newest = None
    finally:
        engine.dispose()
    if newest is None:
        return
    native_filter["defaultDataMask"] = {
        "extraFormData": {"filters": [{"col": column, "op": "IN", "val": [newest]}]},
        "filterState": {"value": [newest], "label": str(newest)},
        "ownState": {},
    }


def _load_assets() -> dict[str, str]:
    """The YAML files of assets/ as {relative path: text}, the database URI set from the
    environment."""
    contents: dict[str, str] = {}
    reader_url = os.environ.get("WAREHOUSE_READER_URL", "").strip()
    for path in sorted(ASSETS.rglob("*.yaml")):
        name = path.relative_to(ASSETS).as_posix()
        text = path.read_text(encoding="utf-8")
        if name.startswith("databases/"):
            if not reader_url:
                raise SystemExit("WAREHOUSE_READER_URL is not set: the database has no URI")
            config = yaml.safe_load(text)
            config["sqlalchemy_uri"] = reader_url
            text = yaml.safe_dump(config, allow_unicode=True)
        if name.startswith("dashboards/"):
            config = yaml.safe_load(text)
            config["metadata"].pop("kontingent_roles", None)  # applied after the import
            for native_filter in config["metadata"].get("native_filter_configuration", []):
                if native_filter.pop("kontingent_default", None) == "newest":
                    if not reader_url:
                        raise SystemExit("WAREHOUSE_READER_URL is not set")
                    _default_to_newest(native_filter, reader_url)
            text = yaml.safe_dump(config, allow_unicode=True)
        if name == "metadata.yaml":
            config = yaml.safe_load(text)
            config.pop("type", None)  # as `superset import-directory` does
            text = yaml.safe_dump(config)
        contents[name] = text
    return contents


# Row-level security: one rule per project role, all in one group so that a person with
# several accounts sees the union of their scopes. The clauses are Jinja templates over the
# signed-in user's scope rows (kontingent_security.py); an empty scope matches nothing.
RLS_GROUP = "kontingent_scope"
RLS_RULES = {
    ks.ROLE_REGION: (None, "1 = 1"),
    ks.ROLE_MUNICIPALITY: (
        "municipality_id",
        "municipality_id in ({{ sql_list(user_municipalities()) }})",
    ),
    ks.ROLE_SCHOOL: (
        "organization_id",
        "organization_id in ({{ sql_list(user_organizations()) }})",
    ),
    ks.ROLE_TEACHER: (
        "organization_id",
        "organization_id in ({{ sql_list(user_organizations()) }})",
    ),
}


def _asset_configs(kind: str) -> list[dict]:
    return [
        yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in sorted((ASSETS / kind).rglob("*.yaml"))
    ]


def _grant_access(sm) -> list[str]:
    """Dashboards to the project roles named in their YAML (DASHBOARD_RBAC); each dataset a
    dashboard uses to the same roles (datasource_access: explore, chart data); the row-level
    security rules on every dataset that carries the rule's scope column. A dataset whose grain
    lacks a role's scope column is never granted to that role."""
    from superset.connectors.sqla.models import RowLevelSecurityFilter, SqlaTable
    from superset.models.dashboard import Dashboard
    from superset.utils.core import RowLevelSecurityFilterType

    from superset import db

    datasets = {str(t.uuid): t for t in db.session.query(SqlaTable)}
    charts = {c["uuid"]: c["dataset_uuid"] for c in _asset_configs("charts")}
    scope_columns = {
        d["uuid"]: set((d.get("extra") or {}).get("kontingent_rls", []))
        for d in _asset_configs("datasets")
    }
    roles = {name: sm.find_role(name) for name in ks.PROJECT_ROLES}
    granted: dict[str, set[str]] = {}  # dataset uuid -> role names
    lines = []
    for config in _asset_configs("dashboards"):
        wanted = config["metadata"].get("kontingent_roles", [])
        dashboard = db.session.query(Dashboard).filter_by(uuid=config["uuid"]).one()
        dashboard.roles = [roles[name] for name in wanted]
        for chart in config["position"].values():
            if isinstance(chart, dict) and chart.get("type") == "CHART":
                granted.setdefault(charts[chart["meta"]["uuid"]], set()).update(wanted)
        lines.append(f"dashboard {config['dashboard_title']}: {', '.join(wanted)}")
    for dataset_uuid, role_names in granted.items():
        table = datasets[dataset_uuid]
        pvm = sm.add_permission_view_menu("datasource_access", table.get_perm())
        for name in role_names:
            column = RLS_RULES[name][0]
            if (
                column
                and column not in scope_columns[dataset_uuid]
                and dataset_uuid in {d for d, cols in scope_columns.items() if cols}
            ):
                raise SystemExit(f"{table.table_name} lacks {column} for {name}")
            if pvm not in roles[name].permissions:
                roles[name].permissions.append(pvm)
    # SQL Lab (the `sql_lab` role) runs on the warehouse for the region analyst only, through
    # the read-only connection: database access for the region role and no other
    from superset.models.core import Database

    database_uuids = [d["uuid"] for d in _asset_configs("databases")]
    for database in db.session.query(Database).filter(Database.uuid.in_(database_uuids)):
        pvm = sm.add_permission_view_menu("database_access", database.perm)
        if pvm not in roles[ks.ROLE_REGION].permissions:
            roles[ks.ROLE_REGION].permissions.append(pvm)
    for name, (column, clause) in RLS_RULES.items():
        rule_name = f"Область видимости: {name}"
        rule = db.session.query(RowLevelSecurityFilter).filter_by(name=rule_name).one_or_none()
        if rule is None:
            rule = RowLevelSecurityFilter(name=rule_name)
            db.session.add(rule)
        rule.description = "Строки в пределах области видимости пользователя (из ЕСИА при входе)"
        rule.filter_type = RowLevelSecurityFilterType.REGULAR.value
        rule.group_key = RLS_GROUP
        rule.clause = clause
        rule.roles = [roles[name]]
        rule.tables = sorted(
            (
                datasets[u]
                for u, cols in scope_columns.items()
                if cols and (column is None or column in cols)
            ),
            key=lambda t: t.table_name,
        )
        lines.append(f"row-level security {name}: {len(rule.tables)} datasets")
    return lines


def _import_assets() -> list[str]:
    from superset.commands.importers.v1.examples import ImportExamplesCommand
    from superset.connectors.sqla.models import SqlaTable
    from superset.models.core import Database
    from superset.models.dashboard import Dashboard
    from superset.models.slice import Slice

    from superset import db

    contents = _load_assets()
    ImportExamplesCommand(contents, overwrite=True).run()
    wanted = {
        kind: {
            yaml.safe_load(text)["uuid"] for name, text in contents.items() if name.startswith(kind)
        }
        for kind in ("databases/", "datasets/", "charts/", "dashboards/")
    }
    models = {
        "databases/": Database,
        "datasets/": SqlaTable,
        "charts/": Slice,
        "dashboards/": Dashboard,
    }
    lines = []
    for kind, uuids in wanted.items():
        model = models[kind]
        found = {str(u) for (u,) in db.session.query(model.uuid).filter(model.uuid.in_(uuids))}
        missing = {str(u) for u in uuids} - found
        if missing:
            raise SystemExit(f"{kind.rstrip('/')} not imported: {sorted(missing)}")
        lines.append(f"{kind.rstrip('/')}: {len(found)} imported")
    return lines


def main() -> None:
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset import db, security_manager

        ks.ensure_scope_table(db.engine)
        lines = _ensure_roles(security_manager)
        db.session.commit()
        lines += _import_assets()
        db.session.commit()
        lines += _grant_access(security_manager)
        db.session.commit()
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
