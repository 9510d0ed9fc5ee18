"""The weights shipped in weights/ colorize a real black-and-white photo out of the box."""
import numpy as np
import pytest

from colorizer.checkpoint import find_weights, read_meta
from colorizer.evaluate import colorfulness
from colorizer.images import open_photo
from colorizer.infer import Colorizer
from colorizer.limits import DEFAULT_COLOR_STRENGTH
from conftest import EXAMPLES_BW, ROOT

WEIGHTS = ROOT / "weights"


@pytest.mark.skipif(not list(WEIGHTS.glob("*.pt")), reason="no shipped weights in this checkout")
def test_shipped_weights_are_default_and_colorize(monkeypatch):
    monkeypatch.delenv("COLORIZER_WEIGHTS", raising=False)  # it would win over the folder
    best = find_weights(WEIGHTS)[0]
    meta = read_meta(best)
    # the default: the mean of the stage-1 resnet18 and a distilled EfficientNet-Lite0, x 1.15 (README)
    assert best.name == "colorizer_averaged.pt" and meta["stage"] == "average" and meta["scale"] == 1.15
    assert [m["file"] for m in meta["members"]] == ["generator_pretrained.pt", "lite0_student.pt"]
    for key in ("backbone", "size", "data", "date", "images_seen"):
        assert key in meta
    for name in ("generator_pretrained.pt", "lite0_student.pt", "colorizer_gan.pt"):
        assert read_meta(WEIGHTS / name)["dtype"] == "float16"
    model = Colorizer.load(weights_dir=WEIGHTS)
    assert model.color_strength == 1 and model.meta["path"] == str(best)
    # stage 2 still blends with its stage-1 partner at the default color strength
    gan = Colorizer.load(WEIGHTS / "colorizer_gan.pt")
    assert gan.color_strength == DEFAULT_COLOR_STRENGTH < 1 and gan.meta["base_weights"].endswith("generator_pretrained.pt")
    photo = open_photo(sorted(EXAMPLES_BW.glob("*.jpg"))[0])
    out = model.colorize(photo)
    assert out.size == photo.size
    assert colorfulness(np.asarray(photo)) < 1 < 5 < colorfulness(np.asarray(out))  # gray in, color out


@pytest.mark.skipif(not (WEIGHTS / "hints_people.pt").is_file(), reason="no shipped hints weights in this checkout")
def test_shipped_hints_weights_are_found_for_hints_only_and_follow_a_hint(monkeypatch):
    from skimage.color import rgb2lab
    from colorizer.hints import UserHint

    monkeypatch.delenv("COLORIZER_WEIGHTS", raising=False)
    assert find_weights(WEIGHTS)[0].name == "colorizer_averaged.pt"  # plain colorizing keeps the default
    meta = read_meta(WEIGHTS / "hints_people.pt")
    assert meta["task"] == "hints" and meta["hint_gain"] == 10 and meta["dtype"] == "float16"
    model = Colorizer.load(weights_dir=WEIGHTS, hints=True)
    assert model.takes_hints and model.meta["path"].endswith("hints_people.pt")
    photo = open_photo(sorted(EXAMPLES_BW.glob("*.jpg"))[0])
    w, h = photo.size
    point = (w // 2, h // 2)
    plain = model.colorize(photo)
    red = model.colorize(photo, hints=[UserHint(x=point[0], y=point[1], rgb=(200, 30, 30))])
    box = (slice(h // 2 - 4, h // 2 + 5), slice(w // 2 - 4, w // 2 + 5))
    a_plain = rgb2lab(np.asarray(plain.convert("RGB")))[box][..., 1].mean()
    a_red = rgb2lab(np.asarray(red.convert("RGB")))[box][..., 1].mean()
    assert a_red > a_plain + 10  # the region around the hint turns red (a* up)


@pytest.mark.skipif(not (WEIGHTS / "sketch2jewelry.pt").is_file(), reason="no shipped jewelry paired weights in this checkout")
def test_shipped_jewelry_paired_weights_are_the_sketch_apps_and_color_a_drawn_ring():
    from colorizer.paired.sketch_app import SketchModels
    from colorizer.paired.translate import Translator
    from test_classify import drawn_ring

    meta = read_meta(WEIGHTS / "sketch2jewelry.pt")
    assert meta["task"] == "paired" and meta["dtype"] == "float16" and meta["size"] == 128
    assert SketchModels(weights_dir=WEIGHTS).paired_path() == WEIGHTS / "sketch2jewelry.pt"
    ring = drawn_ring(128).convert("RGB")
    out = np.asarray(Translator.load(WEIGHTS / "sketch2jewelry.pt", device="cpu").translate(ring), dtype=float)
    lines = np.asarray(ring)[..., 0] < 128
    assert out.shape == (128, 128, 3)
    # a product photo: the paper stays a light ground, and the drawn piece turns warm (gold: red over blue)
    assert out[~lines].mean() > 180
    assert (out[lines][:, 0] - out[lines][:, 2]).mean() > 10
