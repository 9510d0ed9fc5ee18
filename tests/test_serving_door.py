"""Clients without a key cost almost nothing (issue 45): the key and the declared size are checked from the
headers before the body is read (door.py), the body read is bounded by size and time, a slow upload holds no
place at the gate, and uvicorn runs with a header limit. A real uvicorn for the slow clients, a few seconds."""
from __future__ import annotations

from fastapi.testclient import TestClient

from colorizer.serving.api import create_app
from colorizer.serving.keys import KeyStore
from helpers import EchoModel, LiveServer, auth, small_jpeg, trickler


def test_no_key_is_401_before_the_body_and_a_declared_size_over_the_limit_413(echo_server):
    client, key = echo_server
    huge = {"Content-Length": str(2 * 2**30), "Content-Type": "multipart/form-data; boundary=x"}
    seen = []

    def body():  # never asked for: the answer comes from the headers alone
        seen.append(1)
        yield b"--x\r\n"

    r = client.post("/colorize", content=body(), headers=huge)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.json()["detail"].startswith("missing or unknown API key")
    r = client.post("/colorize", content=body(), headers={**huge, **auth(key)})
    assert r.status_code == 413 and "2048 MB is above the 201 MB limit" in r.json()["detail"], r.text
    r = client.post("/sketch", content=body(), headers={**huge, **auth("clz_000000000000_" + "A" * 43)})
    assert r.status_code == 401
    assert client.get("/results/alice", headers=auth("nonsense")).status_code == 401
    assert client.get("/health").status_code == 200  # no key needed there


def test_a_body_growing_past_the_limit_without_a_length_is_413(tmp_path, monkeypatch):
    from colorizer.serving import api

    monkeypatch.setattr(api, "MAX_BODY_BYTES", 64 * 1024)
    app = create_app(results_dir=tmp_path / "res", open=True)
    with TestClient(app) as client:
        def chunks():  # no Content-Length: sent chunked
            for _ in range(100):
                yield b"x" * 4096

        r = client.post("/colorize", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=x"})
        assert r.status_code == 413 and "above the 64 KB limit" in r.json()["detail"], r.text


def test_keyed_requests_are_served_while_20_keyless_and_5_keyed_clients_trickle_bodies(tmp_path):
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    app = create_app(results_dir=tmp_path / "res", max_running=1, max_waiting=2, wait_timeout=5.0,
                     upload_timeout=3.0)
    model = EchoModel()
    app.state.model.get = lambda color_strength=None: model
    key = KeyStore(app.state.config.db_path).add("alice")
    stop = threading.Event()
    with LiveServer(app) as live, ThreadPoolExecutor(26) as pool:
        keyless = [pool.submit(trickler, live.port, stop) for _ in range(20)]
        keyed = [pool.submit(trickler, live.port, stop, key) for _ in range(5)]  # more than the gate's 3 places
        time.sleep(0.5)
        with httpx.Client(base_url=live.url, timeout=10) as http:
            queue = http.get("/health").json()["queue"]
            assert (queue["running"], queue["waiting"]) == (0, 0)  # the slow uploads hold no place
            for _ in range(3):
                t0 = time.monotonic()
                r = http.post("/colorize", files={"image": ("p.jpg", small_jpeg(), "image/jpeg")}, headers=auth(key))
                assert r.status_code == 200 and time.monotonic() - t0 < 2, (r.status_code, r.text)
        answers = [f.result(timeout=10) for f in keyless]
        assert all(status == 401 and took < 1.5 for status, took in answers), answers
        slow = [f.result(timeout=10) for f in keyed]  # the whole body within 3 s, or 408
        stop.set()
    assert all(status == 408 and 2.5 < took < 6 for status, took in slow), slow


def test_the_server_refuses_a_header_over_its_limit(tmp_path):
    import socket

    from colorizer.serving.__main__ import MAX_HEADER_BYTES

    app = create_app(results_dir=tmp_path / "res", open=True)
    with LiveServer(app) as live, socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        try:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (4 * MAX_HEADER_BYTES) + b"\r\n\r\n")
        except OSError:  # closed while sending: refused too
            return
        answer = sock.recv(4096)
    assert answer.split(b" ", 2)[1] in (b"400", b"431"), answer[:200]


def test_python_m_colorizer_serving_runs_uvicorn_with_the_header_limit(tmp_path, monkeypatch):
    import uvicorn

    from colorizer.serving.__main__ import MAX_HEADER_BYTES, main

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    for var in ("COLORIZER_RESULTS_DIR", "COLORIZER_UPLOAD_TIMEOUT"):
        monkeypatch.setenv(var, "1")  # main() sets them from its flags: put back after
    assert main(["--results-dir", str(tmp_path / "res"), "--upload-timeout", "30"]) == 0
    assert calls[0]["h11_max_incomplete_event_size"] == MAX_HEADER_BYTES and calls[0]["http"] == "h11"
    import os
    assert os.environ["COLORIZER_UPLOAD_TIMEOUT"] == "30"


def test_a_multipart_body_cut_short_is_400_saying_so_not_a_missing_field(echo_server):
    client, key = echo_server
    whole = (b'--b\r\nContent-Disposition: form-data; name="image"; filename="p.jpg"\r\n'
             b"Content-Type: image/jpeg\r\n\r\n" + small_jpeg() + b"\r\n--b--\r\n")
    headers = {**auth(key), "Content-Type": "multipart/form-data; boundary=b"}
    assert client.post("/colorize", content=whole, headers=headers).status_code == 200
    for cut in (len(whole) - 9, 200, 5):
        r = client.post("/colorize", content=whole[:cut], headers=headers)
        assert r.status_code == 400, r.text
        assert r.json()["detail"] == f"the multipart body ends before its closing boundary (--b--): cut short after " \
                                     f"{cut} bytes"


def test_clients_trickling_their_headers_block_no_one(tmp_path):
    """Another slow client: headers a byte at a time (uvicorn holds each as a connection, no thread, no place)."""
    import socket
    import threading
    import time

    import httpx

    app = create_app(results_dir=tmp_path / "res", max_running=1, max_waiting=1)
    model = EchoModel()
    app.state.model.get = lambda color_strength=None: model
    key = KeyStore(app.state.config.db_path).add("alice")
    stop = threading.Event()

    def slow_headers(port: int):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            for byte in b"POST /colorize HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000:
                if stop.wait(0.05):
                    return
                sock.sendall(bytes([byte]))

    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=10) as http:
        threads = [threading.Thread(target=slow_headers, args=(live.port,), daemon=True) for _ in range(20)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        try:
            for _ in range(3):
                t0 = time.monotonic()
                r = http.post("/colorize", files={"image": ("p.jpg", small_jpeg(), "image/jpeg")}, headers=auth(key))
                assert r.status_code == 200 and time.monotonic() - t0 < 2
            assert http.get("/health").json()["queue"]["waiting"] == 0
        finally:
            stop.set()
            for t in threads:
                t.join(5)
