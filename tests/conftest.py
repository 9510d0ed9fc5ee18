"""Shared fixtures. What they are made of (paths, photos, tiny weights, stand-in models, clients) is in
helpers.py, which tests import from; no test imports another test module."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from helpers import EXAMPLES_BW, EXAMPLES_COLOR, TINY_BODY, echo_app, make_weights
from helpers import ROOT  # noqa: F401 - still importable from here, as EXAMPLES_*, for older test modules

SESSION = "session_"  # folders of session-scoped fixtures: kept until the session ends


@pytest.fixture(autouse=True)
def _run_in_tmp(tmp_path, monkeypatch):
    """Every test runs in its own folder, so weights/ and runs/ of the repo are never touched."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module", autouse=True)
def _clean_module_folders(request, tmp_path_factory):
    """The folders a module's own fixtures made (tmp_path_factory.mktemp) go when the module is done,
    unless one of its tests failed; each test's tmp_path goes at once (tmp_path_retention_policy).
    Session fixtures' folders stay for the modules after."""
    base = tmp_path_factory.getbasetemp()
    before, failed = set(base.iterdir()), request.session.testsfailed
    yield
    if request.session.testsfailed == failed:
        for folder in set(base.iterdir()) - before:
            if not folder.name.startswith(("test_", SESSION)):
                shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    """One tiny random colorizer for the whole session (64 px, on the smallest body, fp16), alone in its
    folder: for tests that need a weights file and do not care which. Do not write beside it."""
    return make_weights(tmp_path_factory.mktemp(SESSION + "tiny_weights"), backbone=TINY_BODY)


@pytest.fixture
def echo_server(tmp_path):
    """A keyed app with stand-in models (helpers.EchoModel, EchoSketch) and a small gate: (client, alice's key)."""
    from fastapi.testclient import TestClient

    app, key = echo_app(tmp_path / "res", max_running=1, max_waiting=2, wait_timeout=2.0)
    with TestClient(app) as client:
        yield client, key


@pytest.fixture
def media(monkeypatch) -> dict:
    """Records what the page hands to st.image / st.download_button: {file id: bytes} (helpers.served reads it)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    seen: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        if isinstance(path_or_data, bytes):
            seen[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return seen


@pytest.fixture
def photo_dir(tmp_path) -> Path:
    """12 small real color photos (short side 80 px) in a nested folder."""
    folder = tmp_path / "photos"
    for i, src in enumerate(sorted(EXAMPLES_COLOR.glob("*.jpg"))[:12]):
        sub = folder / ("a" if i % 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        with Image.open(src) as im:
            im = im.convert("RGB")
            im.thumbnail((120, 120))
            im.save(sub / src.name, quality=90)
    return folder


@pytest.fixture
def messy_dir(photo_dir) -> Path:
    """photo_dir plus a corrupt file, a grayscale photo and a non-photo file."""
    (photo_dir / "broken.jpg").write_bytes(b"this is not a jpeg")
    with Image.open(sorted(EXAMPLES_BW.glob("*.jpg"))[0]) as im:
        im.convert("L").resize((96, 64)).save(photo_dir / "old_gray.png")
    (photo_dir / "notes.txt").write_text("not a photo")
    return photo_dir
