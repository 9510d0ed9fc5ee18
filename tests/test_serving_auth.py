"""API keys: made on the command line and shown once, only hashes stored, the key decides the
user, another user's results answer 404, open mode says so at start."""
from __future__ import annotations

import hashlib
import logging
import sqlite3

import pytest
from fastapi.testclient import TestClient

from colorizer.cli import main
from colorizer.serving import keys as keys_module
from colorizer.serving.api import NO_KEYS_NOTE, OPEN_NOTE, create_app
from colorizer.serving.keys import KeyStore
from helpers import small_jpeg


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def colorize(client, key: str | None = None, **form):
    return client.post("/colorize", data={"render_size": "32", **form},
                       files={"image": ("old.jpg", small_jpeg(), "image/jpeg")},
                       headers=bearer(key) if key else None)


def test_api_key_add_prints_the_key_once_and_stores_its_hash(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLORIZER_RESULTS_DIR", str(tmp_path / "res"))
    assert main(["api-key", "add", "alice"]) == 0
    out = capsys.readouterr()
    key = out.out.strip()
    assert key.startswith("clz_") and len(key.splitlines()) == 1
    assert "shown only now" in out.err and str(tmp_path / "res" / "results.db") in out.err
    db = tmp_path / "res" / "results.db"
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT key_id, user_id, hash FROM api_keys").fetchall()
    assert len(rows) == 1 and rows[0][1] == "alice"
    assert rows[0][2] == hashlib.sha256(key.encode()).hexdigest()
    secret = key.split("_", 2)[2]  # clz_<hex id>_<secret>: the secret itself may hold "_"
    for f in (tmp_path / "res").iterdir():  # the key's secret is in no file (database, WAL)
        assert secret.encode() not in f.read_bytes(), f
    assert KeyStore(db).user_of(key) == "alice"

    assert main(["api-key", "list"]) == 0
    listed = capsys.readouterr().out
    assert rows[0][0] in listed and "alice" in listed and secret not in listed
    assert main(["api-key", "--results-dir", str(tmp_path / "res"), "revoke", "alice"]) == 0
    assert KeyStore(db).user_of(key) is None
    assert main(["api-key", "revoke", "alice"]) == 1
    assert "no key or user 'alice'" in capsys.readouterr().err
    assert main(["api-key", "add", "a/b"]) == 2
    assert capsys.readouterr().err.startswith("error: user id 'a/b': 1 to 128 characters")


def test_keys_are_compared_in_constant_time(tmp_path, monkeypatch):
    store = KeyStore(tmp_path / "results.db")
    key = store.add("alice")
    calls = []
    real = keys_module.hmac.compare_digest
    monkeypatch.setattr(keys_module.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    key_id = key.split("_")[1]
    wrong_secret = f"clz_{key_id}_{'A' * 43}"
    unknown_id = f"clz_{'0' * 12}_{key.rsplit('_', 1)[1]}"
    assert [store.user_of(k) for k in (key, wrong_secret, unknown_id, "nonsense", None)] == \
        ["alice", None, None, None, None]
    assert len(calls) == 5  # one comparison for every key, found or not: no early exit to time


def test_the_key_decides_the_user(tmp_path, tiny_weights):
    app = create_app(weights=tiny_weights, results_dir=tmp_path / "res")
    keys = KeyStore(app.state.config.db_path)
    alice, bob = keys.add("alice"), keys.add("bob")
    with TestClient(app) as c:
        for headers in (None, bearer("clz_nonsense"), bearer(alice + "x"), {"Authorization": f"Basic {alice}"}):
            r = c.post("/colorize", files={"image": ("a.jpg", small_jpeg(), "image/jpeg")}, headers=headers)
            assert r.status_code == 401 and "api-key add" in r.json()["detail"], headers
            assert r.headers["www-authenticate"] == "Bearer"
        assert c.get("/results/alice").status_code == 401
        assert c.delete("/results/abc").status_code == 401

        mine = colorize(c, alice)
        assert mine.status_code == 200, mine.text
        assert colorize(c, alice, user_id="alice").status_code == 200  # the form's user_id, when it matches
        refused = colorize(c, alice, user_id="bob")
        assert refused.status_code == 403 and "not this API key's user" in refused.json()["detail"]
        assert colorize(c, alice, userID="bob").status_code == 403
        listed = c.get("/results/alice", headers=bearer(alice)).json()
        assert len(listed) == 2 and listed[0]["id"] == mine.headers["x-result-id"]

        # bob: alice's results do not exist for him, whatever he knows of them
        rid = mine.headers["x-result-id"]
        other = c.get("/results/alice", headers=bearer(bob))
        assert other.status_code == 404 and other.json()["detail"] == "no results for user alice"
        assert c.get(f"/results/alice/{rid}", headers=bearer(bob)).status_code == 404
        assert c.get(f"/results/bob/{rid}", headers=bearer(bob)).status_code == 404  # his path, her id
        assert c.delete(f"/results/{rid}", headers=bearer(bob)).status_code == 404
        assert c.get("/results/bob", headers=bearer(bob)).json() == []
        got = c.get(f"/results/alice/{rid}", headers=bearer(alice))
        assert got.status_code == 200 and got.content == mine.content  # still there

        keys.revoke("bob")
        assert c.get("/results/bob", headers=bearer(bob)).status_code == 401  # revoked: at once


def test_open_mode_keeps_the_old_behaviour_and_says_so(tmp_path, tiny_weights, caplog):
    with caplog.at_level(logging.INFO, logger="uvicorn.error"):
        with TestClient(create_app(weights=tiny_weights, results_dir=tmp_path / "res", open=True)) as c:
            assert OPEN_NOTE in caplog.text
            assert c.get("/health").json()["auth"] == "open"
            r = colorize(c, user_id="carol")
            assert r.status_code == 200
            rid = r.headers["x-result-id"]
            assert [x["id"] for x in c.get("/results/carol").json()] == [rid]
            assert c.get(f"/results/carol/{rid}").content == r.content
            assert c.delete(f"/results/{rid}").json() == {"deleted": rid}
            assert c.get("/results/carol").json() == []
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="uvicorn.error"):
        with TestClient(create_app(weights=tiny_weights, results_dir=tmp_path / "keyed")):
            assert NO_KEYS_NOTE in caplog.text and OPEN_NOTE not in caplog.text


def test_open_mode_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORIZER_API_OPEN", "1")
    assert create_app(results_dir=tmp_path).state.config.open is True
    monkeypatch.setenv("COLORIZER_API_OPEN", "0")
    assert create_app(results_dir=tmp_path).state.config.open is False
    monkeypatch.setenv("COLORIZER_API_OPEN", "maybe")
    with pytest.raises(ValueError, match="COLORIZER_API_OPEN='maybe'"):
        create_app(results_dir=tmp_path)
