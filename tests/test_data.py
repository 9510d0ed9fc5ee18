import io

import pytest
import torch
from PIL import Image

from colorizer.data import DataError, PhotoDataset, coco_sample, make_loaders, resolve_data, scan_photos, split_files
from colorizer.images import PhotoError, is_grayscale, list_photos, open_photo
from helpers import EXAMPLES_BW, random_color_image


def test_scan_skips_bad_files_with_one_summary_line(messy_dir):
    lines = []
    good = scan_photos(messy_dir, log=lines.append)
    assert len(good) == 12
    assert len(lines) == 1
    assert "broken.jpg (unreadable" in lines[0] and "old_gray.png (grayscale)" in lines[0]
    assert "notes.txt" not in lines[0]  # not a photo extension: never considered


def test_formats_are_found_recursively(tmp_path):
    for ext in ("jpg", "png", "webp", "bmp", "tiff"):
        sub = tmp_path / "d" / ext
        sub.mkdir(parents=True)
        random_color_image(40, 30).save(sub / f"x.{ext}")
    assert {p.suffix for p in scan_photos(tmp_path / "d", log=lambda s: None)} == {
        ".jpg", ".png", ".webp", ".bmp", ".tiff"}


def test_split_is_fixed_and_disjoint(photo_dir):
    files = list_photos(photo_dir)
    a = split_files(files, 0.25, seed=1)
    b = split_files(list(reversed(files)), 0.25, seed=1)
    assert a == b
    train, val = a
    assert len(val) == 3 and len(train) == 9 and not set(train) & set(val)


def test_dataset_shapes_crop_and_flip(photo_dir):
    files = list_photos(photo_dir)
    ds = PhotoDataset(files, 64, train=True, scale=1.125)
    x = ds[0]
    assert x.shape == (3, 64, 64) and x.dtype == torch.uint8
    val = PhotoDataset(files, 64, train=False)
    assert torch.equal(val[0], val[0])  # deterministic center crop
    train_dl, val_dl = make_loaders(files[:9], files[9:], 48, 4, 0)
    batch = next(iter(train_dl))
    assert batch.shape == (4, 3, 48, 48)
    assert len(train_dl) == 2  # drop_last keeps batches full


def test_missing_and_empty_folders_are_clear(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        resolve_data(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="No photos"):
        scan_photos(tmp_path / "empty")


def test_coco_fails_fast_offline(monkeypatch):
    import socket

    def refuse(*a, **k):
        raise OSError("network unreachable")

    monkeypatch.setattr(socket, "create_connection", refuse)
    with pytest.raises(DataError, match="Pass a folder"):
        coco_sample()


def test_open_photo_errors_name_the_file(tmp_path):
    bad = tmp_path / "holiday.jpg"
    bad.write_bytes(b"\xff\xd8garbage")
    with pytest.raises(PhotoError, match="holiday.jpg"):
        open_photo(bad)
    with pytest.raises(PhotoError, match="megapixels"):
        open_photo(_big_png(tmp_path), max_pixels=1000)
    truncated = tmp_path / "cut.jpg"
    buf = io.BytesIO()
    random_color_image(200, 200).save(buf, "JPEG")
    truncated.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
    with pytest.raises(PhotoError, match="cut.jpg"):
        open_photo(truncated)


def _big_png(tmp_path):
    p = tmp_path / "big.png"
    Image.new("RGB", (100, 100), (10, 200, 30)).save(p)
    return p


def test_open_photo_modes_and_gray_detection(tmp_path):
    gray = open_photo(sorted(EXAMPLES_BW.glob("*.jpg"))[0])
    assert gray.mode == "RGB" and is_grayscale(gray)
    rgba = Image.new("RGBA", (20, 10), (255, 0, 0, 0))
    rgba.save(tmp_path / "t.png")
    assert open_photo(tmp_path / "t.png").getpixel((0, 0)) == (255, 255, 255)  # transparency -> white
    assert not is_grayscale(random_color_image(30, 30))
    assert open_photo((tmp_path / "t.png").read_bytes()).size == (20, 10)
