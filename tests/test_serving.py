"""Serving rules kept in one place: the pixel cap holds where photos are opened, training
included, without touching Pillow's own guard; PIL <-> tensor conversion."""
from __future__ import annotations

import subprocess
import sys
import warnings

import pytest
import torch
from PIL import Image

from colorizer.images import PhotoTooLarge, check_training_photo, open_photo, to_pil, to_tensor
from colorizer.limits import MAX_PIXELS
from conftest import ROOT, random_color_image
from test_app import huge_png


# ---- the pixel cap ------------------------------------------------------------------------

def test_importing_the_package_leaves_pillows_guard_alone():
    code = ("import pkgutil, importlib; from PIL import Image; before = Image.MAX_IMAGE_PIXELS; "
            "import colorizer; "
            "[importlib.import_module(m.name) for m in pkgutil.walk_packages(colorizer.__path__, 'colorizer.') "
            "if not m.name.endswith('__main__')]; "
            "assert Image.MAX_IMAGE_PIXELS == before, Image.MAX_IMAGE_PIXELS; print(before)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.split()[-1]) > MAX_PIXELS  # our cap is under Pillow's: photos we accept never meet it


def test_training_scan_skips_photos_over_the_cap(tmp_path):
    from colorizer.data import PhotoDataset, scan_photos

    random_color_image(40, 30).save(tmp_path / "small.png")
    random_color_image(80, 60).save(tmp_path / "big.png")
    assert check_training_photo(tmp_path / "small.png", max_pixels=2000) is None
    reason = check_training_photo(tmp_path / "big.png", max_pixels=2000)
    assert reason.startswith("too large") and "80x60" in reason

    (tmp_path / "huge.png").write_bytes(huge_png())  # 56 MP, over MAX_PIXELS: refused from the header
    lines = []
    assert scan_photos(tmp_path, workers=2, log=lines.append) == [tmp_path / "big.png", tmp_path / "small.png"]
    assert "huge.png (too large: 8000x7000 is 56.0 megapixels, above the 50 MP limit)" in lines[0]
    with pytest.raises(PhotoTooLarge, match="huge.png"):
        PhotoDataset([tmp_path / "huge.png"], 32).load(tmp_path / "huge.png")


def test_pillows_bomb_check_becomes_our_message(tmp_path, monkeypatch):
    """With a (test-only) low Pillow guard: its warning and its error both end as PhotoTooLarge."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    random_color_image(40, 30).save(tmp_path / "warns.png")  # 1200 px: Pillow warns
    random_color_image(80, 60).save(tmp_path / "raises.png")  # 4800 px, over 2x: Pillow raises
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(PhotoTooLarge, match=r"warns.png: 40x30 is .* above the 0.001 MP limit"):
            open_photo(tmp_path / "warns.png", max_pixels=1000)
        with pytest.raises(PhotoTooLarge, match="raises.png: 0 megapixels, above the 0.001 MP limit"):
            open_photo(tmp_path / "raises.png", max_pixels=1000)
    assert not [w for w in seen if issubclass(w.category, Image.DecompressionBombWarning)]
    assert check_training_photo(tmp_path / "raises.png", max_pixels=1000).startswith("too large")


# ---- PIL <-> tensor -----------------------------------------------------------------------

def test_tensor_round_trip():
    img = random_color_image(13, 7)
    t = to_tensor(img)
    assert t.shape == (1, 3, 7, 13) and t.dtype == torch.float32 and 0 <= t.min() and t.max() <= 1
    assert to_pil(t).tobytes() == img.tobytes() and to_pil(t[0]).size == (13, 7)
    assert to_tensor(img.convert("L")).shape == (1, 3, 7, 13)
