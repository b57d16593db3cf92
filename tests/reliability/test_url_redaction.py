"""Connection URLs print without their password: pytest shows fixture values, locals and
compared values with repr(), so the URLs the settings give out redact themselves there while
staying the full URL for connections, environment variables and f-strings."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import quote

import psycopg
from _pytest._io.saferepr import saferepr

from kontingent import db
from kontingent.settings import ROLE_OWNER, ROLE_READER, SecretURL, get_settings


def test_a_secret_url_hides_its_password_in_repr_only():
    url = SecretURL("postgresql://u:s3cr%40t@h:1/d")
    assert repr(url) == "'postgresql://u:***@h:1/d'"
    assert str(url) == f"{url}" == "postgresql://u:s3cr%40t@h:1/d"
    assert url == "postgresql://u:s3cr%40t@h:1/d" and isinstance(url, str)
    assert "s3cr" not in saferepr(url) and "s3cr" not in repr([url, {"url": url}])
    assert repr(SecretURL("postgresql://u@h/d")) == "'postgresql://u@h/d'"  # nothing to hide
    assert db.redact(url) == "postgresql://u:***@h:1/d"


def test_local_urls_connect_and_print_without_the_password(warehouse):
    settings = get_settings()
    password = quote(settings.role_password(ROLE_OWNER), safe="")
    url = settings.local_url(ROLE_OWNER, warehouse.dbname)
    assert isinstance(url, SecretURL) and password in str(url)
    for shown in (repr(url), saferepr(url), repr(warehouse), str([warehouse.url])):
        assert password not in shown
        assert ":***@" in shown
    # the URL itself still connects, as it is and through the environment of a child process
    with psycopg.connect(url) as conn:
        assert conn.execute("select current_user, current_database()").fetchone() == (
            ROLE_OWNER,
            warehouse.dbname,
        )
    reader = settings.local_url(ROLE_READER, warehouse.dbname)
    child = subprocess.run(
        [sys.executable, "-c", "import os, psycopg; psycopg.connect(os.environ['U']).close()"],
        env={**os.environ, "U": reader},
        check=False,
    )
    assert child.returncode == 0


FAILING_TEST = """
import pytest

from kontingent.settings import SecretURL


@pytest.fixture
def url():
    return SecretURL("postgresql://kontingent_owner:Pw-7f3a-planted@127.0.0.1:1/kontingent")


def test_fails(url):
    assert url.endswith("/other")
"""


def test_a_failing_test_prints_its_url_fixture_without_the_password(tmp_path):
    """pytest's own report of a failure (the fixture value among the locals, the assertion's
    explanation) shows the redacted URL."""
    (tmp_path / "test_planted_url.py").write_text(FAILING_TEST)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-l", "-q", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the planted test failed
    assert "url        = 'postgresql://kontingent_owner:***@127.0.0.1:1/kontingent'" in proc.stdout
    assert "SecretURL object" in proc.stdout  # the assertion's explanation
    assert "Pw-7f3a-planted" not in proc.stdout + proc.stderr
