"""The same arguments give byte-identical files; another seed gives other files."""

from __future__ import annotations

from pathlib import Path

from region_reader import SMALL

from sample_region import generate_region


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = _snapshot(generate_region(out=tmp_path / "a", seed=3, dirty=0.001, **SMALL).parent)
    b = _snapshot(generate_region(out=tmp_path / "b", seed=3, dirty=0.001, **SMALL).parent)
    assert a.keys() == b.keys()
    assert all(a[name] == b[name] for name in a), [n for n in a if a[n] != b[n]]
    c = _snapshot(generate_region(out=tmp_path / "c", seed=4, dirty=0.001, **SMALL).parent)
    common = a.keys() & c.keys()
    assert any(a[name] != c[name] for name in common)
    assert a["_manifest.json"] != c["_manifest.json"]


def test_regenerating_into_the_same_folder_replaces_the_files(tmp_path):
    generate_region(out=tmp_path, seed=3, **SMALL)
    first = _snapshot(tmp_path)
    generate_region(out=tmp_path, seed=3, **SMALL)
    assert _snapshot(tmp_path) == first
