"""The Streamlit page (streamlit.testing AppTest, no browser) and the helpers it lays out."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorizer import app_logic as logic
from colorizer.images import PhotoError, PhotoTooLarge
from colorizer.infer import default_render_size
from helpers import BW_PHOTO, COLOR_PHOTO, huge_png, make_weights, run_app, served, tiny_pair


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory) -> Path:
    """Two models, as training leaves them: stage 1 and (more trained) stage 2."""
    folder = tmp_path_factory.mktemp("weights")
    make_weights(folder, "generator_pretrained.pt", "pretrain", 10)
    make_weights(folder, "generator_gan.pt", "gan", 20)
    return folder


# ---- the page -----------------------------------------------------------------------------

def test_no_weights_says_what_to_run(monkeypatch, tmp_path):
    empty = tmp_path / "no_weights"
    empty.mkdir()
    at = run_app(monkeypatch, empty)
    text = " ".join(w.value for w in at.warning)
    assert "No colorizer weights found" in text and "python pretrain.py" in text and "python train_gan.py" in text
    assert any("python pretrain.py" in c.value for c in at.code)
    assert len(at.file_uploader) == 0 and not at.error


def test_weights_choice_labels_and_defaults(monkeypatch, weights_dir):
    at = run_app(monkeypatch, weights_dir)
    box = at.selectbox[0]
    labels = box.options
    assert len(labels) == 2
    assert labels[0].startswith("default · stage 2 · GAN") and "generator_gan.pt" in labels[0]  # best first
    assert labels[1].startswith("stage 1 · L1 only") and "resnet18, 64 px" in labels[1]
    assert at.select_slider[0].value == 64  # the size the weights were trained at
    assert at.slider[0].value == 1.0
    assert at.file_uploader[0].accept_multiple_files
    assert set(at.file_uploader[0].allowed_type) >= {".jpg", ".png", ".webp", ".bmp", ".tiff"}
    box.set_value(str(weights_dir / "generator_pretrained.pt")).run()
    assert not at.exception
    assert at.selectbox[0].value == str(weights_dir / "generator_pretrained.pt")


def test_upload_real_corrupt_huge_and_color(monkeypatch, weights_dir, media):
    at = run_app(monkeypatch, weights_dir)
    at.slider[0].set_value(1.5)
    at.radio[0].set_value("Side by side")
    at.file_uploader[0].set_value([
        ("surfer.jpg", BW_PHOTO.read_bytes(), "image/jpeg"),
        ("broken.jpg", b"this is not a jpeg", "image/jpeg"),
        ("huge.png", huge_png(), "image/png"),
        ("lemon.jpg", COLOR_PHOTO.read_bytes(), "image/jpeg"),
    ])
    at.run()
    assert not at.exception, [e.value for e in at.exception]

    errors = [e.value for e in at.error]
    assert len(errors) == 2, errors
    assert any("broken.jpg" in e and "not a readable photo" in e for e in errors)
    assert any("huge.png" in e and "8000x7000" in e and "50 MP limit" in e for e in errors)

    # each good photo: input beside output, its size and time
    assert [s.value for s in at.subheader] == ["surfer.jpg", "broken.jpg", "huge.png", "lemon.jpg"]
    assert len(at.image) == 4
    assert [i.captions[0] for i in at.image] == ["Input", "Colorized"] * 2
    captions = [c.value for c in at.caption]
    assert any(c.startswith("618×409 px · ") and " s · render size 64" in c for c in captions), captions
    with Image.open(COLOR_PHOTO) as im:
        lemon_size = f"{im.width}×{im.height} px"
    assert any(c.startswith(lemon_size) for c in captions)
    notes = [i.value for i in at.info]
    assert notes == ["lemon.jpg: already in color: turned gray first."]
    shown = Image.open(io.BytesIO(served(media, at.image[0].value[0])))
    assert shown.size == (618, 409)

    # downloads: one PNG per good photo at full size, and a zip of all of them
    buttons = {b.label: b for b in at.download_button}
    assert set(buttons) == {"Download PNG", "Download all 2 as zip"}
    pngs = [b for b in at.download_button if b.label == "Download PNG"]
    assert len(pngs) == 2
    out = Image.open(io.BytesIO(served(media, pngs[0].proto.url)))
    assert out.format == "PNG" and out.mode == "RGB" and out.size == (618, 409)
    with zipfile.ZipFile(io.BytesIO(served(media, buttons["Download all 2 as zip"].proto.url))) as zf:
        assert sorted(zf.namelist()) == ["lemon_color.png", "surfer_color.png"]
        assert Image.open(io.BytesIO(zf.read("surfer_color.png"))).size == (618, 409)

    # a rerun (e.g. a click) reuses the results instead of colorizing again
    before = dict(at.session_state["results"])
    at.run()
    after = at.session_state["results"]
    assert all(after[k] is before[k] for k in before)


def test_slider_is_the_default_view(monkeypatch, weights_dir):
    """Two photos: one before/after slider each (our own HTML in an iframe), holding the input and
    the result at the photo's size; no plain images in this view."""
    import base64
    import re

    at = run_app(monkeypatch, weights_dir)
    assert at.radio[0].value == "Slider" and at.radio[0].options == ["Slider", "Side by side"]
    at.file_uploader[0].set_value([("a.jpg", BW_PHOTO.read_bytes(), "image/jpeg"),
                                   ("b.jpg", BW_PHOTO.read_bytes(), "image/jpeg")])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    frames = [f for f in at.get("iframe") if 'data-testid="compare"' in f.proto.srcdoc]
    assert len(frames) == 2 and len(at.image) == 0
    urls = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', frames[0].proto.srcdoc)
    shown = [Image.open(io.BytesIO(base64.b64decode(u))) for u in urls]
    assert [im.size for im in shown] == [(618, 409), (618, 409)]
    after, before = shown  # the result first, the input stacked over it
    assert logic.is_grayscale(before) and not logic.is_grayscale(after)
    assert len([b for b in at.download_button if b.label == "Download PNG"]) == 2


def test_slider_html():
    from colorizer.compare_view import slider_html

    before = Image.new("L", (3000, 1000), 128)
    after = Image.new("RGB", (3000, 1000), (200, 80, 40))
    page, height = slider_html(before, after, "Input", "<Colorized>", max_width=600)
    assert height == 200  # 600 px wide at most, the photo's aspect ratio
    assert "aspect-ratio:3000/1000" in page and "max-width:600px" in page
    assert "&lt;Colorized&gt;" in page and "<Colorized>" not in page  # labels are escaped
    assert page.count("data:image/jpeg;base64,") == 2 and "http" not in page  # nothing fetched: works offline
    with pytest.raises(ValueError, match="between 0 and 100"):
        slider_html(before, after, start=120)


def test_the_sidebar_holds_what_a_user_acts_on(monkeypatch, tmp_path):
    """No color strength slider: stage-2 weights colorize at their default strength, blended with the start
    found beside them (a file of its own, `weights blend`, for another strength), as the CLI does."""
    from colorizer.infer import Colorizer

    stage1, stage2 = tiny_pair(tmp_path / "pair", "generator_pretrained.pt", "generator_gan.pt", decoy=False)
    at = run_app(monkeypatch, stage1.parent)
    assert at.selectbox[0].value == str(stage2)  # stage 2 ranks first; its start is in the folder
    assert at.selectbox[0].options[0].startswith("default · stage 2 · GAN — resnet18, 64 px")
    assert [s.label for s in at.slider] == ["Saturation boost", "Films: steady colors"]
    assert [s.label for s in at.select_slider] == ["Render size"]
    at.file_uploader[0].set_value([("surfer.jpg", BW_PHOTO.read_bytes(), "image/jpeg")])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (key, result), = at.session_state["results"].items()
    assert result.output.size == (618, 409)
    cli = Colorizer.load(stage2, device="cpu")
    assert cli.color_strength < 1  # the default strength, with the start found beside it
    want = np.asarray(cli.colorize(Image.open(BW_PHOTO), render_size=key[2]), dtype=int)
    assert np.abs(np.asarray(result.output, dtype=int) - want).max() <= 2  # the page colorizes as the CLI does


# ---- the helpers --------------------------------------------------------------------------

def test_describe_weights():
    meta = {"stage": "gan", "backbone": "resnet34", "size": 256, "images_seen": 123_456, "epoch": 20,
            "date": "2025-01-31 10:00 UTC"}
    assert logic.describe_weights("w/g.pt", meta) == \
        "stage 2 · GAN — resnet34, 256 px, 123k photos seen, epoch 20, 2025-01-31 (g.pt)"
    assert logic.describe_weights("x.pt", {}) == "other (x.pt)"
    assert logic.describe_weights("x.pt", {"stage": "finetune"}).startswith("other (finetune)")


def test_render_sizes():
    assert logic.render_size_options({"size": 64})[0] == 64
    assert default_render_size({"size": 64}) == 64
    assert default_render_size({}) == 256 and 256 in logic.render_size_options(None)
    assert default_render_size({"size": 4096}) == 256 and 4096 not in logic.render_size_options({"size": 4096})
    assert logic.render_size_label(256, {"size": 256}) == "256 px (trained size)"
    assert logic.render_size_label(128, {"size": 64}) == "128 px"
    assert logic.render_size_label(128, {"size": 256}) == "128 px (fastest)"
    assert logic.render_size_label(512, None) == "512 px (slowest, most detail)"


def test_read_photo_caps_and_errors():
    with pytest.raises(PhotoTooLarge, match="8000x7000 is 56.0 megapixels"):
        logic.read_photo(huge_png(), "huge.png")
    with pytest.raises(PhotoError, match="empty"):
        logic.read_photo(b"", "nothing.jpg")
    with pytest.raises(PhotoError, match="upload limit"):
        logic.read_photo(b"x" * 100, "big.bin", max_bytes=10)
    with pytest.raises(PhotoError, match="broken.jpg") as err:
        logic.read_photo(b"garbage", "broken.jpg")
    assert not isinstance(err.value, PhotoTooLarge)
    truncated = BW_PHOTO.read_bytes()[:3000]
    with pytest.raises(PhotoError, match="cut.jpg"):
        logic.read_photo(truncated, "cut.jpg")
    assert logic.read_photo(BW_PHOTO.read_bytes(), "ok.jpg").size == (618, 409)


def test_names_and_zip():
    assert logic.safe_name("../../etc/pa ss?wd.jpg") == "pa ss_wd.jpg"
    assert logic.safe_name("") == "photo"
    assert logic.result_filename("C:\\scans\\old.tif") == "old_color.png"
    assert logic.unique_names(["a.png", "A.png", "a.png", "b.png"]) == ["a.png", "A (2).png", "a (3).png", "b.png"]
    data = logic.build_zip([("a.png", b"1"), ("a.png", b"2")])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist() == ["a.png", "a (2).png"] and zf.read("a (2).png") == b"2"
