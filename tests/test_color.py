import numpy as np
import pytest
import torch
from PIL import Image
from skimage.color import lab2rgb, rgb2lab

from colorizer.color import AB_SCALE, lab_norm_to_rgb, rgb_to_lab_norm
from helpers import EXAMPLES_COLOR


def _real_photos(n=4):
    arrays = []
    for path in sorted(EXAMPLES_COLOR.glob("*.jpg"))[:n]:
        with Image.open(path) as im:
            arrays.append(np.asarray(im.convert("RGB").resize((96, 96)), dtype=np.float32) / 255.0)
    return np.stack(arrays)


def test_lab_matches_scikit_image_on_real_photos():
    rgb = _real_photos()
    L, ab = rgb_to_lab_norm(torch.from_numpy(rgb).permute(0, 3, 1, 2))
    ref = rgb2lab(rgb)  # (B, H, W, 3)
    ours = torch.cat([(L + 1) * 50, ab * AB_SCALE], 1).permute(0, 2, 3, 1).numpy()
    assert np.abs(ours - ref).max() < 1e-2


def test_lab_to_rgb_matches_scikit_image_and_round_trips():
    rgb = _real_photos()
    t = torch.from_numpy(rgb).permute(0, 3, 1, 2)
    back = lab_norm_to_rgb(*rgb_to_lab_norm(t))
    assert np.abs(back.numpy() - t.numpy()).max() < 1e-3
    lab = rgb2lab(rgb)
    ref = lab2rgb(lab[0])
    L = torch.from_numpy(lab[:1, ..., :1]).permute(0, 3, 1, 2).float() / 50 - 1
    ab = torch.from_numpy(lab[:1, ..., 1:]).permute(0, 3, 1, 2).float() / AB_SCALE
    ours = lab_norm_to_rgb(L, ab)[0].permute(1, 2, 0).numpy()
    assert np.abs(ours - ref).max() < 1e-3


def test_normalised_ranges():
    rgb = torch.rand(8, 3, 32, 32)
    rgb[0] = 0.0  # black
    rgb[1] = 1.0  # white
    rgb[2, 0], rgb[2, 1:] = 1.0, 0.0  # pure red: the most saturated a
    L, ab = rgb_to_lab_norm(rgb)
    assert L.shape == (8, 1, 32, 32) and ab.shape == (8, 2, 32, 32)
    assert L.min() >= -1 - 1e-4 and L.max() <= 1 + 1e-4
    assert L[0].max() == pytest.approx(-1, abs=1e-3) and L[1].min() == pytest.approx(1, abs=1e-3)
    assert ab.abs().max() <= 1.05
    assert ab[1].abs().max() < 1e-2  # white has no chroma


def test_photo_conversions_in_numpy_match_the_tensor_ones():
    """Colorizing converts 8-bit photos in numpy (no torch on the onnxruntime path): the same L as
    kornia, and the same 8-bit RGB to within one level, for real and for out-of-gamut colors."""
    from colorizer.color import photo_lightness, photo_rgb
    from colorizer.images import to_pil, to_tensor

    with Image.open(sorted(EXAMPLES_COLOR.glob("*.jpg"))[0]) as im:
        photo = im.convert("RGB").resize((120, 90))
    for image in (photo, photo.convert("L")):
        L_ref, _ = rgb_to_lab_norm(to_tensor(image))
        L = photo_lightness(np.asarray(image))
        assert L.shape == (90, 120) and L.dtype == np.float32
        assert np.abs(L - L_ref[0, 0].numpy()).max() < 1e-5
    ab = np.random.default_rng(0).uniform(-1.2, 1.2, (2, 90, 120)).astype(np.float32)  # many out of gamut
    ref = np.asarray(to_pil(lab_norm_to_rgb(L_ref, torch.from_numpy(ab)[None])), dtype=int)
    ours = photo_rgb(L, ab)
    assert ours.shape == (90, 120, 3) and ours.dtype == np.uint8
    assert np.abs(ours.astype(int) - ref).max() <= 1 and np.abs(ours.astype(int) - ref).mean() < 0.01
    gray = photo_rgb(L, np.zeros_like(ab)).astype(int)
    assert (gray.max(axis=2) - gray.min(axis=2)).max() <= 1  # no chroma: gray
