"""Serving rules kept in one place: the CLI, the page and the API pick the same weights from the
same environment; the pixel cap holds where photos are opened, training included, without
touching Pillow's own guard; PIL <-> tensor conversion."""
from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from PIL import Image

from colorizer import app_logic as logic
from colorizer.serving.api import create_app
from colorizer.checkpoint import WeightsError
from colorizer.cli import main
from colorizer.images import PhotoTooLarge, check_training_photo, open_photo, to_pil, to_tensor
from colorizer.infer import WEIGHTS_DIR_ENV, WEIGHTS_ENV, resolve_weights
from colorizer.limits import MAX_PIXELS, result_name
from helpers import APP, ROOT, huge_png, make_weights, random_color_image


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict:
    """A weights folder as training leaves it (stage 2 ranks first) and a file chosen by hand elsewhere."""
    folder = tmp_path_factory.mktemp("weights")
    make_weights(folder, "generator_pretrained.pt", "pretrain", 10)
    make_weights(folder, "generator_gan.pt", "gan", 20)
    other = tmp_path_factory.mktemp("elsewhere")
    return {"folder": folder, "best": folder / "generator_gan.pt",
            "by_hand": make_weights(other, "by_hand.pt", "pretrain", 1),
            "flag": folder / "generator_pretrained.pt"}


def small_photo(tmp_path) -> Path:
    (tmp_path / "in").mkdir(exist_ok=True)
    random_color_image(64, 48).save(tmp_path / "in" / "old photo.jpg")
    return tmp_path / "in" / "old photo.jpg"


def cli_weights(tmp_path, capsys, *flags: str) -> Path:
    """The weights file `python -m colorizer colorize` used (from its first line)."""
    src = small_photo(tmp_path)
    assert main(["colorize", str(src), "-o", str(tmp_path / "out.png"), "--render-size", "64", *flags]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    return Path(first.split(" with ", 1)[1].split(" (", 1)[0])


def api_weights(**kwargs) -> Path:
    return create_app(**kwargs).state.model.path()


def page_weights() -> Path:
    return logic.weights_choices()[0].path


@pytest.mark.parametrize("case", ["folder", "env file", "flag"])
def test_cli_page_and_api_pick_the_same_weights(case, folders, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(folders["folder"]))
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    if case == "folder":  # the best-ranked file in $COLORIZER_WEIGHTS_DIR
        expected = folders["best"]
        assert cli_weights(tmp_path, capsys) == api_weights() == page_weights() == expected
    elif case == "env file":  # $COLORIZER_WEIGHTS beats the folder ranking
        monkeypatch.setenv(WEIGHTS_ENV, str(folders["by_hand"]))
        expected = folders["by_hand"]
        assert cli_weights(tmp_path, capsys) == api_weights() == page_weights() == expected
        assert [w.path for w in logic.weights_choices()[1:]] == [folders["best"], folders["flag"]]
    else:  # an explicit flag or argument beats both (the page has its selectbox instead)
        monkeypatch.setenv(WEIGHTS_ENV, str(folders["by_hand"]))
        expected = folders["flag"]
        assert cli_weights(tmp_path, capsys, "--weights", str(expected)) == api_weights(weights=expected) == expected
    assert resolve_weights(expected if case == "flag" else None) == expected


def test_missing_env_file_is_named_everywhere(folders, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(folders["folder"]))
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "gone.pt"))
    assert main(["colorize", str(small_photo(tmp_path))]) == 2  # a photo that exists: inputs are checked first
    assert "gone.pt: no such weights file (set by COLORIZER_WEIGHTS)" in capsys.readouterr().err
    for pick in (api_weights, page_weights):
        with pytest.raises(WeightsError, match="gone.pt"):
            pick()


def test_page_preselects_the_env_file(folders, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(folders["folder"]))
    monkeypatch.setenv(WEIGHTS_ENV, str(folders["by_hand"]))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox[0].value == str(folders["by_hand"])
    assert at.select_slider[0].value == 64  # the size those weights were trained at


def test_cli_names_outputs_like_the_page_and_api(folders, tmp_path, monkeypatch):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    src = small_photo(tmp_path)
    assert result_name(src) == logic.result_filename(src.name) == "old photo_color.png"
    weights = ["--weights-dir", str(folders["folder"]), "--render-size", "64"]
    assert main(["colorize", str(src), "-o", str(tmp_path / "out"), *weights]) == 0  # a folder given
    assert (tmp_path / "out" / result_name(src)).is_file()
    assert main(["colorize", str(src), *weights]) == 0  # default folder, colorized/ (tests run in tmp_path)
    assert (tmp_path / "colorized" / result_name(src)).is_file()


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
