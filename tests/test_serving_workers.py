"""Real servers on 127.0.0.1: `python -m colorizer.serving --workers 2`, where every worker sees
every result (one SQLite index and one PNG folder for all, written by any process), and the
load test against a server in this process."""
from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn

from colorizer.serving.api import create_app
from colorizer.serving.keys import KeyStore
from colorizer.serving.store import ResultStore
from helpers import ROOT, make_weights, random_color_image
from tools import loadtest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen | None = None, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        assert proc is None or proc.poll() is None, proc.stdout.read()
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)


def test_two_workers_see_the_same_results(tmp_path):
    """Results written by another process (as by a server before a restart) are seen by both
    workers of a new server; a delete through one is seen by the other at once."""
    results = tmp_path / "res"
    store = ResultStore(results)
    written = [store.add("alice", f"{i}_color.png", 1, 1, 0.1, b"\x89PNG" + bytes(i)) for i in range(3)]
    key = KeyStore(results / "results.db").add("alice")
    (tmp_path / "none").mkdir()  # no weights: this test colorizes nothing, so the workers start fast
    env = {**os.environ, "COLORIZER_WEIGHTS_DIR": str(tmp_path / "none"), "COLORIZER_API_OPEN": "0"}
    env.pop("COLORIZER_WEIGHTS", None)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "colorizer.serving", "--port", str(port), "--workers", "2",
                             "--results-dir", str(results)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_up(url, proc)

        def look(_):  # a fresh connection each time, so both workers get to answer
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as c:
                return c.get("/health").json()["pid"], [x["id"] for x in c.get("/results/alice").json()]

        deadline = time.monotonic() + 60  # the first worker answers before the second has started
        while len({look(0)[0] for _ in range(8)}) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        with ThreadPoolExecutor(8) as pool:
            seen = list(pool.map(look, range(48)))
            assert {tuple(ids) for _, ids in seen} == {tuple(r.id for r in written)}
            assert len({pid for pid, _ in seen}) == 2, "only one worker answered"
            gone = httpx.delete(f"{url}/results/{written[0].id}", headers={"Authorization": f"Bearer {key}"})
            assert gone.status_code == 200
            after = list(pool.map(look, range(48)))
            assert {tuple(ids) for _, ids in after} == {tuple(r.id for r in written[1:])}
            assert len({pid for pid, _ in after}) == 2
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out = ""
    assert "no API keys" not in out and "open mode" not in out  # keys exist, and it is not open


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """(url, key): uvicorn in a thread of this process, with tiny weights."""
    folder = tmp_path_factory.mktemp("live")
    app = create_app(weights=make_weights(folder), results_dir=folder / "res", max_running=1, max_waiting=2)
    key = KeyStore(app.state.config.db_path).add("alice")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.config.port}"
    wait_until_up(url)
    yield url, key
    server.should_exit = True
    thread.join(timeout=30)


def test_loadtest_small_run(live_server, tmp_path, capsys):
    url, key = live_server
    buf = io.BytesIO()
    random_color_image(96, 64).convert("L").save(buf, "JPEG")
    (tmp_path / "p.jpg").write_bytes(buf.getvalue())
    args = ["--url", url, "--key", key, "--render-size", "32", "--photo", str(tmp_path / "p.jpg")]
    assert loadtest.main([*args, "--requests", "6", "--concurrency", "2", "--pid", str(os.getpid())]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("6 requests at concurrency 2 in ") and printed[0].endswith(": 200 x 6")
    assert printed[1].startswith("latency: p50 ") and ", max " in printed[1]
    assert printed[2].startswith("server memory: ") and "MB after" in printed[2]

    # beyond 1 colorizing + 2 waiting, some are refused at once: the tool counts them
    summary = loadtest.run(url, buf.getvalue(), requests=12, concurrency=12, key=key, render_size=32)
    assert sum(summary["status"].values()) == 12 and set(summary["status"]) <= {"200", "503"}
    assert summary["status"].get("503", 0) >= 1 and summary["status"].get("200", 0) >= 3
    lat = summary["latency_s"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["max"]
    assert summary["memory_before"]["peak_mb"] > 0 and summary["memory_after"]["rss_mb"] > 0  # from /health
    wrong = loadtest.run(url, buf.getvalue(), requests=2, concurrency=2, key="clz_wrong")
    assert wrong["status"] == {"401": 2}


def test_loadtest_refuses_other_machines(capsys):
    assert loadtest.main(["--url", "http://example.com:8000", "--requests", "1"]) == 2
    assert "only a server on this machine" in capsys.readouterr().err
    assert loadtest.percentile([3, 1, 2, 4], 50) == 2 and loadtest.percentile([3, 1, 2, 4], 100) == 4
    assert loadtest.percentile([], 95) == 0
