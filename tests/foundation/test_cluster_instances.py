"""A checkout's cluster is found through its own local state: a fresh clone in the same path
gets a fresh cluster, and stopped clusters of checkouts that are gone are cleaned away."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from kontingent import cluster
from kontingent.settings import Settings


def _settings(home: Path) -> Settings:
    return Settings(home=home, pg_port=1)


def test_same_home_same_instance_fresh_home_new_instance(tmp_path):
    first = _settings(tmp_path / "a" / ".local")
    again = _settings(tmp_path / "a" / ".local")
    assert first.instance_id == again.instance_id
    assert (tmp_path / "a" / ".local" / "instance-id").exists()

    # the same checkout path, re-cloned: its .local/ is new, and so is its instance
    (tmp_path / "a" / ".local" / "instance-id").unlink()
    recloned = _settings(tmp_path / "a" / ".local")
    assert recloned.instance_id != first.instance_id


def test_root_cluster_folder_follows_the_instance(tmp_path, monkeypatch):
    settings = _settings(tmp_path / ".local")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert settings.pg_base.parent.name == settings.instance_id
    overridden = dataclasses.replace(settings, pg_base_override=tmp_path / "elsewhere")
    assert overridden.pg_base == tmp_path / "elsewhere"


def _instance(root: Path, name: str, owner: Path | None, pid: int | None = None) -> Path:
    folder = root / name
    (folder / "pg" / "data").mkdir(parents=True)
    if owner is not None:
        (folder / "owner").write_text(f"{owner}\n")
    if pid is not None:
        (folder / "pg" / "data" / "postmaster.pid").write_text(f"{pid}\n/x\n")
    return folder


def test_orphans_are_pruned_live_and_owned_clusters_kept(tmp_path, monkeypatch):
    root = tmp_path / "clusters"
    monkeypatch.setattr(cluster, "ROOT_CLUSTERS", root)
    ours = _settings(tmp_path / "ours" / ".local")
    mine = _instance(root, ours.instance_id, ours.home)
    monkeypatch.setattr(Settings, "pg_base", property(lambda s: mine / "pg"))

    other_home = tmp_path / "other" / ".local"
    other = _settings(other_home)
    owned = _instance(root, other.instance_id, other_home)
    recloned = _instance(root, "old-instance", other_home)  # its home now names another
    gone = _instance(root, "gone", tmp_path / "deleted" / ".local")
    legacy = _instance(root, "legacy", None)  # made before folders recorded their owner
    dead = _instance(root, "dead", None, pid=2**22 + 1)  # a pid file of a process long gone

    removed = cluster._prune_orphan_clusters(ours)

    assert sorted(p.name for p in removed) == sorted(p.name for p in (recloned, gone, legacy, dead))
    assert mine.exists() and owned.exists()
    for folder in (recloned, gone, legacy, dead):
        assert not folder.exists()


def test_a_running_orphan_is_left_alone(tmp_path, monkeypatch):
    root = tmp_path / "clusters"
    monkeypatch.setattr(cluster, "ROOT_CLUSTERS", root)
    ours = _settings(tmp_path / "ours" / ".local")
    mine = _instance(root, ours.instance_id, ours.home)
    monkeypatch.setattr(Settings, "pg_base", property(lambda s: mine / "pg"))
    running = _instance(root, "running", None, pid=os.getpid())
    monkeypatch.setattr(cluster, "_pid_is_live_server", lambda f: f.parent.parent.parent == running)

    assert cluster._prune_orphan_clusters(ours) == []
    assert running.exists()


@pytest.mark.parametrize("content", ["", "not-a-pid\n"])
def test_unreadable_pid_file_is_not_a_live_server(tmp_path, content):
    pid_file = tmp_path / "postmaster.pid"
    pid_file.write_text(content)
    assert not cluster._pid_is_live_server(pid_file)
