"""Bounded memory: full-size photos are converted, upsampled and turned to RGB in row bands
(infer.lightness, infer.compose), with results that match whole-photo tensors (kornia, torch's
interpolation), no seams between bands, and a peak that grows by a few bytes a pixel, not hundreds."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from colorizer.color import lab_norm_to_rgb, rgb_to_lab_norm, upsample_rows, widen
from colorizer.images import to_pil, to_tensor
from colorizer.infer import Colorizer, compose, gray_baseline, lightness, render_shape
from helpers import EXAMPLES_COLOR, ROOT, tiny_colorizer

MB = 1 << 20


def real_photo(w: int, h: int) -> Image.Image:
    with Image.open(sorted(EXAMPLES_COLOR.glob("*.jpg"))[0]) as im:
        return im.convert("RGB").resize((w, h), Image.BICUBIC)


def untiled(model: Colorizer, image: Image.Image, saturation: float = 1.0) -> Image.Image:
    """How a photo was colorized before bands: whole-photo float tensors at every step."""
    L_full, _ = rgb_to_lab_norm(to_tensor(image))
    rh, rw = render_shape(*L_full.shape[-2:], model.render_size)
    L_small, _ = rgb_to_lab_norm(to_tensor(image.resize((rw, rh), Image.BILINEAR, reducing_gap=3.0)))
    ab = torch.from_numpy(model.predict_ab(L_small.numpy()))
    ab = F.interpolate(ab, size=L_full.shape[-2:], mode="bilinear", align_corners=False)
    return to_pil(lab_norm_to_rgb(L_full, (ab * saturation).clamp(-1.2, 1.2)))


@pytest.mark.parametrize("small, big", [((7, 5), (173, 301)), ((64, 96), (40, 50)), ((3, 1), (90, 1))])
def test_upsampling_by_rows_equals_whole_interpolation(small, big):
    ab = torch.randn(2, *small)
    whole = F.interpolate(ab[None], size=big, mode="bilinear", align_corners=False)[0].numpy()
    wide = widen(ab.numpy(), big[1])
    for y0, y1 in [(0, 1), (0, big[0]), (big[0] // 3, big[0] // 3 + 7), (big[0] - 1, big[0])]:
        rows = upsample_rows(wide, big[0], y0, y1)
        assert rows.shape == whole[..., y0:y1, :].shape
        assert np.allclose(rows, whole[..., y0:y1, :], atol=1e-5)


def test_bands_match_whole_photo_and_leave_no_seams():
    photo = real_photo(301, 173)
    L_whole, _ = rgb_to_lab_norm(to_tensor(photo))
    L = lightness(photo, band_pixels=301 * 4 + 17)  # 4-row bands: 44 of them, the last one short
    assert L.shape == (173, 301) and np.allclose(L, L_whole[0, 0].numpy(), atol=1e-5)
    ab = torch.randn(1, 2, 9, 13).clamp(-1, 1)
    ref = F.interpolate(ab, size=(173, 301), mode="bilinear", align_corners=False)
    ab = ab.numpy()
    ref = np.asarray(to_pil(lab_norm_to_rgb(L_whole, (ref * 1.3).clamp(-1.2, 1.2))), dtype=int)
    for band_pixels in (301 * 7, 10**9):  # 7-row bands (the last one short), the whole photo at once
        out = compose(L, ab, saturation=1.3, band_pixels=band_pixels)
        assert out.mode == "RGB" and out.size == (301, 173)
        assert np.abs(np.asarray(out, dtype=int) - ref).max() <= 1
    gray = np.asarray(gray_baseline(photo), dtype=int)
    assert np.abs(gray - np.asarray(to_pil(lab_norm_to_rgb(L_whole, torch.zeros(1, 2, 173, 301))), dtype=int)).max() <= 1
    assert (gray.max(axis=2) - gray.min(axis=2)).max() <= 2  # and it is gray


def test_colorize_matches_the_untiled_path():
    model = tiny_colorizer(128)
    photo = real_photo(1400, 1000)  # 1.4 MP: several default bands
    for image, saturation in [(photo, 1.0), (photo.convert("L"), 1.5)]:
        ours = np.asarray(model.colorize(image, saturation=saturation), dtype=int)
        ref = np.asarray(untiled(model, image, saturation), dtype=int)
        assert ours.shape == ref.shape == (1000, 1400, 3)
        assert np.abs(ours - ref).max() <= 2
        assert np.abs(ours - ref).mean() < 0.05


PEAK_SCRIPT = r"""
import json, sys
from PIL import Image
from helpers import tiny_colorizer

def status(key):  # bytes
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))

w, h = int(sys.argv[1]), int(sys.argv[2])
model = tiny_colorizer()
model.colorize(Image.new("RGB", (80, 60)))  # the first call's own allocations are not the photo's
ramp = Image.linear_gradient("L")
photo = Image.merge("RGB", [ramp.resize((w, h)), ramp.rotate(90).resize((w, h)),
                            Image.radial_gradient("L").resize((w, h))])  # smooth, like the 234 KB PNG
try:  # VmHWM := VmRSS now (Linux); without it the peak so far counts too, which only overstates
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
before = status("VmRSS:")
out = model.colorize(photo)
peak = status("VmHWM:")
corner = out.getpixel((w - 1, h - 1))
print(json.dumps({"before": before, "peak": peak, "size": list(out.size), "corner": list(corner)}))
"""

# What colorizing may add to the process, the photo itself already held: its L (4 bytes a pixel),
# the result (Pillow's RGB: 4 bytes a pixel), the low-resolution copy, band temporaries and slack.
# The untiled path added about 200 bytes a pixel (9.8 GB at 49 MP).
BYTES_PER_PIXEL, FIXED = 16, 256 * MB


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_peak_memory_of_a_large_photo_grows_by_a_few_bytes_a_pixel():
    w, h = 4000, 3000  # 12 MP
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]), OMP_NUM_THREADS="2")
    run = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(w), str(h)],
                         capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["size"] == [w, h] and len(got["corner"]) == 3
    added = got["peak"] - got["before"]
    bound = BYTES_PER_PIXEL * w * h + FIXED
    assert added <= bound, f"colorizing {w}x{h} added {added / MB:.0f} MB (bound {bound / MB:.0f} MB)"
