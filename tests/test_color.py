import numpy as np
import pytest
import torch
from PIL import Image
from skimage.color import lab2rgb, rgb2lab

from colorizer.color import AB_SCALE, lab_norm_to_rgb, rgb_to_lab_norm
from conftest import EXAMPLES_COLOR


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
