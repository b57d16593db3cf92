"""No secret in what git holds or would take: not the secrets this machine generated (role
passwords, the pseudonymization key), and nothing shaped like a secret literal. The pattern
scanner is first shown to catch secrets planted on purpose."""

from __future__ import annotations

import re
import secrets
import subprocess

import pytest
from reliability_support import ROOT

from kontingent.settings import get_settings, local_secrets

# Test files hold fake credentials on purpose (planted secrets, unreachable URLs): the pattern
# scan leaves `tests/` out; the search for the real generated secrets covers every file.
PATTERN_SCAN_SKIPS = ("tests/",)

PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY"),
    "password in a URL": re.compile(
        r"\b[a-z][a-z0-9+.-]*://[^\s/:@'\"]+:(?!\$\{|\*+@|PASSWORD@|password@|<)"
        r"[^\s@/'\"${}<>]{3,}@"
    ),
    "secret assigned a literal": re.compile(
        r"\b\w*(?i:password|passwd|secret|token|api_key|fernet_key|pseudonym_key)\w*"
        r"[ \t]*[:=][ \t]*['\"]?(?!\$\{|\$\(|<|\{\{|%\()"
        r"(?=\S*[0-9]|\S*[A-Z]\S*[a-z]|\S*[a-z]\S*[A-Z])"
        r"[A-Za-z0-9+/_\-]{16,}"
    ),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "hex key literal": re.compile(
        r"(?i)\b\w*(?:key|secret|salt)\w*[ \t]*[:=][ \t]*['\"]?[0-9a-f]{32,}"
    ),
}


def scan_text(text: str) -> list[str]:
    return [name for name, pattern in PATTERNS.items() if pattern.search(text)]


def repository_files() -> list[str]:
    """What git tracks, and what it would take (untracked, not ignored)."""
    proc = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip("not a git checkout")
    return sorted({p for p in proc.stdout.decode().split("\0") if p and (ROOT / p).is_file()})


def _planted() -> dict[str, str]:
    pw = secrets.token_urlsafe(12)
    return {
        "key block": "-----BEGIN OPENSSH " + "PRIVATE KEY-----\nb3BlbnNzaC1rZXk=",
        "url": f"WAREHOUSE_URL=postgresql://kontingent_owner:{pw}@db:5432/kontingent",
        "yaml": f"  SUPERSET_SECRET_KEY: {secrets.token_urlsafe(24)}",
        "python": f'password = "{secrets.token_urlsafe(18)}"',
        "aws": "aws_access_key_id = AKIA" + "ABCDEFGHIJKLMNOP",
        "hex": f"KONTINGENT_PSEUDONYM_KEY={secrets.token_hex(32)}",
    }


@pytest.mark.parametrize("kind", list(_planted()))
def test_the_pattern_scanner_catches_a_planted_secret(kind):
    assert scan_text(_planted()[kind]) != []


@pytest.mark.parametrize(
    "line",
    [
        "WAREHOUSE_URL=postgresql://kontingent_owner:${KONTINGENT_OWNER_PASSWORD}@db/kontingent",
        "# postgresql://kontingent_owner:PASSWORD@HOST:5432/kontingent",
        "postgresql://kontingent_owner:***@127.0.0.1:55432/kontingent",
        "password = get_settings().role_password(role)",
        "KONTINGENT_PSEUDONYM_KEY_FILE=.local/pseudonym.key",
        "key = uuid.uuid4().hex + uuid.uuid4().hex",
    ],
)
def test_the_pattern_scanner_passes_references(line):
    assert scan_text(line) == []


def test_no_secret_literal_in_the_repository(tally):
    files = repository_files()
    assert len(files) > 100 and "kontingent/settings.py" in files
    found = []
    for path in files:
        if path.startswith(PATTERN_SCAN_SKIPS):
            continue
        text = (ROOT / path).read_bytes().decode("utf-8", errors="replace")
        found += [f"{path}: {kind}" for kind in scan_text(text)]
    assert found == []
    tally.add("secrets: repository files scanned", "clean", count=len(files))


def test_the_generated_local_secrets_are_in_no_repository_file(pg_cluster, tally):
    settings = get_settings()
    values = list(local_secrets(settings)["roles"].values())
    key_file = settings.pseudonym_key_file
    if key_file.exists():
        values.append(key_file.read_text().strip())
    values = [v for v in values if len(v) >= 16]
    assert values, "no generated secret to look for"
    leaks = []
    for path in repository_files():
        data = (ROOT / path).read_bytes()
        leaks += [path for v in values if v.encode() in data]
    assert leaks == []
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(settings.secrets_file)], cwd=ROOT, check=False
    )
    if settings.secrets_file.is_relative_to(ROOT):
        assert ignored.returncode == 0, "the local secrets file must be ignored by git"
    tally.add("secrets: generated values searched for", "absent", count=len(values))
