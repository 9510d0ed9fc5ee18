"""A full disk is said honestly (issue 45): 507 with a JSON body naming the cause wherever the server needs
its disk (the key check, the results, the upload's temp file), /health says so, and the server recovers
without a restart. Other storage failures are 503 with Retry-After. The schema declares every status."""
from __future__ import annotations

import errno
import sqlite3

import pytest
from fastapi.testclient import TestClient

from colorizer.serving import store as store_module
from colorizer.serving.api import create_app
from colorizer.serving.keys import KeyStore
from colorizer.serving.store import StoreError
from helpers import EchoModel, auth, small_jpeg


def full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def app(tmp_path):
    app = create_app(results_dir=tmp_path / "res")
    model = EchoModel()
    app.state.model.get = lambda color_strength=None: model
    app.state.storage.recheck_s = 0.0  # /health checks the disk again at each call
    return app


def colorize(client, key, data: bytes | None = None):
    return client.post("/colorize", files={"image": ("p.jpg", data or small_jpeg(), "image/jpeg")}, headers=auth(key))


def test_a_full_disk_shows_on_health_and_clears_without_a_restart(app, monkeypatch):
    key = KeyStore(app.state.config.db_path).add("alice")
    with TestClient(app) as client:
        assert client.get("/health").json()["storage"]["ok"] is True
        with monkeypatch.context() as m:
            m.setattr(store_module, "write_atomic", full)  # results and the disk check both meet it
            r = colorize(client, key)
            assert r.status_code == 200 and r.headers["x-result-kept"] == "false"  # the photo made still goes out
            assert "disk is full (No space left on device" in r.headers["x-result-error"]
            health = client.get("/health").json()
            assert health["status"] == "disk_full" and health["ready"] is False
            assert health["storage"]["ok"] is False and "No space left on device" in health["message"]
            assert "free_mb" in health["storage"]
        health = client.get("/health").json()  # space freed: the next check finds the disk writable
        assert health["status"] != "disk_full" and health["storage"]["ok"] is True
        assert set(health["storage"]) == {"ok", "free_mb"}
        r = colorize(client, key)
        assert r.status_code == 200 and r.headers["x-result-kept"] == "true" and "x-result-error" not in r.headers


def test_a_key_check_on_a_full_disk_is_507_json(app, monkeypatch):
    key = KeyStore(app.state.config.db_path).add("alice")

    def db_full(self, key):
        raise StoreError("results.db: cannot open the results database (database or disk is full)")
    with TestClient(app) as client:
        monkeypatch.setattr(KeyStore, "user_of", db_full)
        for r in (colorize(client, key), client.get("/results/alice", headers=auth(key)),
                  client.delete("/results/abc", headers=auth(key))):
            assert r.status_code == 507 and r.headers["content-type"] == "application/json"
            assert r.json()["detail"].startswith("checking the API key: the server's disk is full (")
        monkeypatch.undo()
        assert client.get("/results/alice", headers=auth(key)).status_code == 200


def test_results_on_a_full_disk_are_507_and_other_storage_failures_503(app, monkeypatch):
    key = KeyStore(app.state.config.db_path).add("alice")
    with TestClient(app) as client:
        def disk_full(*args):
            raise sqlite3.OperationalError("database or disk is full")
        monkeypatch.setattr(app.state.results, "list", disk_full)
        r = client.get("/results/alice", headers=auth(key))
        assert r.status_code == 507 and r.json()["detail"].startswith("GET /results/alice: the server's disk is full")

        def broken(*args):
            raise OSError(errno.EIO, "Input/output error")
        monkeypatch.setattr(app.state.results, "list", broken)
        r = client.get("/results/alice", headers=auth(key))
        assert r.status_code == 503 and int(r.headers["retry-after"]) > 0
        assert "storage failed (Input/output error)" in r.json()["detail"]


def test_a_full_temp_folder_while_the_upload_is_read_is_507_not_400(app, monkeypatch):
    from starlette.datastructures import UploadFile

    key = KeyStore(app.state.config.db_path).add("alice")
    with TestClient(app) as client:
        async def write(self, data):
            full()
        monkeypatch.setattr(UploadFile, "write", write)
        r = colorize(client, key)
        assert r.status_code == 507, r.text
        assert r.json()["detail"].startswith("reading the upload: the server's disk is full (No space left on device")


def test_the_schema_declares_every_status_with_a_json_error_body(app):
    with TestClient(app) as client:
        schema = client.get("/openapi.json").json()
    error = {"$ref": "#/components/schemas/ErrorBody"}
    expected = {("/colorize", "post"): {400, 401, 403, 408, 413, 422, 503, 507},
                ("/sketch", "post"): {400, 401, 403, 408, 413, 422, 503, 507},
                ("/results/{user_id}", "get"): {401, 404, 413, 422, 503, 507},
                ("/results/{user_id}/{result_id}", "get"): {401, 404, 413, 422, 503, 507},
                ("/results/{result_id}", "delete"): {401, 404, 413, 422, 503, 507}}
    for (path, method), statuses in expected.items():
        responses = schema["paths"][path][method]["responses"]
        assert {int(s) for s in responses} == statuses | {200}, (path, sorted(responses))
        for status in statuses:
            assert responses[str(status)]["content"]["application/json"]["schema"] == error, (path, status)
    body = schema["components"]["schemas"]["ErrorBody"]
    assert body["required"] == ["detail"]
