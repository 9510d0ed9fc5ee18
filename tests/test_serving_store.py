"""Results that last: SQLite (WAL) index + atomic PNG files; restart, limits, delete, two
processes on one folder, leftovers of a crash, an unusable folder, a full disk."""
from __future__ import annotations

import errno
import io
import os
import sqlite3
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient

from colorizer import files as files_module
from colorizer.serving import store as store_module
from colorizer.serving.api import create_app
from colorizer.serving.config import ServeConfig
from colorizer.serving.keys import KeyStore
from colorizer.serving.store import ResultStore, StoreError
from helpers import ROOT, random_color_image


def jpeg() -> bytes:
    buf = io.BytesIO()
    random_color_image(48, 32).convert("L").save(buf, "JPEG")
    return buf.getvalue()


def pngs(folder) -> list[str]:
    return sorted(p.name for p in (folder / "png").glob("*.png"))


def test_results_survive_a_restart_and_delete_removes_one(tmp_path, tiny_weights):
    config = ServeConfig(results_dir=tmp_path / "res", weights=tiny_weights)
    key = KeyStore(config.db_path).add("alice")
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(config)) as c:
        posted = [c.post("/colorize", data={"render_size": "32"}, headers=headers,
                         files={"image": (f"p{i}.jpg", jpeg(), "image/jpeg")}) for i in range(2)]
        assert [r.status_code for r in posted] == [200, 200]
    with sqlite3.connect(config.db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with TestClient(create_app(config)) as c:  # a new server: nothing of the first one in memory
        listed = c.get("/results/alice", headers=headers).json()
        assert [x["id"] for x in listed] == [r.headers["x-result-id"] for r in posted]
        assert [x["filename"] for x in listed] == ["p0_color.png", "p1_color.png"]
        first = posted[0].headers["x-result-id"]
        assert c.get(f"/results/alice/{first}", headers=headers).content == posted[0].content
        assert c.delete(f"/results/{first}", headers=headers).json() == {"deleted": first}
        assert c.delete(f"/results/{first}", headers=headers).status_code == 404
        assert c.get(f"/results/alice/{first}", headers=headers).status_code == 404
        assert len(c.get("/results/alice", headers=headers).json()) == 1
    assert pngs(config.results_dir) == [posted[1].headers["x-result-id"] + ".png"]  # its file went too


def test_limits_drop_the_oldest_first(tmp_path):
    store = ResultStore(tmp_path, per_user_count=2, per_user_bytes=50, total_count=3, total_bytes=100)
    a = [store.add("a", f"{i}.png", 1, 1, 0.1, b"x" * 10) for i in range(3)]
    assert [x.id for x in store.list("a")] == [a[1].id, a[2].id]  # per-user count
    store.add("b", "b.png", 1, 1, 0.1, b"x" * 10)
    store.add("c", "c.png", 1, 1, 0.1, b"x" * 10)
    assert [x.id for x in store.list("a")] == [a[2].id]  # total count: the oldest of all went
    b2 = store.add("b", "b2.png", 1, 1, 0.1, b"x" * 45)  # b's bytes: 55 > 50, b's older one goes
    assert [x.id for x in store.list("b")] == [b2.id]
    d = store.add("d", "d.png", 1, 1, 0.1, b"x" * 50)  # total bytes: 10 + 45 + 50 > 100
    assert [len(store.list(u)) for u in "abcd"] == [0, 1, 0, 1] and store.totals() == {"count": 2, "bytes": 95}
    assert pngs(tmp_path) == sorted([f"{b2.id}.png", f"{d.id}.png"])  # dropped files removed
    big = store.add("e", "e.png", 1, 1, 0.1, b"x" * 51)  # above a limit on its own: served, not kept
    assert big.kept is False and store.list("e") == [] and store.get(None, big.id) is None
    assert store.totals()["count"] == 2


def test_writes_are_atomic_and_leftovers_are_cleared(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    store.prepare()

    def crash(src, dst):
        raise OSError(errno.EIO, "simulated crash")
    monkeypatch.setattr(files_module.os, "replace", crash)  # the rename that completes a write
    with pytest.raises(OSError):
        store.add("a", "a.png", 1, 1, 0.1, b"png")
    monkeypatch.undo()
    assert list((tmp_path / "png").iterdir()) == [] and store.list("a") == []  # no half file, no row

    kept = store.add("a", "a.png", 1, 1, 0.1, b"png")
    old = time.time() - 2 * store_module.STALE_SECONDS
    for name in (".x.png.1234.tmp", "orphan.png"):  # what a kill -9 mid-write leaves
        (tmp_path / "png" / name).write_bytes(b"half")
        os.utime(tmp_path / "png" / name, (old, old))
    (tmp_path / "png" / "fresh.png").write_bytes(b"another worker is writing it now")
    assert store.prepare() == 2
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == sorted([f"{kept.id}.png", "fresh.png"])


def test_an_unusable_results_folder_is_named(tmp_path, tiny_weights):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(StoreError, match=f"{tmp_path / 'file'}.*results cannot be written there"):
        ResultStore(tmp_path / "file" / "results").prepare()
    with pytest.raises(StoreError):  # the server does not start on it
        with TestClient(create_app(results_dir=tmp_path / "file" / "results", weights=tiny_weights)):
            pass


def test_a_full_disk_still_answers_the_photo(tmp_path, tiny_weights, monkeypatch):
    app = create_app(results_dir=tmp_path / "res", weights=tiny_weights, open=True)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(app.state.results, "add", full)
    with TestClient(app) as c:
        r = c.post("/colorize", data={"user_id": "a", "render_size": "32"},
                   files={"image": ("p.jpg", jpeg(), "image/jpeg")})
        assert r.status_code == 200 and r.headers["x-result-kept"] == "false" and r.content[:4] == b"\x89PNG"


WRITER = """
import sys
from colorizer.serving.store import ResultStore
store = ResultStore(sys.argv[1], per_user_count=15, total_count=25)
for i in range(20):
    store.add(sys.argv[2] if i % 2 else "shared", f"{i}.png", 1, 1, 0.1, bytes(100 + i))
"""


def test_two_processes_share_one_folder(tmp_path):
    """Two worker processes writing at once: every row has its file, the limits hold across both."""
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), user], cwd=ROOT)
             for user in ("p1", "p2")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    store = ResultStore(tmp_path, per_user_count=15, total_count=25)
    counts = {u: len(store.list(u)) for u in ("shared", "p1", "p2")}
    assert counts["shared"] <= 15 and sum(counts.values()) == 25  # 40 written: per-user, then total limit
    assert [r.filename for r in store.list("p1")][-1] == [r.filename for r in store.list("p2")][-1] == "19.png"
    assert [r.filename for r in store.list("shared")].count("18.png") == 2  # each process's newest stays
    ids = sorted(f"{r.id}.png" for u in counts for r in store.list(u))
    assert pngs(tmp_path) == ids
    assert all(store.get(u, r.id)[1] == bytes(r.bytes) for u in counts for r in store.list(u))


def test_python_m_colorizer_serving_says_which_leftovers_it_removed(tmp_path, monkeypatch, capsys):
    """Its start check removes them before any worker starts: the line is said there, or never."""
    import uvicorn

    from colorizer.serving.__main__ import main

    store = ResultStore(tmp_path / "res")
    store.prepare()
    old = time.time() - 2 * store_module.STALE_SECONDS
    (tmp_path / "res" / "png" / ".x.png.1.tmp").write_bytes(b"half")
    os.utime(tmp_path / "res" / "png" / ".x.png.1.tmp", (old, old))
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    monkeypatch.setenv("COLORIZER_RESULTS_DIR", "unset-by-the-flag")  # main() sets it: put back after
    assert main(["--results-dir", str(tmp_path / "res")]) == 0
    err = capsys.readouterr().err
    assert "1 leftover files of an interrupted write removed (temp files and unindexed PNGs over an hour old)" in err
