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
        if name == "metadata.yaml":
            config = yaml.safe_load(text)
            config.pop("type", None)  # as `superset import-directory` does
            text = yaml.safe_dump(config)
        contents[name] = text
    return contents


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
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
