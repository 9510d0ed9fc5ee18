"""Shared fixtures: small real photos from the repo's examples, and generated bad files."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_COLOR = ROOT / "examples" / "color"
EXAMPLES_BW = ROOT / "examples" / "bw"


@pytest.fixture(autouse=True)
def _run_in_tmp(tmp_path, monkeypatch):
    """Every test runs in its own folder, so weights/ and runs/ of the repo are never touched."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module", autouse=True)
def _clean_module_folders(request, tmp_path_factory):
    """The folders a module's own fixtures made (tmp_path_factory.mktemp) go when the module is done,
    unless one of its tests failed; each test's tmp_path goes at once (tmp_path_retention_policy)."""
    base = tmp_path_factory.getbasetemp()
    before, failed = set(base.iterdir()), request.session.testsfailed
    yield
    if request.session.testsfailed == failed:
        for folder in set(base.iterdir()) - before:
            if not folder.name.startswith("test_"):
                shutil.rmtree(folder, ignore_errors=True)


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


def random_color_image(w: int, h: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def copy_examples(dest: Path, n: int) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for src in sorted(EXAMPLES_BW.glob("*.jpg"))[:n]:
        out.append(Path(shutil.copy(src, dest / src.name)))
    return out
