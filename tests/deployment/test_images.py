"""The Dockerfiles, read statically (no Docker engine here): each image runs as a non-root user,
installs Python packages from its committed lock file only (the same versions as the local
environments), and gets no secret, local state or data through the build context."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from .deploy_files import ROOT, dockerfile_instructions

PYTHON_IMAGES = {
    "pipeline.Dockerfile": "requirements/pipeline.lock",
    "superset.Dockerfile": "requirements/superset.lock",
}
DOCKERFILES = sorted((ROOT / "deploy").glob("*.Dockerfile"))


def _final_stage(path: Path) -> list[tuple[str, str]]:
    instructions = dockerfile_instructions(path)
    last_from = max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM")
    return instructions[last_from:]


def _run_commands(path: Path) -> list[str]:
    """Every shell command of every RUN, split at `&&`, `||` and `;`."""
    commands = []
    for keyword, args in dockerfile_instructions(path):
        if keyword == "RUN":
            commands += [c.strip() for c in re.split(r"&&|\|\||;", args) if c.strip()]
    return commands


def _arg_default(path: Path, name: str) -> str | None:
    for keyword, args in dockerfile_instructions(path):
        if keyword == "ARG" and args.startswith(f"{name}="):
            return args.split("=", 1)[1].strip("\"'")
    return None


def test_the_dockerfiles_are_there():
    assert {p.name for p in DOCKERFILES} >= {*PYTHON_IMAGES, "oidc-dev.Dockerfile"}


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_the_image_runs_as_a_non_root_user(path):
    users = [args for keyword, args in _final_stage(path) if keyword == "USER"]
    assert users, "no USER in the final stage"
    assert users[-1].split(":")[0] not in {"root", "0"}


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_base_images_are_pinned(path):
    for keyword, args in dockerfile_instructions(path):
        if keyword != "FROM":
            continue
        image = args.split()[0]
        if image.startswith("${"):
            image = _arg_default(path, image.strip("${}")) or ""
        assert ":" in image or "@sha256:" in image, image
        assert not image.endswith(":latest"), image


# -- installs only from the lock files --------------------------------------------------------
PIP = re.compile(r"\b(pip3?|uv|poetry|conda|pipx|easy_install)\b")


def _positional(words: list[str]) -> list[str]:
    """The arguments that are not options nor the values of `--python`, `-r` and the like."""
    taking_value = {"--python", "-p", "-r", "--requirement", "-c", "--constraint", "--index-url"}
    return [
        w
        for i, w in enumerate(words)
        if not w.startswith("-") and (i == 0 or words[i - 1] not in taking_value)
    ]


def install_problems(commands: list[str], lock: str, uv_version: str | None) -> list[str]:
    """Package installs that do not come from `lock`: the allowed ones are `uv pip sync LOCK`,
    `pip install --no-deps -r LOCK`, the project itself with `--no-deps`, and the installer uv
    at its pinned version."""
    problems = []
    for command in commands:
        if not PIP.search(command) or re.match(r"^uv venv\b", command):
            continue
        words = shlex.split(command)
        if words[:3] == ["uv", "pip", "sync"]:
            if _positional(words[3:]) != [lock]:
                problems.append(command)
            continue
        if "install" not in words:
            problems.append(command)
            continue
        targets = _positional(words[words.index("install") + 1 :])
        if targets == ["uv==${UV_VERSION}"] and uv_version:
            continue
        requirement_files = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "-r"]
        project = targets == ["."] and not requirement_files
        from_lock = targets == [] and requirement_files == [lock]
        if "--no-deps" in words and (project or from_lock):
            continue
        problems.append(command)
    return problems


def test_the_install_check_rejects_installs_from_elsewhere():
    lock = "requirements/pipeline.lock"
    bad = [
        "pip install apache-airflow==3.3.2",
        "pip install -r requirements/pipeline.in",
        "uv pip install -e .",
        "uv pip sync requirements/superset.lock",
        "pip install uv",
        "poetry install",
    ]
    assert install_problems(bad, lock, "0.13.8") == bad
    good = [
        "uv venv --python /usr/local/bin/python3.11 /opt/venv",
        f"uv pip sync --python /opt/venv/bin/python {lock}",
        "uv pip install --python /opt/venv/bin/python --no-deps -e .",
        f"pip install --no-deps -r {lock}",
        'python -m pip install --no-cache-dir "uv==${UV_VERSION}"',
    ]
    assert install_problems(good, lock, "0.13.8") == []


@pytest.mark.parametrize(("name", "lock"), PYTHON_IMAGES.items())
def test_python_images_install_from_their_lock_file_only(name, lock):
    path = ROOT / "deploy" / name
    commands = _run_commands(path)
    assert install_problems(commands, lock, _arg_default(path, "UV_VERSION")) == []
    assert any(lock in c and ("sync" in c or "-r" in c) for c in commands)
    assert (ROOT / lock).is_file()


@pytest.mark.parametrize("name", PYTHON_IMAGES)
def test_python_images_use_the_local_tools(name):
    """The Python of pyproject.toml and the uv of the Makefile: the images resolve exactly what
    `make venvs` installs."""
    path = ROOT / "deploy" / name
    makefile_uv = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert makefile_uv and _arg_default(path, "UV_VERSION") == makefile_uv.group(1)
    assert _arg_default(path, "PYTHON_IMAGE").startswith("python:3.11-")
    assert ">=3.11,<3.12" in (ROOT / "pyproject.toml").read_text()


def test_the_oidc_image_installs_from_its_lock_file_only():
    commands = _run_commands(ROOT / "deploy" / "oidc-dev.Dockerfile")
    npm = [c for c in commands if c.startswith(("npm", "yarn", "pnpm"))]
    assert npm and all(c.startswith("npm ci ") for c in npm)


@pytest.mark.parametrize("name", PYTHON_IMAGES)
def test_copied_files_exist(name):
    for keyword, args in dockerfile_instructions(ROOT / "deploy" / name):
        if keyword == "COPY" and not args.startswith("--from"):
            *sources, _target = shlex.split(args)
            for source in sources:
                assert (ROOT / source).exists(), source


# -- the build context -------------------------------------------------------------------------
def _ignored(path: str, rules: list[str]) -> bool:
    """.dockerignore semantics: patterns from the context root, `**` for any folders, a matching
    folder takes its contents, the last matching rule wins and `!` lets a path back in."""
    ignored = False
    for rule in rules:
        negate = rule.startswith("!")
        pattern = rule.removeprefix("!").strip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if re.fullmatch(f"{regex}(?:/.*)?", path):
            ignored = not negate
    return ignored


def _dockerignore_rules(path: Path) -> list[str]:
    lines = (ln.strip() for ln in path.read_text().splitlines())
    return [ln for ln in lines if ln and not ln.startswith("#")]


KEPT_OUT = [
    ".env",
    ".env.production",
    ".local/secrets.json",
    ".local/pseudonym.key",
    ".local/landing/marks.csv",
    ".venv/bin/python",
    ".venv-superset/bin/superset",
    ".git/config",
    "landing/2025-09-01/students.csv",
    "quarantine/x.csv",
    "forms-archive/oo1.xlsx",
    "backups/20260101/kontingent.dump",
    "dbt_project/target/manifest.json",
    "kontingent/__pycache__/db.cpython-311.pyc",
    "superset/oidc-dev/node_modules/oidc-provider/package.json",
]
LET_IN = [
    ".env.example",
    "pyproject.toml",
    "requirements/pipeline.lock",
    "requirements/superset.lock",
    "kontingent/settings.py",
    "deploy/airflow-init.sh",
    "deploy/superset-init.sh",
    "dags/load.py",
    "dbt_project/models/marts/fct_marks.sql",
    "dbt_project/seeds/code_lists.csv",
    "superset/superset_config.py",
]


def test_the_dockerignore_matcher_works():
    rules = ["*.log", "data/", "**/cache/", ".env*", "!.env.example"]
    assert _ignored("a.log", rules) and not _ignored("x/a.log", rules)
    assert _ignored("data/x/y", rules) and not _ignored("x/data/y", rules)
    assert _ignored("x/cache/y", rules) and _ignored("cache/y", rules)
    assert _ignored(".env", rules) and not _ignored(".env.example", rules)


@pytest.mark.parametrize("path", KEPT_OUT)
def test_the_build_context_keeps_out(path):
    assert _ignored(path, _dockerignore_rules(ROOT / ".dockerignore"))


@pytest.mark.parametrize("path", LET_IN)
def test_the_build_context_lets_in(path):
    assert not _ignored(path, _dockerignore_rules(ROOT / ".dockerignore"))


def test_the_oidc_build_context_keeps_out_installed_packages_and_secrets():
    rules = _dockerignore_rules(ROOT / "deploy" / "oidc-dev.Dockerfile.dockerignore")
    assert _ignored("node_modules/oidc-provider/index.js", rules)
    assert _ignored(".env", rules)
    assert not _ignored("package-lock.json", rules)


def test_local_state_is_ignored_by_git_too():
    gitignore = (ROOT / ".gitignore").read_text().split()
    assert {".env", ".local/"} <= set(gitignore)
