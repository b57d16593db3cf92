"""The PostgreSQL init script of the containers creates what kontingent/db.py creates on the
local cluster: the same login roles, databases with their owners and connecting roles, schemas
and readers. (It was also run once on a scratch PostgreSQL 15 cluster, twice, to check that it
is idempotent; this test keeps it from drifting from db.py.)"""

from __future__ import annotations

import re
import subprocess

import pytest

from kontingent.db import DATABASES
from kontingent.settings import LOGIN_ROLES, SCHEMAS

from .deploy_files import ROOT

INIT_SCRIPT = ROOT / "deploy" / "postgres" / "initdb" / "10-kontingent.sh"
SCRIPTS = sorted((ROOT / "deploy").rglob("*.sh"))


def _pairs(text: str) -> set[tuple[str, str]]:
    return set(re.findall(r"\('([a-z_]+)', '([a-z_]+)'\)", text))


def test_the_same_roles():
    text = INIT_SCRIPT.read_text()
    created = re.search(r"unnest\(array\[(.*?)\]\) as r", text, re.S)
    assert created
    assert set(re.findall(r"'([a-z_]+)'", created.group(1))) == set(LOGIN_ROLES)
    for role in LOGIN_ROLES:
        assert re.search(rf"alter role {role} login password :'\w+'", text), role


def test_the_same_databases_and_who_may_connect():
    """As kontingent/db.py: the superuser owns each database; its working role may connect,
    create and use temporary tables there, and work in `public`; the readers only connect."""
    text = INIT_SCRIPT.read_text()
    created = re.search(r"create database %I', d\)\s*from unnest\(array\[([^\]]*)\]\)", text)
    assert created and set(re.findall(r"'([a-z_]+)'", created.group(1))) == set(DATABASES)
    assert "owner %I" not in text and " owner " not in text.split("create database", 1)[1][:80]
    for database, (worker, readers) in DATABASES.items():
        assert f"revoke all on database {database} from public;" in text
        assert f"grant connect, create, temporary on database {database} to {worker};" in text, (
            database
        )
        granted = re.search(rf"grant connect on database {database} to ([a-z_, ]+);", text)
        assert set(granted.group(1).split(", ") if granted else ()) == set(readers)


def test_the_same_schemas_and_readers():
    text = INIT_SCRIPT.read_text()
    arrays = re.findall(r"unnest\(array\[([^\]]*)\]\) as s", text)
    assert arrays
    for array in arrays:
        assert re.findall(r"'([a-z_]+)'", array) == list(SCHEMAS)
    readers = {(schema, role) for schema, roles in SCHEMAS.items() for role in roles}
    schema_pairs = {(s, r) for s, r in _pairs(text) if s in SCHEMAS}
    assert schema_pairs == readers


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_scripts_parse_and_are_strict(path):
    subprocess.run(["bash", "-n", str(path)], check=True)
    text = path.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert path.stat().st_mode & 0o111
