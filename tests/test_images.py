"""What a photo holds beyond its RGB pixels is kept or said: transparency, animation frames, and
the files of a folder that are not opened, each with its reason."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from colorizer import images
from colorizer.images import PhotoError, keeps_alpha, list_folder, list_photos, open_photo, read_photo


def _half_transparent(mode: str = "RGBA", size=(40, 20)) -> Image.Image:
    """Red photo whose right half is fully transparent and whose bottom-left corner is half so."""
    w, h = size
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 255
    rgba[:, w // 2:, 3] = 0
    rgba[h // 2:, : w // 4, 3] = 128
    img = Image.fromarray(rgba)
    return img.convert("LA") if mode == "LA" else img


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_transparency_is_read_laid_on_white_and_put_back(tmp_path, mode):
    src = _half_transparent(mode)
    src.save(tmp_path / "logo.png")
    photo = read_photo(tmp_path / "logo.png")
    assert photo.image.mode == "RGB" and photo.image.size == (40, 20)
    assert photo.image.getpixel((35, 5)) == (255, 255, 255)  # transparent: white for the model
    assert np.array_equal(np.asarray(photo.alpha), np.asarray(src.getchannel("A")))
    assert photo.frames == 1 and photo.notes(tmp_path / "out.png") == []

    result = Image.new("RGB", (40, 20), (10, 120, 30))  # what a colorizer returns
    out = tmp_path / "logo_color.png"
    photo.with_alpha(result, out).save(out)
    with Image.open(out) as back:
        assert back.mode == "RGBA"
        assert np.array_equal(np.asarray(back.getchannel("A")), np.asarray(src.getchannel("A")))
        assert back.getpixel((5, 5)) == (10, 120, 30, 255)


def test_transparency_that_the_output_cannot_keep_is_said(tmp_path):
    _half_transparent().save(tmp_path / "logo.webp", lossless=True)
    photo = read_photo(tmp_path / "logo.webp")
    assert photo.alpha is not None
    result = Image.new("RGB", photo.image.size)
    assert photo.with_alpha(result, "out.jpg") is result  # JPEG holds no alpha: RGB as it was
    assert photo.with_alpha(result, "out.webp").mode == "RGBA"
    assert photo.with_alpha(result).mode == "RGBA"  # no file named: the caller keeps it
    [note] = photo.notes("out.jpg")
    assert note.startswith(f"{tmp_path / 'logo.webp'}: transparency dropped (.jpg cannot keep it")
    assert keeps_alpha("a.PNG") and keeps_alpha("a.tiff") and not keeps_alpha("a.bmp")


def test_opaque_alpha_and_plain_photos_have_no_alpha(tmp_path):
    Image.new("RGBA", (8, 8), (1, 2, 3, 255)).save(tmp_path / "opaque.png")
    Image.new("RGB", (8, 8), (1, 2, 3)).save(tmp_path / "plain.jpg")
    for name in ("opaque.png", "plain.jpg"):
        photo = read_photo(tmp_path / name)
        assert photo.alpha is None and photo.notes("x.jpg") == []
        result = Image.new("RGB", (8, 8))
        assert photo.with_alpha(result, "x.png") is result


def test_alpha_follows_the_exif_orientation(tmp_path):
    src = _half_transparent(size=(40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    src.save(tmp_path / "turned.png", exif=exif)
    photo = read_photo(tmp_path / "turned.png")
    assert photo.image.size == photo.alpha.size == (20, 40)
    assert photo.alpha.getpixel((10, 35)) == 0 and photo.alpha.getpixel((10, 5)) in (255, 128)


def test_palette_gif_transparency_and_animation(tmp_path):
    frames = [Image.new("RGB", (16, 12), c) for c in ((250, 0, 0), (0, 250, 0), (0, 0, 250))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=80, loop=0)
    photo = read_photo(tmp_path / "anim.gif")
    assert photo.frames == 3 and photo.image.size == (16, 12)
    r, g, b = photo.image.getpixel((3, 3))
    assert r > 200 and g < 50 and b < 50  # the first frame
    [note] = photo.notes(tmp_path / "anim_color.png")
    assert note == f"{tmp_path / 'anim.gif'}: 3 frames (animated or multi-page): only the first is colorized"

    still = Image.new("P", (10, 10), 1)
    still.putpalette([255, 255, 255, 200, 30, 30] + [0] * 762)
    still.paste(0, (0, 0, 5, 10))
    still.save(tmp_path / "still.gif", transparency=0)
    photo = read_photo(tmp_path / "still.gif")
    assert photo.frames == 1 and photo.notes("x.png") == []
    assert photo.alpha.getpixel((2, 5)) == 0 and photo.alpha.getpixel((8, 5)) == 255


def test_open_photo_is_read_photos_image(tmp_path):
    _half_transparent().save(tmp_path / "logo.png")
    assert open_photo(tmp_path / "logo.png").tobytes() == read_photo(tmp_path / "logo.png").image.tobytes()
    (tmp_path / "bad.gif").write_bytes(b"GIF89a" + b"\0" * 20)
    with pytest.raises(PhotoError, match="bad.gif"):
        read_photo(tmp_path / "bad.gif")


def _folder(tmp_path):
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    photo = Image.new("RGB", (24, 16), (90, 140, 200))
    photo.save(folder / "a.jpg")
    photo.save(folder / "sub" / "b.PNG")
    photo.save(folder / "c.gif")
    (folder / "notes.txt").write_text("not a photo")
    (folder / "README").write_text("no extension")
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    return folder, photo


def test_folder_listing_opens_gif_avif_heic_and_names_the_rest(tmp_path):
    pytest.importorskip("pillow_heif")
    folder, photo = _folder(tmp_path)
    photo.save(folder / "d.avif")
    photo.save(folder / "e.heic", format="HEIF")
    found = list_folder(folder)
    assert [p.name for p in found.photos] == ["a.jpg", "c.gif", "d.avif", "e.heic", "b.PNG"]
    assert [(p.name, why) for p, why in found.skipped] == [
        ("README", "not a photo type that is read here (no extension)"),
        ("notes.txt", "not a photo type that is read here (.txt)")]
    assert list_photos(folder) == found.photos
    for p in found.photos:  # each of them opens, at its size
        assert read_photo(p).image.size == (24, 16), p


def test_types_this_installation_cannot_read_are_named_unsupported(tmp_path, monkeypatch):
    folder, photo = _folder(tmp_path)
    (folder / "f.heic").write_bytes(b"\0\0\0\x18ftypheic")
    (folder / "g.avif").write_bytes(b"\0\0\0\x18ftypavif")
    without = {k: v for k, v in Image.registered_extensions().items() if k not in (".heic", ".heif", ".avif")}
    monkeypatch.setattr(images.Image, "registered_extensions", lambda: without)  # as without the plugins
    found = list_folder(folder)
    assert [p.name for p in found.photos] == ["a.jpg", "c.gif", "b.PNG"]
    skipped = dict((p.name, why) for p, why in found.skipped)
    assert skipped["f.heic"] == "unsupported: .heic photos need pillow-heif"
    assert skipped["g.avif"] == "unsupported: .avif photos need a Pillow built with AVIF (11.2 or later)"
    assert ".DS_Store" not in skipped and len(skipped) == 4


def test_listing_a_missing_folder_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="Photo folder not found: .*nowhere"):
        list_folder(tmp_path / "nowhere")
