"""Atomic writes and the history: readers never see half a file, and old run images are cleaned up."""

from __future__ import annotations

import os
import stat
import threading
import time

import pytest
from PIL import Image
from weather_checker import publish


def test_atomic_write_replaces_content_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "out" / "index.html"
    publish.atomic_write(target, "one")
    publish.atomic_write(target, b"two")
    assert target.read_text() == "two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["index.html"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_the_umask_can_close_the_page_to_other_users(tmp_path):
    # the native stack runs tasks with umask 027: its state folder holds nothing other users may read
    previous = os.umask(0o027)
    try:
        publish.atomic_write(tmp_path / "index.html", "page")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "index.html").stat().st_mode) == 0o640


def test_a_failed_write_keeps_the_old_file_and_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "latest.json"
    publish.atomic_write(target, "old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        publish.atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["latest.json"]


def test_a_reader_only_ever_sees_whole_versions(tmp_path):
    target = tmp_path / "index.html"
    versions = [("A" * 400_000).encode(), ("B" * 600_000).encode()]
    publish.atomic_write(target, versions[0])
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            publish.atomic_write(target, versions[i % 2])
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    seen = set()
    try:
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            data = target.read_bytes()
            assert data in versions, f"partial read of {len(data)} bytes"
            seen.add(data[:1])
    finally:
        stop.set()
        thread.join()
    assert seen == {b"A", b"B"}


@pytest.mark.parametrize("run_id", ["manual__2026-10-20T18:05:00.123+00:00", "scheduled__x/../../etc", "..."])
def test_run_key_is_a_safe_file_name(run_id):
    key = publish.run_key(run_id)
    assert "/" not in key and not key.startswith(".")
    assert key == publish.run_key(run_id)


def test_run_keys_of_similar_ids_differ():
    assert publish.run_key("a:b") != publish.run_key("a+b")


def test_unreadable_history_starts_fresh(tmp_path):
    assert publish.read_history(tmp_path) == []
    (tmp_path / "history.json").write_text("{not json")
    assert publish.read_history(tmp_path) == []
    (tmp_path / "history.json").write_text('[{"run_id": "a"}, 3]')
    assert publish.read_history(tmp_path) == [{"run_id": "a"}]


def test_prune_removes_only_old_unreferenced_images(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for name in ("kept.jpg", "old.jpg", "recent.jpg"):
        (images / name).write_bytes(b"x")
    hour_ago = time.time() - 3600
    for name in ("kept.jpg", "old.jpg"):
        os.utime(images / name, (hour_ago, hour_ago))
    removed = publish.prune_images(tmp_path, {"images/kept.jpg"})
    assert removed == ["old.jpg"]
    assert sorted(p.name for p in images.iterdir()) == ["kept.jpg", "recent.jpg"]


def test_assets_are_installed_next_to_the_page(tmp_path):
    publish.install_assets(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["favicon.png", "page.css"]
    assert ".verdict.fail" in (tmp_path / "page.css").read_text()
    with Image.open(tmp_path / "favicon.png") as favicon:
        assert favicon.format == "PNG"
