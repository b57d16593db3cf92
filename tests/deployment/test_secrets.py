"""No secret literal in the deployment files: the scanner is first shown to catch planted
secrets, then run over the real files; every secret a service receives comes from a required
`${...}` reference to .env."""

from __future__ import annotations

import re
import secrets

import pytest

from .deploy_files import COMPOSE_FILE, ROOT, scan_for_secrets

SCANNED = [
    COMPOSE_FILE,
    ROOT / ".env.example",
    ROOT / ".dockerignore",
    ROOT / "docs" / "operations.md",
    *sorted(p for p in (ROOT / "deploy").rglob("*") if p.is_file()),
]

PLANTED = {
    "env file": "POSTGRES_PASSWORD=hunter2hunter2",
    "yaml": "      SUPERSET_SECRET_KEY: thisisnotreallysecret",
    "quoted yaml": '      AIRFLOW__API_AUTH__JWT_SECRET: "s3cr3t-value"',
    "url": "WAREHOUSE_URL: postgresql://kontingent_owner:Pa55word@postgres:5432/kontingent",
    "sqlalchemy url": "conn = 'postgresql+psycopg2://kontingent_airflow:abc123@db/x'",
    "cli flag": "superset fab create-admin --password swordfish",
    "private key": "-----BEGIN OPENSSH PRIVATE KEY-----",
    "random token": f"      SOMETHING: {secrets.token_urlsafe(32)}",
    "hex key": f"KONTINGENT_PSEUDONYM_KEY={secrets.token_hex(32)}",
    "hex under an innocent name": f"      SALT_VALUE: {secrets.token_hex(32)}",
}

CLEAN = [
    "POSTGRES_PASSWORD=",
    "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it in .env}",
    "      DBT_PASSWORD: ${KONTINGENT_OWNER_PASSWORD:?set it in .env}",
    "      WAREHOUSE_URL: postgresql://kontingent_owner:${KONTINGENT_OWNER_PASSWORD:?x}@postgres:5432/kontingent",
    "# WAREHOUSE_URL=postgresql://kontingent_owner:PASSWORD@HOST:5432/kontingent",
    '    --password "$SUPERSET_ADMIN_PASSWORD"',
    "alter role kontingent_owner login password :'owner_password';",
    "# KONTINGENT_PSEUDONYM_KEY_FILE=.local/pseudonym.key",
    "      AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE: /opt/airflow/auth/passwords.json",
    "  image: postgres@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "      - /opt/kontingent/deploy/postgres/initdb/10-kontingent-roles-and-schemas.sh",
]


@pytest.mark.parametrize("line", PLANTED.values(), ids=PLANTED.keys())
def test_the_scanner_catches_a_planted_secret(line):
    assert scan_for_secrets(line) != []


@pytest.mark.parametrize("line", CLEAN)
def test_the_scanner_passes_references_and_placeholders(line):
    assert scan_for_secrets(line) == []


def test_the_scanner_catches_a_secret_planted_in_the_real_compose_file():
    text = COMPOSE_FILE.read_text()
    planted = text.replace("${SUPERSET_SECRET_KEY:?set it in .env}", secrets.token_urlsafe(24))
    assert planted != text
    assert scan_for_secrets(text) == []
    assert scan_for_secrets(planted) != []


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_secret_literal_in_the_deployment_files(path):
    assert scan_for_secrets(path.read_text()) == []


def test_the_scan_covers_the_dockerfiles_and_scripts():
    names = {p.name for p in SCANNED}
    assert {"pipeline.Dockerfile", "superset.Dockerfile", "10-kontingent.sh"} <= names


# -- secrets reach the services only as references to .env -------------------------------------
SECRET_ENV = re.compile(r"PASSWORD|SECRET|FERNET|_KEY$", re.I)
REQUIRED_REF = r"\$\{[A-Z][A-Z0-9_]*:\?[^}]*\}"


def unreferenced_secrets(services: dict) -> list[str]:
    """Environment entries of the services that hold a secret not taken from a required
    `${NAME:?...}` reference: secret-named variables and passwords inside URLs."""
    problems = []
    for name, service in services.items():
        env = service.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env)
        for var, value in env.items():
            value = "" if value is None else str(value)
            is_secret = SECRET_ENV.search(var) and not var.endswith("_FILE")
            if is_secret and not re.fullmatch(REQUIRED_REF, value):
                problems.append(f"{name}: {var}")
            for m in re.finditer(r"://[^/\s:@]+:(.*?)@", value):
                if not re.fullmatch(REQUIRED_REF, m.group(1)):
                    problems.append(f"{name}: {var} (password in URL)")
    return problems


def test_the_reference_check_catches_literals():
    planted = {
        "web": {
            "environment": {
                "SUPERSET_SECRET_KEY": "literal",
                "DB_PASSWORD": "${DB_PASSWORD:-fallback}",
                "WAREHOUSE_URL": "postgresql://u:literal@db/x",
            }
        },
        "db": {"environment": ["POSTGRES_PASSWORD=literal"]},
    }
    assert len(unreferenced_secrets(planted)) == 4
    fine = {
        "web": {"environment": {"X_PASSWORD": "${X_PASSWORD:?set it}", "A_PASSWORD_FILE": "/f"}}
    }
    assert unreferenced_secrets(fine) == []


def test_every_secret_in_the_compose_file_comes_from_env(raw_compose):
    services = raw_compose["services"]
    assert unreferenced_secrets(services) == []
    checked = sum(
        1
        for service in services.values()
        for var in (service.get("environment") or {})
        if SECRET_ENV.search(var)
    )
    assert checked >= 20
