"""The two virtual environments hold exactly what their lock files pin, and they really differ
where they must (Superset needs SQLAlchemy 1.x, Airflow 2.x)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _pins(lock: Path) -> dict[str, str]:
    pins = {}
    for line in lock.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)", line)
        if m:
            pins[re.sub(r"[-_.]+", "-", m.group(1).split("[")[0]).lower()] = m.group(2)
    return pins


def _installed(venv: Path) -> dict[str, str]:
    out = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.metadata as m, json; "
            "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )

    return {re.sub(r"[-_.]+", "-", k).lower(): v for k, v in json.loads(out.stdout).items()}


@pytest.mark.parametrize(
    ("venv", "lock"),
    [(".venv", "requirements/pipeline.lock"), (".venv-superset", "requirements/superset.lock")],
)
def test_environment_matches_its_lock_file(venv, lock):
    pins = _pins(ROOT / lock)
    installed = _installed(ROOT / venv)
    assert len(pins) > 50
    mismatched = {n: (v, installed.get(n)) for n, v in pins.items() if installed.get(n) != v}
    assert mismatched == {}


def test_the_stack_versions():
    pipeline = _installed(ROOT / ".venv")
    superset = _installed(ROOT / ".venv-superset")
    assert pipeline["apache-airflow"].startswith("3.3.")
    assert pipeline["dbt-core"].startswith("1.11.")
    assert pipeline["great-expectations"].startswith("1.")
    assert pipeline["sqlalchemy"].startswith("2.")
    assert superset["apache-superset"].startswith("6.1.")
    assert superset["sqlalchemy"].startswith("1.4.")
    assert "kontingent" in pipeline and "kontingent" not in superset


def test_superset_cli_starts():
    """Superset's release lacks `rich`; without it its CLI fails to start."""
    out = subprocess.run(
        [str(ROOT / ".venv-superset/bin/superset"), "version"],
        capture_output=True,
        text=True,
        env={"SUPERSET_SECRET_KEY": "test-only", "PATH": "/usr/bin:/bin"},
        check=False,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "6.1" in out.stdout
