"""Shared helpers of the deployment checks: the static compose binary (no Docker engine needed),
an `.env` filled from `.env.example` with throw-away values, and the compose file as compose
itself renders it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from .deploy_files import COMPOSE_FILE, compose_binary, env_example_values

RunCompose = Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="session")
def run_compose(tmp_path_factory) -> RunCompose:
    """`docker compose -f FILE [--env-file ENV] ARGS...` with a clean environment, so neither the
    operator's shell nor a real .env can make a broken file pass."""
    binary = compose_binary()
    home = tmp_path_factory.mktemp("compose-home")

    def run(*args: str, file: Path = COMPOSE_FILE, env_file: Path | None = None):
        argv = [str(binary), "-f", str(file)]
        if env_file is not None:
            argv += ["--env-file", str(env_file)]
        return subprocess.run(
            [*argv, *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=home,
            env={"PATH": "/usr/bin:/bin", "HOME": str(home), "DOCKER_CONFIG": str(home)},
        )

    return run


@pytest.fixture(scope="session")
def filled_env(tmp_path_factory) -> Path:
    """.env.example with every empty value filled by a throw-away one (letters and digits)."""
    lines = []
    for name, value in env_example_values().items():
        if not value:
            value = "http://oidc-dev.localhost:9000" if name == "OIDC_ISSUER" else f"test{name}0"
        lines.append(f"{name}={value}")
    path = tmp_path_factory.mktemp("env") / "filled.env"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def rendered(run_compose, filled_env) -> dict:
    """The compose file with every profile, interpolated and normalized by compose."""
    result = run_compose("--profile", "*", "config", "--format", "json", env_file=filled_env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def raw_compose() -> dict:
    """The compose file as written (YAML anchors and merge keys resolved, nothing interpolated)."""
    return yaml.safe_load(COMPOSE_FILE.read_text())
