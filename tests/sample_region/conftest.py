"""Regions generated once per test run and shared by the tests."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

# This folder shares its name with the package under test: keep the repository root on the path
# so that `sample_region` is the package, not this folder.
ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.append(ROOT)

from region_reader import PARTED, SMALL  # noqa: E402

from sample_region import CORRECTNESS_PROFILE, generate_region  # noqa: E402


@pytest.fixture(scope="session")
def correctness(tmp_path_factory) -> tuple[Path, dict]:
    """The correctness region (clean) and its manifest."""
    out = tmp_path_factory.mktemp("correctness")
    manifest = generate_region(out=out, **CORRECTNESS_PROFILE)
    return out, json.loads(manifest.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def dirty(tmp_path_factory) -> tuple[Path, dict]:
    """A small region with every defect injected."""
    out = tmp_path_factory.mktemp("dirty")
    manifest = generate_region(out=out, seed=11, dirty=0.002, **SMALL)
    return out, json.loads(manifest.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def parted(tmp_path_factory) -> tuple[Path, dict]:
    """The correctness region's parameters simulated in parts (groups of schools, one at a
    time), as large regions are."""
    out = tmp_path_factory.mktemp("parted")
    manifest = generate_region(out=out, **PARTED)
    return out, json.loads(manifest.read_text(encoding="utf-8"))


@pytest.fixture(params=["correctness", "parted"])
def region(request) -> tuple[Path, dict]:
    """The correctness region, whole and in parts."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="session")
def dirty_parted(tmp_path_factory) -> tuple[Path, dict]:
    """The small dirty region simulated in parts: its defects go into the days' merged lines."""
    out = tmp_path_factory.mktemp("dirty-parted")
    manifest = generate_region(out=out, seed=11, dirty=0.002, part_students=150, **SMALL)
    return out, json.loads(manifest.read_text(encoding="utf-8"))


@pytest.fixture(params=["dirty", "dirty_parted"])
def dirty_region(request) -> tuple[Path, dict]:
    """The small dirty region, whole and in parts."""
    return request.getfixturevalue(request.param)
