"""docker-compose.yml, checked offline by the real compose parser: it is valid, every secret is
required from .env, the services the docs name exist, ports listen on 127.0.0.1 only, and every
long-running service has a health check and starts after what it needs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .deploy_files import COMPOSE_FILE, ROOT, env_example_values

AIRFLOW = {
    "airflow-init",
    "airflow-api-server",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
}
SUPERSET = {"superset-init", "superset"}
PRODUCTION = {"postgres", *AIRFLOW, *SUPERSET}
ONE_SHOT = {"airflow-init", "superset-init", "backup"}
REQUIRED_VAR = re.compile(r"\$\{([A-Z][A-Z0-9_]*):\?[^}]*\}")

BROKEN_COMPOSE = """\
services:
  web:
    image: nginx
    ports: ["not a port"]
    depends_on:
      missing:
        condition: service_healthy
"""


# -- the validator itself ----------------------------------------------------------------------
def test_the_validator_rejects_a_broken_file(run_compose, tmp_path):
    broken = tmp_path / "compose.yml"
    broken.write_text(BROKEN_COMPOSE)
    result = run_compose("config", "--quiet", file=broken)
    assert result.returncode != 0
    assert result.stderr.strip()


def test_the_compose_file_is_valid(run_compose, filled_env):
    result = run_compose("config", "--quiet", env_file=filled_env)
    assert result.returncode == 0, result.stderr
    with_dev = run_compose("--profile", "dev", "config", "--quiet", env_file=filled_env)
    assert with_dev.returncode == 0, with_dev.stderr


def test_a_missing_secret_stops_compose_with_its_name(run_compose, filled_env, tmp_path):
    lines = filled_env.read_text().splitlines()
    without = tmp_path / "without.env"
    without.write_text("\n".join(ln for ln in lines if not ln.startswith("OIDC_CLIENT_SECRET=")))
    result = run_compose("config", "--quiet", env_file=without)
    assert result.returncode != 0
    assert "OIDC_CLIENT_SECRET" in result.stderr


def test_the_unfilled_example_does_not_start(run_compose):
    """Copying .env.example to .env without filling it in fails loudly instead of deploying
    placeholders."""
    result = run_compose("config", "--quiet", env_file=ROOT / ".env.example")
    assert result.returncode != 0
    assert "required variable" in result.stderr


def test_every_required_variable_is_in_the_example_and_empty_there():
    required = set(REQUIRED_VAR.findall(COMPOSE_FILE.read_text()))
    example = env_example_values()
    assert required, "the compose file requires no secret at all"
    assert sorted(required - set(example)) == []
    assert {name: example[name] for name in required if example[name]} == {}
    # and .env.example asks for nothing that compose does not read
    assert sorted(set(example) - required) == []


def test_every_optional_variable_is_documented_in_the_example():
    optional = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):-", COMPOSE_FILE.read_text()))
    text = (ROOT / ".env.example").read_text()
    assert sorted(n for n in optional if not re.search(rf"^# {n}=", text, re.M)) == []


# -- services ----------------------------------------------------------------------------------
def test_the_services(rendered):
    services = rendered["services"]
    assert set(services) >= PRODUCTION
    assert services["oidc-dev"]["profiles"] == ["dev"]
    assert services["backup"]["profiles"] == ["backup"]
    assert [n for n in PRODUCTION if services[n].get("profiles")] == []
    assert services["postgres"]["image"].startswith("postgres:15")


def _docs_mentions() -> set[str]:
    """Service names the docs use: rows of tables headed `| service |` and `docker compose`
    commands."""
    names: set[str] = set()
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text()
        in_table = False
        for line in text.splitlines():
            if line.lower().startswith("| service |"):
                in_table = True
            elif not line.startswith("|"):
                in_table = False
            elif in_table and (m := re.match(r"^\| `([a-z][a-z0-9-]*)` \|", line)):
                names.add(m.group(1))
        for cmd in re.findall(r"docker compose (?:[^\n`|]*?)(?=\n|`|$)", text):
            words = cmd.split()
            if words and words[0] in {"logs", "exec", "run", "restart", "stop", "start", "up"}:
                rest = [w for w in words[1:] if not w.startswith("-")]
                if words[0] in {"exec", "run"}:
                    rest = rest[:1]
                names |= {w for w in rest if re.fullmatch(r"[a-z][a-z0-9-]*", w)}
    return names


def test_every_service_the_docs_mention_exists(rendered):
    mentioned = _docs_mentions()
    assert len(mentioned) >= len(PRODUCTION)
    assert sorted(mentioned - set(rendered["services"])) == []
    # and the operator's guide describes every service
    guide = (ROOT / "docs" / "operations.md").read_text()
    assert sorted(n for n in rendered["services"] if f"`{n}`" not in guide) == []


def test_every_build_dockerfile_exists(rendered):
    builds = {n: s["build"] for n, s in rendered["services"].items() if "build" in s}
    assert set(builds) >= AIRFLOW | SUPERSET
    for build in builds.values():
        dockerfile = Path(build["context"]) / build.get("dockerfile", "Dockerfile")
        assert dockerfile.resolve().is_file(), dockerfile


def test_services_of_one_image_share_it(rendered):
    services = rendered["services"]
    assert len({services[n]["image"] for n in AIRFLOW}) == 1
    assert len({services[n]["image"] for n in SUPERSET}) == 1


def test_files_the_compose_file_mounts_exist(rendered):
    for name, service in rendered["services"].items():
        for volume in service.get("volumes", []):
            source = volume.get("source", "")
            if volume["type"] == "bind" and source.startswith(str(ROOT)):
                assert Path(source).exists(), (name, source)
        for script in service.get("command") or []:
            if script.startswith("/opt/kontingent/deploy/"):
                local = ROOT / script.removeprefix("/opt/kontingent/")
                assert local.is_file() and local.stat().st_mode & 0o111, (name, script)


# -- ports -------------------------------------------------------------------------------------
def test_ports_listen_on_localhost_only(rendered):
    published = []
    for name, service in rendered["services"].items():
        for port in service.get("ports", []):
            published.append(name)
            assert port.get("host_ip") == "127.0.0.1", (name, port)
    assert {"postgres", "airflow-api-server", "superset", "oidc-dev"} <= set(published)


def test_the_bind_address_is_the_operators_choice(run_compose, filled_env, tmp_path):
    env = tmp_path / "public.env"
    env.write_text(filled_env.read_text() + "KONTINGENT_BIND=10.0.0.5\n")
    result = run_compose("config", "--format", "json", env_file=env)
    assert result.returncode == 0, result.stderr
    assert '"host_ip": "10.0.0.5"' in result.stdout
    assert '"host_ip": "127.0.0.1"' not in result.stdout


# -- start order and health --------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PRODUCTION - ONE_SHOT | {"oidc-dev"}))
def test_long_running_services_have_a_health_check(rendered, name):
    service = rendered["services"][name]
    assert service["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}
    assert service["restart"] == "unless-stopped"


@pytest.mark.parametrize("name", sorted(ONE_SHOT))
def test_one_shot_services_do_not_restart(rendered, name):
    assert rendered["services"][name]["restart"] == "no"


def test_start_order(rendered):
    services = rendered["services"]

    def needs(name: str) -> dict[str, str]:
        return {k: v["condition"] for k, v in services[name].get("depends_on", {}).items()}

    for name in (PRODUCTION | {"backup"}) - {"postgres"}:
        assert needs(name).get("postgres") == "service_healthy", name
    for name in AIRFLOW - {"airflow-init"}:
        assert needs(name)["airflow-init"] == "service_completed_successfully", name
    assert needs("superset")["superset-init"] == "service_completed_successfully"
    assert needs("airflow-scheduler")["airflow-api-server"] == "service_healthy"


def test_named_volumes_for_the_data(rendered):
    volumes = set(rendered["volumes"])
    assert {"pgdata", "landing", "quarantine", "forms-archive"} <= volumes
    mounts = {
        (v["source"], v["target"])
        for v in rendered["services"]["airflow-scheduler"]["volumes"]
        if v["type"] == "volume"
    }
    for volume in ("landing", "quarantine", "forms-archive", "airflow-logs"):
        assert volume in {source for source, _ in mounts}
    assert ("pgdata", "/var/lib/postgresql/data") in {
        (v["source"], v["target"]) for v in rendered["services"]["postgres"]["volumes"]
    }


def test_airflow_settings(rendered):
    for name in AIRFLOW:
        env = rendered["services"][name]["environment"]
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
        assert env["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] == "False"
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        conn = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert conn.endswith("@postgres:5432/kontingent_airflow")
        assert env["WAREHOUSE_URL"].startswith("postgresql://kontingent_owner:")


def test_dashboards_read_the_warehouse_as_the_reader_only(rendered):
    for name in SUPERSET:
        env = rendered["services"][name]["environment"]
        assert env["WAREHOUSE_READER_URL"].startswith("postgresql://kontingent_reader:")
        # the forms page's lost-children list: a role that may only execute the audited
        # pii.lost_children_of; never the owner, the personal-data reader or the secret
        assert env["WAREHOUSE_REIDENTIFY_URL"].startswith("postgresql://kontingent_reidentify:")
        assert not {"WAREHOUSE_URL", "WAREHOUSE_PII_URL", "KONTINGENT_PSEUDONYM_KEY"} & set(env)
